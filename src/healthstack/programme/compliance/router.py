"""Compliance JSON API under ``/api/v1/compliance`` (strict bodies; CSV and PDF
downloads where a list is meant to leave the system)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from healthstack.accounts.permissions import require
from healthstack.kernel.clock import ist_date
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.db import DbInt
from healthstack.kernel.tabular_import import import_status
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

from . import notices, reconcile, roster, service
from .escalation import RUNGS
from .models import ComplianceCampaign, Exemption, RosterImport
from .schemas import (
    BrokenRow,
    CampaignCreate,
    CampaignRead,
    CandidateRead,
    ExemptionCreate,
    ExemptionRead,
    PersonRead,
    ReviewEntryRead,
    ReviewPage,
    ReviewSettle,
    RosterImportConfirm,
    RosterImportRead,
    SettledRead,
    StatusPage,
    StatusRead,
    StepRead,
)

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])


def _needs(action: str) -> Callable[..., RequestContext]:
    def gate(request: Request, staff: OptionalStaff) -> RequestContext:
        bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
        actor: Actor = require(staff if bearer else None, action)
        return RequestContext(
            actor=actor,
            purpose=Purpose.ADMINISTRATION,
            request_id=request_id(request),
            ip=request.client.host if request.client else None,
        )

    return gate


Importer = Annotated[RequestContext, Depends(_needs("compliance.roster_import"))]
Reviewer = Annotated[RequestContext, Depends(_needs("compliance.review"))]
Planner = Annotated[RequestContext, Depends(_needs("compliance.campaign"))]
Exempter = Annotated[RequestContext, Depends(_needs("compliance.exempt"))]
Reader = Annotated[RequestContext, Depends(_needs("compliance.read"))]


def _csv(text: str, filename: str) -> Response:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        content=data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --------------------------------------------------------------------------- roster


def _import_read(
    preview: RosterImport, *, now: datetime, counts: dict[str, int] | None = None
) -> RosterImportRead:
    return RosterImportRead(
        id=str(preview.public_id),
        status=import_status(preview, now=now),
        filename=preview.filename,
        sha256=preview.sha256,
        encoding=preview.encoding,
        data_rows=preview.data_rows,
        valid_rows=preview.valid_rows,
        broken=[BrokenRow.model_validate(b) for b in preview.broken],
        warnings=preview.warnings,
        created_at=preview.created_at,
        expires_at=preview.expires_at,
        confirmed_at=preview.confirmed_at,
        reconciliation=counts,
    )


@router.post("/roster/imports", response_model=RosterImportRead, status_code=201)
def upload_roster(
    ctx: Importer,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="The HR roster of public posts as CSV")],
) -> RosterImportRead:
    """Check a roster CSV (the dry run): every broken row with its line and reason.
    Nothing is imported until ``POST /roster/imports/{id}/confirm``."""
    data = file.file.read(roster.MAX_FILE_BYTES + 1)
    preview = roster.create_preview(
        session,
        ctx,
        clock=runtime.clock,
        profile=runtime.settings.profile,
        filename=file.filename or "roster.csv",
        data=data,
    )
    return _import_read(preview, now=runtime.clock.now())


@router.get("/roster/imports/{import_id}", response_model=RosterImportRead)
def read_roster_import(
    import_id: uuid.UUID, ctx: Importer, session: DbSession, runtime: RuntimeDep
) -> RosterImportRead:
    preview = roster.get_import(session, ctx, import_id=import_id)
    return _import_read(preview, now=runtime.clock.now())


@router.post("/roster/imports/{import_id}/confirm", response_model=RosterImportRead)
def confirm_roster_import(
    import_id: uuid.UUID,
    ctx: Importer,
    session: DbSession,
    runtime: RuntimeDep,
    body: RosterImportConfirm | None = None,
) -> RosterImportRead:
    """Make the previewed rows the roster in force (all or nothing) and reconcile."""
    preview = roster.confirm_import(
        session,
        ctx,
        clock=runtime.clock,
        import_id=import_id,
        sha256=body.sha256 if body else None,
    )
    counts = reconcile.link_counts(session, preview)  # confirm_import reconciled
    return _import_read(preview, now=runtime.clock.now(), counts=counts)


@router.get("/roster/review", response_model=ReviewPage)
def review_list(
    ctx: Reviewer,
    session: DbSession,
    runtime: RuntimeDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> ReviewPage:
    """Uncertain roster ↔ HPR pairs in the caller's scope, with their candidates."""
    items, total = reconcile.list_uncertain(session, ctx, clock=runtime.clock, page=page)
    return ReviewPage(
        total=total,
        items=[
            ReviewEntryRead(
                id=str(i.entry.public_id),
                employee_id=i.entry.employee_id,
                name=i.entry.name,
                cadre=i.entry.cadre,
                facility=i.entry.hfr_id,
                district_lgd=i.entry.district_lgd,
                council=i.entry.council,
                registration_number=i.entry.registration_number,
                birth_year=i.entry.birth_year,
                candidates=[
                    CandidateRead(
                        hpr_id=p.hpr_id,
                        name=p.name,
                        year_of_birth=p.year_of_birth,
                        council=p.council,
                        registration_number=p.registration_number,
                        status=p.status,
                        score=score,
                        via=via,
                    )
                    for p, score, via in i.candidates
                ],
            )
            for i in items
        ],
    )


