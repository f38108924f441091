"""Staff login and logout (page and API), and each staff member's own sessions and
API tokens (API and the account page, ``/account``).

The JSON routes take the caller by ``Authorization: Bearer`` only; the forms are
refused when posted from another site (``same_origin``), the login and logout included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar
from urllib.parse import urlparse

import anyio
from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from healthstack.accounts import credentials, service
from healthstack.accounts.credentials import EndReason
from healthstack.accounts.models import ApiToken, StaffSession, StaffUser
from healthstack.accounts.passwords import PasswordChecksBusy
from healthstack.accounts.permissions import require
from healthstack.accounts.schemas import (
    CredentialsRead,
    Ended,
    LoginRequest,
    SessionInfo,
    TokenCreate,
    TokenInfo,
    TokenRead,
)
from healthstack.accounts.service import LoginChannel, LoginGuard, LoginPaused
from healthstack.kernel.audit import absorb
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, RequestContext
from healthstack.kernel.errors import (
    AuthenticationRequired,
    DomainError,
    RateLimited,
    ServiceUnavailable,
)
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime
from healthstack.web.deps import (
    STAFF_COOKIE,
    BearerStaff,
    Credential,
    DbSession,
    LoginGuardDep,
    OptionalStaff,
    RuntimeDep,
    context_for,
    current_credential,
)
from healthstack.web.pages import login_redirect, render, same_origin
from healthstack.web.timefmt import local_time

T = TypeVar("T")
router = APIRouter(tags=["staff"])
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
IdPath = Annotated[str, Path(max_length=64)]
TOKEN_DAY_CHOICES = (1, 7, 30, 90, 365, 730)


def paused_message(exc: LoginPaused) -> str:
    """The pause, with the time to try again as a person in India reads it."""
    return f"{exc.reason_text()} Try again after {local_time(exc.retry_at)}. {exc.advice()}"


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    # Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" or
    # "/\t/evil.example" would leave the site too.
    if (
        parsed.scheme
        or parsed.netloc
        or not target.startswith("/")
        or target[1:2] in ("/", "\\")
        or not target.isprintable()
    ):
        return "/"
    return target


def _secure(runtime: Runtime) -> bool:
    return runtime.settings.base_url.startswith("https")


# --------------------------------------------------------------------------- login page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None, staff=None)


def _authenticate(
    session_factory: sessionmaker[Session],
    *,
    username: str,
    password: str,
    clock: Clock,
    ctx: RequestContext,
    guard: LoginGuard,
    channel: LoginChannel,
    then: Callable[[Session, StaffUser], T],
) -> T:
    """A whole login as three units of work (read, check with no connection held,
    record), and ``then`` (start a session, issue a token) in the last one. Refusals
    raise with their counts and audit rows committed."""
    with unit_of_work(session_factory) as session:
        attempt = service.start_login(session, ctx, username=username, clock=clock, channel=channel)
    try:
        ok = service.check_login_password(attempt, password, guard=guard)
    except PasswordChecksBusy as exc:
        with unit_of_work(session_factory) as session:
            service.record_busy(session, ctx, attempt=attempt, clock=clock, code=exc.code)
        raise
    with unit_of_work(session_factory) as session:
        user = service.finish_login(
            session,
            ctx,
            attempt=attempt,
            password=password,
            ok=ok,
            clock=clock,
            policy=guard.policy,
        )
        return then(session, user)


# A refused login (wrong password, paused, busy) is answered only after this delay,
# while the request holds no thread and no transaction: an attacker's closed loop then
# sends a few attempts a second instead of hundreds, and the refusals, cheap as they
# are, cannot crowd out other requests. Never longer than the pause itself.
def _refusal_delay(runtime: Runtime, retry_after: int | None) -> float:
    delay = runtime.settings.auth.refusal_delay_seconds
    return min(delay, retry_after) if retry_after else delay


def _retry_after(exc: DomainError) -> int | None:
    raw = getattr(exc, "headers", {}).get("Retry-After")
    return int(raw) if raw and raw.isdigit() else None


def _page_login(
    request: Request,
    runtime: Runtime,
    guard: LoginGuard,
    username: str,
    password: str,
) -> tuple[str, int] | DomainError:
    """The login (in a worker thread): the new session's cookie secret and lifetime,
    or the refusal (its count and audit rows committed)."""
    ctx = context_for(request, None)
    ttl = runtime.settings.auth.session_ttl_seconds

    def open_session(session: Session, user: StaffUser) -> tuple[str, int]:
        _end_cookie_session(request, session, runtime)  # whoever was logged in here before
        _row, secret = service.start_browser_session(
            session,
            ctx,
            user=user,
            clock=runtime.clock,
            ttl_seconds=ttl,
            user_agent=request.headers.get("user-agent"),
        )
        return secret, ttl

    try:
        return _authenticate(
            runtime.session_factory,
            username=username,
            password=password,
            clock=runtime.clock,
            ctx=ctx,
            guard=guard,
            channel=LoginChannel.PAGE,
            then=open_session,
        )
    except (AuthenticationRequired, LoginPaused, PasswordChecksBusy) as exc:
        return exc


@posts.post("/login", response_model=None)
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    guard: LoginGuardDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    next_url = _safe_next(next)
    outcome = await run_in_threadpool(_page_login, request, runtime, guard, username, password)
    if isinstance(outcome, DomainError):
        retry_after = _retry_after(outcome)
        await anyio.sleep(_refusal_delay(runtime, retry_after))
        message = paused_message(outcome) if isinstance(outcome, LoginPaused) else outcome.message
        page = render(
            request,
            "login.html",
            status_code=outcome.status_hint,
            next=next_url,
            error=message,
            staff=None,
        )
        page.headers.update(getattr(outcome, "headers", {}))
        return page
    secret, ttl = outcome
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        STAFF_COOKIE, secret, max_age=ttl, httponly=True, samesite="lax", secure=_secure(runtime)
    )
    return response


def _end_cookie_session(request: Request, session: Session, runtime: Runtime) -> None:
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return
    live = credentials.resolve_session(
        session,
        secret=cookie,
        now=runtime.clock.now(),
        idle_seconds=runtime.settings.auth.session_idle_seconds,
    )
    if live is not None:
        service.logout_session(
            session,
            context_for(request, service.actor_for(live.user)),
            row=live,
            clock=runtime.clock,
        )


@posts.post("/logout")
def logout(request: Request, session: DbSession, runtime: RuntimeDep) -> RedirectResponse:
    """End this browser's session on the server (a copy of the cookie stops working)."""
    _end_cookie_session(request, session, runtime)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, httponly=True, samesite="lax", secure=_secure(runtime))
    return response


