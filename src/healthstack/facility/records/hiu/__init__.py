"""The HIU's side: a doctor (or the patient, through the PHR) asks for a patient's
records, the consent manager answers, the HIP pushes, the reader reads. One module per
protocol flow:

- ``consent``: consent init and the CM's answers (``request_records``,
  ``on_consent_init``, ``consent_notify``, ``on_consent_status``, ``on_consent_fetch``,
  ``refresh_status``);
- ``data_request``: the health-information request for a verified artefact
  (``start_data_request``, ``on_hi_request``);
- ``data_push``: the HIP's pages, decrypted, checked and kept (``receive_push``);
- ``reading``: what arrived, for those allowed, while the consent lasts
  (``list_requests``, ``get_request``, ``request_detail``, ``read_record``);
- ``erasure``: gone at dataEraseAt, or at once on revocation (``erase_expired``).

Each takes what it uses (the clock, the gateway client ``AbdmOutbox``, the gateway's
keys, the hasher that seals the private keys, the IG, the PHR's HIU id), never the
runtime: the bridge's routes, the pages, the PHR and the worker unpack it.
"""

from healthstack.facility.records.hiu.common import FINISHED, HI_TYPES, PUSH_ACTOR
from healthstack.facility.records.hiu.consent import (
    consent_notify,
    on_consent_fetch,
    on_consent_init,
    on_consent_status,
    refresh_status,
    request_records,
)
from healthstack.facility.records.hiu.data_push import receive_push
from healthstack.facility.records.hiu.data_request import on_hi_request, start_data_request
from healthstack.facility.records.hiu.erasure import erase_artefact, erase_expired
from healthstack.facility.records.hiu.reading import (
    ArtefactRecords,
    RecordSummary,
    get_request,
    list_requests,
    read_record,
    request_detail,
)

__all__ = [
    "FINISHED",
    "HI_TYPES",
    "PUSH_ACTOR",
    "ArtefactRecords",
    "RecordSummary",
    "consent_notify",
    "erase_artefact",
    "erase_expired",
    "get_request",
    "list_requests",
    "on_consent_fetch",
    "on_consent_init",
    "on_consent_status",
    "on_hi_request",
    "read_record",
    "receive_push",
    "refresh_status",
    "request_detail",
    "request_records",
    "start_data_request",
]
