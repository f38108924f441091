"""The facility registry API under ``/api/v1/facilities`` (thin: the services decide).

Callers authenticate with ``Authorization: Bearer <API token>``; a browser cookie is
not enough here, since a cookie would also ride on a forged cross-site form post (the
upload is one). The pages (``network/hfr/pages.py``) call the services directly. The
permission is checked before the body is read: an anonymous or unauthorised caller
learns nothing about the request's shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from healthstack.accounts.permissions import require
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.db import DbInt
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.tabular_import import import_status
from healthstack.network.hfr import master as master_service
from healthstack.network.hfr import reconcile, service
from healthstack.network.hfr.enums import (
    FacilityStatus,
    FacilityType,
    MatchMethod,
    MatchStatus,
    Ownership,
)
from healthstack.network.hfr.models import Facility, FacilityMasterImport
from healthstack.network.hfr.schemas import (
    BrokenRow,
    CandidateRead,
    CoverageRead,
    FacilityChanged,
    FacilityCreate,
    FacilityPage,
    FacilityRead,
    FacilityReject,
    FacilityUpdate,
    FacilityVerify,
    FacilityVersionRead,
    MasterEntryRead,
    MasterImportConfirm,
    MasterImportRead,
    MatchPage,
    MatchRead,
    MatchSettle,
    ReconcileRun,
    ReconciliationSummary,
    district_name,
    facility_brief,
    facility_read,
)
from healthstack.settings import StateProfile
from healthstack.web.deps import (
    DbSession,
    OptionalStaff,
    RuntimeDep,
    StateProfileDep,
    request_id,
)

router = APIRouter(prefix="/api/v1/facilities", tags=["facilities"])


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


Reader = Annotated[RequestContext, Depends(_needs("facility.read"))]
Registrar = Annotated[RequestContext, Depends(_needs("facility.register"))]
Editor = Annotated[RequestContext, Depends(_needs("facility.edit"))]
Verifier = Annotated[RequestContext, Depends(_needs("facility.verify"))]
Importer = Annotated[RequestContext, Depends(_needs("facility.master_import"))]
Reconciler = Annotated[RequestContext, Depends(_needs("facility.reconcile"))]


def _changed(outcome: service.Outcome, profile: StateProfile) -> FacilityChanged:
    return FacilityChanged.model_validate(
        facility_read(service.snapshot(outcome.facility), profile=profile).model_dump()
        | {"warnings": outcome.warnings, "reverification": outcome.reverification}
    )


def _read(facility: Facility, profile: StateProfile) -> FacilityRead:
    return facility_read(service.snapshot(facility), profile=profile)


# --------------------------------------------------------------------------- master list
# (declared before /{hfr_id} so "master" is never read as an HFR id)


def _summary(s: reconcile.ReconcileSummary) -> ReconciliationSummary:
    return ReconciliationSummary(
        import_id=str(s.import_id),
        state_lgd=s.state_lgd,
        registered=s.registered,
        total=s.total,
        **{k: s.counts.get(k, 0) for k in ("matched", "master_only", "hfr_only", "ambiguous")},
    )


def _import_read(
    preview: FacilityMasterImport, *, now: datetime, summary: reconcile.ReconcileSummary | None
) -> MasterImportRead:
    return MasterImportRead(
        id=str(preview.public_id),
        state_lgd=preview.state_lgd,
        status=import_status(preview, now=now),
        filename=preview.filename,
        sha256=preview.sha256,
        encoding=preview.encoding,
        data_rows=preview.data_rows,
        valid_rows=preview.valid_rows,
        broken=[BrokenRow.model_validate(b) for b in preview.broken],
        warnings=preview.warnings,
        diff=preview.diff,
        created_at=preview.created_at,
        expires_at=preview.expires_at,
        confirmed_at=preview.confirmed_at,
        reconciliation=_summary(summary) if summary else None,
    )


@router.post("/master/imports", response_model=MasterImportRead, status_code=201)
def upload_master(
    ctx: Importer,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    file: Annotated[UploadFile, File(description="The state's master list as CSV")],
    state_lgd: Annotated[
        int | None, Form(description="Unset: the deployment's state (its state profile).")
    ] = None,
) -> MasterImportRead:
    """Check a master CSV (the dry run): every broken row with its line and reason. Nothing
    is imported until ``POST /master/imports/{id}/confirm``."""
    # A sync route (the services are sync; FastAPI runs it in the thread pool), reading
    # one byte over the limit: enough for the service to refuse the size.
    data = file.file.read(master_service.MAX_FILE_BYTES + 1)
    preview = master_service.create_preview(
        session,
        ctx,
        clock=runtime.clock,
        profile=profile,
        state_lgd=profile.state_lgd if state_lgd is None else state_lgd,
        filename=file.filename or "upload.csv",
        data=data,
    )
    return _import_read(preview, now=runtime.clock.now(), summary=None)


@router.get("/master/imports/{import_id}", response_model=MasterImportRead)
def read_master_import(
    import_id: uuid.UUID, ctx: Importer, session: DbSession, runtime: RuntimeDep
) -> MasterImportRead:
    preview = master_service.get_import(session, ctx, import_id=import_id)
    summary = reconcile.summarise(session, preview) if preview.status == "confirmed" else None
    return _import_read(preview, now=runtime.clock.now(), summary=summary)


@router.post("/master/imports/{import_id}/confirm", response_model=MasterImportRead)
def confirm_master_import(
    import_id: uuid.UUID,
    ctx: Importer,
    session: DbSession,
    runtime: RuntimeDep,
    body: MasterImportConfirm | None = None,
) -> MasterImportRead:
    """Import the previewed rows as the state's master (all or nothing) and reconcile."""
    preview = master_service.confirm_import(
        session,
        ctx,
        clock=runtime.clock,
        import_id=import_id,
        sha256=body.sha256 if body else None,
    )
    summary = reconcile.summarise(session, preview)
    return _import_read(preview, now=runtime.clock.now(), summary=summary)


