"""The facility side's tables: what a hospital's HMIS keeps as a HIP and as a HIU.

One state HMIS bridge serves many facilities, so every row names its facility by HFR id
(``hip_id`` / ``hiu_id``).

HIP (records it holds and shares):
- ``FacilityPatient``: the facility's patient register (MRN, demographics, ABHA when
  known) and the link token the consent manager issued for the patient (sealed: it is a
  credential).
- ``CareContext``: one per OPD visit or IPD admission; its display carries no clinical
  detail; its link state with the patient's ABHA.
- ``HealthDocument``: one FHIR document bundle in a care context (validated before it is
  stored; never hard-deleted: ``status``).
- ``HipDiscovery`` / ``HipLinkRequest``: patient-initiated discovery and the OTP that
  confirms a link.
- ``HipConsentArtefact``: a consent artefact the CM notified (signature verified), with
  its status (``GRANTED`` until revoked, expired or the ABHA opted out).
- ``HipDataTransfer`` / ``HipTransferPage``: one health-information request being
  served: the pages it is pushed in, each sent once.

HIU (records it asks for and receives):
- ``HiuConsentRequest``: a doctor's request for a patient's records and its status.
- ``HiuConsentArtefact``: an artefact granted for it (one per HIP), fetched and verified.
- ``HiuDataRequest``: one health-information request per artefact: the transaction, and
  the Fidelius key material with the private half sealed.
- ``HiuReceivedRecord``: one entry received: the decrypted bundle while it may be kept,
  erased at ``dataEraseAt``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin

# A cleared JSON value is SQL NULL (not JSON ``null``), so "no bundle kept" is a plain
# IS NULL for queries and for anyone auditing the table.
NULLABLE_JSON = JSON(none_as_null=True)

# --------------------------------------------------------------------------- vocabularies


class LinkStatus(StrEnum):
    """A care context's link with the patient's ABHA (at the consent manager)."""

    UNLINKED = "unlinked"  # no ABHA known for the patient (an SMS may invite them)
    PENDING = "pending"  # ABHA known; waiting for a link token or the next link push
    LINKING = "linking"  # the link call went out; waiting for on_carecontext
    LINKED = "linked"  # the CM confirmed the link (HIP- or patient-initiated)
    FAILED = "failed"  # the CM refused; ``link_error`` says why; retried on request


class DocumentStatus(StrEnum):
    CURRENT = "current"
    # FHIR's word for a record that should never have existed: kept, never shared.
    ENTERED_IN_ERROR = "entered-in-error"


class ConsentStatus(StrEnum):
    """ABDM's consent statuses (REFERENCE.md §4.4), plus what this side adds."""

    REQUESTED = "REQUESTED"
    GRANTED = "GRANTED"
    DENIED = "DENIED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    # Facility side only: the patient's ABHA was deactivated or deleted (opt-out).
    DELETED = "DELETED"
    # HIU only: the request could not be sent or the CM refused it (``error_code``).
    ERRORED = "ERRORED"


class TransferStatus(StrEnum):
    ACKNOWLEDGED = "ACKNOWLEDGED"  # accepted; pages queued
    TRANSFERRED = "TRANSFERRED"  # every page delivered
    FAILED = "FAILED"  # some page could not be delivered (or consent ended mid-way)
    REFUSED = "REFUSED"  # outside the artefact: nothing sent


class PageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DataRequestStatus(StrEnum):
    REQUESTED = "REQUESTED"  # the HI request is queued or sent to the CM
    ACKNOWLEDGED = "ACKNOWLEDGED"  # the CM answered with the transaction id
    RECEIVING = "RECEIVING"  # some pages arrived
    COMPLETED = "COMPLETED"  # every page arrived, every entry OK
    PARTIAL = "PARTIAL"  # every page arrived, some entries ERRORED
    ERRORED = "ERRORED"  # the CM or HIP refused the request
    ERASED = "ERASED"  # past dataEraseAt (or consent ended): data and keys gone


