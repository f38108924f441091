"""The HIP's side of the exchange: what the consent manager asks of a facility, one
module per protocol flow.

- ``discovery``: find the patient and their unlinked care contexts (``discover``);
- ``linking``: patient-initiated linking by OTP (``link_init``, ``link_confirm``);
- ``consent``: the artefacts the CM grants and ends (``consent_notify``,
  ``forget_patient``);
- ``data_request``: a health-information request checked against its artefact and fixed
  into pages (``hi_request``);
- ``transfer``: the push of those pages to the HIU and the notify that closes it
  (``push``, the worker's ``records.push``).

Every answer goes through the gateway client (``AbdmOutbox``) with
``response.requestId`` = the REQUEST-ID of the callback it answers; refusals are audited
and answered with the error. Each flow takes what it uses (the clock, the outbox, the
gateway's keys, the hasher, the tunables), never the runtime: the bridge's routes and
the worker's handler unpack it (``records.router``, ``records.jobs``). HIP-initiated
linking (the HIP's own calls as records land) is ``records.care_contexts``.
"""

from healthstack.facility.records.hip.common import gateway_context
from healthstack.facility.records.hip.consent import (
    consent_notify,
    end_artefact,
    ended_artefact,
    forget_patient,
)
from healthstack.facility.records.hip.data_request import hi_request
from healthstack.facility.records.hip.discovery import discover, match_patient
from healthstack.facility.records.hip.linking import link_confirm, link_init
from healthstack.facility.records.hip.transfer import (
    PUSH_TOPIC,
    PushFailed,
    finish_transfer,
    plaintext,
    push,
)

__all__ = [
    "PUSH_TOPIC",
    "PushFailed",
    "consent_notify",
    "discover",
    "end_artefact",
    "ended_artefact",
    "finish_transfer",
    "forget_patient",
    "gateway_context",
    "hi_request",
    "link_confirm",
    "link_init",
    "match_patient",
    "plaintext",
    "push",
]