@router.post("/master/reconcile", response_model=ReconciliationSummary)
def run_reconcile(
    ctx: Reconciler,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    body: ReconcileRun | None = None,
) -> ReconciliationSummary:
    """Reconcile the current master with HFR again (settlements are kept)."""
    state = body.state_lgd if body is not None and body.state_lgd is not None else None
    summary = reconcile.reconcile_master(
        session, ctx, clock=runtime.clock, state_lgd=profile.state_lgd if state is None else state
    )
    return _summary(summary)


def match_read(view: reconcile.MatchView, profile: StateProfile) -> MatchRead:
    e = view.entry
    return MatchRead(
        id=str(view.row.public_id),
        status=MatchStatus(view.row.status),
        method=MatchMethod(view.row.method) if view.row.method else None,
        score=view.row.score,
        master=MasterEntryRead(
            state_code=e.master_code,
            name=e.name,
            facility_type=FacilityType(e.facility_type),
            district_lgd=e.district_lgd,
            district_name=district_name(profile, e.state_lgd, e.district_lgd),
            sub_district=e.sub_district,
            department=e.department,
            line=e.line,
        )
        if e
        else None,
        facility=facility_brief(view.facility, profile=profile) if view.facility else None,
        candidates=[
            CandidateRead(**facility_brief(f, profile=profile).model_dump(), score=score)
            for f, score in view.candidates
        ],
        settled_by=view.row.settled_by,
        settled_at=view.row.settled_at,
    )


