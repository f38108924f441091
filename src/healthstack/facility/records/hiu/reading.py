"""Reading what arrived (``list_requests``, ``request_detail``, ``read_record``): only
for staff of the requesting facility with ``records.read`` (or the patient, their own,
through the PHR's HIU), only while the artefact is valid (granted, before dataEraseAt),
each read audited with the reader's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.facility.records import exceptions as x
from healthstack.facility.records.hiu.common import (
    artefact_valid,
    by_public_id,
)
from healthstack.facility.records.models import (
    ConsentStatus,
    HiuConsentArtefact,
    HiuConsentRequest,
    HiuDataRequest,
    HiuReceivedRecord,
    RecordStatus,
)
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import ActorKind, RequestContext
from healthstack.kernel.errors import NotFound
from healthstack.protocol.fhir.documents.view import RecordView, read_document


def _readers_scope(ctx: RequestContext, *, phr_hiu_id: str) -> Any:
    """Which requests the actor may read: staff with ``records.read`` their facility's;
    a patient their own through the PHR's HIU (made by them: ``requested_by``)."""
    actor = ctx.actor
    if actor.kind is ActorKind.PATIENT:
        return (HiuConsentRequest.hiu_id == phr_hiu_id) & (
            HiuConsentRequest.requested_by == actor.id
        )
    require(actor, "records.read")
    if actor.kind is ActorKind.SYSTEM:
        return HiuConsentRequest.id.is_not(None)
    return HiuConsentRequest.hiu_id == actor.facility_id


def list_requests(
    session: Session, ctx: RequestContext, *, phr_hiu_id: str, limit: int = 50
) -> list[HiuConsentRequest]:
    return list(
        session.scalars(
            select(HiuConsentRequest)
            .where(_readers_scope(ctx, phr_hiu_id=phr_hiu_id))
            .order_by(HiuConsentRequest.created_at.desc(), HiuConsentRequest.id.desc())
            .limit(limit)
        )
    )


def get_request(
    session: Session, ctx: RequestContext, *, public_id: str, phr_hiu_id: str
) -> HiuConsentRequest:
    row: HiuConsentRequest | None = by_public_id(
        session, HiuConsentRequest, public_id, _readers_scope(ctx, phr_hiu_id=phr_hiu_id)
    )
    if row is None:
        raise NotFound("No such record request among yours.")
    return row


@dataclass(frozen=True)
class RecordSummary:
    """A received record's line in the doctor's list, read from the record itself: the
    patient as the record names them (what the consent lets the doctor see), its date
    and its kind."""

    patient: str
    date: str
    kind: str


@dataclass
class ArtefactRecords:
    artefact: HiuConsentArtefact
    valid: bool
    data_requests: list[HiuDataRequest]
    records: list[HiuReceivedRecord]  # shown only while the artefact is valid
    # The kept records' summaries, by record id (none for a refused or erased one).
    summaries: dict[int, RecordSummary] = field(default_factory=dict)


def _summary(bundle: dict[str, Any]) -> RecordSummary:
    view = read_document(bundle)
    return RecordSummary(view.patient.name, view.date, view.kind_label)


def request_detail(
    session: Session, ctx: RequestContext, *, public_id: str, clock: Clock, phr_hiu_id: str
) -> tuple[HiuConsentRequest, list[ArtefactRecords]]:
    """A request with its artefacts and, while each is valid, the records it brought."""
    with audited(
        session,
        ctx,
        action="records.consent_request.read",
        resource_type="hiu_consent_request",
        resource_id=str(public_id)[:64],
        clock=clock,
    ):
        row = get_request(session, ctx, public_id=public_id, phr_hiu_id=phr_hiu_id)
    now = clock.now()
    out = []
    for artefact in row.artefacts:
        dreqs = list(
            session.scalars(
                select(HiuDataRequest)
                .where(HiuDataRequest.artefact_id == artefact.id)
                .order_by(HiuDataRequest.id)
            )
        )
        valid = artefact_valid(artefact, now)
        records: list[HiuReceivedRecord] = []
        if valid and dreqs:
            records = list(
                session.scalars(
                    select(HiuReceivedRecord)
                    .where(HiuReceivedRecord.data_request_id.in_([d.id for d in dreqs]))
                    .order_by(
                        HiuReceivedRecord.care_context_reference,
                        HiuReceivedRecord.page_number,
                        HiuReceivedRecord.entry_index,
                    )
                )
            )
        summaries = {
            r.id: _summary(r.bundle)
            for r in records
            if r.status == RecordStatus.OK.value and r.bundle is not None
        }
        out.append(ArtefactRecords(artefact, valid, dreqs, records, summaries))
    return row, out


def read_record(
    session: Session, ctx: RequestContext, *, public_id: str, clock: Clock, phr_hiu_id: str
) -> tuple[HiuReceivedRecord, RecordView]:
    """One received record for the doctor: checked (role, facility, consent) and audited."""
    with audited(
        session,
        ctx,
        action="records.received.read",
        resource_type="hiu_received_record",
        resource_id=str(public_id)[:64],
        clock=clock,
    ):
        scope = _readers_scope(ctx, phr_hiu_id=phr_hiu_id)
        record: HiuReceivedRecord | None = by_public_id(session, HiuReceivedRecord, public_id)
        if record is None:
            raise NotFound("No such record.")
        artefact = record.data_request.artefact
        if not session.scalar(
            select(HiuConsentRequest.id).where(HiuConsentRequest.id == artefact.request_id, scope)
        ):
            raise NotFound("No such record.")
        if not artefact_valid(artefact, clock.now()):
            raise x.ConsentRefused(
                "The patient's consent for this record has ended (revoked or expired); it "
                "can no longer be shown.",
                code=x.CONSENT_EXPIRED
                if artefact.status != ConsentStatus.REVOKED.value
                else x.CONSENT_NOT_GRANTED,
            )
        if record.status != RecordStatus.OK.value or record.bundle is None:
            raise NotFound("This record could not be received or has been erased.")
        view = read_document(record.bundle)
    return record, view
