from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from healthstack.network.abha.numbers import (
    DOMAIN,
    BulkNumberPermutation,
    NumberPermutation,
    allocate,
    allocated_count,
    reserve,
)

PERM = NumberPermutation("unit-test")


@given(st.integers(min_value=0, max_value=DOMAIN - 1))
@settings(max_examples=300)
def test_permutation_round_trips(n):
    assert PERM.invert(PERM.permute(n)) == n


def test_numbers_are_distinct_luhn_valid_and_prefixed():
    numbers = {PERM.number_for(i) for i in range(20000)}
    assert len(numbers) == 20000
    assert all(len(n) == 14 and n.startswith("91") and luhn.is_valid(n) for n in numbers)


def test_neighbouring_counters_are_not_neighbouring_numbers():
    a, b = int(PERM.number_for(1000)), int(PERM.number_for(1001))
    assert abs(a - b) > 10**6


def test_reserve_hands_out_disjoint_blocks(db):
    first = reserve(db, 100)
    second = reserve(db, 5)
    assert second == first + 100
    n = allocate(db, PERM)
    assert n == PERM.number_for(first + 105)
    assert allocated_count(db) == first + 106


def test_round_function_is_standard_hmac_sha256():
    key = hashlib.sha256(b"abha-number:unit-test").digest()
    for r, value, modulus in [(0, 0, 10**5), (3, 123456, 10**6), (6, 999999, 10**5)]:
        mac = hmac.new(key, f"{r}:{value}".encode(), hashlib.sha256).digest()
        assert PERM._round(r, value, modulus) == int.from_bytes(mac[:8], "big") % modulus


def test_bulk_number_permutation_gives_the_allocator_numbers():
    reference = NumberPermutation("seed-test")
    bulk = BulkNumberPermutation("seed-test")
    rng = random.Random(3)
    counters = list(range(0, 3000)) + [rng.randrange(10**11) for _ in range(3000)]
    counters += [10**11 - 1, 10**6, 10**6 - 1]
    for c in counters:
        number = bulk.number_for(c)
        assert number == reference.number_for(c)
        assert luhn.is_valid(number) and number.startswith("91") and len(number) == 14
    # The memo tables now hold values; a second pass reads them and still agrees.
    assert [bulk.number_for(c) for c in counters[:500]] == [
        reference.number_for(c) for c in counters[:500]
    ]
    with pytest.raises(ValueError):
        bulk.number_for(10**11)
