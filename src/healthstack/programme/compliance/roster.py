"""The HR roster of public posts: CSV upload → preview (dry run) → confirm.

The file is decoded and checked exactly as the state facility master is
(``kernel.tabular_import.decode_csv``: UTF-8, UTF-8 with a BOM or Windows-1252; anything else
is refused with what to do). Missing columns are named, unknown ones ignored with a
warning, every broken row listed by its line (the header is line 1) with every
reason, and rows repeating an employee id or a council registration inside the file
are refused. Nothing but the preview row is written until the preview is confirmed;
confirming replaces the roster in force, in one transaction, and reconciles it with
HPR (``reconcile.py``).

Columns (case, spaces and hyphens in the header do not matter; aliases in ``ALIASES``):
``employee_id``, ``name``, ``cadre`` (doctor or nurse, or a post such as "medical
officer" / "staff nurse"), ``facility`` (the HFR id of the post), ``district`` (LGD
code or, for Jammu and Kashmir, the name); optionally ``subcategory`` (HPR's codes,
e.g. modern_medicine, dentist, gnm), ``mobile``, ``council``,
``registration_number`` and ``birth_year``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.tabular_import import ConfirmCodes, assert_confirmable, decode_csv
from healthstack.network.abha.names import name_key
from healthstack.network.hfr.master import parse_district
from healthstack.network.hpr.credentials import registration_key
from healthstack.network.hpr.enums import COUNCILS, SUBCATEGORIES, Category
from healthstack.seed.jk import STATE_LGD

from .models import RosterEntry, RosterImport

MAX_FILE_BYTES = 3_000_000  # a state's full roster (≈13,000 posts) is about 1.5 MB
MAX_ROWS = 100_000
PREVIEW_TTL = timedelta(hours=24)

REQUIRED = ("employee_id", "name", "cadre", "facility", "district")
OPTIONAL = ("subcategory", "mobile", "council", "registration_number", "birth_year")
ALIASES = {
    "emp_id": "employee_id",
    "employee_code": "employee_id",
    "employee_no": "employee_id",
    "emp_code": "employee_id",
    "employee_name": "name",
    "full_name": "name",
    "post": "cadre",
    "designation": "cadre",
    "sub_category": "subcategory",
    "facility_hfr_id": "facility",
    "hfr_id": "facility",
    "facility_id": "facility",
    "district_lgd": "district",
    "district_name": "district",
    "mobile_number": "mobile",
    "phone": "mobile",
    "council_code": "council",
    "council_registration_number": "registration_number",
    "registration_no": "registration_number",
    "reg_no": "registration_number",
    "year_of_birth": "birth_year",
    "yob": "birth_year",
}
# What HR lists write in the cadre column, mapped to HPR's categories.
CADRES = {
    "doctor": "doctor",
    "medical officer": "doctor",
    "mo": "doctor",
    "specialist": "doctor",
    "consultant": "doctor",
    "dental surgeon": "doctor",
    "nurse": "nurse",
    "staff nurse": "nurse",
    "nursing officer": "nurse",
    "anm": "nurse",
    "gnm": "nurse",
}
_HFR_PREFIX = f"IN{STATE_LGD:02d}"


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def _column(raw: str) -> str:
    key = "_".join(raw.strip().lower().replace("-", " ").replace(".", " ").split())
    return ALIASES.get(key, key)


@dataclass
class ParsedRoster:
    encoding: str
    data_rows: int
    rows: list[dict[str, Any]]
    broken: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def _header(reader: Any) -> tuple[list[str], list[str]]:
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or not any(cell.strip() for cell in header):
        raise _refuse(
            "The first line must name the columns (employee_id, name, cadre, facility, "
            "district, ...), but it is empty.",
            "HS-1850",
        )
    if len(header) == 1 and ";" in header[0]:
        raise _refuse(
            "The columns are separated by semicolons. Save the file as CSV with commas "
            "('CSV UTF-8 (Comma delimited)') and upload again.",
            "HS-1850",
        )
    columns = [_column(c) for c in header]
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise _refuse(
            f"The column {', '.join(repeated)} appears more than once in the first line. "
            "Keep one of each.",
            "HS-1851",
        )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise _refuse(
            f"The file lacks the column(s) {', '.join(missing)}. The first line must name "
            f"the columns {', '.join(REQUIRED)} (optionally {', '.join(OPTIONAL)}); this "
            f"file has: {found[:300]}.",
            "HS-1852",
        )
    return header, columns


def parse_roster_csv(data: bytes) -> ParsedRoster:
    """Check a roster CSV without writing anything (the dry run)."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(
            f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB. Remove columns the "
            "roster does not use, or split it by district.",
            "HS-1853",
        )
    text, encoding = decode_csv(data, what="the roster")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, columns = _header(reader)
    result = ParsedRoster(encoding=encoding, data_rows=0, rows=[], broken=[])
    ignored = [
        h.strip() for h, c in zip(header, columns, strict=True) if c not in REQUIRED + OPTIONAL
    ]
    if ignored:
        result.warnings.append(
            f"These columns are not used and were ignored: {', '.join(ignored)[:300]}."
        )
    employees: dict[str, int] = {}
    councils: dict[tuple[str, str], int] = {}
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            result.data_rows += 1
            if result.data_rows > MAX_ROWS:
                raise _refuse(
                    f"The file has more than {MAX_ROWS} posts; split it by district.", "HS-1853"
                )
            reasons, row = check_row(record, columns)
            if row is None:
                result.broken.append({"line": start, "reason": "; ".join(reasons)})
                continue
            key = row["employee_id"].upper()
            reg = (row["council"], row["registration_key"]) if row["registration_key"] else None
            if key in employees:
                reason = f"employee_id repeats line {employees[key]}"
            elif reg is not None and reg in councils:
                reason = f"council registration number repeats line {councils[reg]}"
            else:
                employees[key] = row["line"] = start
                if reg is not None:
                    councils[reg] = start
                result.rows.append(row)
                continue
            result.broken.append({"line": start, "reason": reason})
    except csv.Error as exc:
        raise _refuse(
            f"The file is not a readable CSV near line {reader.line_num} ({exc}). Check the "
            "quotes around that line, save as CSV again and upload.",
            "HS-1854",
        ) from None
    if result.data_rows == 0:
        raise _refuse("The file has the column names but no posts under them.", "HS-1855")
    return result


