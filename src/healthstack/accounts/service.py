"""Staff accounts: create, log in (throttled, audited), browser sessions and API tokens
for their owner. Administration of other accounts is ``accounts.staff_admin``."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts import credentials, throttle
from healthstack.accounts.credentials import EndReason, IssuedToken
from healthstack.accounts.models import ApiToken, StaffSession, StaffUser
from healthstack.accounts.passwords import (
    PasswordGate,
    check_password,
    hash_password,
    needs_rehash,
)
from healthstack.accounts.throttle import Pause, ThrottleKind, ThrottlePolicy
from healthstack.kernel.audit import Outcome, audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, RequestContext, Role
from healthstack.kernel.errors import (
    AuthenticationRequired,
    Conflict,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from healthstack.kernel.ids import parse_hfr_id

TOKEN_PREFIX = credentials.TOKEN_PREFIX
__all__ = ["hash_password"]  # re-exported for the CLI and the seed

WRONG_CREDENTIALS = (
    "The username or password is wrong. Check Caps Lock and try again, or ask your "
    "facility admin to reset your password."
)


def actor_for(user: StaffUser, kind: ActorKind = ActorKind.STAFF) -> Actor:
    return Actor(
        kind=kind,
        id=str(user.public_id),
        role=Role(user.role),
        facility_id=user.facility_id,
        district_lgd=user.district_lgd,
        display=user.username,
    )


def normalise_username(username: str) -> str:
    username = username.strip().lower()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").isalnum()
    ):
        raise ValidationFailed(
            "A username uses letters, digits, '.' and '_' only (at most 64).", field="username"
        )
    return username


def check_text(value: str, *, field: str, what: str) -> str:
    """Free text a person typed: trimmed, without control characters."""
    value = value.strip()
    if not value:
        raise ValidationFailed(f"Give {what}.", field=field)
    if not value.isprintable():
        raise ValidationFailed(
            f"Type {what} again: it holds characters that are not letters or signs.",
            field=field,
        )
    return value


def check_password_rules(password: str) -> None:
    if len(password) < 10:
        raise ValidationFailed("A password needs at least 10 characters.", field="password")
    if len(password) > 256:
        raise ValidationFailed("A password has at most 256 characters.", field="password")


def check_role_fields(role: Role, facility_id: str | None, district_lgd: int | None) -> str | None:
    """The facility or district a role needs; the normalised HFR id."""
    if role in FACILITY_ROLES and not facility_id:
        raise ValidationFailed(
            f"The {role.value} role works at a facility: give the facility's HFR id.",
            field="facility_id",
        )
    if role is Role.DISTRICT_OFFICER and district_lgd is None:
        raise ValidationFailed(
            "A district officer needs the district's LGD code.", field="district_lgd"
        )
    if not facility_id:
        return None
    try:
        return parse_hfr_id(facility_id)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code=exc.code, field="facility_id") from None


def create_staff(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    clock: Clock,
    facility_id: str | None = None,
    district_lgd: int | None = None,
) -> StaffUser:
    """The account itself, no scope check: the CLI and the seed call it as the system;
    staff go through ``staff_admin.create_account``."""
    username = normalise_username(username)
    check_password_rules(password)
    facility_id = check_role_fields(role, facility_id, district_lgd)
    full_name = check_text(full_name, field="full_name", what="the person's full name")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict("That username is taken; choose another.", field="username")
    user = StaffUser(
        username=username,
        full_name=full_name.strip(),
        role=role.value,
        facility_id=facility_id,
        district_lgd=district_lgd,
        password_hash=hash_password(password),
        is_active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def find_staff(session: Session, *, public_id: str) -> StaffUser | None:
    try:
        pid = uuid.UUID(public_id)
    except ValueError:
        return None
    return session.scalar(select(StaffUser).where(StaffUser.public_id == pid))


def get_own_account(session: Session, *, actor: Actor) -> StaffUser:
    user = find_staff(session, public_id=actor.id)
    if user is None or not user.is_active:
        raise AuthenticationRequired("Your account was not found or is inactive. Log in again.")
    return user


# --------------------------------------------------------------------------- login


class LoginChannel(StrEnum):
    PAGE = "page"  # the /login form: a browser session
    API = "api"  # POST /api/v1/auth/login: a one-day API token


class LoginFailed(AuthenticationRequired):
    """A wrong password. The throttle's count and the audit row are kept."""

    commit_anyway = True


