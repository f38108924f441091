"""The login throttle: consecutive wrong passwords per account and per client address
earn a pause that doubles with each further failure (docs/adr/0017-staff-sessions.md).

The account key is the username as typed (normalised), whether or not it exists, so the
answer never tells an attacker which usernames are real. Attempts during a pause are
refused before the password is hashed: they cost the server almost nothing and do not
count. The counts live in the database, so every server process sees one count; the
upsert adds one atomically, so concurrent failures are all counted.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from healthstack.accounts.models import LoginThrottle
from healthstack.kernel.db import is_postgres
from healthstack.settings import AuthSettings


class ThrottleKind(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    account_free_failures: int = 5
    address_free_failures: int = 20
    base_seconds: int = 30
    max_seconds: int = 900
    account_memory_seconds: int = 86400
    address_memory_seconds: int = 3600

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> ThrottlePolicy:
        return cls(
            account_free_failures=auth.account_free_failures,
            address_free_failures=auth.address_free_failures,
            base_seconds=auth.lockout_base_seconds,
            max_seconds=auth.lockout_max_seconds,
            account_memory_seconds=auth.account_memory_seconds,
            address_memory_seconds=auth.address_memory_seconds,
        )

    def free(self, kind: ThrottleKind) -> int:
        if kind is ThrottleKind.ACCOUNT:
            return self.account_free_failures
        return self.address_free_failures

    def memory(self, kind: ThrottleKind) -> timedelta:
        if kind is ThrottleKind.ACCOUNT:
            return timedelta(seconds=self.account_memory_seconds)
        return timedelta(seconds=self.address_memory_seconds)

    def pause_after(self, kind: ThrottleKind, failures: int) -> timedelta | None:
        over = failures - self.free(kind)
        if over < 0:
            return None
        return timedelta(seconds=min(self.base_seconds * 2 ** min(over, 30), self.max_seconds))


@dataclass(frozen=True)
class Pause:
    kind: ThrottleKind
    key: str
    until: datetime
    failures: int


def account_key(username: str) -> str:
    """The username as an account would hold it; anything no account can hold (control
    characters, which PostgreSQL text also refuses) is keyed by its digest instead."""
    key = username.strip().lower()
    if key.isprintable() and len(key) <= 64:
        return key
    return "~" + hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:40]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:64]


def _keys(username: str, address: str | None) -> list[tuple[ThrottleKind, str]]:
    return [
        (ThrottleKind.ACCOUNT, account_key(username)),
        (ThrottleKind.ADDRESS, address_key(address)),
    ]


def current_pause(
    session: Session, *, username: str, address: str | None, now: datetime
) -> Pause | None:
    """The pause in force for this username or address (the later one), if any."""
    keys = [(k.value, v) for k, v in _keys(username, address)]
    rows = session.scalars(
        select(LoginThrottle).where(
            tuple_(LoginThrottle.kind, LoginThrottle.key).in_(keys),
            LoginThrottle.locked_until > now,
        )
    ).all()
    if not rows:
        return None
    row = max(rows, key=lambda r: r.locked_until or now)
    assert row.locked_until is not None
    return Pause(ThrottleKind(row.kind), row.key, row.locked_until, row.failures)


def _count(
    session: Session, kind: ThrottleKind, key: str, *, now: datetime, forget_before: datetime
) -> int:
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = (
        insert(LoginThrottle)
        .values(
            public_id=uuid.uuid4(),
            kind=kind.value,
            key=key,
            failures=1,
            last_failure_at=now,
            locked_until=None,
        )
        .on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                "failures": case(
                    (LoginThrottle.last_failure_at < forget_before, 1),
                    else_=LoginThrottle.failures + 1,
                ),
                "last_failure_at": now,
            },
        )
        .returning(LoginThrottle.failures)
    )
    return int(session.execute(stmt).scalar_one())


def record_failure(
    session: Session,
    *,
    username: str,
    address: str | None,
    now: datetime,
    policy: ThrottlePolicy,
) -> list[Pause]:
    """Count one wrong password for the username and the address; the pauses it starts."""
    started: list[Pause] = []
    for kind, key in _keys(username, address):
        failures = _count(session, kind, key, now=now, forget_before=now - policy.memory(kind))
        pause = policy.pause_after(kind, failures)
        if pause is None:
            continue
        until = now + pause
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.kind == kind.value, LoginThrottle.key == key)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        started.append(Pause(kind, key, until, failures))
    return started


def clear_account(session: Session, *, username: str) -> None:
    """A correct password (or an admin's reset or unlock) clears the account's count;
    the address's count stays, so one valid account cannot reset it for the others."""
    session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.kind == ThrottleKind.ACCOUNT.value,
            LoginThrottle.key == account_key(username),
        )
        .execution_options(synchronize_session=False)
    )


def account_pause(session: Session, *, username: str, now: datetime) -> datetime | None:
    """Until when the account is paused (for the admin pages), if it is."""
    until = session.scalar(
        select(LoginThrottle.locked_until).where(
            LoginThrottle.kind == ThrottleKind.ACCOUNT.value,
            LoginThrottle.key == account_key(username),
        )
    )
    return until if until is not None and until > now else None