class RecordStatus(StrEnum):
    OK = "OK"  # decrypted, checksum and document valid
    ERRORED = "ERRORED"  # refused: ``error_code`` says why; no bundle kept
    ERASED = "ERASED"  # erased at dataEraseAt or when the consent ended


# --------------------------------------------------------------------------- HIP


class FacilityPatient(IdMixin, Base):
    """A patient in one facility's register. ``abha_number`` is 14 digits without
    hyphens (ABDM's wire form); ``gender`` is ABDM's M/F/O/U."""

    __tablename__ = "facility_patient"
    __table_args__ = (
        UniqueConstraint("hip_id", "mrn"),
        Index("ix_facility_patient_abha_number", "hip_id", "abha_number"),
        Index("ix_facility_patient_abha_address", "hip_id", "abha_address"),
        Index("ix_facility_patient_mobile", "hip_id", "mobile"),
    )

    hip_id: Mapped[str] = mapped_column(String(16))
    mrn: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(192))
    gender: Mapped[str] = mapped_column(String(1))
    year_of_birth: Mapped[int | None] = mapped_column(SmallInteger)
    mobile: Mapped[str | None] = mapped_column(String(10))
    abha_number: Mapped[str | None] = mapped_column(String(14))
    abha_address: Mapped[str | None] = mapped_column(String(64))
    # The CM's link token for this patient at this HIP, sealed (kernel.crypto.Sealer,
    # bound to the row's public id). Valid for months; cleared when the CM refuses it.
    link_token_sealed: Mapped[str | None] = mapped_column(Text)
    link_token_expires_at: Mapped[datetime | None]
    # The generate-token call awaiting its answer (its REQUEST-ID), so records added
    # meanwhile do not ask again.
    link_token_request_id: Mapped[str | None] = mapped_column(String(36))
    link_token_requested_at: Mapped[datetime | None]
    link_token_error: Mapped[str | None] = mapped_column(String(32))
    sms_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    care_contexts: Mapped[list[CareContext]] = relationship(
        back_populates="patient", order_by="CareContext.id"
    )


class CareContext(IdMixin, Base):
    """One OPD visit or IPD admission. ``reference`` is what ABDM calls the care
    context reference number (unique at the HIP); ``display`` is shown to the patient
    and, before any consent, to other facilities: visit kind, date and facility only."""

    __tablename__ = "care_context"
    __table_args__ = (
        UniqueConstraint("hip_id", "reference"),
        Index("ix_care_context_link", "hip_id", "link_status"),
    )

    patient_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("facility_patient.id"), index=True)
    hip_id: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(3))  # OPD | IPD
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # ABDM HI types of the documents in it, in the order they first appeared.
    hi_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    link_status: Mapped[str] = mapped_column(String(12))
    # hip (HIP-initiated, link token) | patient (discover + OTP)
    linked_via: Mapped[str | None] = mapped_column(String(8))
    linked_at: Mapped[datetime | None]
    # The ABHA address it is linked to (the CM's account of the patient).
    linked_abha_address: Mapped[str | None] = mapped_column(String(64))
    link_request_id: Mapped[str | None] = mapped_column(String(36))
    link_error: Mapped[str | None] = mapped_column(String(32))
    last_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    patient: Mapped[FacilityPatient] = relationship(back_populates="care_contexts")
    documents: Mapped[list[HealthDocument]] = relationship(
        back_populates="care_context", order_by="HealthDocument.id"
    )


class HealthDocument(IdMixin, Base):
    """A FHIR R4 document bundle (NRCeS IG 6.0.0) in a care context. ``recorded_at`` is
    the Composition's date: what a consent's date range is compared with."""

    __tablename__ = "health_document"
    __table_args__ = (Index("ix_health_document_context", "care_context_id", "status"),)

    care_context_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("care_context.id"))
    hi_type: Mapped[str] = mapped_column(String(32))
    bundle: Mapped[dict[str, Any]] = mapped_column(JSON)
    size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.CURRENT.value)
    recorded_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    status_changed_at: Mapped[datetime | None]

    care_context: Mapped[CareContext] = relationship(back_populates="documents")


