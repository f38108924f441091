"""The CSV preview every uploaded list shares (``kernel.tabular_import.parse_csv``), on a
list of its own: the header rules, every broken row by its line, what may appear once
per file, and the list's own words and codes in the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.tabular_import import CsvCodes, CsvForm, Unique, parse_csv

FORM = CsvForm(
    what="the tree list",
    things="trees",
    split_by="grove",
    required=("tag", "kind"),
    optional=("height",),
    aliases={"tree_tag": "tag"},
    max_bytes=500,
    too_large="The file is too large for a tree list.",
    max_rows=4,
    codes=CsvCodes("T-1", "T-2", "T-3", "T-4", "T-5", "T-6"),
)
UNIQUE = (
    Unique(key=lambda row: row["tag"].upper(), says=lambda row, line: f"tag repeats line {line}"),
    Unique(
        key=lambda row: row["height"] or None,
        says=lambda row, line: f"height {row['height']} repeats line {line}",
    ),
)


def check(record: list[str], columns: list[str]) -> tuple[list[str], dict[str, Any] | None]:
    cell = dict(zip(columns, (v.strip() for v in record), strict=False))
    reasons = [f"{c} is empty" for c in FORM.required if not cell.get(c)]
    if reasons:
        return reasons, None
    return [], {"tag": cell["tag"], "kind": cell["kind"], "height": cell.get("height", "")}


def parse(text: str):
    return parse_csv(text.encode(), form=FORM, check_row=check, unique=UNIQUE)


def refusal(text: str | bytes) -> ValidationFailed:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ValidationFailed) as caught:
        parse_csv(data, form=FORM, check_row=check, unique=UNIQUE)
    assert caught.value.field == "file"
    return caught.value


def test_rows_keep_their_lines_and_repeats_name_the_first():
    parsed = parse("Tree Tag,kind,height,colour\na1,oak,3,\n\n,pine,,\nA1,elm,,\nb2,ash,3,\n")
    assert parsed.data_rows == 4 and parsed.encoding == "utf-8"
    assert parsed.rows == [{"tag": "a1", "kind": "oak", "height": "3", "line": 2}]
    assert parsed.broken == [
        {"line": 4, "reason": "tag is empty"},
        {"line": 5, "reason": "tag repeats line 2"},
        {"line": 6, "reason": "height 3 repeats line 2"},
    ]
    assert parsed.warnings == ["These columns are not used and were ignored: colour."]


@pytest.mark.parametrize(
    ("text", "code", "said"),
    [
        ("\n", "HS-1350", "The file is empty. Export the tree list again"),
        (" , \na1,oak\n", "T-1", "The first line must name the columns (tag, kind, ...)"),
        ("tag;kind\na1;oak\n", "T-1", "separated by semicolons"),
        ("tag,kind,Tag\n", "T-2", "The column tag appears more than once"),
        ("tag,height\n", "T-3", "lacks the column(s) kind"),
        ("tag,kind\n" + "a,b\n" * 5, "T-4", "more than 4 trees; split it by grove"),
        ("tag,kind\n" + "x" * 500, "T-4", "too large for a tree list"),
        ("tag,kind\n\n", "T-6", "no trees under them"),
    ],
)
def test_the_whole_file_is_refused_with_the_lists_own_words_and_code(text, code, said):
    refused = refusal(text)
    assert refused.code == code and said in refused.message
