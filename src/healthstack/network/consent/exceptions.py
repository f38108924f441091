"""The consent manager's refusals and their codes.

On the protocol (a HIP's or HIU's request) a refusal travels back as an error callback
``{"error": {"code", "message"}, "response": {"requestId"}}`` on the request's answer
path, and an audit row records it. ABDM publishes a few codes (1010, 1024, 1027, 1035,
1051); for the rest HealthStack uses the ABDM-12xx block (the gateway's own faults are
11xx, docs/adr/0009). The PHR API answers the patient with the HS-16xx block.

=========  ==================================================================
code       meaning
=========  ==================================================================
ABDM-1010  patient not found (no ABHA with that address / number here)
ABDM-1027  blocked for 24 h: too many refused link-token requests for this ABHA
ABDM-1035  incorrect OTP (from the HIP, passed on to the patient)
ABDM-1051  invalid ABHA number or address, or details that do not match it
ABDM-1201  purpose code not one of ABDM's (CAREMGT, BTG, PUBHLTH, HPAYMT, DSRCH, PATRQT)
ABDM-1202  HI type not one of ABDM's eight, or none given
ABDM-1203  date range missing or inverted
ABDM-1204  expiry (dataEraseAt) missing or already past
ABDM-1205  HIU, HIP or requester does not match the sender or is missing
ABDM-1206  body malformed: a required field is missing or has the wrong type
ABDM-1207  consent request not found (or not this HIU's)
ABDM-1208  consent artefact not found (or not this HIU's) for fetch
ABDM-1209  link token unknown, or issued to another HIP
ABDM-1210  link token expired
ABDM-1211  link token issued for another ABHA
ABDM-1212  care contexts to link missing or malformed
ABDM-1213  care context not linked to this ABHA at this HIP
ABDM-1214  mobile number not valid for an SMS
ABDM-1215  discovery or link transaction unknown, or not this HIP's
ABDM-1220  health information request: no consent artefact with that id
ABDM-1221  health information request: the consent was revoked
ABDM-1222  health information request: the consent has expired
ABDM-1223  health information request: the consent belongs to another HIU
ABDM-1224  health information request: dates outside the consent's range
ABDM-1225  health information request: key material not usable
ABDM-1226  health information request: dataPushUrl not an http(s) URL
ABDM-1227  health information transaction unknown, or not this HIP's / HIU's
ABDM-1228  self-request (PATRQT) without the patient's valid proof for it (X-AUTH-TOKEN)
HS-1601    the consent request is not pending any more (409)
HS-1602    the grant widens the request (HI types, dates, expiry, facilities)
HS-1603    the facility is not one of the patient's linked facilities
HS-1604    the care context is not linked to the patient at that facility
HS-1605    nothing chosen to grant
HS-1606    the link transaction is not at a step that allows this (409)
HS-1607    the consent cannot be revoked (not granted) (409)
HS-1608    the facility did not answer in time
HS-1609    the facility is not connected to the network (no active HIP service)
=========  ==================================================================
"""

from __future__ import annotations

from healthstack.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

PATIENT_NOT_FOUND = "ABDM-1010"
BLOCKED = "ABDM-1027"
INCORRECT_OTP = "ABDM-1035"
INVALID_ABHA = "ABDM-1051"
PURPOSE_INVALID = "ABDM-1201"
HI_TYPE_INVALID = "ABDM-1202"
DATE_RANGE_INVALID = "ABDM-1203"
EXPIRY_INVALID = "ABDM-1204"
PARTY_INVALID = "ABDM-1205"
BODY_INVALID = "ABDM-1206"
REQUEST_NOT_FOUND = "ABDM-1207"
ARTEFACT_NOT_FOUND = "ABDM-1208"
LINK_TOKEN_INVALID = "ABDM-1209"  # noqa: S105 - an error code
LINK_TOKEN_EXPIRED = "ABDM-1210"  # noqa: S105 - an error code
LINK_TOKEN_OTHER_PATIENT = "ABDM-1211"  # noqa: S105 - an error code
CARE_CONTEXTS_INVALID = "ABDM-1212"
CARE_CONTEXT_NOT_LINKED = "ABDM-1213"
MOBILE_INVALID = "ABDM-1214"
TRANSACTION_UNKNOWN = "ABDM-1215"
HI_NO_CONSENT = "ABDM-1220"
HI_REVOKED = "ABDM-1221"
HI_EXPIRED = "ABDM-1222"
HI_OTHER_HIU = "ABDM-1223"
HI_DATES_OUTSIDE = "ABDM-1224"
HI_KEY_INVALID = "ABDM-1225"
HI_PUSH_URL_INVALID = "ABDM-1226"
HI_TRANSACTION_UNKNOWN = "ABDM-1227"
SELF_REQUEST_UNPROVEN = "ABDM-1228"

NOT_PENDING = "HS-1601"
WIDENS = "HS-1602"
HIP_NOT_LINKED = "HS-1603"
CARE_CONTEXT_UNKNOWN = "HS-1604"
NOTHING_CHOSEN = "HS-1605"
WRONG_STEP = "HS-1606"
NOT_REVOCABLE = "HS-1607"
HIP_SILENT = "HS-1608"
HIP_OFFLINE = "HS-1609"


class ProtocolRefused(ValidationFailed):
    """A HIP's or HIU's request refused for what it says (400 family)."""


class ProtocolNotFound(NotFound):
    """What the request names does not exist, or is not the sender's."""


class ProtocolDenied(PermissionDenied):
    """The request is well formed but the consent does not allow it."""


class NotPending(Conflict):
    code = NOT_PENDING


class WrongStep(Conflict):
    code = WRONG_STEP


class NotRevocable(Conflict):
    code = NOT_REVOCABLE