def _cadre(raw: str, sub: str) -> tuple[str | None, str | None, list[str]]:
    value = " ".join(raw.strip().lower().replace("_", " ").replace(".", "").split())
    if not value:
        return None, None, ["cadre is empty"]
    cadre = CADRES.get(value)
    if cadre is None:
        return None, None, [f"cadre '{raw.strip()[:30]}' is not doctor or nurse"]
    subcategory = sub.strip().lower().replace(" ", "_").replace("-", "_") or None
    if subcategory is None and value in ("anm", "gnm"):
        subcategory = value
    if subcategory is not None and subcategory not in SUBCATEGORIES[Category(cadre)]:
        allowed = ", ".join(SUBCATEGORIES[Category(cadre)])
        return cadre, None, [f"subcategory is not one of the {cadre} codes ({allowed})"]
    return cadre, subcategory, []


def check_row(record: list[str], columns: list[str]) -> tuple[list[str], dict[str, Any] | None]:
    """The reasons a row is broken (naming columns, never the values of people's
    details), or the row ready for ``roster_entry``."""
    if len(record) != len(columns):
        return [
            f"has {len(record)} values but the first line names {len(columns)} columns (a "
            "comma inside a name needs the name in double quotes)"
        ], None
    cell = {c: v.strip() for c, v in zip(columns, record, strict=True)}
    reasons: list[str] = []
    employee = cell["employee_id"]
    if not employee:
        reasons.append("employee_id is empty")
    elif len(employee) > 40:
        reasons.append("employee_id is longer than 40 characters")
    name = " ".join(cell["name"].split())
    key = name_key(name)
    if not name:
        reasons.append("name is empty")
    elif len(name) > 192:
        reasons.append("name is longer than 192 characters")
    elif not key:
        reasons.append("name has no letters")
    cadre, subcategory, why = _cadre(cell["cadre"], cell.get("subcategory", ""))
    reasons += why
    hfr = cell["facility"].upper()
    if not hfr:
        reasons.append("facility is empty (the HFR id of the post)")
    elif len(hfr) != 12 or not hfr.startswith("IN") or not hfr[2:].isdigit():
        reasons.append("facility is not an HFR id (IN followed by 10 digits)")
    elif not hfr.startswith(_HFR_PREFIX):
        reasons.append(f"facility is not an HFR id of this state (they start {_HFR_PREFIX})")
    district, dwhy = parse_district(cell["district"], STATE_LGD)
    if dwhy:
        reasons.append(dwhy)
    mobile = None
    raw_mobile = "".join(ch for ch in cell.get("mobile", "") if ch.isdigit())
    if raw_mobile:
        if len(raw_mobile) == 12 and raw_mobile.startswith("91"):
            raw_mobile = raw_mobile[2:]
        elif len(raw_mobile) == 11 and raw_mobile.startswith("0"):
            raw_mobile = raw_mobile[1:]
        if len(raw_mobile) != 10 or raw_mobile[0] not in "6789":
            reasons.append("mobile is not a 10-digit Indian mobile number")
        else:
            mobile = raw_mobile
    council = cell.get("council", "").upper() or None
    number = " ".join(cell.get("registration_number", "").upper().split()) or None
    reg_key = registration_key(number or "") or None
    if council and council not in COUNCILS:
        reasons.append(f"council is not one of: {', '.join(COUNCILS)}")
    if number and not council:
        reasons.append("registration_number is given without its council")
    if council and not reg_key:
        reasons.append("council is given without a registration_number")
    if number and len(number) > 32:
        reasons.append("registration_number is longer than 32 characters")
    birth_year = None
    raw_year = cell.get("birth_year", "")
    if raw_year:
        if not raw_year.isdigit() or not 1930 <= int(raw_year) <= 2010:
            reasons.append("birth_year is not a year between 1930 and 2010")
        else:
            birth_year = int(raw_year)
    if reasons:
        return reasons, None
    return [], {
        "employee_id": employee,
        "name": name,
        "name_key": key,
        "cadre": cadre,
        "subcategory": subcategory,
        "hfr_id": hfr,
        "district_lgd": district,
        "mobile": mobile,
        "council": council,
        "registration_number": number,
        "registration_key": reg_key,
        "birth_year": birth_year,
    }


