"""Consent at the HIP (``consent_notify``): a GRANTED artefact is kept only after its
signature verified and only when it is for this HIP; REVOKED / EXPIRED end it (an end
that overtakes its grant leaves a tombstone). Acknowledged on
``/consent/v3/request/hip/on-notify``. ``forget_patient`` ends an opted-out ABHA's
artefacts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.artefacts import verify_artefact
from healthstack.facility.records.hip.common import (
    answer,
    error_of,
    gateway_context,
    parse_body,
    reference_to,
)
from healthstack.facility.records.models import (
    ConsentStatus,
    HipConsentArtefact,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext, JwksCache
from healthstack.kernel.audit import audited, keep_failures
from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.protocol.abdm import messages as m


def _store_artefact(
    session: Session, detail: m.ConsentDetail, raw: dict[str, Any], signature: str, *, clock: Clock
) -> HipConsentArtefact:
    now = clock.now()
    row = session.scalar(
        select(HipConsentArtefact).where(HipConsentArtefact.consent_id == detail.consent_id)
    )
    if row is None:
        row = HipConsentArtefact(public_id=uuid.uuid4(), consent_id=detail.consent_id[:64])
        session.add(row)
    elif row.status != ConsentStatus.GRANTED.value:
        return row  # revoked or expired stays so: a late GRANTED does not revive it
    row.hip_id = detail.hip.id
    row.hiu_id = detail.hiu.id if detail.hiu else None
    row.patient_abha_address = detail.patient.id.lower()[:64]
    row.purpose_code = detail.purpose.code[:16]
    row.hi_types = list(detail.hi_types)
    row.care_contexts = [c.model_dump(by_alias=True) for c in detail.care_contexts]
    row.date_from = detail.permission.date_range.from_
    row.date_to = detail.permission.date_range.to
    row.data_erase_at = detail.permission.data_erase_at
    row.status = ConsentStatus.GRANTED.value
    row.detail = raw
    row.signature = signature
    row.received_at = now
    row.status_changed_at = now
    session.flush()
    return row


def end_artefact(row: HipConsentArtefact, status: ConsentStatus, now: datetime) -> None:
    """Revoked, expired or opted out: the artefact stops serving data; its signed body
    is dropped (the scope columns stay for the audit trail)."""
    if row.status == status.value:
        return
    row.status = status.value
    row.status_changed_at = now
    row.detail = None
    row.signature = None


def ended_artefact(
    hip_id: str, consent_id: str, status: ConsentStatus, now: datetime
) -> HipConsentArtefact:
    """An artefact known only by its end: no scope, nothing it lets out."""
    return HipConsentArtefact(
        public_id=uuid.uuid4(),
        consent_id=consent_id[:64],
        hip_id=hip_id,
        patient_abha_address="",
        purpose_code="",
        hi_types=[],
        care_contexts=[],
        date_from=now,
        date_to=now,
        data_erase_at=now,
        status=status.value,
        received_at=now,
        status_changed_at=now,
    )


def consent_notify(
    session: Session, *, cb: CallbackContext, clock: Clock, keys: JwksCache, outbox: AbdmOutbox
) -> None:
    """The CM tells the HIP of a consent granted (the artefact, verified with the
    gateway's ``keys``) or ended."""
    body: m.HipConsentNotify = parse_body(m.HipConsentNotify, cb.body)
    n = body.notification
    hip = str(cb.hip_id)
    ctx = gateway_context(cb)
    now = clock.now()
    status = n.status.strip().upper()
    try:
        with audited(
            session,
            ctx,
            action=f"records.consent.{status.lower()}"[:64],
            resource_type="consent_artefact",
            resource_id=n.consent_id[:64],
            clock=clock,
        ):
            if status == ConsentStatus.GRANTED.value:
                raw = cb.body.get("notification", {}).get("consentDetail")
                detail = verify_artefact(raw, n.signature, keys=keys)
                if detail.hip.id != hip:
                    raise x.ArtefactInvalid(
                        "The consent artefact is for another HIP.", code=x.ARTEFACT_UNKNOWN
                    )
                if detail.consent_id != n.consent_id:
                    raise x.ArtefactInvalid(
                        "The notification's consentId differs from the signed artefact's.",
                        code=x.ARTEFACT_UNKNOWN,
                    )
                _store_artefact(session, detail, raw, str(n.signature), clock=clock)
            elif status in (
                ConsentStatus.REVOKED.value,
                ConsentStatus.EXPIRED.value,
                ConsentStatus.DENIED.value,
            ):
                row = session.scalar(
                    select(HipConsentArtefact).where(HipConsentArtefact.consent_id == n.consent_id)
                )
                if row is None:
                    # The end overtook the grant (its delivery is still being retried):
                    # a tombstone, so the late GRANTED does not make it live here.
                    session.add(ended_artefact(hip, n.consent_id, ConsentStatus(status), now))
                elif row.hip_id == hip:
                    end_artefact(row, ConsentStatus(status), now)
            else:
                raise ValidationFailed(
                    f"Consent status {status[:16]!r} is not one a HIP is told of.",
                    field="notification.status",
                )
    except DomainError as exc:
        keep_failures(session, exc)
        answer(
            session,
            outbox=outbox,
            cb=cb,
            path=m.HIP_ON_CONSENT_NOTIFY,
            body=m.OnHipConsentNotify(error=error_of(exc), response=reference_to(cb)),
        )
        return
    answer(
        session,
        outbox=outbox,
        cb=cb,
        path=m.HIP_ON_CONSENT_NOTIFY,
        body=m.OnHipConsentNotify(
            acknowledgement=m.ConsentAcknowledgement(consent_id=n.consent_id),
            response=reference_to(cb),
        ),
    )


def forget_patient(session: Session, *, clock: Clock, hip_id: str, abha_address: str) -> int:
    """The ABHA was deactivated or deleted (opt-out): its artefacts here end (DELETED)."""
    now = clock.now()
    rows = session.scalars(
        select(HipConsentArtefact).where(
            HipConsentArtefact.hip_id == hip_id,
            HipConsentArtefact.patient_abha_address == abha_address.strip().lower(),
            HipConsentArtefact.status == ConsentStatus.GRANTED.value,
        )
    ).all()
    for row in rows:
        end_artefact(row, ConsentStatus.DELETED, now)
    return len(rows)
