"""The audit query (API and page). Staff login and tokens are ``accounts.auth_router``;
staff administration is ``accounts.staff_router``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from healthstack.accounts.permissions import require
from healthstack.accounts.schemas import (
    AuditEventRead,
    AuditPage,
)
from healthstack.kernel.audit import AuditEvent
from healthstack.web.deps import DbSession, OptionalStaff
from healthstack.web.pages import render

router = APIRouter(tags=["staff"])


def _query_audit(
    session: DbSession,
    *,
    actor_id: str | None,
    resource_id: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> AuditPage:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if resource_id:
        query = query.where(AuditEvent.resource_id == resource_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[
            AuditEventRead(
                id=str(r.public_id),
                occurred_at=r.occurred_at,
                actor_kind=r.actor_kind,
                actor_id=r.actor_id,
                actor_role=r.actor_role,
                facility_id=r.facility_id,
                purpose=r.purpose,
                action=r.action,
                resource_type=r.resource_type,
                resource_id=r.resource_id,
                outcome=r.outcome,
                reason_code=r.reason_code,
                request_id=r.request_id,
            )
            for r in rows
        ],
        next_before_id=rows[-1].id if more and rows else None,
    )


@router.get("/api/v1/audit", response_model=AuditPage)
def audit_api(
    session: DbSession,
    staff: OptionalStaff,
    actor_id: str | None = Query(default=None, max_length=64),
    resource_id: str | None = Query(default=None, max_length=64),
    action: str | None = Query(default=None, max_length=64),
    outcome: str | None = Query(default=None, pattern="^(success|denied|not_found|failed)$"),
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = Query(default=None, ge=1),
    limit: int = Query(default=100, ge=1, le=1000),
) -> AuditPage:
    """The audit trail of PHI access, newest first (state admin only)."""
    require(staff, "audit.read")
    return _query_audit(
        session,
        actor_id=actor_id,
        resource_id=resource_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )


@router.get("/admin/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    request: Request,
    session: DbSession,
    staff: OptionalStaff,
    resource_id: str | None = Query(default=None, max_length=64),
    action: str | None = Query(default=None, max_length=64),
) -> Response:
    if staff is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    require(staff, "audit.read")
    page = _query_audit(
        session,
        actor_id=None,
        resource_id=resource_id or None,
        action=action or None,
        outcome=None,
        since=None,
        until=None,
        before_id=None,
        limit=200,
    )
    return render(
        request, "audit.html", staff=staff, page=page, resource_id=resource_id, action=action
    )
