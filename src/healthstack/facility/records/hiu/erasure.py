"""Erasure: bundles and keys gone at dataEraseAt (``erase_expired``, scheduled);
revocation and expiry erase at once (``erase_artefact``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthstack.facility.records.hip.consent import end_artefact
from healthstack.facility.records.models import (
    ConsentStatus,
    DataRequestStatus,
    HipConsentArtefact,
    HiuConsentArtefact,
    HiuDataRequest,
    HiuReceivedRecord,
    RecordStatus,
)
from healthstack.kernel.clock import Clock


def erase_artefact(session: Session, *, artefact: HiuConsentArtefact, now: datetime) -> int:
    """Erase what an artefact brought (revoked, expired, or past dataEraseAt)."""
    requests = session.scalars(
        select(HiuDataRequest).where(HiuDataRequest.artefact_id == artefact.id)
    ).all()
    erased = 0
    for dr in requests:
        result = session.execute(
            update(HiuReceivedRecord)
            .where(
                HiuReceivedRecord.data_request_id == dr.id,
                HiuReceivedRecord.status != RecordStatus.ERASED.value,
            )
            .values(bundle=None, title=None, status=RecordStatus.ERASED.value, erased_at=now)
        )
        erased += int(getattr(result, "rowcount", 0) or 0)
        dr.key_sealed = None
        dr.status = DataRequestStatus.ERASED.value
        dr.updated_at = now
    return erased


def erase_expired(session: Session, *, clock: Clock) -> int:
    """The scheduled job: every received record past its erase time loses its bundle;
    artefacts past dataEraseAt end (EXPIRED) with their keys. Returns records erased."""
    now = clock.now()
    result = session.execute(
        update(HiuReceivedRecord)
        .where(
            HiuReceivedRecord.status != RecordStatus.ERASED.value,
            HiuReceivedRecord.erase_at <= now,
        )
        .values(bundle=None, title=None, status=RecordStatus.ERASED.value, erased_at=now)
    )
    erased = int(getattr(result, "rowcount", 0) or 0)
    ended = session.scalars(
        select(HiuConsentArtefact).where(
            HiuConsentArtefact.status == ConsentStatus.GRANTED.value,
            HiuConsentArtefact.data_erase_at <= now,
        )
    ).all()
    for artefact in ended:
        artefact.status = ConsentStatus.EXPIRED.value
        artefact.updated_at = now
        erased += erase_artefact(session, artefact=artefact, now=now)
    for hip_artefact in session.scalars(
        select(HipConsentArtefact).where(
            HipConsentArtefact.status == ConsentStatus.GRANTED.value,
            HipConsentArtefact.data_erase_at <= now,
        )
    ).all():
        end_artefact(hip_artefact, ConsentStatus.EXPIRED, now)
    return erased
