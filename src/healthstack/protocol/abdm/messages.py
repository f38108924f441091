"""Every body that travels in ABDM's HIE-CM v3 exchange, as pydantic v2 models, shared
by both sides (the network side's ``network.gateway`` / ``network.consent`` and the facility side's
``facility.records``): linking, discovery, consent, data flow and the data push.

Field names are the specs' own camelCase (aliases generated from the snake_case
attribute names; ``from`` is ``from_``). Sources, in order of precedence:

- ``HIECM-LinkTokenService.yml`` (v3) for the link token;
- ``ndhm-gateway-v1.yml`` (v0.5) schemas for consent and data flow, which v3 reuses with
  two changes: ``requestId`` / ``timestamp`` moved from the body to the REQUEST-ID and
  TIMESTAMP headers, and the answer's ``resp{requestId}`` became ``response{requestId}``;
  errors are ``error{code: "ABDM-xxxx", message}`` (v0.5 had integer codes);
- the endpoint map ``registries/abdm-endpoint-map.json`` for the v3 linking bodies
  (one ``patient`` entry per HI type with ``hiType`` and ``count``).

Parsing is tolerant (unknown fields are ignored; vocabularies such as ``hiTypes`` or
``purpose.code`` are plain strings so the receiver can refuse a bad value with its own
ABDM error instead of a parser's); writing is strict: ``dump(model)`` gives the wire
dict (aliases, no ``None`` fields, timestamps as ABDM writes them,
``2026-11-26T10:00:00.000Z``). The vocabularies are the enums below.

The consent artefact's signature (``consent_signing_input``,
``verify_consent_signature``): a compact JWS, RS256, with a *detached* payload
(``<header>..<signature>``) whose payload is the canonical JSON of ``consentDetail``
(keys sorted, no spaces, UTF-8), signed with the consent manager's key that the gateway
publishes at ``/gateway/v3/certs`` (the header's ``kid`` names it). Verify it against
the ``consentDetail`` object exactly as received, not a re-serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import jwt
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)
from pydantic.alias_generators import to_camel

from healthstack.protocol.abdm.fidelius import WireKeyMaterial

# --------------------------------------------------------------------------- paths
# Gateway paths are relative to the gateway base (``.../api/hiecm``); bridge paths are
# at the bridge's registered URL.

# HIP-initiated linking (HIP → gateway, answers to the HIP's bridge)
GENERATE_TOKEN = "/v3/token/generate-token"  # noqa: S105 - a path
ON_GENERATE_TOKEN = "/api/v3/hip/token/on-generate-token"  # noqa: S105 - a path
LINK_CARE_CONTEXT = "/hip/v3/link/carecontext"
ON_LINK_CARE_CONTEXT = "/api/v3/link/on_carecontext"
CONTEXT_NOTIFY = "/hip/v3/link/context/notify"
ON_CONTEXT_NOTIFY = "/api/v3/links/context/on-notify"
SMS_NOTIFY = "/hip/v3/link/patient/links/sms/notify2"
ON_SMS_NOTIFY = "/api/v3/patients/sms/on-notify"
# Patient-initiated discovery and linking (CM → HIP bridge; HIP answers the gateway)
DISCOVER = "/api/v3/hip/patient/care-context/discover"
ON_DISCOVER = "/user-initiated-linking/v3/patient/care-context/on-discover"
LINK_INIT = "/api/v3/hip/link/care-context/init"
ON_LINK_INIT = "/user-initiated-linking/v3/link/care-context/on-init"
LINK_CONFIRM = "/api/v3/hip/link/care-context/confirm"
ON_LINK_CONFIRM = "/user-initiated-linking/v3/link/care-context/on-confirm"
# Consent (HIU → gateway; CM → HIP / HIU bridges and their acknowledgements)
CONSENT_INIT = "/consent/v3/request/init"
ON_CONSENT_INIT = "/api/v3/hiu/consent/request/on-init"
CONSENT_STATUS = "/consent/v3/request/status"
ON_CONSENT_STATUS = "/api/v3/hiu/consent/request/on-status"
HIP_CONSENT_NOTIFY = "/api/v3/consent/request/hip/notify"
HIP_ON_CONSENT_NOTIFY = "/consent/v3/request/hip/on-notify"
HIU_CONSENT_NOTIFY = "/api/v3/hiu/consent/request/notify"
HIU_ON_CONSENT_NOTIFY = "/consent/v3/request/hiu/on-notify"
CONSENT_FETCH = "/consent/v3/fetch"
ON_CONSENT_FETCH = "/api/v3/hiu/consent/on-fetch"
# Data flow
HI_REQUEST = "/data-flow/v3/health-information/request"
ON_HI_REQUEST = "/api/v3/hiu/health-information/on-request"
HIP_HI_REQUEST = "/api/v3/hip/health-information/request"
HIP_ON_HI_REQUEST = "/data-flow/v3/health-information/hip/on-request"
HI_NOTIFY = "/data-flow/v3/health-information/notify"


# --------------------------------------------------------------------------- vocabularies


class HiType(StrEnum):
    """ABDM's health information types (NRCeS IG 6.0.0 record types). The v0.5 gateway
    enum lists the first seven; v3 adds Invoice."""

    OP_CONSULTATION = "OPConsultation"
    PRESCRIPTION = "Prescription"
    DISCHARGE_SUMMARY = "DischargeSummary"
    DIAGNOSTIC_REPORT = "DiagnosticReport"
    IMMUNIZATION_RECORD = "ImmunizationRecord"
    HEALTH_DOCUMENT_RECORD = "HealthDocumentRecord"  # scanned or uploaded documents
    WELLNESS_RECORD = "WellnessRecord"
    INVOICE = "Invoice"


class PurposeCode(StrEnum):
    """Purpose of use (http://terminology.hl7.org/ValueSet/v3-PurposeOfUse subset)."""

    CAREMGT = "CAREMGT"  # care management
    BTG = "BTG"  # break the glass: emergency only
    PUBHLTH = "PUBHLTH"  # public health
    HPAYMT = "HPAYMT"  # healthcare payment
    DSRCH = "DSRCH"  # disease-specific research
    PATRQT = "PATRQT"  # self-requested (the patient's own PHR acting as HIU)


PURPOSE_TEXT = {
    PurposeCode.CAREMGT: "Care Management",
    PurposeCode.BTG: "Break the Glass",
    PurposeCode.PUBHLTH: "Public Health",
    PurposeCode.HPAYMT: "Healthcare Payment",
    PurposeCode.DSRCH: "Disease Specific Healthcare Research",
    PurposeCode.PATRQT: "Self Requested",
}
PURPOSE_REF_URI = "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse"


class ConsentStatus(StrEnum):
    REQUESTED = "REQUESTED"  # waiting for the patient
    GRANTED = "GRANTED"
    DENIED = "DENIED"
    REVOKED = "REVOKED"  # by the patient, after a grant
    EXPIRED = "EXPIRED"  # past the request's or artefact's expiry


class AccessMode(StrEnum):
    VIEW = "VIEW"
    STORE = "STORE"
    QUERY = "QUERY"
    STREAM = "STREAM"


class FrequencyUnit(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


class Gender(StrEnum):
    MALE = "M"
    FEMALE = "F"
    OTHER = "O"
    UNDISCLOSED = "U"


class IdentifierType(StrEnum):
    """Patient identifiers in discovery. v3 names the ABHA ones ABHA_NUMBER /
    ABHA_ADDRESS; v0.5 called them NDHM_HEALTH_NUMBER / HEALTH_ID."""

    MOBILE = "MOBILE"
    ABHA_NUMBER = "ABHA_NUMBER"
    ABHA_ADDRESS = "ABHA_ADDRESS"
    MR = "MR"  # medical record number at the HIP (unverified)
    NDHM_HEALTH_NUMBER = "NDHM_HEALTH_NUMBER"
    HEALTH_ID = "HEALTH_ID"


class AuthenticationType(StrEnum):
    DIRECT = "DIRECT"  # the HIP authenticates the patient itself (its own OTP)
    MEDIATED = "MEDIATED"


class SessionStatus(StrEnum):
    REQUESTED = "REQUESTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    TRANSFERRED = "TRANSFERRED"
    FAILED = "FAILED"


class HiStatus(StrEnum):
    DELIVERED = "DELIVERED"  # HIP: pushed
    OK = "OK"  # HIU: received and decrypted
    ERRORED = "ERRORED"


class NotifierType(StrEnum):
    HIP = "HIP"
    HIU = "HIU"


class AckStatus(StrEnum):
    OK = "OK"
    UNKNOWN = "UNKNOWN"


FHIR_MEDIA = "application/fhir+json"
CONSENT_SCHEMA_VERSION = "v3"


# --------------------------------------------------------------------------- value types


def abdm_timestamp(at: datetime) -> str:
    """ABDM's form: UTC, milliseconds, ``Z`` (``2026-11-26T10:00:00.000Z``)."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _utc(value: datetime) -> datetime:
    # A time without an offset is read as UTC (ABDM's examples omit it at times).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


AbdmDateTime = Annotated[
    datetime, AfterValidator(_utc), PlainSerializer(abdm_timestamp, return_type=str)
]


def _abha_digits(value: Any) -> Any:
    """``91-1234-5678-9012``, ``91123456789012`` or the number 91123456789012 → the 14
    digits as a string; anything else is kept for the receiver to refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        digits = value.replace("-", "").replace(" ", "").strip()
        if digits.isdigit() and len(digits) == 14:
            return digits
    return value


def _as_number(value: str) -> int | str:
    return int(value) if value.isdigit() else value


AbhaNumberStr = Annotated[str, BeforeValidator(_abha_digits)]
# The link-token spec types abhaNumber as a JSON number.
AbhaNumberNum = Annotated[
    str, BeforeValidator(_abha_digits), PlainSerializer(_as_number, return_type=int | str)
]


class Message(BaseModel):
    """Base of every wire model: camelCase aliases, tolerant of unknown fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def dump(model: BaseModel) -> dict[str, Any]:
    """The wire form of a model: aliases, no ``None`` fields, ABDM timestamps."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


# --------------------------------------------------------------------------- common parts


class RequestReference(Message):
    """``response{requestId}``: the REQUEST-ID of the message this one answers."""

    request_id: str


class ErrorDetail(Message):
    code: str  # ABDM-xxxx
    message: str


class ErrorCallback(Message):
    """An answer that refuses: ``{"error": {...}, "response": {"requestId"}}``."""

    error: ErrorDetail
    response: RequestReference | None = None
    transaction_id: str | None = None  # in discovery and link answers


class DateRange(Message):
    # validation_ / serialization_alias (not alias) so type checkers see ``from_=``.
    from_: AbdmDateTime = Field(validation_alias="from", serialization_alias="from")
    to: AbdmDateTime


class KeyObject(Message):
    expiry: str  # kept as written: the sender's Fidelius expiry string
    parameters: str = "Curve25519/32byte random key"
    key_value: str


class KeyMaterial(Message):
    """Fidelius key material; the same shape as ``WireKeyMaterial.to_dict()``."""

    crypto_alg: str = "ECDH"
    curve: str = "Curve25519"
    dh_public_key: KeyObject
    nonce: str

    @classmethod
    def from_wire(cls, wire: WireKeyMaterial) -> KeyMaterial:
        return cls.model_validate(wire.to_dict())

    def to_wire(self) -> WireKeyMaterial:
        """Checks algorithm, key (a point on the curve) and nonce (kernel.fidelius)."""
        return WireKeyMaterial.from_dict(dump(self))


class UsePurpose(Message):
    text: str
    code: str  # a PurposeCode
    ref_uri: str | None = None


class PatientId(Message):
    """``ConsentManagerPatientID``: the patient's ABHA address at the consent manager."""

    id: str


class OrgRef(Message):
    """An HIP, HIU or consent manager: its id (HFR id for facilities) and maybe a name."""

    id: str
    name: str | None = None


class RequesterIdentifier(Message):
    type: str | None = None  # e.g. REGNO
    value: str | None = None
    system: str | None = None  # e.g. https://www.mciindia.org


class Requester(Message):
    name: str
    identifier: RequesterIdentifier | None = None


class Frequency(Message):
    unit: str  # a FrequencyUnit
    value: int
    repeats: int


class Permission(Message):
    access_mode: str  # an AccessMode
    date_range: DateRange
    data_erase_at: AbdmDateTime  # when the HIU must erase its copy; the consent's expiry
    frequency: Frequency


class CareContextRef(Message):
    """``CareContextDefinition``: a care context named by the HIP's patient reference and
    its own reference."""

    patient_reference: str
    care_context_reference: str


class CareContext(Message):
    reference_number: str
    display: str | None = None


class HipPatient(Message):
    """v3 linking's patient entry: one HI type's care contexts of one HIP patient."""

    reference_number: str
    display: str | None = None
    care_contexts: list[CareContext] = Field(default_factory=list)
    hi_type: str | None = None
    count: int | None = None


class Identifier(Message):
    type: str  # an IdentifierType
    value: str


# --------------------------------------------------------------------------- HIP-initiated linking


class GenerateTokenRequest(Message):
    """HIP → gateway ``/v3/token/generate-token`` (X-HIP-ID). One of abhaNumber /
    abhaAddress; name, gender and yearOfBirth must match the ABHA account."""

    abha_number: AbhaNumberNum | None = None
    abha_address: str | None = None
    name: str
    gender: str
    year_of_birth: int


class OnGenerateToken(Message):
    """CM → HIP ``/api/v3/hip/token/on-generate-token``: the link token, or an error."""

    abha_address: str | None = None
    link_token: str | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class LinkCareContextRequest(Message):
    """HIP → gateway ``/hip/v3/link/carecontext`` with X-LINK-TOKEN."""

    abha_number: AbhaNumberStr | None = None
    abha_address: str | None = None
    patient: list[HipPatient]


class OnLinkCareContext(Message):
    abha_address: str | None = None
    status: str | None = None  # "SUCCESS"
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class ContextNotification(Message):
    patient: PatientId  # ABHA address
    care_context: CareContextRef
    hi_types: list[str]
    date: AbdmDateTime
    hip: OrgRef


class ContextNotifyRequest(Message):
    """HIP → gateway ``/hip/v3/link/context/notify``: new data on a linked context."""

    notification: ContextNotification


class Acknowledgement(Message):
    status: str


class OnContextNotify(Message):
    acknowledgement: Acknowledgement | None = None  # status SUCCESS
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class SmsNotification(Message):
    phone_no: str
    receiver_name: str | None = None
    care_context_info: str | None = None
    deeplink_url: str | None = None
    hip: OrgRef


class SmsNotifyRequest(Message):
    """HIP → gateway ``/hip/v3/link/patient/links/sms/notify2``: only a mobile is known."""

    notification: SmsNotification


class OnSmsNotify(Message):
    status: str | None = None  # ACKNOWLEDGED | ERRORED
    error: ErrorDetail | None = None
    response: RequestReference | None = None


# --------------------------------------------------------------------------- discovery and linking


class DiscoverPatient(Message):
    id: str  # ABHA address
    verified_identifiers: list[Identifier] = Field(default_factory=list)
    unverified_identifiers: list[Identifier] = Field(default_factory=list)
    name: str
    gender: str
    year_of_birth: int | None = None


class DiscoverRequest(Message):
    """CM → HIP ``/api/v3/hip/patient/care-context/discover``."""

    transaction_id: str
    patient: DiscoverPatient


class OnDiscover(Message):
    """HIP → gateway ``.../on-discover``: the matched patient's care contexts (one entry
    per HI type), or ``error`` ABDM-1010 (patient not found)."""

    transaction_id: str | None = None
    patient: list[HipPatient] = Field(default_factory=list)
    matched_by: list[str] = Field(default_factory=list)
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class LinkInitRequest(Message):
    """CM → HIP ``/api/v3/hip/link/care-context/init``: the care contexts the patient
    chose; the HIP sends its OTP."""

    transaction_id: str
    abha_address: str
    patient: list[HipPatient]


class LinkMeta(Message):
    communication_medium: str | None = None  # MOBILE | EMAIL
    communication_hint: str | None = None
    communication_expiry: AbdmDateTime | None = None


class LinkReference(Message):
    reference_number: str  # the linkRefNumber the confirmation quotes
    authentication_type: str = AuthenticationType.DIRECT.value
    meta: LinkMeta | None = None


class OnLinkInit(Message):
    transaction_id: str | None = None
    link: LinkReference | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class LinkConfirmation(Message):
    link_ref_number: str
    token: str  # the OTP the patient received from the HIP


class LinkConfirmRequest(Message):
    """CM → HIP ``/api/v3/hip/link/care-context/confirm``."""

    confirmation: LinkConfirmation


class OnLinkConfirm(Message):
    """HIP → gateway ``.../on-confirm``: the linked care contexts, or ``error``
    (ABDM-1035 for a wrong OTP)."""

    patient: list[HipPatient] = Field(default_factory=list)
    error: ErrorDetail | None = None
    response: RequestReference | None = None


# --------------------------------------------------------------------------- consent


class ConsentRequestDetail(Message):
    purpose: UsePurpose
    patient: PatientId
    hip: OrgRef | None = None
    care_contexts: list[CareContextRef] | None = None
    hiu: OrgRef
    requester: Requester
    hi_types: list[str]
    permission: Permission


class ConsentInitRequest(Message):
    """HIU → gateway ``/consent/v3/request/init`` (X-HIU-ID)."""

    consent: ConsentRequestDetail


class ConsentRequestRef(Message):
    id: str


class OnConsentInit(Message):
    consent_request: ConsentRequestRef | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class ConsentStatusRequest(Message):
    """HIU → gateway ``/consent/v3/request/status``."""

    consent_request_id: str


class ArtefactRef(Message):
    id: str


class ConsentRequestState(Message):
    id: str
    status: str  # a ConsentStatus
    consent_artefacts: list[ArtefactRef] | None = None


class OnConsentStatus(Message):
    consent_request: ConsentRequestState | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class ConsentDetail(Message):
    """The consent artefact: what one HIP may share with one HIU."""

    schema_version: str | None = CONSENT_SCHEMA_VERSION
    consent_id: str
    created_at: AbdmDateTime
    patient: PatientId
    care_contexts: list[CareContextRef]
    purpose: UsePurpose
    hip: OrgRef
    hiu: OrgRef | None = None
    consent_manager: OrgRef
    requester: Requester | None = None
    hi_types: list[str]
    permission: Permission


class HipConsentNotification(Message):
    status: str  # GRANTED | REVOKED | EXPIRED (DENIED is never sent to a HIP)
    consent_id: str
    consent_detail: ConsentDetail | None = None  # GRANTED only
    signature: str | None = None  # GRANTED only
    grant_acknowledgement: bool | None = None


class HipConsentNotify(Message):
    """CM → HIP ``/api/v3/consent/request/hip/notify``."""

    notification: HipConsentNotification


class ConsentAcknowledgement(Message):
    status: str = AckStatus.OK.value
    consent_id: str


class OnHipConsentNotify(Message):
    """HIP → gateway ``/consent/v3/request/hip/on-notify``."""

    acknowledgement: ConsentAcknowledgement | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class HiuConsentNotification(Message):
    consent_request_id: str
    status: str
    consent_artefacts: list[ArtefactRef] | None = None


class HiuConsentNotify(Message):
    """CM → HIU ``/api/v3/hiu/consent/request/notify``."""

    notification: HiuConsentNotification


class OnHiuConsentNotify(Message):
    """HIU → gateway ``/consent/v3/request/hiu/on-notify``."""

    acknowledgement: list[ConsentAcknowledgement] | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class ConsentFetchRequest(Message):
    """HIU → gateway ``/consent/v3/fetch``."""

    consent_id: str


class FetchedConsent(Message):
    status: str
    consent_detail: ConsentDetail
    signature: str


class OnConsentFetch(Message):
    consent: FetchedConsent | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


# --------------------------------------------------------------------------- data flow


class HiRequest(Message):
    consent: ArtefactRef  # the consent artefact's id
    date_range: DateRange
    data_push_url: str
    key_material: KeyMaterial


class HiRequestBody(Message):
    """HIU → gateway ``/data-flow/v3/health-information/request`` (X-HIU-ID)."""

    hi_request: HiRequest


class HiRequestState(Message):
    transaction_id: str
    session_status: str  # REQUESTED | ACKNOWLEDGED


class OnHiRequest(Message):
    """CM → HIU ``/api/v3/hiu/health-information/on-request``, and (with
    ACKNOWLEDGED) HIP → gateway ``/data-flow/v3/health-information/hip/on-request``."""

    hi_request: HiRequestState | None = None
    error: ErrorDetail | None = None
    response: RequestReference | None = None


class HipHiRequest(Message):
    """CM → HIP ``/api/v3/hip/health-information/request``: the same transactionId the
    HIU was given."""

    transaction_id: str
    hi_request: HiRequest


class DataEntry(Message):
    content: str | None = None  # base64 AES-GCM ciphertext (Fidelius)
    link: str | None = None  # or a link to it
    media: str = FHIR_MEDIA
    checksum: str  # MD5 of the plaintext
    care_context_reference: str


class DataPush(Message):
    """HIP → the HIU's dataPushUrl, directly (not through the gateway)."""

    page_number: int
    page_count: int
    transaction_id: str
    entries: list[DataEntry]
    key_material: KeyMaterial


class Notifier(Message):
    type: str  # HIP | HIU
    id: str


class StatusResponse(Message):
    care_context_reference: str
    hi_status: str  # DELIVERED | OK | ERRORED
    description: str | None = None


class StatusNotification(Message):
    session_status: str  # TRANSFERRED | FAILED
    hip_id: str
    status_responses: list[StatusResponse] | None = None


class HiNotification(Message):
    consent_id: str
    transaction_id: str
    done_at: AbdmDateTime
    notifier: Notifier
    status_notification: StatusNotification


class HiNotify(Message):
    """HIP or HIU → gateway ``/data-flow/v3/health-information/notify``."""

    notification: HiNotification


# --------------------------------------------------------------------------- signature


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes a ``consentDetail`` is signed as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def consent_signing_input(detail: Mapping[str, Any] | ConsentDetail) -> bytes:
    """What the consent manager's signature covers: canonical JSON of consentDetail."""
    return canonical_json(dump(detail) if isinstance(detail, ConsentDetail) else detail)


def consent_signature_kid(signature: str) -> str | None:
    """The key id in the signature's JWS header (look it up in the gateway's JWKS)."""
    try:
        kid = jwt.get_unverified_header(signature).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


def verify_consent_signature(
    detail: Mapping[str, Any] | ConsentDetail, signature: str, public_key: Any
) -> bool:
    """True when ``signature`` is the RS256 detached JWS of this consentDetail by the
    holder of ``public_key`` (an RSA public key, e.g. from the gateway's JWKS)."""
    try:
        jwt.api_jws.decode_complete(
            signature,
            public_key,
            algorithms=["RS256"],
            detached_payload=consent_signing_input(detail),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    return True