@router.get("/master/reconciliation", response_model=MatchPage)
def list_reconciliation(
    ctx: Reconciler,
    session: DbSession,
    profile: StateProfileDep,
    status: MatchStatus | None = None,
    district_lgd: Annotated[DbInt | None, Query(ge=1)] = None,
    state_lgd: int | None = Query(
        default=None, ge=1, le=99, description="Unset: the deployment's state."
    ),
    page: Annotated[DbInt, Query(ge=1)] = 1,
    page_size: int = Query(default=50, ge=1, le=500),
) -> MatchPage:
    views, total = reconcile.list_matches(
        session,
        ctx,
        state_lgd=profile.state_lgd if state_lgd is None else state_lgd,
        status=status,
        district_lgd=district_lgd,
        page=page,
        page_size=page_size,
    )
    return MatchPage(
        items=[match_read(v, profile) for v in views],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post("/master/reconciliation/{entry_id}/settle", response_model=MatchRead)
def settle(
    entry_id: uuid.UUID,
    body: MatchSettle,
    ctx: Reconciler,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
) -> MatchRead:
    """Settle an ambiguous entry: ``hfr_id`` of the candidate that is the same facility,
    or ``null`` for none of them."""
    row = reconcile.settle_match(
        session, ctx, clock=runtime.clock, entry_id=entry_id, hfr_id=body.hfr_id
    )
    return match_read(reconcile.match_views(session, [row])[0], profile)


@router.get("/master/coverage", response_model=CoverageRead)
def coverage(
    ctx: Reader,
    session: DbSession,
    profile: StateProfileDep,
    district_lgd: Annotated[DbInt | None, Query(ge=1)] = None,
    state_lgd: int | None = Query(
        default=None, ge=1, le=99, description="Unset: the deployment's state."
    ),
) -> CoverageRead:
    """Public facilities registered: master entries matched to a verified HFR facility."""
    registered, total = reconcile.public_facility_coverage(
        session,
        state_lgd=profile.state_lgd if state_lgd is None else state_lgd,
        district_lgd=district_lgd,
    )
    return CoverageRead(district_lgd=district_lgd, registered=registered, total=total)


# --------------------------------------------------------------------------- facilities


@router.post("", response_model=FacilityChanged, status_code=201)
def register(
    body: FacilityCreate,
    ctx: Registrar,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
) -> FacilityChanged:
    """Register a facility; it gets its HFR id and waits for a registry verifier."""
    details = service.FacilityDetails(**body.model_dump())
    outcome = service.register_facility(
        session, ctx, clock=runtime.clock, profile=profile, details=details
    )
    return _changed(outcome, profile)


@router.get("", response_model=FacilityPage)
def list_all(
    ctx: Reader,
    session: DbSession,
    profile: StateProfileDep,
    district_lgd: Annotated[DbInt | None, Query(ge=1)] = None,
    facility_type: FacilityType | None = None,
    status: FacilityStatus | None = None,
    ownership: Ownership | None = None,
    q: str | None = Query(default=None, max_length=100, description="part of the name"),
    page: Annotated[DbInt, Query(ge=1)] = 1,
    page_size: int = Query(default=50, ge=1, le=500),
) -> FacilityPage:
    """The facilities the caller may see, by name, one page at a time."""
    where = service.FacilityFilter(district_lgd, facility_type, status, ownership, q)
    items, total = service.list_facilities(
        session, ctx, where=where, page=page, page_size=page_size
    )
    return FacilityPage(
        items=[_read(f, profile) for f in items], total=total, page=page, page_size=page_size
    )


@router.get("/{hfr_id}", response_model=FacilityRead)
def read(
    hfr_id: str,
    ctx: Reader,
    session: DbSession,
    profile: StateProfileDep,
    as_of: datetime | None = Query(
        default=None, description="ISO-8601 time with offset: what the registry said then"
    ),
) -> FacilityRead:
    facility = service.get_facility(session, ctx, hfr_id=hfr_id)
    if as_of is None:
        return _read(facility, profile)
    if as_of.tzinfo is None:
        raise ValidationFailed(
            "Give as_of with its offset, for example 2026-11-26T09:00:00+05:30 or ...Z.",
            field="as_of",
            code="HS-1331",
        )
    version = service.facility_as_of(session, facility.hfr_id, as_of)
    return facility_read(
        version.snapshot,
        profile=profile,
        as_of=as_of,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
    )


@router.get("/{hfr_id}/history", response_model=list[FacilityVersionRead])
def history(hfr_id: str, ctx: Reader, session: DbSession) -> list[FacilityVersionRead]:
    """Every version of the facility, newest first: who changed what, when and why."""
    facility = service.get_facility(session, ctx, hfr_id=hfr_id)
    return [
        FacilityVersionRead(
            version=v.version,
            status=FacilityStatus(v.status),
            change_kind=v.change_kind,
            change_reason=v.change_reason,
            changed_fields=v.changed_fields,
            changed_by=v.changed_by_name,
            changed_by_role=v.changed_by_role,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
        )
        for v in service.facility_history(session, facility)
    ]


@router.patch("/{hfr_id}", response_model=FacilityChanged)
def edit(
    hfr_id: str,
    body: FacilityUpdate,
    ctx: Editor,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
) -> FacilityChanged:
    """Change the fields sent. A verified facility whose key fields change (name, type,
    ownership, department, district, sub-district, PIN) goes back for verification."""
    changes = body.model_dump(include=body.model_fields_set - {"change_reason"})
    outcome = service.update_facility(
        session,
        ctx,
        clock=runtime.clock,
        profile=profile,
        hfr_id=hfr_id,
        changes=changes,
        reason=body.change_reason,
    )
    return _changed(outcome, profile)


@router.post("/{hfr_id}/verify", response_model=FacilityRead)
def verify(
    hfr_id: str,
    ctx: Verifier,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    body: FacilityVerify | None = None,
) -> FacilityRead:
    facility = service.verify_facility(
        session, ctx, clock=runtime.clock, hfr_id=hfr_id, note=body.note if body else None
    )
    return _read(facility, profile)


@router.post("/{hfr_id}/reject", response_model=FacilityRead)
def reject(
    hfr_id: str,
    body: FacilityReject,
    ctx: Verifier,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
) -> FacilityRead:
    """Reject with a reason (required): the facility admin reads it and edits."""
    facility = service.reject_facility(
        session, ctx, clock=runtime.clock, hfr_id=hfr_id, reason=body.reason
    )
    return _read(facility, profile)