# --------------------------------------------------------------------------- services


def current_roster(session: Session) -> RosterImport | None:
    return session.scalar(
        select(RosterImport)
        .where(RosterImport.status == "confirmed")
        .order_by(RosterImport.confirmed_at.desc(), RosterImport.id.desc())
        .limit(1)
    )


def create_preview(
    session: Session, *, ctx: RequestContext, clock: Clock, filename: str, data: bytes
) -> RosterImport:
    """Check the file (the dry run) and keep the preview; nothing else is written."""
    with audited(
        session, ctx, action="compliance.roster.preview", resource_type="roster", clock=clock
    ) as target:
        require(ctx.actor, "compliance.roster_import")
        parsed = parse_roster_csv(data)
        now = clock.now()
        preview = RosterImport(
            status="previewed",
            filename=(filename or "roster.csv")[:200],
            sha256=hashlib.sha256(data).hexdigest(),
            encoding=parsed.encoding,
            data_rows=parsed.data_rows,
            valid_rows=len(parsed.rows),
            broken=parsed.broken,
            warnings=parsed.warnings,
            rows=parsed.rows,
            created_by=ctx.actor.id[:64],
            created_at=now,
            expires_at=now + PREVIEW_TTL,
        )
        session.add(preview)
        session.flush()
        target.resource_id = str(preview.public_id)
        return preview


ROSTER_CONFIRM_CODES = ConfirmCodes("HS-1857", "HS-1858", "HS-1859", "HS-1860")


def get_import(
    session: Session, *, ctx: RequestContext, import_id: str | uuid.UUID
) -> RosterImport:
    require(ctx.actor, "compliance.roster_import")
    try:
        pid = import_id if isinstance(import_id, uuid.UUID) else uuid.UUID(str(import_id))
    except ValueError:
        pid = None
    found = None
    if pid is not None:
        found = session.scalar(select(RosterImport).where(RosterImport.public_id == pid))
    if found is None:
        raise NotFound(
            "No roster upload has this id. Upload the file again for a new preview.",
            code="HS-1856",
        )
    return found


def confirm_import(
    session: Session,
    *,
    ctx: RequestContext,
    clock: Clock,
    import_id: str | uuid.UUID,
    sha256: str | None = None,
) -> RosterImport:
    """Make the previewed rows the roster in force, all at once, and reconcile them
    with HPR."""
    from .reconcile import reconcile_roster

    with audited(
        session,
        ctx,
        action="compliance.roster.confirm",
        resource_type="roster",
        resource_id=str(import_id)[:64],
        clock=clock,
    ):
        preview = get_import(session, ctx=ctx, import_id=import_id)
        session.refresh(preview, with_for_update=True)
        now = clock.now()
        assert_confirmable(
            preview,
            now=now,
            sha256=sha256,
            current=current_roster(session),
            noun="roster",
            codes=ROSTER_CONFIRM_CODES,
        )
        session.execute(
            update(RosterImport)
            .where(RosterImport.status == "confirmed")
            .values(status="superseded")
        )
        entries = [
            {
                **r,
                "public_id": uuid.uuid4(),
                "import_id": preview.id,
                "link": "none",
                "candidates": [],
            }
            for r in preview.rows or ()  # never empty: assert_confirmable checked
        ]
        for start in range(0, len(entries), 1000):
            session.execute(insert(RosterEntry), entries[start : start + 1000])
        preview.status = "confirmed"
        preview.confirmed_by = ctx.actor.id[:64]
        preview.confirmed_at = now
        preview.rows = None  # now in roster_entry
        session.flush()
        reconcile_roster(session, preview, ctx=ctx, clock=clock)
        return preview
