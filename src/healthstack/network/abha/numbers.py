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
from array import array

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthstack.kernel.ids import abha_number_with_check_digit
from healthstack.network.abha.models import AbhaNumberCounter

PREFIX = "91"
DOMAIN = 10**11  # the 11 permuted digits
_HALF = 10**6  # split into a 5-digit and a 6-digit half: 10^5 * 10^6 = 10^11
_LEFT = 10**5
_ROUNDS = 7
COUNTER_NAME = "abha"


class NumberPermutation:
    """A keyed bijection on [0, 10^11) (unbalanced Feistel network, alternating moduli)."""

    def __init__(self, secret: str):
        key = hashlib.sha256(("abha-number:" + secret).encode()).digest()
        # HMAC-SHA256 with the key schedule done once: the inner and outer hash
        # states are copied per call instead of rebuilt (RFC 2104).
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _round(self, r: int, value: int, modulus: int) -> int:
        inner = self._inner.copy()
        inner.update(f"{r}:{value}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return int.from_bytes(outer.digest()[:8], "big") % modulus

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


class BulkNumberPermutation(NumberPermutation):
    """``NumberPermutation`` with the same output, computed fast enough for crores.

    Every round value is memoised in a table over its input range (10^6 or 10^5
    entries per round): a small seed computes what it needs, a full-scale one fills
    the tables once (4.4 million HMACs) and then pays seven lookups per number
    instead of seven HMACs.
    ``tests/unit/test_abha_numbers.py`` checks it against ``NumberPermutation``.
    """

    def __init__(self, secret: str):
        super().__init__(secret)
        # -1 marks "not computed yet"; round values are < 10^6, so int32 holds them.
        self._memo = [array("i", [-1]) * (_HALF if r % 2 == 0 else _LEFT) for r in range(_ROUNDS)]

    def permute(self, n: int) -> int:
        if not 0 <= n < _LEFT * _HALF:
            raise ValueError("counter outside the ABHA number space")
        memo = self._memo
        left, right = divmod(n, _HALF)
        for r in range(_ROUNDS):
            table = memo[r]
            if r % 2 == 0:
                f = table[right]
                if f < 0:
                    f = table[right] = self._round(r, right, _LEFT)
                left = (left + f) % _LEFT
            else:
                f = table[left]
                if f < 0:
                    f = table[left] = self._round(r, left, _HALF)
                right = (right + f) % _HALF
        return left * _HALF + right

    def number_for(self, counter: int) -> str:
        m = self.permute(counter)
        # Luhn over "91" + 11 digits from 3-digit chunk tables; "91" adds 9 (9 doubled
        # is 18 -> 1+8) + 1 = 10. Same digit as ``abha_number_with_check_digit``.
        total = (
            _LUHN_DOUBLED[m % 1000]
            + _LUHN_PLAIN[m // 1000 % 1000]
            + _LUHN_DOUBLED[m // 1_000_000 % 1000]
            + _LUHN_PLAIN[m // 1_000_000_000]
            + 10
        )
        return f"91{m:011d}{-total % 10}"


def _luhn_chunk(value: int, doubled_first: bool) -> int:
    """Luhn sum of a 3-digit chunk; ``doubled_first``: its last digit is doubled."""
    total = 0
    double = doubled_first
    for _ in range(3):
        value, digit = divmod(value, 10)
        total += (digit * 2 - 9 if digit > 4 else digit * 2) if double else digit
        double = not double
    return total


# The payload's last digit is doubled (the check digit follows it), so chunks whose
# last digit sits at an odd distance from the end use the doubled table.
_LUHN_DOUBLED = bytes(_luhn_chunk(v, True) for v in range(1000))
_LUHN_PLAIN = bytes(_luhn_chunk(v, False) for v in range(1000))


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