# --------------------------------------------------------------------------- token API


def _api_login(
    request: Request, runtime: Runtime, guard: LoginGuard, body: LoginRequest
) -> TokenRead:
    def issue(session: Session, user: StaffUser) -> TokenRead:
        issued = service.issue_api_token(
            session,
            context_for(request, service.actor_for(user)),
            user=user,
            name=body.token_name or "api login",
            clock=runtime.clock,
            days=1,
            parent=None,
        )
        return TokenRead(
            token=issued.secret,
            name=issued.row.name,
            id=str(issued.row.public_id),
            expires_at=issued.row.expires_at,
        )

    try:
        return _authenticate(
            runtime.session_factory,
            username=body.username,
            password=body.password,
            clock=runtime.clock,
            ctx=context_for(request, None),
            guard=guard,
            channel=LoginChannel.API,
            then=issue,
        )
    except LoginPaused as exc:
        exc.message = paused_message(exc)
        raise


@router.post(
    "/api/v1/auth/login",
    response_model=TokenRead,
    status_code=201,
    responses={429: {"description": "Too many wrong passwords: wait for Retry-After"}},
)
async def api_login(
    request: Request, body: LoginRequest, runtime: RuntimeDep, guard: LoginGuardDep
) -> TokenRead:
    """Exchange a username and password for an API token valid one day. Too many wrong
    passwords for the account or from the address: 429 with Retry-After (a refusal is
    answered after a short delay)."""
    try:
        return await run_in_threadpool(_api_login, request, runtime, guard, body)
    except (AuthenticationRequired, RateLimited, ServiceUnavailable) as exc:
        await anyio.sleep(_refusal_delay(runtime, _retry_after(exc)))
        raise


