"""Reading a state master CSV (the dry run, no database): encodings, columns, and every
broken row named by its line."""

from __future__ import annotations

import codecs

import pytest

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.tabular_import import decode_csv
from healthstack.network.hfr.master import MAX_FILE_BYTES, parse_master_csv
from healthstack.settings import DEFAULT_STATE_PROFILE, load_state_profile

JK = load_state_profile(DEFAULT_STATE_PROFILE)
HEADER = "state_code,name,type,district,sub_district,ownership,department\n"
GOOD = (
    "JK-0001,PHC Khag,PHC,Budgam,Khag,public,Health\n"
    "JK-0002,SC Nowgam,SC,13,,government,\n"
    "JK-0003,District Hospital Kathua,DH,Kathua,,,\n"
)


def parse(text: str | bytes, *, state_lgd: int = 1):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_master_csv(data, state_lgd=state_lgd, profile=JK)


def refused(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_master_csv(data, state_lgd=1, profile=JK)
    assert caught.value.field == "file"
    return caught.value


def test_good_rows_are_parsed():
    parsed = parse(HEADER + GOOD)
    assert parsed.encoding == "utf-8" and parsed.data_rows == 3 and parsed.broken == []
    first, second, third = parsed.rows
    assert first == {
        "master_code": "JK-0001",
        "name": "PHC Khag",
        "facility_type": "phc",
        "district_lgd": 2,
        "sub_district": "Khag",
        "department": "Health",
        "line": 2,
    }
    assert second["district_lgd"] == 13 and second["facility_type"] == "sub_centre"
    assert third["district_lgd"] == 7 and third["line"] == 4


def test_utf8_with_bom_and_windows_1252_are_read():
    bom = codecs.BOM_UTF8 + (HEADER + GOOD).encode("utf-8")
    assert parse(bom).encoding == "utf-8-sig"
    assert parse(bom).rows[0]["master_code"] == "JK-0001"  # not "\ufeffstate_code"
    cp1252 = (HEADER + "JK-9,PHC Chadoora – Old Town,PHC,Budgam,,,\n").encode("windows-1252")
    parsed = parse(cp1252)
    assert parsed.encoding == "windows-1252"
    assert parsed.rows[0]["name"] == "PHC Chadoora – Old Town"


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"", "HS-1350", "empty"),
        (b"  \r\n\r\n", "HS-1350", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "HS-1351", "Excel workbook"),
        ((HEADER + GOOD).encode("utf-16"), "HS-1352", "UTF-16"),
        (
            HEADER.encode() + b"JK-1,PHC \x81\x8d,PHC,2\n",
            "HS-1353",
            "neither UTF-8 nor Windows-1252",
        ),
        (HEADER.encode(), "HS-1357", "no facilities"),
        (b"state_code;name;type;district\nA;B;PHC;2\n", "HS-1354", "semicolons"),
        (b"code,name,type,district,name\nA,B,PHC,2,C\n", "HS-1355", "name"),
    ],
)
def test_file_level_problems_say_what_to_do(data, code, says):
    error = refused(data)
    assert error.code == code
    assert says in error.message


def test_missing_columns_are_named_with_what_the_file_has():
    error = refused(b"Code,Facility Name,Block\nA,B,C\n")
    assert error.code == "HS-1356"
    assert "lacks the column(s) type, district" in error.message
    assert "this file has: Code, Facility Name, Block" in error.message


def test_header_aliases_and_ignored_columns():
    parsed = parse(
        "Facility Code,Facility Name,Facility Type,District Name,Tehsil,Remarks\n"
        "JK-1,PHC Khag,PHC,Badgam,Khag,new building\n"
    )
    assert parsed.rows[0]["district_lgd"] == 2 and parsed.rows[0]["sub_district"] == "Khag"
    assert parsed.warnings == ["These columns are not used and were ignored: Remarks."]


def test_oversized_file_is_refused():
    data = (HEADER + GOOD * (MAX_FILE_BYTES // len(GOOD) + 1)).encode()
    assert refused(data).code == "HS-1358"


def test_each_broken_row_is_named_by_line_with_every_reason():
    text = HEADER + (
        "JK-1,PHC Khag,PHC,Budgam,,,\n"  # line 2: good
        ",,PHC,Budgam,,,\n"  # 3: no code, no name
        "JK-3,Clinic X,Ashram,Budgam,,,\n"  # 4: unknown type
        "JK-4,SC Y,SC,Gotham,,,\n"  # 5: unknown district
        "JK-5,SC Z,SC,999,,,\n"  # 6: not a J&K district code
        "JK-6,Apollo,clinic,Srinagar,,private,\n"  # 7: private
        "JK-7,PHC Q,PHC\n"  # 8: too few values
        "JK-1,PHC Other,PHC,Budgam,,,\n"  # 9: repeats line 2's code
        "JK-9,Primary Health Centre Khag,PHC,2,,,\n"  # 10: same facility as line 2
        "\n"  # 11: blank lines are skipped
        'JK-10,"SC Kralpora, Upper",SC,Kupwara,,,\n'  # 12: good (quoted comma)
    )
    parsed = parse(text)
    broken = {b["line"]: b["reason"] for b in parsed.broken}
    assert sorted(broken) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert broken[3] == "state_code is empty; name is empty"
    assert "type 'Ashram' is not a facility type" in broken[4]
    assert "district 'Gotham' is not a district of Jammu and Kashmir" in broken[5]
    assert "district 999 is not the LGD code" in broken[6]
    assert "private" in broken[7]
    assert "has 3 values but the first line names 7 columns" in broken[8]
    assert broken[9] == "state_code JK-1 repeats line 2"
    assert broken[10] == "same name, type and district as line 2"
    assert [r["line"] for r in parsed.rows] == [2, 12]
    assert parsed.rows[1]["name"] == "SC Kralpora, Upper"
    assert parsed.data_rows == 10


def test_a_quoted_line_break_keeps_line_numbers_true():
    parsed = parse(HEADER + 'JK-1,"PHC\nKhag",PHC,Budgam,,,\nJK-2,SC Q,Hospital,Budgam,,,\n')
    assert parsed.rows[0]["name"] == "PHC Khag"
    assert (
        parsed.broken == [{"line": 4, "reason": parsed.broken[0]["reason"]}]
        and "type 'Hospital'" in parsed.broken[0]["reason"]
    )


def test_other_states_need_district_codes():
    parsed = parse(
        HEADER + "PB-1,PHC Ajnala,PHC,Amritsar,,,\nPB-2,PHC Attari,PHC,27,,,\n", state_lgd=3
    )
    assert parsed.broken == [
        {"line": 2, "reason": "district must be the district's LGD code (a number) for this state"}
    ]
    assert parsed.rows[0]["district_lgd"] == 27


def test_decode_reports_what_it_found():
    assert decode_csv("é".encode(), what="the list") == ("é", "utf-8")
    assert decode_csv("é".encode("windows-1252"), what="the list") == ("é", "windows-1252")
