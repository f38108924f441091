"""The consent manager's tables: link tokens, linked care contexts, discovery and link
transactions, consent requests and artefacts, notifications sent and their
acknowledgements, health information transfers and their status notices, and the
patient's consent PIN (a keyed hash).

No table holds health data (the HIP pushes it straight to the HIU), an OTP, a link
token in clear, or the HIU's key material (it travels in the gateway's ledger only
until delivered)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class LinkToken(IdMixin, Base):
    """A link token issued to one HIP for one ABHA account (HIP-initiated linking).
    Only its SHA-256 is kept; it may link many care contexts until it expires."""

    __tablename__ = "consent_link_token"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), index=True)
    hip_id: Mapped[str] = mapped_column(String(32))
    # The HIP's REQUEST-ID of generate-token.
    hip_request_id: Mapped[str] = mapped_column(String(36))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class PatientLink(IdMixin, Base):
    """An ABHA account linked to a patient record (``patient_reference``) at a HIP."""

    __tablename__ = "consent_patient_link"
    __table_args__ = (UniqueConstraint("account_id", "hip_id", "patient_reference"),)

    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), index=True)
    hip_id: Mapped[str] = mapped_column(String(32))
    patient_reference: Mapped[str] = mapped_column(String(64))
    linked_via: Mapped[str] = mapped_column(String(8))  # LinkedVia
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    care_contexts: Mapped[list[LinkedCareContext]] = relationship(
        back_populates="link", order_by="LinkedCareContext.id"
    )


class LinkedCareContext(IdMixin, Base):
    """One care context (an OPD visit, an admission) linked under a ``PatientLink``.
    ``display`` is the HIP's non-clinical label; ``hi_types`` what it holds so far."""

    __tablename__ = "consent_care_context"
    __table_args__ = (UniqueConstraint("link_id", "reference"),)

    link_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("consent_patient_link.id"))
    reference: Mapped[str] = mapped_column(String(64))
    display: Mapped[str] = mapped_column(String(256))
    hi_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    linked_via: Mapped[str] = mapped_column(String(8))  # LinkedVia
    linked_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The HIP's last context notify: new data was added to this care context.
    data_added_at: Mapped[datetime | None]

    link: Mapped[PatientLink] = relationship(back_populates="care_contexts")


class LinkTransaction(IdMixin, Base):
    """A patient-initiated discovery and link at one HIP; ``public_id`` is ABDM's
    transactionId. ``pending_request_id`` is the REQUEST-ID of the CM's last message
    to the HIP: only an answer quoting it is applied (a late or duplicate one is not)."""

    __tablename__ = "consent_link_transaction"

    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), index=True)
    hip_id: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(12))  # LinkStep
    pending_request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The HIP's on-discover answer: patient entries (reference, display, care contexts
    # with their non-clinical labels, HI type, count) and what matched.
    discovered: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    matched_by: Mapped[list[str] | None] = mapped_column(JSON)
    # What the patient chose to link (patient entries as sent in link init).
    chosen: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    link_ref_number: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime]  # when the last message to the HIP was queued
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsentRequest(IdMixin, Base):
    """An HIU's consent request; ``public_id`` is ABDM's consentRequest id."""

    __tablename__ = "consent_request"
    __table_args__ = (
        Index("ix_consent_request_patient", "account_id", "status"),
        Index("ix_consent_request_due", "status", "data_erase_at"),
    )

    hiu_id: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"))
    patient_address: Mapped[str] = mapped_column(String(64))
    purpose_code: Mapped[str] = mapped_column(String(8))
    purpose_text: Mapped[str] = mapped_column(String(128))
    requester: Mapped[dict[str, Any]] = mapped_column(JSON)
    hi_types: Mapped[list[str]] = mapped_column(JSON)
    access_mode: Mapped[str] = mapped_column(String(8))
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    # ABDM's dataEraseAt: when the HIU must erase its copy, and the consent's expiry.
    data_erase_at: Mapped[datetime]
    frequency: Mapped[dict[str, Any]] = mapped_column(JSON)
    # v0.5 lets a request name one HIP and care contexts; the grant may not go beyond.
    hip_id: Mapped[str | None] = mapped_column(String(32))
    care_contexts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # messages.ConsentStatus
    hiu_request_id: Mapped[str] = mapped_column(String(36))
    # A self-request's proof (the patient's X-AUTH-TOKEN) by its one-time id: unique,
    # so a proof seen once grants nothing more (ADR 0015).
    self_proof_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    artefacts: Mapped[list[ConsentArtefact]] = relationship(
        back_populates="request", order_by="ConsentArtefact.id"
    )