@dataclass(frozen=True)
class StaffCall:
    """One request about the caller's own account: the request, its unit of work, the
    caller (None when nobody is authenticated: the API answers 401, a page sends the
    browser to the login) and the clock. ``admin.staff.AdminCall`` adds the facility
    directory for administering others."""

    request: Request
    session: Session
    staff: Actor | None
    clock: Clock

    def actor(self, action: str) -> Actor:
        """The caller, allowed ``action`` (401 or 403 otherwise)."""
        return require(self.staff, action)

    def context(self, actor: Actor) -> RequestContext:
        """The audit context of this request for ``actor``."""
        return context_for(self.request, actor)

    def me(self) -> tuple[Actor, StaffUser]:
        """The caller and their own (active) account."""
        actor = self.actor("account.self")
        return actor, service.get_own_account(self.session, actor=actor)

    def credentials(self, user: StaffUser) -> CredentialsRead:
        """``user``'s live sessions and tokens, the one this request carries marked."""
        return credentials_of(
            self.session, user=user, now=self.clock.now(), cred=current_credential(self.request)
        )


def _api_self(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: BearerStaff
) -> StaffCall:
    return StaffCall(request, session, staff, runtime.clock)


def _page_self(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> StaffCall:
    return StaffCall(request, session, staff, runtime.clock)


ApiSelf = Annotated[StaffCall, Depends(_api_self)]
PageSelf = Annotated[StaffCall, Depends(_page_self)]


def _calling_token(session: Session, request: Request) -> ApiToken | None:
    cred = current_credential(request)
    if cred is None or cred.kind != "token":
        return None
    return session.get(ApiToken, cred.row_id)


@router.post("/api/v1/auth/logout", response_model=Ended)
def api_logout(call: ApiSelf) -> Ended:
    """Revoke the token this request carries (and the tokens it created)."""
    actor, user = call.me()
    token = _calling_token(call.session, call.request)
    if token is None:  # pragma: no cover - bearer_staff resolved a token
        raise AuthenticationRequired("Send the token to end in the Authorization header.")
    ended = service.revoke_token_of(
        call.session,
        call.context(actor),
        user=user,
        token_id=str(token.public_id),
        clock=call.clock,
        reason=EndReason.LOGOUT,
    )
    return Ended(tokens=ended)


@router.post("/api/v1/auth/tokens", response_model=TokenRead, status_code=201)
def create_token(body: TokenCreate, call: ApiSelf) -> TokenRead:
    """A new token for the caller. It never outlives the token that asks for it: the
    expiry is cut to that token's (``expires_at`` says when)."""
    actor = call.actor("token.create")
    user = service.get_own_account(call.session, actor=actor)
    issued = service.issue_api_token(
        call.session,
        call.context(actor),
        user=user,
        name=body.name,
        clock=call.clock,
        days=body.days,
        parent=_calling_token(call.session, call.request),
    )
    note = TokenRead.model_fields["note"].default
    if issued.capped:
        note += " Its expiry was cut to that of the token that created it."
    return TokenRead(
        token=issued.secret,
        name=issued.row.name,
        id=str(issued.row.public_id),
        expires_at=issued.row.expires_at,
        note=note,
    )


def token_info(row: ApiToken, cred: Credential | None) -> TokenInfo:
    return TokenInfo(
        id=str(row.public_id),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        from_token=row.parent_id is not None,
        current=cred is not None and cred.kind == "token" and cred.row_id == row.id,
    )


def session_info(row: StaffSession, cred: Credential | None) -> SessionInfo:
    return SessionInfo(
        id=str(row.public_id),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        client_address=row.client_address,
        user_agent=row.user_agent,
        current=cred is not None and cred.kind == "session" and cred.row_id == row.id,
    )


def credentials_of(
    session: Session, *, user: StaffUser, now: datetime, cred: Credential | None
) -> CredentialsRead:
    """``user``'s live sessions and tokens; ``cred`` (the caller's) is marked current."""
    return CredentialsRead(
        sessions=[
            session_info(r, cred) for r in credentials.live_sessions(session, user=user, now=now)
        ],
        tokens=[token_info(r, cred) for r in credentials.live_tokens(session, user=user, now=now)],
    )


@router.get("/api/v1/auth/tokens", response_model=list[TokenInfo])
def list_tokens(call: ApiSelf) -> list[TokenInfo]:
    """The caller's live tokens (never their secrets)."""
    _actor, user = call.me()
    return call.credentials(user).tokens


@router.post("/api/v1/auth/tokens/{token_id}/revoke", response_model=Ended)
def revoke_token(token_id: IdPath, call: ApiSelf) -> Ended:
    """Revoke one of the caller's tokens, and every token it created."""
    actor, user = call.me()
    ended = service.revoke_token_of(
        call.session, call.context(actor), user=user, token_id=token_id, clock=call.clock
    )
    return Ended(tokens=ended)


@router.get("/api/v1/auth/sessions", response_model=list[SessionInfo])
def list_sessions(call: ApiSelf) -> list[SessionInfo]:
    """The caller's live browser sessions."""
    _actor, user = call.me()
    return call.credentials(user).sessions


@router.post("/api/v1/auth/sessions/{session_id}/revoke", response_model=Ended)
def revoke_session(session_id: IdPath, call: ApiSelf) -> Ended:
    """End one of the caller's browser sessions (a lost or shared computer)."""
    actor, user = call.me()
    service.end_session_of(
        call.session, call.context(actor), user=user, session_id=session_id, clock=call.clock
    )
    return Ended(sessions=1)


# --------------------------------------------------------------------------- account page


def _account_page(
    call: StaffCall,
    actor: Actor,
    *,
    status: int = 200,
    error: str | None = None,
    created: TokenRead | None = None,
    done: str = "",
) -> HTMLResponse:
    user = service.get_own_account(call.session, actor=actor)
    return render(
        call.request,
        "account.html",
        status_code=status,
        staff=actor,
        user=user,
        creds=call.credentials(user),
        error=error,
        created=created,
        done=done,
        day_choices=TOKEN_DAY_CHOICES,
    )


def _to_login(request: Request) -> RedirectResponse:
    return login_redirect(request.url.path)


@router.get("/account", response_class=HTMLResponse, response_model=None)
def account_page(call: PageSelf, done: str = "") -> Response:
    if call.staff is None:
        return _to_login(call.request)
    return _account_page(call, call.actor("account.self"), done=done[:32])


def _account_action(
    call: StaffCall, done: str, run: Callable[[RequestContext, StaffUser], object]
) -> Response:
    """A form on the account page: ``run`` with the caller's context and account, then
    back to the page saying ``done``, or the page again with the refusal."""
    if call.staff is None:
        return _to_login(call.request)
    actor, user = call.me()
    try:
        run(call.context(actor), user)
    except DomainError as exc:
        absorb(call.session, exc)
        return _account_page(call, actor, status=exc.status_hint, error=exc.message)
    return RedirectResponse(f"/account?done={done}", status_code=303)


@posts.post("/account/tokens", response_model=None)
def account_create_token(
    call: PageSelf,
    name: Annotated[str, Form(max_length=64)] = "",
    days: Annotated[int, Form(ge=1, le=730)] = 365,
) -> Response:
    if call.staff is None:
        return _to_login(call.request)
    actor, user = call.me()
    try:
        require(actor, "token.create")
        issued = service.issue_api_token(
            call.session,
            call.context(actor),
            user=user,
            name=name,
            clock=call.clock,
            days=days,
            parent=None,
        )
    except DomainError as exc:
        absorb(call.session, exc)
        return _account_page(call, actor, status=exc.status_hint, error=exc.message)
    created = TokenRead(
        token=issued.secret,
        name=issued.row.name,
        id=str(issued.row.public_id),
        expires_at=issued.row.expires_at,
    )
    # Shown once, on this answer (never cached): only its hash is kept.
    return _account_page(call, actor, status=201, created=created)


@posts.post("/account/tokens/{token_id}/revoke", response_model=None)
def account_revoke_token(token_id: IdPath, call: PageSelf) -> Response:
    return _account_action(
        call,
        "token-revoked",
        lambda ctx, user: service.revoke_token_of(
            call.session, ctx, user=user, token_id=token_id, clock=call.clock
        ),
    )


@posts.post("/account/sessions/{session_id}/revoke", response_model=None)
def account_revoke_session(session_id: IdPath, call: PageSelf) -> Response:
    return _account_action(
        call,
        "session-ended",
        lambda ctx, user: service.end_session_of(
            call.session, ctx, user=user, session_id=session_id, clock=call.clock
        ),
    )


router.include_router(posts)