@router.post("/roster/review/{entry_id}/settle", response_model=SettledRead)
def settle(
    entry_id: str, body: ReviewSettle, ctx: Reviewer, session: DbSession, runtime: RuntimeDep
) -> SettledRead:
    entry = reconcile.settle_entry(
        session, ctx, clock=runtime.clock, entry_id=entry_id[:40], hpr_id=body.hpr_id
    )
    return SettledRead(
        id=str(entry.public_id),
        employee_id=entry.employee_id,
        link=entry.link,
        hpr_id=body.hpr_id if entry.link == "matched" else None,
    )


# --------------------------------------------------------------------------- campaigns


def _campaign_read(c: ComplianceCampaign) -> CampaignRead:
    return CampaignRead(
        id=str(c.public_id),
        cadre=c.cadre,
        deadline=c.deadline,
        created_at=c.created_at,
        closed_at=c.closed_at,
    )


@router.post("/campaigns", response_model=CampaignRead, status_code=201)
def create_campaign(
    body: CampaignCreate, ctx: Planner, session: DbSession, runtime: RuntimeDep
) -> CampaignRead:
    campaign = service.open_campaign(
        session, ctx, clock=runtime.clock, cadre=body.cadre, deadline=body.deadline
    )
    return _campaign_read(campaign)


@router.get("/campaigns", response_model=list[CampaignRead])
def list_campaigns(ctx: Reader, session: DbSession) -> list[CampaignRead]:
    rows = session.scalars(select(ComplianceCampaign).order_by(ComplianceCampaign.id.desc()))
    return [_campaign_read(c) for c in rows]


# --------------------------------------------------------------------------- status


def _status_read(r: service.ComplianceRow) -> StatusRead:
    return StatusRead(
        employee_id=r.entry.employee_id,
        name=r.entry.name,
        cadre=r.entry.cadre,
        facility=r.entry.hfr_id,
        district_lgd=r.entry.district_lgd,
        hpr_id=r.hpr_id,
        status=r.status,
        deadline=r.deadline,
        days_overdue=r.days_overdue,
        escalation_step=RUNGS[r.step].name if r.step else None,
        exemption=r.exemption.kind if r.exemption else None,
    )


