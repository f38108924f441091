"""ABHA number allocation without collisions (docs/adr/0003-abha-number-allocation.md).

A number is ``91`` + 11 digits + a Luhn check digit. The 11 digits are a keyed
Feistel permutation of a counter over [0, 10^11): distinct counters always give
distinct numbers (a permutation has no collisions, so no retry loop and no unique
violation to catch at tens of crores of accounts), yet consecutive enrolments do not
get guessable neighbouring numbers. The counter lives in one row
(``abha_number_counter``); ``reserve`` takes a block in one short UPDATE, so bulk
seeding and concurrent enrolments never contend for long. A deleted account's
number is never reused because the counter only moves forward.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthstack.abha.models import AbhaNumberCounter
from healthstack.kernel.ids import abha_number_with_check_digit

PREFIX = "91"
DOMAIN = 10**11  # the 11 permuted digits
_HALF = 10**6  # split into a 5-digit and a 6-digit half: 10^5 * 10^6 = 10^11
_LEFT = 10**5
_ROUNDS = 7
COUNTER_NAME = "abha"


class NumberPermutation:
    """A keyed bijection on [0, 10^11) (unbalanced Feistel network, alternating moduli)."""

    def __init__(self, secret: str):
        self._key = hashlib.sha256(("abha-number:" + secret).encode()).digest()

    def _round(self, r: int, value: int, modulus: int) -> int:
        mac = hmac.new(self._key, f"{r}:{value}".encode(), hashlib.sha256).digest()
        return int.from_bytes(mac[:8], "big") % modulus

    def permute(self, n: int) -> int:
        if not 0 <= n < DOMAIN:
            raise ValueError("counter outside the ABHA number space")
        left, right = divmod(n, _HALF)  # left < 10^5, right < 10^6
        for r in range(_ROUNDS):
            if r % 2 == 0:
                left = (left + self._round(r, right, _LEFT)) % _LEFT
            else:
                right = (right + self._round(r, left, _HALF)) % _HALF
        return left * _HALF + right

    def invert(self, m: int) -> int:
        left, right = divmod(m, _HALF)
        for r in reversed(range(_ROUNDS)):
            if r % 2 == 0:
                left = (left - self._round(r, right, _LEFT)) % _LEFT
            else:
                right = (right - self._round(r, left, _HALF)) % _HALF
        return left * _HALF + right

    def number_for(self, counter: int) -> str:
        return abha_number_with_check_digit(f"{PREFIX}{self.permute(counter):011d}")


def reserve(session: Session, count: int = 1) -> int:
    """Reserve ``count`` consecutive counter values; returns the first one.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) until the
    caller's transaction ends, so two transactions never receive the same block.
    """
    if count < 1:
        raise ValueError("count must be positive")
    row = session.execute(
        update(AbhaNumberCounter)
        .where(AbhaNumberCounter.name == COUNTER_NAME)
        .values(next_value=AbhaNumberCounter.next_value + count)
        .returning(AbhaNumberCounter.next_value)
    ).scalar_one_or_none()
    if row is None:
        session.add(AbhaNumberCounter(name=COUNTER_NAME, next_value=count))
        session.flush()
        return 0
    first = int(row) - count
    if first + count > DOMAIN:
        raise RuntimeError("the ABHA number space is exhausted")
    return first


def allocate(session: Session, permutation: NumberPermutation) -> str:
    return permutation.number_for(reserve(session, 1))


def allocated_count(session: Session) -> int:
    value = session.scalar(
        select(AbhaNumberCounter.next_value).where(AbhaNumberCounter.name == COUNTER_NAME)
    )
    return int(value or 0)
