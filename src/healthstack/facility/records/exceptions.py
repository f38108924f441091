"""What the facility side refuses, and the codes it refuses with.

ABDM publishes only a few v3 codes (ABDM-1010 patient not found, ABDM-1035 incorrect
OTP, ABDM-1024 dependent service unavailable). The gateway uses the ABDM-11xx block for
its own faults (ADR 0009); the facility side (HIP and HIU) uses ABDM-13xx for its
refusals, so the consent manager and a person reading the ledger can tell them apart:

==========  ============================================================================
ABDM-1010   no patient matches the discovery (ABDM's own code)
ABDM-1035   wrong link OTP (ABDM's own code)
ABDM-1301   the consent artefact is unknown here, or names another HIP / HIU
ABDM-1302   the consent is not granted (denied, revoked, or the ABHA opted out)
ABDM-1303   the consent has expired (past its dataEraseAt)
ABDM-1304   a health-information type outside the artefact
ABDM-1305   a date range outside the artefact
ABDM-1306   the artefact's signature does not verify with the consent manager's key
ABDM-1307   the key material is unusable (not a Curve25519 point, or expired)
ABDM-1308   the data push names an unknown or finished transaction
ABDM-1309   a pushed entry's checksum does not match its decrypted content
ABDM-1310   a pushed entry does not decrypt with this request's key material
ABDM-1311   a pushed or stored document is not a valid FHIR document (path in message)
ABDM-1312   the link request is unknown, expired or locked after too many wrong OTPs
ABDM-1313   the care contexts named are not this patient's at this HIP
ABDM-1314   the data push is malformed (page numbers, shape, an entry without content)
ABDM-1315   the HI request's dataPushUrl is not an http(s) URL
==========  ============================================================================

The HIU's data push is authenticated like the gateway's own calls, with the gateway's
codes (ABDM-1101 token missing or invalid, ABDM-1102 expired: 401; ABDM-1109 the token's
bridge does not serve the transfer's HIP: 403).
"""

from __future__ import annotations

from healthstack.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

PATIENT_NOT_FOUND = "ABDM-1010"
WRONG_OTP = "ABDM-1035"
ARTEFACT_UNKNOWN = "ABDM-1301"
CONSENT_NOT_GRANTED = "ABDM-1302"
CONSENT_EXPIRED = "ABDM-1303"
HI_TYPE_OUTSIDE = "ABDM-1304"
DATE_OUTSIDE = "ABDM-1305"
SIGNATURE_INVALID = "ABDM-1306"
KEY_MATERIAL_BAD = "ABDM-1307"
TRANSACTION_UNKNOWN = "ABDM-1308"
CHECKSUM_MISMATCH = "ABDM-1309"
DECRYPT_FAILED = "ABDM-1310"
DOCUMENT_INVALID = "ABDM-1311"
LINK_REQUEST_INVALID = "ABDM-1312"
CARE_CONTEXT_MISMATCH = "ABDM-1313"
PUSH_MALFORMED = "ABDM-1314"
DATA_PUSH_URL_BAD = "ABDM-1315"
SENDER_NOT_HIP = "ABDM-1109"  # the gateway's "service not of this bridge"


class ConsentRefused(PermissionDenied):
    """A request outside what a consent artefact allows."""

    code = CONSENT_NOT_GRANTED


class ArtefactInvalid(PermissionDenied):
    """An artefact whose signature or scope this facility cannot accept."""

    code = SIGNATURE_INVALID


class DocumentInvalid(ValidationFailed):
    """A FHIR document the IG validator refuses; ``field`` is the element path."""

    code = DOCUMENT_INVALID


class TransactionUnknown(NotFound):
    code = TRANSACTION_UNKNOWN


class PushMalformed(ValidationFailed):
    code = PUSH_MALFORMED


class PatientNotFound(NotFound):
    code = PATIENT_NOT_FOUND


class LinkRefused(ValidationFailed):
    code = LINK_REQUEST_INVALID


class RecordConflict(Conflict):
    code = "HS-4301"
