"""HPR id allocation without collisions (docs/adr/0007-hpr-ids.md).

An HPR id is ``71`` + 11 digits + a Luhn check digit, shown ``XX-XXXX-XXXX-XXXX``
like an ABHA number. The 11 digits are the ABHA allocator's keyed Feistel
permutation (``network.abha.numbers.NumberPermutation``) under a key of their own, applied to
a counter kept in its own row (``hpr_id_counter``): distinct counters give distinct
ids, consecutive registrations do not get guessable neighbouring ids, and an id is
never reissued because the counter only moves forward. ``71`` is the prefix every
HPR id in ABDM's published examples carries; ABHA numbers start ``91``, so the two
kinds of 14-digit number cannot be mistaken for each other.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from healthstack.kernel.ids import abha_number_with_check_digit
from healthstack.network.abha.numbers import DOMAIN, NumberPermutation
from healthstack.network.hpr.models import HprIdCounter

PREFIX = "71"
COUNTER_NAME = "hpr"


class HprIdPermutation(NumberPermutation):
    """The ABHA permutation keyed apart (its key is derived from ``"hpr-id:" + secret``,
    never equal to the ABHA key) and written with the HPR prefix."""

    def __init__(self, secret: str):
        super().__init__("hpr-id:" + secret)

    def number_for(self, counter: int) -> str:
        # Luhn over the 13 digits, the same check-digit rule as ABHA numbers.
        return abha_number_with_check_digit(f"{PREFIX}{self.permute(counter):011d}")


def _ensure_counter(session: Session) -> None:
    """Create the counter row once; concurrent first uses do not collide."""
    dialect = session.get_bind().dialect.name
    values = {"name": COUNTER_NAME, "next_value": 0}
    if dialect == "postgresql":
        session.execute(postgresql.insert(HprIdCounter).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(HprIdCounter).values(values).on_conflict_do_nothing())
    elif session.get(HprIdCounter, COUNTER_NAME) is None:  # pragma: no cover - other engines
        session.add(HprIdCounter(**values))
        session.flush()


def reserve(session: Session, count: int = 1) -> int:
    """Reserve ``count`` consecutive counter values; returns the first one.

    The UPDATE holds the row lock (PostgreSQL) or the write lock (SQLite) until the
    caller's transaction ends, so two transactions never receive the same block.
    """
    if count < 1:
        raise ValueError("count must be positive")
    statement = (
        update(HprIdCounter)
        .where(HprIdCounter.name == COUNTER_NAME)
        .values(next_value=HprIdCounter.next_value + count)
        .returning(HprIdCounter.next_value)
    )
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        _ensure_counter(session)
        row = session.execute(statement).scalar_one()
    first = int(row) - count
    if first + count > DOMAIN:
        raise RuntimeError("the HPR id space is exhausted")
    return first


def allocate(session: Session, permutation: HprIdPermutation) -> str:
    return permutation.number_for(reserve(session, 1))


def allocated_count(session: Session) -> int:
    value = session.scalar(select(HprIdCounter.next_value).where(HprIdCounter.name == COUNTER_NAME))
    return int(value or 0)


def permutation_for(secret: str) -> HprIdPermutation:
    return HprIdPermutation(secret)


def format_hpr_id(digits: str) -> str:
    return f"{digits[0:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:14]}"
