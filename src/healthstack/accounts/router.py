"""Staff login (page and API), API tokens and staff creation. The audit log is
``accounts.audit_router``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.accounts import service
from healthstack.accounts.permissions import require
from healthstack.accounts.schemas import (
    LoginRequest,
    StaffCreate,
    StaffRead,
    TokenCreate,
    TokenRead,
)
from healthstack.kernel import tokens
from healthstack.kernel.context import Actor, Role
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
