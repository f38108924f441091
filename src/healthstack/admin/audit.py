"""The audit log: ``GET /api/v1/audit`` (JSON or CSV, UTC), the page ``/admin/audit``
(days in IST) and its CSV download ``/admin/audit.csv``, which works from the page's
own login session. The state admin only; every read and export is itself audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel

from healthstack.accounts.permissions import require
from healthstack.admin import audit_log as log
from healthstack.kernel.audit import Outcome, record_access
from healthstack.kernel.context import Actor, Purpose
from healthstack.kernel.errors import ValidationFailed
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, staff_context
from healthstack.web.pages import here, login_redirect, render
from healthstack.web.timefmt import today_ist

router = APIRouter(tags=["audit"])
pages = APIRouter(include_in_schema=False)


class AuditEventRead(BaseModel):
    id: str
    occurred_at: datetime
    actor_kind: str
    actor_id: str  # a patient's ABHA number masked
    actor_role: str | None
    actor_name: str | None
    actor_username: str | None
    actor_display: str
    facility_id: str | None
    purpose: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    reason_code: str | None
    request_id: str | None
    client_address: str | None
    chain_seq: int | None  # None until the sealer has chained it (seconds)


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None  # pass as ``cursor`` for the next, older page
    notes: list[str] = []


def _read(e: log.AuditEntry) -> AuditEventRead:
    return AuditEventRead(
        id=e.event_id,
        occurred_at=e.occurred_at,
        actor_kind=e.actor_kind,
        actor_id=e.actor_id,
        actor_role=e.actor_role,
        actor_name=e.actor_name,
        actor_username=e.actor_username,
        actor_display=e.actor_display,
        facility_id=e.facility_id,
        purpose=e.purpose,
        action=e.action,
        resource_type=e.resource_type,
        resource_id=e.resource_id,
        outcome=e.outcome,
        reason_code=e.reason_code,
        request_id=e.request_id,
        client_address=e.client_address,
        chain_seq=e.chain_seq,
    )


def _audit_the_read(
    request: Request, session: DbSession, runtime: Runtime, actor: Actor, action: str
) -> None:
    # Who read the log is itself on the record; never the filter (it may hold an
    # ABHA number).
    record_access(
        session,
        staff_context(request, actor, Purpose.AUDIT_REVIEW),
        action=action,
        resource_type="audit_event",
        resource_id=None,
        clock=runtime.clock,
    )


def _csv(runtime: Runtime, filters: log.AuditFilter) -> StreamingResponse:
    entries: Iterator[log.AuditEntry] = log.stream(runtime.session_factory, filters=filters)
    name = f"audit-log-{today_ist(runtime.clock.now()).isoformat()}.csv"
    return StreamingResponse(
        log.csv_chunks(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- API


@router.get(
    "/api/v1/audit",
    response_model=AuditPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def audit_api(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    since: datetime | None = Query(None, description="From this time (UTC unless an offset)"),
    until: datetime | None = Query(None, description="Before this time (exclusive)"),
    actor: str | None = Query(None, max_length=128, description="Name, username or actor id"),
    action: str | None = Query(
        None, max_length=64, description="Part of the action; ending in '.' a prefix"
    ),
    patient: str | None = Query(
        None, max_length=64, description="ABHA number, ABHA address or resource id"
    ),
    facility: str | None = Query(None, max_length=16, description="HFR id"),
    outcome: Outcome | None = None,
    resource_id: str | None = Query(None, max_length=64),
    cursor: str | None = Query(None, max_length=128, description="next_cursor of a page"),
    limit: int = Query(100, ge=1, le=1000),
    format: Literal["json", "csv"] = "json",
) -> AuditPage | Response:
    """The audit trail, newest first (state admin only). Times are UTC; ``format=csv``
    streams every matching row."""
    actor_ = require(staff, "audit.read")
    start, end = log.as_utc(since, "since"), log.as_utc(until, "until")
    log.check_range(start, end, names=("since", "until"))
    filters = log.AuditFilter(
        since=start,
        until=end,
        actor=log.actor_text(actor),
        action=log.action_text(action),
        patient=log.resolve_patient(session, raw=patient),
        facility=log.parse_facility(facility),
        outcome=outcome,
        resource_id=log.resource_text(resource_id),
    )
    position = log.Cursor.decode(cursor)
    if format == "csv":
        _audit_the_read(request, session, runtime, actor_, "audit.export")
        return _csv(runtime, filters)
    page = log.search(session, filters=filters, cursor=position, limit=limit)
    _audit_the_read(request, session, runtime, actor_, "audit.search")
    return AuditPage(
        items=[_read(e) for e in page.entries],
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        notes=page.notes,
    )


# --------------------------------------------------------------------------- page

FORM_FIELDS = ("from", "to", "actor", "action", "patient", "facility", "outcome")


def _login(request: Request) -> RedirectResponse:
    return login_redirect(here(request))


def _form(request: Request) -> dict[str, str]:
    # Read as plain text, so a value too long or malformed comes back in the form with
    # the problem named instead of a bare validation error.
    return {name: request.query_params.get(name, "")[:200] for name in FORM_FIELDS}


def _page_filters(session: DbSession, form: dict[str, str]) -> log.AuditFilter:
    since, until = log.ist_day_range(
        log.parse_ist_day(form["from"], "From"), log.parse_ist_day(form["to"], "To")
    )
    return log.AuditFilter(
        since=since,
        until=until,
        actor=log.actor_text(form["actor"]),
        action=log.action_text(form["action"]),
        patient=log.resolve_patient(session, raw=form["patient"]),
        facility=log.parse_facility(form["facility"]),
        outcome=log.parse_outcome(form["outcome"]),
    )


def _query_string(form: dict[str, str], **extra: str) -> str:
    kept = {k: v for k, v in form.items() if v.strip()}
    return urlencode({**kept, **extra})


def _show(
    request: Request,
    staff: Actor,
    form: dict[str, str],
    *,
    page: log.AuditPage | None = None,
    error: ValidationFailed | None = None,
    deeper: bool = False,
) -> HTMLResponse:
    older = None
    if page is not None and page.next_cursor is not None:
        older = "/admin/audit?" + _query_string(form, cursor=page.next_cursor.encode())
    return render(
        request,
        "audit.html",
        status_code=400 if error else 200,
        staff=staff,
        form=form,
        page=page,
        error=error.message if error else None,
        error_field=error.field if error else None,
        outcomes=[o.value for o in Outcome],
        older=older,
        newest="/admin/audit?" + _query_string(form) if deeper else None,
        export="/admin/audit.csv?" + _query_string(form),
        page_size=log.PAGE_SIZE,
    )


@pages.get("/admin/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> Response:
    if staff is None:
        return _login(request)
    require(staff, "audit.read")
    form = _form(request)
    raw_cursor = request.query_params.get("cursor", "")
    try:
        filters = _page_filters(session, form)
        cursor = log.Cursor.decode(raw_cursor)
    except ValidationFailed as exc:
        return _show(request, staff, form, error=exc, deeper=bool(raw_cursor))
    page = log.search(session, filters=filters, cursor=cursor)
    _audit_the_read(request, session, runtime, staff, "audit.search")
    return _show(request, staff, form, page=page, deeper=cursor is not None)


@pages.get("/admin/audit.csv", response_model=None)
def audit_page_export(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> Response:
    """The page's filters as CSV, from the browser's login session (every matching row,
    not only the page shown)."""
    if staff is None:
        return _login(request)
    require(staff, "audit.read")
    form = _form(request)
    try:
        filters = _page_filters(session, form)
    except ValidationFailed as exc:
        return _show(request, staff, form, error=exc)
    _audit_the_read(request, session, runtime, staff, "audit.export")
    return _csv(runtime, filters)


router.include_router(pages)
