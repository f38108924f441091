"""HPR ids, HPR address rules and the credential checks, without a database."""

from __future__ import annotations

from itertools import islice

import pytest
from stdnum import luhn

from healthstack.kernel.errors import ValidationFailed
from healthstack.network.abha.numbers import NumberPermutation
from healthstack.network.hpr.address import (
    candidate_handles,
    full_address,
    is_valid_handle,
    parse_hpr_address,
)
from healthstack.network.hpr.credentials import (
    QualificationInput,
    check_category,
    check_council,
    check_qualifications,
    check_registration_number,
    check_year,
    registration_key,
    sector_of,
)
from healthstack.network.hpr.enums import COUNCILS, ROLES, SUBCATEGORIES, Category
from healthstack.network.hpr.numbers import HprIdPermutation, format_hpr_id

SECRET = "unit-test-secret"


# --------------------------------------------------------------------------- HPR ids


def test_hpr_ids_are_71_plus_a_permutation_with_a_luhn_digit():
    perm = HprIdPermutation(SECRET)
    ids = [perm.number_for(n) for n in range(2000)]
    assert len(set(ids)) == 2000  # a permutation: no collisions
    assert all(i.startswith("71") and len(i) == 14 and luhn.is_valid(i) for i in ids)
    # Consecutive counters do not give neighbouring ids.
    assert abs(int(ids[1]) - int(ids[0])) > 1000
    # The permutation inverts: every id maps back to its counter.
    assert [perm.invert(int(i[2:13])) for i in ids[:50]] == list(range(50))


def test_hpr_ids_are_keyed_apart_from_abha_numbers():
    hpr = HprIdPermutation(SECRET)
    abha = NumberPermutation(SECRET)
    same = sum(hpr.permute(n) == abha.permute(n) for n in range(500))
    assert same == 0
    assert HprIdPermutation("another secret").number_for(7) != hpr.number_for(7)


def test_hpr_id_display():
    assert format_hpr_id("71123456789012") == "71-1234-5678-9012"


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("raw", "handle"),
    [
        ("Ravi.Sharma", "ravi.sharma"),
        ("ravi.sharma@hpr.abdm", "ravi.sharma"),
        ("  RAVI_SHARMA1990 ", "ravi_sharma1990"),
        ("dr.nazia.jan", "dr.nazia.jan"),
    ],
)
def test_valid_hpr_addresses(raw, handle):
    assert parse_hpr_address(raw) == handle
    assert full_address(handle) == f"{handle}@hpr.abdm"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "empty"),
        ("ravi.sharma@sbx", "end in @hpr.abdm"),
        ("ravi@x@hpr.abdm", "only once"),
        ("ravi", "8 to 18"),
        ("ravi.sharma.from.srinagar", "8 to 18"),
        ("1ravi.sharma", "start with a letter"),
        ("ravi.sharma.", "must not end"),
        ("ravi..sharma", "follow each other"),
        ("ravi-sharma", "only letters"),
        ("ravi9876543210", "ten or more digits"),
        ("hpr.ravi.sharma", "reserved word"),
        ("abha.ravisharma", "reserved word"),
        ("98765432100000", "digits only"),
    ],
)
def test_invalid_hpr_addresses_name_the_rule(raw, rule):
    with pytest.raises(ValidationFailed) as caught:
        parse_hpr_address(raw)
    assert rule in caught.value.message
    assert caught.value.field == "hpr_address"
    assert raw.strip() == "" or raw.split("@")[0].lower() not in caught.value.message


def test_candidate_handles_are_valid_distinct_and_from_the_name():
    got = list(islice(candidate_handles("Dr. Mohammad Ashraf Bhat", 1975), 40))
    assert got[0] == "mohammad.bhat"
    assert len(set(got)) == 40 and all(is_valid_handle(h) for h in got)
    assert "mohammad.bhat75" in got and "mohammad.bhat01" in got
    # No Latin letters, or only a reserved word: still valid handles.
    assert all(is_valid_handle(h) for h in islice(candidate_handles("रवि", 1990), 5))
    assert next(candidate_handles("Abha", None)).startswith("professional")


# --------------------------------------------------------------------------- credentials


def test_every_subcategory_has_a_council_and_every_council_fits_a_category():
    for cat, subs in SUBCATEGORIES.items():
        for code in subs:
            assert any(code in c.registers for c in COUNCILS.values()), code
        assert ROLES[cat]
    registered = {s for c in COUNCILS.values() for s in c.registers}
    assert registered <= {s for subs in SUBCATEGORIES.values() for s in subs}


def test_category_and_subcategory_must_agree():
    assert check_category("Doctor", "dentist") is Category.DOCTOR
    with pytest.raises(ValidationFailed, match="doctor, nurse or other"):
        check_category("surgeon", "dentist")
    with pytest.raises(ValidationFailed) as caught:
        check_category("nurse", "dentist")
    assert caught.value.field == "subcategory" and "gnm" in caught.value.message


def test_a_council_registers_its_own_professions_only():
    assert check_council(" jkmc ", "modern_medicine") == "JKMC"
    assert check_council("NCH", "ayush_homoeopathy") == "NCH"
    with pytest.raises(ValidationFailed) as caught:
        check_council("JKNC", "dentist")
    assert "DCI" in caught.value.message and "JKDC" in caught.value.message
    with pytest.raises(ValidationFailed, match="not one HPR registers"):
        check_council("MCI", "modern_medicine")


def test_registration_numbers_compare_without_separators():
    assert check_registration_number("  jkmc/2012/ 417 ") == ("JKMC/2012/ 417", "JKMC2012417")
    assert registration_key("JKMC-2012-417") == registration_key("jkmc 2012 417")
    for bad in ("", "ABC", "12#4", "X" * 33):
        with pytest.raises(ValidationFailed):
            check_registration_number(bad)


def test_years_are_bounded_and_follow_the_birth_year():
    kwargs = {"field_name": "registration_year", "this_year": 2026, "min_age": 17}
    assert check_year(2010, year_of_birth=1985, **kwargs) == 2010
    for bad in (1949, 2027):
        with pytest.raises(ValidationFailed, match="from 1950 to 2026"):
            check_year(bad, year_of_birth=None, **kwargs)
    with pytest.raises(ValidationFailed, match="17 years old"):
        check_year(2001, year_of_birth=1985, **kwargs)


def test_qualifications_are_checked_line_by_line():
    good = QualificationInput("MBBS", "University of Kashmir", 2010)
    assert check_qualifications([good], year_of_birth=1985, this_year=2026)[0].degree == "MBBS"
    cases = [
        ([], "qualifications"),
        (
            [good, QualificationInput("MBBS", "Another University", 2010)],
            "qualifications[1].degree",
        ),
        ([QualificationInput("!!", "University of Kashmir", 2010)], "qualifications[0].degree"),
        ([QualificationInput("MBBS", "9", 2010)], "qualifications[0].university"),
        ([QualificationInput("MBBS", "University of Kashmir", 1999)], "qualifications[0].year"),
    ]
    for items, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            check_qualifications(items, year_of_birth=1985, this_year=2026)
        assert caught.value.field == field


def test_sector_of_the_work_places():
    assert sector_of(["public", "public"]) == "public"
    assert sector_of(["private"]) == "private"
    assert sector_of(["public", "private"]) == "both"
