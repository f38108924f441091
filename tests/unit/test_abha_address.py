"""ABHA address rules (docs/adr/0004-abha-address-rules.md) and suggestions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from healthstack.kernel.errors import ValidationFailed
from healthstack.network.abha.address import (
    MAX_LENGTH,
    MIN_LENGTH,
    full_address,
    is_available,
    parse_address,
    suggestions,
)
from healthstack.network.abha.models import AbhaAccount, AbhaAddress

SFX = "sbx"


@pytest.mark.parametrize(
    ("raw", "handle"),
    [
        ("gaurav_22101991", "gaurav_22101991"),  # the v3 spec's own example
        ("Ravi.Kumar1991", "ravi.kumar1991"),  # case-insensitive, stored lower-case
        ("ravi.kumar1991@sbx", "ravi.kumar1991"),
        ("  RAVI.KUMAR1991@SBX ", "ravi.kumar1991"),
        ("abhay.kumar", "abhay.kumar"),  # "abhay" is not the reserved "abha"
        ("a" * MIN_LENGTH, "a" * MIN_LENGTH),
        ("a" * MAX_LENGTH, "a" * MAX_LENGTH),
        ("r.k_2203.1991", "r.k_2203.1991"),
    ],
)
def test_valid_addresses(raw, handle):
    assert parse_address(raw, SFX) == handle


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "empty"),
        ("ravi", f"{MIN_LENGTH} to {MAX_LENGTH} characters"),
        ("a" * (MAX_LENGTH + 1), f"{MIN_LENGTH} to {MAX_LENGTH} characters"),
        ("1ravikumar", "start with a letter"),
        (".ravikumar", "start with a letter"),
        ("_ravikumar", "start with a letter"),
        ("ravikumar.", "end with"),
        ("ravikumar_", "end with"),
        ("ravi..kumar", "follow each other"),
        ("ravi._kumar", "follow each other"),
        ("ravi-kumar1", "only letters"),
        ("ravi kumar1", "only letters"),
        ("rävi.kumar", "only letters"),
        ("9876543210", "mobile number"),
        ("91628545755116", "default address"),
        ("12345678", "digits only"),
        ("ravi9876543210", "ten or more digits"),
        ("abha.kumar1", "reserved word"),
        ("ravi.admin1", "reserved word"),
        ("admin12345", "reserved word"),
        ("ravi.kumar@abdm", "@sbx"),
        ("ravi@kumar@sbx", "'@' only once"),
    ],
)
def test_invalid_addresses_name_the_rule(raw, rule):
    with pytest.raises(ValidationFailed) as err:
        parse_address(raw, SFX)
    assert rule in err.value.message
    assert err.value.field == "abhaAddress"
    # The message never echoes what was typed.
    if raw.strip():
        assert raw.strip().lower().split("@")[0] not in err.value.message


def test_full_address():
    assert full_address("ravi.kumar1991", "abdm") == "ravi.kumar1991@abdm"


def _account(db, clock, number="91000000000017"):
    now = clock.now()
    acc = AbhaAccount(
        public_id=uuid.uuid4(),
        abha_number=number,
        first_name="Ravi",
        last_name="Kumar",
        name="Ravi Kumar",
        name_key="ravi kumar",
        gender="M",
        birth_date=date(1991, 3, 22),
        year_of_birth=1991,
        kyc_method="aadhaar_otp",
        created_at=now,
        updated_at=now,
    )
    db.add(acc)
    db.flush()
    return acc


def test_suggestions_are_valid_free_and_from_name_and_dob(db, clock):
    got = suggestions(
        db, first_name="Ravi", last_name="Kumar", birth_date=date(1991, 3, 22), suffix=SFX, count=5
    )
    assert len(got) == 5 and len(set(got)) == 5
    assert "ravi.kumar1991" in got and "ravikumar_2203" in got
    for h in got:
        assert parse_address(h, SFX) == h
    # Taking the first one removes it from the next suggestions (case-insensitively).
    acc = _account(db, clock)
    db.add(
        AbhaAddress(
            public_id=uuid.uuid4(),
            account_id=acc.id,
            handle="ravi.kumar1991",
            is_preferred=True,
            created_at=datetime.now(UTC),
        )
    )
    db.flush()
    assert not is_available(db, handle="ravi.kumar1991")
    again = suggestions(
        db, first_name="Ravi", last_name="Kumar", birth_date=date(1991, 3, 22), suffix=SFX, count=5
    )
    assert "ravi.kumar1991" not in again and len(again) == 5


def test_suggestions_when_patterns_run_out(db, clock):
    # A short single name and no date: numbered variants fill up to the count.
    got = suggestions(db, first_name="Al", suffix=SFX, count=4)
    assert len(got) == 4
    assert all(parse_address(h, SFX) == h for h in got)
    # A name without Latin letters, or made of a reserved word, still gets suggestions.
    assert len(suggestions(db, first_name="राम", suffix=SFX, count=3)) == 3
    assert len(suggestions(db, first_name="Nha", last_name="Admin", suffix=SFX)) >= 3
    # Never fewer than three, even if asked for fewer.
    assert (
        len(
            suggestions(
                db, first_name="Ravi", last_name="Kumar", year_of_birth=1991, suffix=SFX, count=1
            )
        )
        == 3
    )
