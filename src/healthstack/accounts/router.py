"""Staff login (page and API), API tokens, staff creation and the audit query."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from healthstack.accounts import service
from healthstack.accounts.permissions import require
from healthstack.accounts.schemas import (
    AuditEventRead,
    AuditPage,
    LoginRequest,
    StaffCreate,
    StaffRead,
    TokenCreate,
    TokenRead,
)
from healthstack.kernel import tokens
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, Role
from healthstack.kernel.db import DbBigInt
from healthstack.kernel.errors import AuthenticationRequired, NotFound, PermissionDenied
from healthstack.web.deps import STAFF_COOKIE, DbSession, OptionalStaff, RuntimeDep
from healthstack.web.pages import render

router = APIRouter(tags=["staff"])
SESSION_SECONDS = 12 * 3600


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None, staff=None)


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    try:
        user = service.authenticate(
            session, username=username, password=password, clock=runtime.clock
        )
    except AuthenticationRequired as exc:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error=exc.message,
            staff=None,
        )
    cookie = tokens.issue(
        runtime.keyring,
        subject=str(user.public_id),
        audience=tokens.STAFF_AUDIENCE,
        ttl_seconds=SESSION_SECONDS,
        clock=runtime.clock,
        claims={"role": user.role},
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        STAFF_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.base_url.startswith("https"),
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE)
    return response


@router.post("/api/v1/auth/login", response_model=TokenRead, status_code=201)
def api_login(body: LoginRequest, session: DbSession, runtime: RuntimeDep) -> TokenRead:
    """Exchange a username and password for an API token valid one day."""
    user = service.authenticate(
        session, username=body.username, password=body.password, clock=runtime.clock
    )
    token = service.create_api_token(
        session, user=user, name=body.token_name, clock=runtime.clock, days=1
    )
    return TokenRead(token=token, name=body.token_name)


@router.post("/api/v1/auth/tokens", response_model=TokenRead, status_code=201)
def create_token(
    body: TokenCreate, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> TokenRead:
    actor = require(staff, "token.create")
    user = service.find_staff(session, actor.id)
    if user is None:  # pragma: no cover - actor resolved from this very row
        raise NotFound("Your account was not found. Log in again.")
    token = service.create_api_token(
        session, user=user, name=body.name, clock=runtime.clock, days=body.days
    )
    return TokenRead(token=token, name=body.name)


def _check_staff_scope(actor: Actor, body: StaffCreate) -> None:
    if actor.role is Role.STATE_ADMIN:
        return
    if body.role in (Role.STATE_ADMIN, Role.DISTRICT_OFFICER, Role.REGISTRY_VERIFIER):
        raise PermissionDenied(
            "Only the state admin creates state, district and verifier accounts."
        )
    if actor.role is Role.FACILITY_ADMIN and body.facility_id != actor.facility_id:
        raise PermissionDenied("A facility admin creates accounts for their own facility only.")
    if actor.role is Role.DISTRICT_OFFICER and body.district_lgd not in (None, actor.district_lgd):
        raise PermissionDenied("A district officer creates accounts in their own district only.")


@router.post("/api/v1/staff", response_model=StaffRead, status_code=201)
def create_staff(
    body: StaffCreate, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> StaffRead:
    actor = require(staff, "staff.create")
    _check_staff_scope(actor, body)
    user = service.create_staff(
        session,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
        facility_id=body.facility_id,
        district_lgd=body.district_lgd,
        clock=runtime.clock,
    )
    return StaffRead(
        id=str(user.public_id),
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        facility_id=user.facility_id,
        district_lgd=user.district_lgd,
    )


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
    before_id: Annotated[DbBigInt | None, Query(ge=1)] = None,
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