class HipDiscovery(IdMixin, Base):
    """A discovery the HIP answered: the patient it matched for a CM transaction, so a
    link init names only that patient's care contexts."""

    __tablename__ = "hip_discovery"
    __table_args__ = (UniqueConstraint("hip_id", "transaction_id"),)

    hip_id: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("facility_patient.id"))
    abha_address: Mapped[str] = mapped_column(String(64))
    matched_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class HipLinkRequest(IdMixin, Base):
    """A patient-initiated link waiting for its OTP. Only a keyed hash of the OTP is
    kept; ``link_ref`` is the link reference number the CM sends back on confirm."""

    __tablename__ = "hip_link_request"

    hip_id: Mapped[str] = mapped_column(String(16))
    link_ref: Mapped[str] = mapped_column(String(64), unique=True)
    transaction_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("facility_patient.id"))
    abha_address: Mapped[str] = mapped_column(String(64))
    care_context_ids: Mapped[list[int]] = mapped_column(JSON)
    otp_hash: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # PENDING | LINKED | LOCKED | EXPIRED
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class HipConsentArtefact(IdMixin, Base):
    """A consent artefact for this HIP as the CM notified it, kept only after its
    signature verified. The scope columns are copied out of ``detail`` for the checks;
    ``detail`` and ``signature`` are the artefact as signed."""

    __tablename__ = "hip_consent_artefact"

    consent_id: Mapped[str] = mapped_column(String(64), unique=True)
    hip_id: Mapped[str] = mapped_column(String(16), index=True)
    hiu_id: Mapped[str | None] = mapped_column(String(32))
    patient_abha_address: Mapped[str] = mapped_column(String(64), index=True)
    purpose_code: Mapped[str] = mapped_column(String(16))
    hi_types: Mapped[list[str]] = mapped_column(JSON)
    # [{"patientReference": mrn, "careContextReference": reference}]
    care_contexts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    data_erase_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    detail: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    signature: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    status_changed_at: Mapped[datetime]


class HipDataTransfer(IdMixin, Base):
    """One health-information request served by this HIP. The pages are fixed when the
    request is accepted, one document each, so a worker that restarts resumes at the
    first unsent page. Each page is encrypted under key material made when it is sent
    and never stored (records.hip.data_request._paginate says why)."""

    __tablename__ = "hip_data_transfer"

    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    hip_id: Mapped[str] = mapped_column(String(16))
    consent_id: Mapped[str] = mapped_column(String(64), index=True)
    artefact_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("hip_consent_artefact.id"))
    data_push_url: Mapped[str] = mapped_column(String(512))
    # The HIU's wire keyMaterial (public: key, nonce, expiry).
    hiu_key_material: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    # Per care context reference: DELIVERED | ERRORED (set when the transfer ends).
    care_context_status: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    pages: Mapped[list[HipTransferPage]] = relationship(
        back_populates="transfer", order_by="HipTransferPage.page_number"
    )


class HipTransferPage(IdMixin, Base):
    """One page of a transfer: which documents it carries, and whether it was sent.
    A page is committed as sent after the HIU took it; the HIU ignores a page it has
    already received, so the window between the two cannot duplicate data."""

    __tablename__ = "hip_transfer_page"
    __table_args__ = (UniqueConstraint("transfer_id", "page_number"),)

    transfer_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("hip_data_transfer.id"))
    page_number: Mapped[int] = mapped_column(Integer)
    # [{"document": id, "careContextReference": ref}]
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]

    transfer: Mapped[HipDataTransfer] = relationship(back_populates="pages")


# --------------------------------------------------------------------------- HIU


