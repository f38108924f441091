from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn, verhoeff

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import (
    aadhaar_with_check_digit,
    normalise_aadhaar,
    normalise_mobile,
    parse_abha_number,
    parse_hfr_id,
)

VALID_AADHAAR = aadhaar_with_check_digit("23456789012")


def test_valid_aadhaar_with_spaces_is_normalised():
    spaced = f"{VALID_AADHAAR[:4]} {VALID_AADHAAR[4:8]} {VALID_AADHAAR[8:]}"
    assert normalise_aadhaar(spaced) == VALID_AADHAAR


@pytest.mark.parametrize(
    ("raw", "code"),
    [("12345", "HS-1201"), ("abcdefghijkl", "HS-1201"), ("123456789012", "HS-1202")],
)
def test_malformed_aadhaar_is_refused(raw, code):
    with pytest.raises(ValidationFailed) as err:
        normalise_aadhaar(raw)
    assert err.value.code == code
    assert raw not in err.value.message


def test_wrong_check_digit_is_refused():
    wrong = VALID_AADHAAR[:-1] + str((int(VALID_AADHAAR[-1]) + 1) % 10)
    with pytest.raises(ValidationFailed) as err:
        normalise_aadhaar(wrong)
    assert err.value.code == "HS-1203"
    assert "check digit" in err.value.message


@given(st.integers(min_value=2 * 10**10, max_value=10**11 - 1))
def test_every_generated_aadhaar_passes_verhoeff(n):
    assert verhoeff.is_valid(aadhaar_with_check_digit(str(n)))


def test_abha_number_parses_hyphenated_and_warns_only_on_checksum():
    good = "91" + "12345678901"
    good += luhn.calc_check_digit(good)
    parsed = parse_abha_number(f"{good[:2]}-{good[2:6]}-{good[6:10]}-{good[10:]}")
    assert parsed.digits == good and parsed.checksum_ok
    assert parsed.formatted.count("-") == 3
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert parse_abha_number(bad).checksum_ok is False  # accepted, flagged


@pytest.mark.parametrize("raw", ["9112", "91-1234-5678-901X", ""])
def test_malformed_abha_number_is_refused(raw):
    with pytest.raises(ValidationFailed):
        parse_abha_number(raw)


@pytest.mark.parametrize("raw", ["+91 98765 43210", "09876543210", "9876543210"])
def test_mobile_normalised(raw):
    assert normalise_mobile(raw) == "9876543210"


@pytest.mark.parametrize("raw", ["5876543210", "98765", "98765432101"])
def test_bad_mobile_refused(raw):
    with pytest.raises(ValidationFailed):
        normalise_mobile(raw)


def test_hfr_id():
    assert parse_hfr_id("in0110000123") == "IN0110000123"
    with pytest.raises(ValidationFailed):
        parse_hfr_id("IN01100")
