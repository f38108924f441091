"""Facility names (ABDM's rules, the keys they are compared by), type words, and the
HFR id format."""

from __future__ import annotations

import pytest

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import parse_hfr_id
from healthstack.network.hfr import hfr_ids
from healthstack.network.hfr.enums import FacilityType
from healthstack.network.hfr.names import (
    canonical_tokens,
    check_facility_name,
    distinctive_key,
    facility_type_from_text,
    name_key,
    similarity,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PHC Khag", "PHC Khag"),
        ("  Sub Centre   Nowgam ", "Sub Centre Nowgam"),
        ("Govt. Hospital (Women's), Gandhi Nagar-2", "Govt. Hospital (Women's), Gandhi Nagar-2"),
    ],
)
def test_good_names_are_cleaned(raw, expected):
    assert check_facility_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("", "HS-1301", "Enter the facility's name"),
        ("   ", "HS-1301", "Enter the facility's name"),
        ("Ab", "HS-1302", "this one has 2"),
        ("P" * 101, "HS-1302", "this one has 101"),
        ("1st PHC Khag", "HS-1303", "start with a letter"),
        ("(New) PHC", "HS-1303", "start with a letter"),
        ("PHC Khag & Magam", "HS-1304", "'&'"),
        ("SC/HWC Nowgam", "HS-1304", "'/'"),
        ("Clinic @ Lal Chowk #2", "HS-1304", "'#' '@'"),
        ("Sub Centre Nowgām", "HS-1304", "'ā'"),
    ],
)
def test_each_name_rule_says_which_rule_failed(raw, code, says):
    with pytest.raises(ValidationFailed) as caught:
        check_facility_name(raw)
    assert caught.value.code == code
    assert caught.value.field == "name"
    assert says in caught.value.message


def test_name_key_folds_case_spacing_and_punctuation():
    assert name_key("P.H.C.  Khag") == name_key("phc khag") == "phc khag"
    assert name_key("Sub-Centre, Nowgam") == "sub centre nowgam"
    assert name_key("PHC Khag") != name_key("PHC Khaag")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("PHC Khag", "Primary Health Centre, Khag"),
        ("SC Nowgam", "AB-HWC Nowgam"),
        ("Sub Centre Nowgam", "Health Sub Center Nowgam"),
        ("GMC Hospital Srinagar", "Govt. Medical College Srinagar"),
        ("CHC Beerwah", "Community Health Centre Beerwah"),
    ],
)
def test_abbreviations_fold_to_the_same_distinctive_key(a, b):
    assert distinctive_key(a) == distinctive_key(b)


def test_distinctive_key_drops_the_words_a_type_shares():
    assert canonical_tokens("Primary Health Centre Khag") == ["phc", "khag"]
    assert distinctive_key("PHC Khag") == "khag"
    # Nothing but type words: the whole canonical name is kept.
    assert distinctive_key("District Hospital") == "dh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SC", FacilityType.SUB_CENTRE),
        ("Sub Centre", FacilityType.SUB_CENTRE),
        ("SC/HWC", FacilityType.SUB_CENTRE),
        ("AB-HWC", FacilityType.SUB_CENTRE),
        ("phc", FacilityType.PHC),
        ("Primary Health Centre (PHC)", FacilityType.PHC),
        ("CHC", FacilityType.CHC),
        ("Sub-District Hospital", FacilityType.SUB_DISTRICT_HOSPITAL),
        ("DH", FacilityType.DISTRICT_HOSPITAL),
        ("Medical College Hospital", FacilityType.MEDICAL_COLLEGE_HOSPITAL),
        ("district_hospital", FacilityType.DISTRICT_HOSPITAL),
        ("Imaging centre", FacilityType.IMAGING_CENTRE),
        ("Hospital", None),  # which kind?
        ("PHC/CHC", None),  # two kinds
        ("Ashram", None),
    ],
)
def test_facility_type_from_a_state_list(text, expected):
    assert facility_type_from_text(text) is expected


def test_similarity_scores_and_floor():
    assert similarity("khag", "khag") == 1.0
    assert similarity("khag new", "new khag") == 1.0  # word order does not matter
    near = similarity("nowgaam", "nowgam")
    far = similarity("khag", "magam")
    assert near > 0.9 > 0.5 > far
    # Below the floor the cheap bounds answer 0 without the full comparison.
    assert similarity("khag", "chattergam kalan", floor=0.75) == 0.0


def test_hfr_id_shape_matches_abdm_examples():
    assert hfr_ids.format_hfr_id(1, 1) == "IN0110000001"
    assert hfr_ids.format_hfr_id(3, 334) == "IN0310000334"
    assert hfr_ids.format_hfr_id(28, 14366) == "IN2810014366"
    # Past 999,999 ids the counter runs on into "11...", still 8 digits.
    assert hfr_ids.format_hfr_id(1, 1_000_000) == "IN0111000000"
    assert hfr_ids.format_hfr_id(1, hfr_ids.CAPACITY) == "IN0199999999"
    for n in (1, 999_999, 1_000_000, hfr_ids.CAPACITY):
        assert parse_hfr_id(hfr_ids.format_hfr_id(1, n))
    with pytest.raises(ValueError):
        hfr_ids.format_hfr_id(1, hfr_ids.CAPACITY + 1)
    with pytest.raises(ValidationFailed):
        hfr_ids.check_state(100)
