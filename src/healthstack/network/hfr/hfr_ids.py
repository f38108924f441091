"""HFR id allocation (docs/adr/0006-hfr-id-allocation.md).

An HFR id is ``IN`` + the state's 2-digit LGD code + 8 digits. The 8 digits are
``10_000_000 + n`` where ``n`` is the state's own counter (1, 2, 3, ...), so the first
900,000 ids of a state read ``IN<ss>10xxxxxx`` like every id ABDM has issued
(IN0310000334, IN2810014366). The counter lives in one row per state and only moves
forward: ids never collide and a rejected facility's id is never issued again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from healthstack.kernel.db import is_postgres
from healthstack.kernel.errors import ValidationFailed
from healthstack.network.hfr.models import HfrIdCounter

BASE = 10_000_000
CAPACITY = 99_999_999 - BASE  # ids per state


def check_state(state_lgd: int) -> int:
    if not 1 <= state_lgd <= 99:
        raise ValidationFailed(
            "The state LGD code has one or two digits (Jammu and Kashmir is 1).",
            field="state_lgd",
            code="HS-1310",
        )
    return state_lgd


def format_hfr_id(state_lgd: int, n: int) -> str:
    if not 1 <= n <= CAPACITY:
        raise ValueError("HFR sequence outside the id space")
    return f"IN{state_lgd:02d}{BASE + n:08d}"


def reserve(session: Session, state_lgd: int, count: int = 1) -> int:
    """Reserve ``count`` consecutive sequence numbers of the state; returns the first.

    One upsert: it creates the state's row on first use, and its row lock
    (PostgreSQL) or the write lock (SQLite) holds until the caller's transaction ends,
    so two transactions never receive the same numbers.
    """
    check_state(state_lgd)
    if count < 1:
        raise ValueError("count must be positive")
    insert = pg_insert if is_postgres(session) else sqlite_insert
    upsert = (
        insert(HfrIdCounter)
        .values(state_lgd=state_lgd, next_value=count)
        .on_conflict_do_update(
            index_elements=[HfrIdCounter.state_lgd],
            set_={"next_value": HfrIdCounter.next_value + count},
        )
        .returning(HfrIdCounter.next_value)
    )
    last = int(session.execute(upsert).scalar_one())
    if last > CAPACITY:
        raise RuntimeError(f"the HFR id space of state {state_lgd} is exhausted")
    return last - count + 1


def allocate(session: Session, state_lgd: int, count: int = 1) -> list[str]:
    first = reserve(session, state_lgd, count)
    return [format_hfr_id(state_lgd, n) for n in range(first, first + count)]


def issued_count(session: Session, state_lgd: int) -> int:
    value = session.scalar(
        select(HfrIdCounter.next_value).where(HfrIdCounter.state_lgd == state_lgd)
    )
    return int(value or 0)
