"""Staff accounts: create, authenticate, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts.models import ApiToken, StaffUser
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, Role
from healthstack.kernel.errors import AuthenticationRequired, Conflict, ValidationFailed
from healthstack.kernel.ids import parse_hfr_id

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
TOKEN_PREFIX = "hst_"  # noqa: S105 - a prefix, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def actor_for(user: StaffUser, kind: ActorKind = ActorKind.STAFF) -> Actor:
    return Actor(
        kind=kind,
        id=str(user.public_id),
        role=Role(user.role),
        facility_id=user.facility_id,
        district_lgd=user.district_lgd,
        display=user.username,
    )


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
    username = username.strip().lower()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").isalnum()
    ):
        raise ValidationFailed(
            "A username uses letters, digits, '.' and '_' only (at most 64).", field="username"
        )
    if len(password) < 10:
        raise ValidationFailed("A password needs at least 10 characters.", field="password")
    if role in FACILITY_ROLES and not facility_id:
        raise ValidationFailed(
            f"The {role.value} role works at a facility: give the facility's HFR id.",
            field="facility_id",
        )
    if role is Role.DISTRICT_OFFICER and district_lgd is None:
        raise ValidationFailed(
            "A district officer needs the district's LGD code.", field="district_lgd"
        )
    if facility_id:
        facility_id = parse_hfr_id(facility_id)
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


def authenticate(session: Session, *, username: str, password: str, clock: Clock) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.is_active:
        raise AuthenticationRequired(
            "The username or password is wrong. Check Caps Lock and try again, or ask "
            "your facility admin to reset your password."
        )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session, *, user: StaffUser, name: str, clock: Clock, days: int | None = 365
) -> str:
    if not name.strip():
        raise ValidationFailed("Give the token a name (what will use it).", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        ApiToken(
            user_id=user.id,
            name=name.strip()[:64],
            token_hash=_token_hash(token),
            prefix=token[:12],
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
    )
    session.flush()
    return token


def resolve_api_token(session: Session, token: str, *, now: datetime) -> StaffUser | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.is_active:
        return None
    row.last_used_at = now
    return row.user


def find_staff(session: Session, public_id: str) -> StaffUser | None:
    import uuid

    try:
        pid = uuid.UUID(public_id)
    except ValueError:
        return None
    return session.scalar(select(StaffUser).where(StaffUser.public_id == pid))