class LoginPaused(RateLimited):
    """Too many wrong passwords for this account or from this address: try later.
    ``retry_at`` is when; the edges say it in IST (``message`` says it in minutes)."""

    code = "HS-1429"
    commit_anyway = True

    def __init__(self, pause: Pause, *, now: datetime, wrong_now: bool):
        self.pause = pause
        self.retry_at = pause.until
        self.retry_after = max(1, math.ceil((pause.until - now).total_seconds()))
        self.wrong_now = wrong_now
        self.headers = {"Retry-After": str(self.retry_after)}
        minutes = max(1, math.ceil(self.retry_after / 60))
        super().__init__(
            f"{self.reason_text()} Try again in {minutes} minute{'s' if minutes > 1 else ''}."
            f" {self.advice()}"
        )

    def reason_text(self) -> str:
        start = "The password was wrong, and there" if self.wrong_now else "There"
        if self.pause.kind is ThrottleKind.ACCOUNT:
            return f"{start} have been too many wrong passwords for this account."
        return f"{start} have been too many wrong passwords from your network."

    def advice(self) -> str:
        return (
            "Until then no password is checked. If you forgot it, ask your facility "
            "admin to reset it."
        )


@dataclass(frozen=True)
class LoginGuard:
    """What protects the password check: the throttle's rules and the hashing gate."""

    policy: ThrottlePolicy
    gate: PasswordGate


def _login_audit(
    session: Session,
    ctx: RequestContext,
    *,
    channel: LoginChannel,
    user: StaffUser | None,
    outcome: Outcome,
    reason: str | None,
    clock: Clock,
) -> None:
    record_access(
        session,
        ctx,
        action=f"auth.login.{channel.value}",
        resource_type="staff_user",
        resource_id=str(user.public_id) if user else None,
        outcome=outcome,
        reason_code=reason,
        clock=clock,
    )


@dataclass(frozen=True)
class LoginAttempt:
    """What the first step of a login read: the check then runs with no database
    connection held (a pool of a few connections must not wait on argon2)."""

    key: str
    channel: LoginChannel
    user_id: int | None
    password_hash: str | None


def _find_user(session: Session, key: str) -> StaffUser | None:
    if not key or key.startswith("~"):
        return None
    return session.scalar(select(StaffUser).where(StaffUser.username == key))


def start_login(
    session: Session, ctx: RequestContext, *, username: str, clock: Clock, channel: LoginChannel
) -> LoginAttempt:
    """Step 1: refuse while the username or the address is paused (before any hashing,
    audited); otherwise what the password check needs."""
    now = clock.now()
    key = throttle.account_key(username)
    user = _find_user(session, key)
    paused = throttle.current_pause(session, username=key, address=ctx.ip, now=now)
    if paused is not None:
        _login_audit(
            session,
            ctx,
            channel=channel,
            user=user,
            outcome=Outcome.DENIED,
            reason=LoginPaused.code,
            clock=clock,
        )
        raise LoginPaused(paused, now=now, wrong_now=False)
    return LoginAttempt(
        key=key,
        channel=channel,
        user_id=user.id if user else None,
        password_hash=user.password_hash if user else None,
    )


def check_login_password(attempt: LoginAttempt, password: str, *, guard: LoginGuard) -> bool:
    """Step 2, outside any transaction: the argon2 check, through the gate (it may
    raise ``PasswordChecksBusy``; ``record_busy`` audits that)."""
    return guard.gate.run(check_password, attempt.password_hash, password)


def record_busy(
    session: Session, ctx: RequestContext, *, attempt: LoginAttempt, clock: Clock, code: str
) -> None:
    user = session.get(StaffUser, attempt.user_id) if attempt.user_id else None
    _login_audit(
        session,
        ctx,
        channel=attempt.channel,
        user=user,
        outcome=Outcome.FAILED,
        reason=code,
        clock=clock,
    )


def finish_login(
    session: Session,
    ctx: RequestContext,
    *,
    attempt: LoginAttempt,
    password: str,
    ok: bool,
    clock: Clock,
    policy: ThrottlePolicy,
) -> StaffUser:
    """Step 3: the account, or the failure counted (maybe starting a pause) and raised.
    Every attempt leaves an audit row."""
    now = clock.now()
    user = session.get(StaffUser, attempt.user_id) if attempt.user_id else None
    # A password changed (or the account deactivated) since step 1 counts as a failure:
    # the check was against the old hash.
    current = user is not None and user.password_hash == attempt.password_hash
    if ok and user is not None and current and user.is_active:
        throttle.clear_account(session, username=attempt.key)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        _login_audit(
            session,
            RequestContext(
                actor=actor_for(user), purpose=ctx.purpose, request_id=ctx.request_id, ip=ctx.ip
            ),
            channel=attempt.channel,
            user=user,
            outcome=Outcome.SUCCESS,
            reason=None,
            clock=clock,
        )
        return user
    if user is None:
        reason = "unknown_user"
    elif ok and current:
        reason = "inactive"
    else:
        reason = "bad_password"
    _login_audit(
        session,
        ctx,
        channel=attempt.channel,
        user=user,
        outcome=Outcome.DENIED,
        reason=reason,
        clock=clock,
    )
    started = throttle.record_failure(
        session, username=attempt.key, address=ctx.ip, now=now, policy=policy
    )
    for pause in started:
        record_access(
            session,
            ctx,
            action="auth.lockout",
            resource_type="staff_user" if pause.kind is ThrottleKind.ACCOUNT else "client_address",
            resource_id=(
                (str(user.public_id) if user else None)
                if pause.kind is ThrottleKind.ACCOUNT
                else pause.key
            ),
            outcome=Outcome.DENIED,
            reason_code=f"{pause.kind.value}:{pause.failures}",
            clock=clock,
        )
    if started:
        raise LoginPaused(max(started, key=lambda p: p.until), now=now, wrong_now=True)
    raise LoginFailed(WRONG_CREDENTIALS)


