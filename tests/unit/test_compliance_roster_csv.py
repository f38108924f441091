"""The roster CSV check (the dry run), without a database."""

from __future__ import annotations

import codecs

import pytest

from healthstack.kernel.errors import ValidationFailed
from healthstack.programme.compliance.roster import parse_roster_csv
from healthstack.settings import DEFAULT_STATE_PROFILE, load_state_profile
from tests.factories_compliance import roster_csv, row

JK = load_state_profile(DEFAULT_STATE_PROFILE)


def test_good_rows_are_normalised():
    parsed = parse_roster_csv(
        roster_csv(
            row(
                "E1",
                "Dr.  Aamir Wani",
                council="jkmc",
                number="jkmc/2012/1",
                mobile="+91 98765 43210",
                birth_year="1985",
            ),
            row("E2", "Nazia Jan", cadre="Staff Nurse", subcategory="GNM", district="13"),
            row("E3", "Shabnam", cadre="ANM", district="Budgam", facility="in0110000002"),
        ),
        profile=JK,
    )
    assert parsed.broken == [] and parsed.data_rows == 3
    first, second, third = parsed.rows
    assert (first["council"], first["registration_key"], first["mobile"]) == (
        "JKMC",
        "JKMC20121",
        "9876543210",
    )
    assert (first["birth_year"], first["district_lgd"], first["line"]) == (1985, 13, 2)
    assert (second["cadre"], second["subcategory"], second["district_lgd"]) == ("nurse", "gnm", 13)
    assert (third["subcategory"], third["district_lgd"], third["hfr_id"]) == (
        "anm",
        2,
        "IN0110000002",
    )


def test_each_broken_row_is_named_with_every_reason():
    parsed = parse_roster_csv(
        roster_csv(
            row("E1", "Aamir Wani"),
            row("", "", cadre="pharmacist", facility="X1", district="Atlantis"),
            row("E3", "Zahid", mobile="12345", council="XYZ", number="1", birth_year="1890"),
            row("E1", "Someone Else"),
            row("E5", "A", council="JKMC", number="JKMC/7"),
            row("E6", "B", council="JKMC", number="jkmc 7"),
            row("E7", "C", council="JKMC"),
            row("E8", "D", subcategory="gnm"),
            "E9,too,few",
            row("E10", "E", facility="IN0210000001"),
        ),
        profile=JK,
    )
    broken = {b["line"]: b["reason"] for b in parsed.broken}
    assert set(broken) == {3, 4, 5, 7, 8, 9, 10, 11}
    for expected in (
        "employee_id is empty",
        "name is empty",
        "cadre 'pharmacist' is not",
        "facility is not an HFR id",
        "district 'Atlantis'",
    ):
        assert expected in broken[3]
    for expected in ("mobile is not", "council is not one of", "birth_year"):
        assert expected in broken[4]
    assert broken[5] == "employee_id repeats line 2"
    assert broken[7] == "council registration number repeats line 6"
    assert "without a registration_number" in broken[8]
    assert "subcategory is not one of the doctor codes" in broken[9]
    assert "has 3 values" in broken[10]
    assert "not an HFR id of this state" in broken[11]
    # Reasons name columns, never the values of people's details.
    assert "12345" not in broken[4]
    assert [r["employee_id"] for r in parsed.rows] == ["E1", "E5"]


def test_encodings():
    text = roster_csv(row("E1", "Zoë D'Souza")).decode()
    assert parse_roster_csv(codecs.BOM_UTF8 + text.encode(), profile=JK).encoding == "utf-8-sig"
    cp = parse_roster_csv(text.encode("cp1252"), profile=JK)
    assert cp.encoding == "windows-1252" and cp.rows[0]["name"] == "Zoë D'Souza"
    with pytest.raises(ValidationFailed) as err:
        parse_roster_csv(text.encode("utf-16"), profile=JK)
    assert err.value.code == "HS-1352"


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"employee_id,name\nE1,A\n", "HS-1852", "lacks the column(s) cadre, facility, district"),
        (b"employee_id;name;cadre\n", "HS-1850", "semicolons"),
        (b"employee_id,name,name,cadre,facility,district\n", "HS-1851", "name appears"),
        (roster_csv(), "HS-1855", "no posts"),
        (b"", "HS-1350", "empty"),
    ],
)
def test_bad_files(data, code, says):
    with pytest.raises(ValidationFailed) as err:
        parse_roster_csv(data, profile=JK)
    assert err.value.code == code and says in err.value.message


def test_aliases_and_unknown_columns():
    data = (
        b"Emp ID,Employee Name,Designation,HFR ID,District LGD,Pay Band\n"
        b"E1,A B,MO,IN0110000001,13,5\n"
    )
    parsed = parse_roster_csv(data, profile=JK)
    assert parsed.rows[0]["cadre"] == "doctor"
    assert "Pay Band" in parsed.warnings[0]
