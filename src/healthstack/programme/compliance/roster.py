"""The HR roster of public posts: CSV upload → preview (dry run) → confirm.

The file is read and checked as every uploaded list is (``kernel.tabular_import``, as
the state facility master is: UTF-8, UTF-8 with a BOM or Windows-1252, anything else
refused with what to do; missing columns named, unknown ones ignored with a warning,
every broken row listed by its line, the header being line 1, with every reason), and
rows repeating an employee id or a council registration inside the file are refused.
Nothing but the preview row is written until the preview is confirmed; confirming
replaces the roster in force, in one transaction, and reconciles it with HPR
(``reconcile.py``).

Columns (case, spaces and hyphens in the header do not matter; aliases in ``ALIASES``):
``employee_id``, ``name``, ``cadre`` (doctor or nurse, or a post such as "medical
officer" / "staff nurse"), ``facility`` (the HFR id of the post, of the deployment's
state), ``district`` (LGD code or the name, as the state profile spells it);
optionally ``subcategory`` (HPR's codes, e.g. modern_medicine, dentist, gnm),
``mobile``, ``council``, ``registration_number`` and ``birth_year``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import NotFound
from healthstack.kernel.tabular_import import (
    ConfirmCodes,
    CsvCodes,
    CsvForm,
    ParsedCsv,
    Unique,
    confirm_preview,
    find_preview,
    new_preview,
    parse_csv,
)
from healthstack.network.abha.names import name_key
from healthstack.network.hfr.master import StateDistricts, parse_district
from healthstack.network.hpr.credentials import registration_key
from healthstack.network.hpr.enums import COUNCILS, SUBCATEGORIES, Category
from healthstack.settings import StateProfile

from .models import RosterEntry, RosterImport
from .reconcile import current_roster, reconcile_roster

MAX_FILE_BYTES = 3_000_000  # a state's full roster (≈13,000 posts) is about 1.5 MB
MAX_ROWS = 100_000

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
FORM = CsvForm(
    what="the roster",
    things="posts",
    split_by="district",
    required=REQUIRED,
    optional=OPTIONAL,
    aliases=ALIASES,
    max_bytes=MAX_FILE_BYTES,
    too_large=f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB. Remove columns the "
    "roster does not use, or split it by district.",
    max_rows=MAX_ROWS,
    codes=CsvCodes(
        header="HS-1850",
        repeated_column="HS-1851",
        missing_column="HS-1852",
        too_large="HS-1853",
        unreadable="HS-1854",
        no_rows="HS-1855",
    ),
)
# Within one file: one row per employee id, and per council registration.
UNIQUE = (
    Unique(
        key=lambda row: row["employee_id"].upper(),
        says=lambda row, line: f"employee_id repeats line {line}",
    ),
    Unique(
        key=lambda row: (
            (row["council"], row["registration_key"]) if row["registration_key"] else None
        ),
        says=lambda row, line: f"council registration number repeats line {line}",
    ),
)


def parse_roster_csv(data: bytes, *, profile: StateProfile) -> ParsedCsv:
    """Check a roster CSV of the deployment's state (``profile``) without writing
    anything (the dry run)."""
    districts = StateDistricts.of(profile, profile.state_lgd)

    def check(record: list[str], columns: list[str]) -> tuple[list[str], dict[str, Any] | None]:
        return check_row(record, columns, districts=districts, hfr_prefix=profile.hfr_prefix)

    return parse_csv(data, form=FORM, check_row=check, unique=UNIQUE)


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


def check_row(
    record: list[str], columns: list[str], *, districts: StateDistricts, hfr_prefix: str
) -> tuple[list[str], dict[str, Any] | None]:
    """The reasons a row is broken (naming columns, never the values of people's
    details), or the row ready for ``roster_entry``; the post is at a facility of the
    state (its HFR id starts ``hfr_prefix``) in one of its ``districts``."""
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
    elif not hfr.startswith(hfr_prefix):
        reasons.append(f"facility is not an HFR id of this state (they start {hfr_prefix})")
    district, dwhy = parse_district(cell["district"], districts)
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


def create_preview(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    profile: StateProfile,
    filename: str,
    data: bytes,
) -> RosterImport:
    """Check the file (the dry run) and keep the preview; nothing else is written."""
    with audited(
        session, ctx, action="compliance.roster.preview", resource_type="roster", clock=clock
    ) as target:
        require(ctx.actor, "compliance.roster_import")
        preview = new_preview(
            session,
            model=RosterImport,
            parsed=parse_roster_csv(data, profile=profile),
            data=data,
            filename=filename or "roster.csv",
            created_by=ctx.actor.id,
            now=clock.now(),
        )
        target.resource_id = str(preview.public_id)
        return preview


ROSTER_CONFIRM_CODES = ConfirmCodes("HS-1857", "HS-1858", "HS-1859", "HS-1860")


def get_import(
    session: Session, ctx: RequestContext, *, import_id: str | uuid.UUID
) -> RosterImport:
    require(ctx.actor, "compliance.roster_import")
    found = find_preview(session, model=RosterImport, import_id=import_id)
    if found is None:
        raise NotFound(
            "No roster upload has this id. Upload the file again for a new preview.",
            code="HS-1856",
        )
    return found


def confirm_import(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    import_id: str | uuid.UUID,
    sha256: str | None = None,
) -> RosterImport:
    """Make the previewed rows the roster in force, all at once, and reconcile them
    with HPR."""
    with audited(
        session,
        ctx,
        action="compliance.roster.confirm",
        resource_type="roster",
        resource_id=str(import_id)[:64],
        clock=clock,
    ):
        preview = get_import(session, ctx, import_id=import_id)
        confirm_preview(
            session,
            preview=preview,
            in_force=lambda: current_roster(session),
            entry=RosterEntry,
            entry_columns={"link": "none", "candidates": []},
            confirmed_by=ctx.actor.id,
            clock=clock,
            sha256=sha256,
            noun="roster",
            codes=ROSTER_CONFIRM_CODES,
        )
        reconcile_roster(session, ctx, roster=preview, clock=clock)
        return preview
