from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from healthstack.abha.numbers import DOMAIN, NumberPermutation, allocate, allocated_count, reserve

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