class HiuConsentRequest(IdMixin, Base):
    """A doctor's request for a patient's records (consent init). ``requested_by`` is
    the staff member's public id; the doctor's name and HPR id travel as the requester.
    Under the PHR's HIU (``phr.own_records``) it is the patient's own, ``requested_by`` their
    ABHA number."""

    __tablename__ = "hiu_consent_request"
    __table_args__ = (Index("ix_hiu_consent_request_hiu", "hiu_id", "created_at"),)

    hiu_id: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requester_name: Mapped[str] = mapped_column(String(128))
    requester_hpr_id: Mapped[str | None] = mapped_column(String(32))
    patient_abha_address: Mapped[str] = mapped_column(String(64))
    purpose_code: Mapped[str] = mapped_column(String(16))
    hi_types: Mapped[list[str]] = mapped_column(JSON)
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    data_erase_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    # The CM's consent request id (from on-init).
    consent_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    init_request_id: Mapped[str] = mapped_column(String(36))
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    artefacts: Mapped[list[HiuConsentArtefact]] = relationship(
        back_populates="request", order_by="HiuConsentArtefact.id"
    )


class HiuConsentArtefact(IdMixin, Base):
    """An artefact granted for a request (one per HIP). Its scope is filled once the
    fetched artefact's signature verified (``verified_at``)."""

    __tablename__ = "hiu_consent_artefact"

    request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("hiu_consent_request.id"), index=True
    )
    consent_id: Mapped[str] = mapped_column(String(64), unique=True)
    hip_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    hi_types: Mapped[list[str] | None] = mapped_column(NULLABLE_JSON)
    care_contexts: Mapped[list[dict[str, Any]] | None] = mapped_column(NULLABLE_JSON)
    date_from: Mapped[datetime | None]
    date_to: Mapped[datetime | None]
    data_erase_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    signature: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    request: Mapped[HiuConsentRequest] = relationship(back_populates="artefacts")


class HiuDataRequest(IdMixin, Base):
    """One health-information request for an artefact. The Fidelius key pair is fresh
    for it; the private key (with the nonce) is sealed, bound to the row's public id,
    and wiped when the data is erased."""

    __tablename__ = "hiu_data_request"

    artefact_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("hiu_consent_artefact.id"), index=True
    )
    hiu_id: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_sealed: Mapped[str | None] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(512))
    nonce: Mapped[str] = mapped_column(String(64))
    # The bridge whose gateway session token came with the first page taken (its
    # client id): later pages of the transaction must come from the same bridge. Each
    # page brings its own key material, which is not kept (docs/adr/0013).
    sender_client_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    page_count: Mapped[int | None] = mapped_column(Integer)
    pages_received: Mapped[list[int]] = mapped_column(JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(String(32))
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    artefact: Mapped[HiuConsentArtefact] = relationship()


class HiuReceivedRecord(IdMixin, Base):
    """One pushed entry. The bundle is kept in clear only while ``status`` is OK and
    before ``erase_at`` (the artefact's dataEraseAt); reads go through the service,
    which checks the artefact is still valid."""

    __tablename__ = "hiu_received_record"
    __table_args__ = (
        UniqueConstraint("data_request_id", "page_number", "entry_index"),
        Index("ix_hiu_received_record_erase", "status", "erase_at"),
    )

    data_request_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("hiu_data_request.id"))
    page_number: Mapped[int] = mapped_column(Integer)
    entry_index: Mapped[int] = mapped_column(Integer)
    care_context_reference: Mapped[str] = mapped_column(String(64))
    hi_type: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(200))
    bundle: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    checksum: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    error_code: Mapped[str | None] = mapped_column(String(32))
    # Why an entry was refused, in words (the rule and the element; never a value).
    error_detail: Mapped[str | None] = mapped_column(String(500))
    # What the validator warned of in a record it kept ({path, rule, message} each;
    # rules the IG does not set are warnings here, docs/adr/0013).
    warnings: Mapped[list[dict[str, str]] | None] = mapped_column(NULLABLE_JSON)
    received_at: Mapped[datetime]
    erase_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]

    data_request: Mapped[HiuDataRequest] = relationship()
