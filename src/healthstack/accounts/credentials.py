"""Browser sessions and API tokens: issued, resolved, listed and ended.

Both are server-side records; the client holds an opaque random secret and the
database only its SHA-256, so a leaked table gives no usable credential and ending a
row ends every copy of the secret at once (docs/adr/0017-staff-sessions.md).

- A session (cookie ``hs_staff``, ``hss_...``) lasts ``session_ttl_seconds`` from login
  and ends sooner when unused for ``session_idle_seconds``, at logout, or when revoked.
- A token (``Authorization: Bearer hst_...``) lasts the days asked for, but never past
  the token that created it; revoking a token revokes every token it created.
- Deactivating an account or resetting its password ends all of both.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from healthstack.accounts.models import ApiToken, StaffSession, StaffUser
from healthstack.kernel.errors import ValidationFailed

TOKEN_PREFIX = "hst_"  # noqa: S105 - a prefix, not a secret
SESSION_PREFIX = "hss_"
# Seen-at and used-at are written at most this often, so a page or an API call does not
# write a row each time.
_TOUCH_EVERY = timedelta(seconds=60)


class EndReason(StrEnum):
    LOGOUT = "logout"
    REVOKED = "revoked"
    DEACTIVATED = "deactivated"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
    PARENT_REVOKED = "parent_revoked"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --------------------------------------------------------------------------- sessions


def start_session(
    session: Session,
    *,
    user: StaffUser,
    now: datetime,
    ttl_seconds: int,
    client_address: str | None,
    user_agent: str | None,
) -> tuple[StaffSession, str]:
    """A new session row and the cookie secret (shown to nobody else, stored hashed)."""
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    row = StaffSession(
        user_id=user.id,
        secret_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        last_seen_at=now,
        client_address=(client_address or "")[:64] or None,
        user_agent=(user_agent or "")[:160] or None,
    )
    session.add(row)
    session.flush()
    return row, secret


def resolve_session(
    session: Session, *, secret: str, now: datetime, idle_seconds: int
) -> StaffSession | None:
    """The live session the cookie names, or None (unknown, ended, expired, idle, or
    its account deactivated)."""
    if not secret.startswith(SESSION_PREFIX) or len(secret) > 128:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.secret_hash == digest(secret)))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(seconds=idle_seconds) <= now:
        return None
    if not row.user.is_active:
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(session: Session, *, row: StaffSession, now: datetime, reason: EndReason) -> bool:
    """End one session; False when it had already ended."""
    if row.ended_at is not None:
        return False
    row.ended_at = now
    row.end_reason = reason.value
    session.flush()
    return True


def live_sessions(session: Session, *, user: StaffUser, now: datetime) -> Sequence[StaffSession]:
    return session.scalars(
        select(StaffSession)
        .where(
            StaffSession.user_id == user.id,
            StaffSession.ended_at.is_(None),
            StaffSession.expires_at > now,
        )
        .order_by(StaffSession.created_at.desc(), StaffSession.id.desc())
    ).all()


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class IssuedToken:
    row: ApiToken
    secret: str
    # The expiry asked for was cut to the creating token's own.
    capped: bool


def issue_token(
    session: Session,
    *,
    user: StaffUser,
    name: str,
    now: datetime,
    days: int | None = 365,
    parent: ApiToken | None = None,
) -> IssuedToken:
    """A new token. Created with a token (``parent``), it never outlives that token."""
    if not name.strip() or not name.isprintable():
        raise ValidationFailed(
            "Give the token a name (what will use it), in letters, digits and signs.",
            field="name",
        )
    expires = now + timedelta(days=days) if days else None
    capped = False
    ceiling = parent.expires_at if parent is not None else None
    if ceiling is not None and (expires is None or expires > ceiling):
        expires, capped = ceiling, True
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name.strip()[:64],
        token_hash=digest(secret),
        prefix=secret[:12],
        created_at=now,
        expires_at=expires,
        parent_id=parent.id if parent is not None else None,
    )
    session.add(row)
    session.flush()
    return IssuedToken(row, secret, capped)


def resolve_token(session: Session, *, secret: str, now: datetime) -> ApiToken | None:
    """The live token, or None (unknown, revoked, expired, or its account deactivated)."""
    if len(secret) > 128:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.is_active:
        return None
    # At most once a minute: a write on every call would make each API request a
    # writer from its first query (on SQLite, holding the one write lock throughout).
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        row.last_used_at = now
    return row


def revoke_token(session: Session, *, row: ApiToken, now: datetime, reason: EndReason) -> int:
    """Revoke the token and every token it created, at any depth; how many ended."""
    ended = 0
    frontier = [row]
    seen: set[int] = set()
    while frontier:
        current = frontier.pop()
        if current.id in seen:  # pragma: no cover - lineage is a tree
            continue
        seen.add(current.id)
        if current.revoked_at is None:
            current.revoked_at = now
            current.revoked_reason = (reason if current is row else EndReason.PARENT_REVOKED).value
            ended += 1
        frontier.extend(session.scalars(select(ApiToken).where(ApiToken.parent_id == current.id)))
    session.flush()
    return ended


def live_tokens(session: Session, *, user: StaffUser, now: datetime) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def end_everything(
    session: Session, *, user: StaffUser, now: datetime, reason: EndReason
) -> tuple[int, int]:
    """End every session and revoke every token of the account: (sessions, tokens)."""
    sessions = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason.value)
        .execution_options(synchronize_session=False)
    )
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason.value)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return _count(sessions), _count(tokens)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"))
_BROWSERS_LAST = (("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str:
    """ "Chrome on Linux": enough for a person to recognise their own browser."""
    if not user_agent:
        return "unknown browser"
    browser = next(
        (name for mark, name in (*_BROWSERS, *_BROWSERS_LAST) if mark in user_agent), None
    )
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser is None:
        return user_agent[:40]
    return f"{browser} on {system}" if system else browser