# --------------------------------------------------------------------------- sessions


def start_browser_session(
    session: Session,
    ctx: RequestContext,
    *,
    user: StaffUser,
    clock: Clock,
    ttl_seconds: int,
    user_agent: str | None,
) -> tuple[StaffSession, str]:
    return credentials.start_session(
        session,
        user=user,
        now=clock.now(),
        ttl_seconds=ttl_seconds,
        client_address=ctx.ip,
        user_agent=user_agent,
    )


def logout_session(
    session: Session, ctx: RequestContext, *, row: StaffSession, clock: Clock
) -> None:
    if credentials.end_session(session, row=row, now=clock.now(), reason=EndReason.LOGOUT):
        record_access(
            session,
            ctx,
            action="auth.logout.page",
            resource_type="staff_session",
            resource_id=str(row.public_id),
            clock=clock,
        )


def get_session_of(session: Session, *, user: StaffUser, public_id: str) -> StaffSession:
    row = None
    try:
        pid = uuid.UUID(public_id)
    except ValueError:
        pid = None
    if pid is not None:
        row = session.scalar(
            select(StaffSession).where(
                StaffSession.public_id == pid, StaffSession.user_id == user.id
            )
        )
    if row is None:
        raise NotFound("No session with this id on this account. Reload the list.")
    return row


def get_token_of(session: Session, *, user: StaffUser, public_id: str) -> ApiToken:
    row = None
    try:
        pid = uuid.UUID(public_id)
    except ValueError:
        pid = None
    if pid is not None:
        row = session.scalar(
            select(ApiToken).where(ApiToken.public_id == pid, ApiToken.user_id == user.id)
        )
    if row is None:
        raise NotFound("No API token with this id on this account. Reload the list.")
    return row


def end_session_of(
    session: Session, ctx: RequestContext, *, user: StaffUser, session_id: str, clock: Clock
) -> StaffSession:
    """End one of the caller's own sessions."""
    with audited(
        session,
        ctx,
        action="auth.session.revoke",
        resource_type="staff_session",
        resource_id=session_id[:64],
        clock=clock,
    ):
        row = get_session_of(session, user=user, public_id=session_id)
        credentials.end_session(session, row=row, now=clock.now(), reason=EndReason.REVOKED)
    return row


# --------------------------------------------------------------------------- tokens


def issue_api_token(
    session: Session,
    ctx: RequestContext,
    *,
    user: StaffUser,
    name: str,
    clock: Clock,
    days: int | None,
    parent: ApiToken | None,
) -> IssuedToken:
    issued = credentials.issue_token(
        session, user=user, name=name, now=clock.now(), days=days, parent=parent
    )
    record_access(
        session,
        ctx,
        action="auth.token.create",
        resource_type="api_token",
        resource_id=str(issued.row.public_id),
        reason_code="capped" if issued.capped else None,
        clock=clock,
    )
    return issued


def create_api_token(
    session: Session, *, user: StaffUser, name: str, clock: Clock, days: int | None = 365
) -> str:
    """A token for a script or test set-up run as the system (no request behind it)."""
    return credentials.issue_token(session, user=user, name=name, now=clock.now(), days=days).secret


def resolve_api_token(session: Session, *, token: str, now: datetime) -> StaffUser | None:
    row = credentials.resolve_token(session, secret=token, now=now)
    return row.user if row is not None else None


def revoke_token_of(
    session: Session,
    ctx: RequestContext,
    *,
    user: StaffUser,
    token_id: str,
    clock: Clock,
    reason: EndReason = EndReason.REVOKED,
) -> int:
    """Revoke one of the caller's own tokens and the tokens it created; how many ended."""
    action = "auth.logout.api" if reason is EndReason.LOGOUT else "auth.token.revoke"
    with audited(
        session,
        ctx,
        action=action,
        resource_type="api_token",
        resource_id=token_id[:64],
        clock=clock,
    ):
        row = get_token_of(session, user=user, public_id=token_id)
        return credentials.revoke_token(session, row=row, now=clock.now(), reason=reason)


def end_all_credentials(
    session: Session,
    ctx: RequestContext,
    *,
    user: StaffUser,
    clock: Clock,
    reason: EndReason,
    action: str,
) -> tuple[int, int]:
    ended = credentials.end_everything(session, user=user, now=clock.now(), reason=reason)
    record_access(
        session,
        ctx,
        action=action,
        resource_type="staff_user",
        resource_id=str(user.public_id),
        reason_code=f"s{ended[0]}:t{ended[1]}",
        clock=clock,
    )
    return ended
