"""The HIU's side: a doctor (or the patient, through the PHR) asks for a patient's
records, the consent manager answers, the HIP pushes, the reader reads. One module per
protocol flow:

- ``consent``: consent init and the CM's answers (``request_records``,
  ``on_consent_init``, ``consent_notify``, ``on_consent_status``, ``on_consent_fetch``,
  ``refresh_status``);
- ``hi_request``: the health-information request for a verified artefact
  (``start_data_request``, ``on_hi_request``);
- ``data_push``: the HIP's pages, decrypted, checked and kept (``receive_push``);
- ``reading``: what arrived, for those allowed, while the consent lasts
  (``list_requests``, ``get_request``, ``request_detail``, ``read_record``);
- ``erasure``: gone at dataEraseAt, or at once on revocation (``erase_expired``).
"""

from healthstack.facility.records.hiu.common import FINISHED, HI_TYPES, PUSH_ACTOR
from healthstack.facility.records.hiu.consent import (
    consent_notify,
    on_consent_fetch,
    on_consent_init,
    on_consent_status,
    phr_hiu_id,
    refresh_status,
    request_records,
)
from healthstack.facility.records.hiu.data_push import receive_push
from healthstack.facility.records.hiu.erasure import erase_artefact, erase_expired
from healthstack.facility.records.hiu.hi_request import on_hi_request, start_data_request
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
    "phr_hiu_id",
    "read_record",
    "receive_push",
    "refresh_status",
    "request_detail",
    "request_records",
    "start_data_request",
]