@router.get("/status", response_model=None, responses={200: {"content": {"text/csv": {}}}})
def status_list(
    ctx: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    cadre: Literal["doctor", "nurse"] | None = None,
    status: str | None = Query(default=None, max_length=24),
    district_lgd: DbInt | None = None,
    facility: str | None = Query(default=None, max_length=12),
    format: Literal["json", "csv"] = "json",
) -> StatusPage | Response:
    """Each roster entry's compliance status (registered and verified, pending, not
    registered, overdue with days overdue, uncertain, exempt), in the caller's scope."""
    rows = service.list_status(
        session,
        ctx,
        clock=runtime.clock,
        cadre=cadre,
        status=status,
        district_lgd=district_lgd,
        hfr_id=facility,
    )
    if format == "csv":
        return _csv(notices.status_csv(rows), "compliance-status.csv")
    return StatusPage(counts=service.summary_counts(rows), items=[_status_read(r) for r in rows])


def _exemption_read(e: Exemption) -> ExemptionRead:
    return ExemptionRead(
        id=str(e.public_id),
        employee_id=e.employee_id,
        kind=e.kind,
        reason=e.reason,
        until=e.until,
        approved_by=e.approved_by_name,
        approver_role=e.approver_role,
        created_at=e.created_at,
        revoked_at=e.revoked_at,
    )


@router.get("/people/{employee_id}", response_model=PersonRead)
def person(employee_id: str, ctx: Reader, session: DbSession, runtime: RuntimeDep) -> PersonRead:
    """One person's status and escalation history (every rung, when, by which channel)."""
    h = service.person_history(session, ctx, clock=runtime.clock, employee_id=employee_id)
    return PersonRead(
        status=_status_read(h.row),
        steps=[
            StepRead(
                step=s.step, name=s.name, channel=s.channel, at=s.at, days_overdue=s.days_overdue
            )
            for s in h.steps
        ],
        exemptions=[_exemption_read(e) for e in h.exemptions],
    )


@router.post("/exemptions", response_model=ExemptionRead, status_code=201)
def create_exemption(
    body: ExemptionCreate, ctx: Exempter, session: DbSession, runtime: RuntimeDep
) -> ExemptionRead:
    exemption = service.grant_exemption(
        session,
        ctx,
        clock=runtime.clock,
        employee_id=body.employee_id,
        kind=body.kind,
        reason=body.reason,
        until=body.until,
    )
    return _exemption_read(exemption)


@router.post("/exemptions/{exemption_id}/revoke", response_model=ExemptionRead)
def revoke(
    exemption_id: str, ctx: Exempter, session: DbSession, runtime: RuntimeDep
) -> ExemptionRead:
    exemption = service.revoke_exemption(
        session, ctx, clock=runtime.clock, exemption_id=exemption_id[:40]
    )
    return _exemption_read(exemption)


# --------------------------------------------------------------------------- notices


@router.get("/notices/facility/{hfr_id}.pdf", response_model=None)
def facility_notice(hfr_id: str, ctx: Reader, session: DbSession, runtime: RuntimeDep) -> Response:
    """The notice to the facility head: staff at the notice rung or beyond (PDF)."""
    notice = service.facility_notice(session, ctx, clock=runtime.clock, hfr_id=hfr_id)
    data = notices.facility_notice_pdf(
        notice.rows,
        profile=runtime.settings.profile,
        hfr_id=notice.hfr_id,
        facility_name=notice.name,
        today=ist_date(runtime.clock.now()),
    )
    return _pdf(data, f"hpr-notice-{notice.hfr_id}.pdf")


@router.get(
    "/show-cause",
    response_model=None,
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}},
)
def show_cause(
    ctx: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    district_lgd: DbInt | None = None,
    format: Literal["json", "csv", "pdf"] = "json",
) -> StatusPage | Response:
    """The district officer's show-cause list: overdue people who reached the last rung."""
    rows = service.show_cause_list(session, ctx, clock=runtime.clock, district_lgd=district_lgd)
    if format == "csv":
        return _csv(notices.status_csv(rows), "show-cause.csv")
    if format == "pdf":
        district = district_lgd or ctx.actor.district_lgd
        today = ist_date(runtime.clock.now())
        return _pdf(
            notices.show_cause_pdf(
                rows, profile=runtime.settings.profile, district_lgd=district, today=today
            ),
            "show-cause.pdf",
        )
    return StatusPage(counts=service.summary_counts(rows), items=[_status_read(r) for r in rows])