class ConsentArtefact(IdMixin, Base):
    """One HIP's share of a granted request; ``public_id`` is the consentId. ``detail``
    is the consentDetail exactly as signed; ``signature`` the CM's detached JWS."""

    __tablename__ = "consent_artefact"
    __table_args__ = (Index("ix_consent_artefact_due", "status", "expires_at"),)

    request_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("consent_request.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), index=True)
    hip_id: Mapped[str] = mapped_column(String(32))
    hiu_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10))  # GRANTED | REVOKED | EXPIRED
    hi_types: Mapped[list[str]] = mapped_column(JSON)
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    expires_at: Mapped[datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]

    request: Mapped[ConsentRequest] = relationship(back_populates="artefacts")


class ConsentNotice(IdMixin, Base):
    """A consent notification the CM sent (to a HIP about an artefact, or to the HIU
    about a request) and its acknowledgement, matched by the callback's REQUEST-ID."""

    __tablename__ = "consent_notice"

    target: Mapped[str] = mapped_column(String(3))  # NoticeTarget
    target_id: Mapped[str] = mapped_column(String(32))
    status_sent: Mapped[str] = mapped_column(String(10))
    request_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("consent_request.id"), index=True)
    artefact_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("consent_artefact.id"))
    gateway_request_id: Mapped[str] = mapped_column(String(36), unique=True)
    sent_at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    ack_status: Mapped[str | None] = mapped_column(String(10))


class HiRequest(IdMixin, Base):
    """A health information request the CM accepted; ``public_id`` is the
    transactionId the HIU and the HIP both got."""

    __tablename__ = "consent_hi_request"

    artefact_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("consent_artefact.id"), index=True
    )
    hiu_id: Mapped[str] = mapped_column(String(32))
    hip_id: Mapped[str] = mapped_column(String(32))
    date_from: Mapped[datetime]
    date_to: Mapped[datetime]
    data_push_url: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(12))  # HiRequestStatus
    hiu_request_id: Mapped[str] = mapped_column(String(36))
    # The REQUEST-ID of the CM's forward to the HIP: its acknowledgement quotes it.
    hip_request_id: Mapped[str] = mapped_column(String(36), index=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    artefact: Mapped[ConsentArtefact] = relationship()
    notices: Mapped[list[TransferNotice]] = relationship(
        back_populates="hi_request", order_by="TransferNotice.id"
    )


class TransferNotice(IdMixin, Base):
    """A HIP's or HIU's transfer notification (``health-information/notify``): per care
    context, DELIVERED / OK / ERRORED. No health data."""

    __tablename__ = "consent_transfer_notice"

    hi_request_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("consent_hi_request.id"), index=True
    )
    notifier_type: Mapped[str] = mapped_column(String(3))  # HIP | HIU
    notifier_id: Mapped[str] = mapped_column(String(32))
    session_status: Mapped[str] = mapped_column(String(12))
    status_responses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    done_at: Mapped[datetime]
    received_at: Mapped[datetime]
    gateway_request_id: Mapped[str] = mapped_column(String(36), unique=True)

    hi_request: Mapped[HiRequest] = relationship(back_populates="notices")


class ConsentPin(IdMixin, Base):
    """The patient's consent PIN, which approving a consent needs (as ABDM's PHR apps
    ask for one). Only a keyed hash is kept, bound to the account; wrong tries lock it
    for a while (``network.consent.pin``)."""

    __tablename__ = "consent_pin"

    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(64))
    failed_tries: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    set_at: Mapped[datetime]
    updated_at: Mapped[datetime]
