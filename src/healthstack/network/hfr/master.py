"""The state's master list of public facilities: CSV upload → preview → confirm.

The upload is a dry run: the file is decoded (UTF-8, UTF-8 with a BOM, or
Windows-1252 as Excel saves it; anything else is refused with what to do), its header
checked (missing columns named, unknown ones ignored with a warning), and every row
checked. Each broken row is listed by its line in the file (the header is line 1) with
every reason. The good rows wait server-side in the import row (``rows``), keyed by the
import id; nothing else is written. Confirming that id replaces the state's master with
exactly those rows, in one transaction, and reconciles it with HFR; a file that changed
needs a new upload and preview.

Columns (case, spaces and hyphens in the header do not matter; aliases in ``ALIASES``):

``state_code`` the facility's code in the state's list (unique in the file),
``name``, ``type`` (SC, HWC, PHC, CHC, SDH, DH, GMC, dispensary, ... or HealthStack's
values), ``district`` (an LGD code, or for Jammu and Kashmir the name),
and optionally ``sub_district``, ``ownership`` (public / government; the master lists
public facilities only) and ``department``.
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
from healthstack.network.hfr.enums import FacilityType
from healthstack.network.hfr.hfr_ids import check_state
from healthstack.network.hfr.models import FacilityMasterEntry, FacilityMasterImport
from healthstack.network.hfr.names import (
    clean_name,
    distinctive_key,
    facility_type_from_text,
    name_key,
)
from healthstack.network.hfr.reconcile import current_import, run_reconciliation
from healthstack.seed.jk import DISTRICTS, STATE_LGD

MAX_FILE_BYTES = 1_500_000  # a full state master is a few hundred kB
MAX_ROWS = 50_000
PREVIEW_TTL = timedelta(hours=24)

REQUIRED = ("state_code", "name", "type", "district")
OPTIONAL = ("sub_district", "ownership", "department")
ALIASES = {
    "code": "state_code",
    "master_code": "state_code",
    "facility_code": "state_code",
    "nin": "state_code",
    "facility_name": "name",
    "facility_type": "type",
    "district_name": "district",
    "district_lgd": "district",
    "district_code": "district",
    "subdistrict": "sub_district",
    "sub_district_name": "sub_district",
    "block": "sub_district",
    "tehsil": "sub_district",
    "owner": "ownership",
    "owned_by": "ownership",
}
_PUBLIC_WORDS = {"", "public", "government", "govt", "gov", "state government", "state govt"}

# Districts of Jammu and Kashmir by name, with spellings state lists use.
_JK_BY_NAME = {name_key(d.name): d.lgd for d in DISTRICTS} | {
    "badgam": 2,
    "baramula": 3,
    "shupiyan": 625,
    "bandipore": 623,
    "punch": 10,
    "rajauri": 12,
}
_JK_CODES = frozenset(d.lgd for d in DISTRICTS)

_TYPE_HINT = (
    "SC (or HWC), PHC, CHC, SDH, DH, GMC, dispensary, laboratory, imaging centre, pharmacy "
    "or clinic"
)


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def _column(raw: str) -> str:
    key = "_".join(raw.strip().lower().replace("-", " ").replace(".", " ").split())
    return ALIASES.get(key, key)


@dataclass
class ParsedMaster:
    encoding: str
    data_rows: int
    rows: list[dict[str, Any]]  # the good rows, ready for facility_master_entry
    broken: list[dict[str, Any]]  # {"line": n, "reason": "..."}
    warnings: list[str] = field(default_factory=list)


def parse_district(raw: str, state_lgd: int) -> tuple[int | None, str | None]:
    value = raw.strip()
    if not value:
        return None, "district is empty"
    if value.isdigit():
        code = int(value)
        if state_lgd == STATE_LGD and code not in _JK_CODES:
            return None, f"district {code} is not the LGD code of a district of Jammu and Kashmir"
        if not 1 <= code <= 99999:
            return None, "district is not a valid LGD code"
        return code, None
    if state_lgd == STATE_LGD:
        found = _JK_BY_NAME.get(name_key(value))
        if found is None:
            return None, f"district '{value[:40]}' is not a district of Jammu and Kashmir"
        return found, None
    return None, "district must be the district's LGD code (a number) for this state"


def parse_master_csv(data: bytes, *, state_lgd: int) -> ParsedMaster:
    """Check a master CSV without writing anything (the dry run)."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(
            f"The file is larger than {MAX_FILE_BYTES // 1000} kB. A state's master list is "
            "smaller: remove columns the master does not use, or split it by division.",
            "HS-1358",
        )
    text, encoding = decode_csv(data, what="the facility list")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or not any(cell.strip() for cell in header):
        raise _refuse(
            "The first line must name the columns (state_code, name, type, district, ...), "
            "but it is empty.",
            "HS-1354",
        )
    columns = [_column(c) for c in header]
    if len(columns) == 1 and ";" in header[0]:
        raise _refuse(
            "The columns are separated by semicolons. Save the file as CSV with commas "
            "('CSV UTF-8 (Comma delimited)') and upload again.",
            "HS-1354",
        )
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise _refuse(
            f"The column {', '.join(repeated)} appears more than once in the first line. Keep "
            "one of each.",
            "HS-1355",
        )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise _refuse(
            f"The file lacks the column(s) {', '.join(missing)}. The first line must name the "
            f"columns {', '.join(REQUIRED)} (optionally {', '.join(OPTIONAL)}); this file has: "
            f"{found[:300]}.",
            "HS-1356",
        )
    ignored = [
        h.strip() for h, c in zip(header, columns, strict=True) if c not in REQUIRED + OPTIONAL
    ]
    result = ParsedMaster(encoding=encoding, data_rows=0, rows=[], broken=[])
    if ignored:
        result.warnings.append(
            f"These columns are not used and were ignored: {', '.join(ignored)[:300]}."
        )
    codes: dict[str, int] = {}
    names: dict[tuple[str, int, str], int] = {}
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            result.data_rows += 1
            if result.data_rows > MAX_ROWS:
                raise _refuse(
                    f"The file has more than {MAX_ROWS} facilities; split it by division.",
                    "HS-1358",
                )
            reasons, row = _check_row(record, columns, state_lgd=state_lgd)
            if row is None:
                result.broken.append({"line": start, "reason": "; ".join(reasons)})
                continue
            same = (distinctive_key(row["name"]), row["district_lgd"], row["facility_type"])
            if row["master_code"] in codes:
                reason = f"state_code {row['master_code']} repeats line {codes[row['master_code']]}"
            elif same in names:
                reason = f"same name, type and district as line {names[same]}"
            else:
                codes[row["master_code"]] = names[same] = row["line"] = start
                result.rows.append(row)
                continue
            result.broken.append({"line": start, "reason": reason})
    except csv.Error as exc:
        raise _refuse(
            f"The file is not a readable CSV near line {reader.line_num} ({exc}). Check the "
            "quotes around that line, save as CSV again and upload.",
            "HS-1359",
        ) from None
    if result.data_rows == 0:
        raise _refuse("The file has the column names but no facilities under them.", "HS-1357")
    return result


def _check_row(
    record: list[str], columns: list[str], *, state_lgd: int
) -> tuple[list[str], dict[str, Any] | None]:
    if len(record) != len(columns):
        return [
            f"has {len(record)} values but the first line names {len(columns)} columns (a "
            "comma inside a name needs the name in double quotes)"
        ], None
    cell = {c: v.strip() for c, v in zip(columns, record, strict=True)}
    reasons: list[str] = []
    code = cell["state_code"]
    if not code:
        reasons.append("state_code is empty")
    elif len(code) > 40:
        reasons.append("state_code is longer than 40 characters")
    name = clean_name(cell["name"])
    if not name:
        reasons.append("name is empty")
    elif len(name) > 200:
        reasons.append("name is longer than 200 characters")
    kind: FacilityType | None = None
    if not cell["type"]:
        reasons.append("type is empty")
    else:
        kind = facility_type_from_text(cell["type"])
        if kind is None:
            reasons.append(f"type '{cell['type'][:40]}' is not a facility type (use {_TYPE_HINT})")
    district, why = parse_district(cell["district"], state_lgd)
    if why:
        reasons.append(why)
    ownership = cell.get("ownership", "").lower()
    if ownership not in _PUBLIC_WORDS:
        reasons.append(
            "ownership says private: the master lists public facilities only"
            if ownership == "private"
            else f"ownership '{ownership[:20]}' is not public or government"
        )
    sub_district = clean_name(cell.get("sub_district", "")) or None
    department = clean_name(cell.get("department", "")) or None
    for label, value in (("sub_district", sub_district), ("department", department)):
        if value and len(value) > 100:
            reasons.append(f"{label} is longer than 100 characters")
    if reasons:
        return reasons, None
    assert kind is not None and district is not None
    return [], {
        "master_code": code,
        "name": name,
        "facility_type": kind.value,
        "district_lgd": district,
        "sub_district": sub_district,
        "department": department,
    }


# --------------------------------------------------------------------------- services


def create_preview(
    session: Session,
    *,
    ctx: RequestContext,
    clock: Clock,
    state_lgd: int,
    filename: str,
    data: bytes,
) -> FacilityMasterImport:
    """Check the file (the dry run) and keep the preview; nothing else is written."""
    with audited(
        session,
        ctx,
        action="facility.master.preview",
        resource_type="facility_master",
        clock=clock,
    ) as target:
        require(ctx.actor, "facility.master_import")
        check_state(state_lgd)
        parsed = parse_master_csv(data, state_lgd=state_lgd)
        current = current_import(session, state_lgd)
        before = set()
        if current is not None:
            before = set(
                session.scalars(
                    select(FacilityMasterEntry.master_code).where(
                        FacilityMasterEntry.import_id == current.id
                    )
                )
            )
        after = {r["master_code"] for r in parsed.rows}
        now = clock.now()
        preview = FacilityMasterImport(
            state_lgd=state_lgd,
            status="previewed",
            filename=(filename or "upload.csv")[:200],
            sha256=hashlib.sha256(data).hexdigest(),
            encoding=parsed.encoding,
            data_rows=parsed.data_rows,
            valid_rows=len(parsed.rows),
            broken=parsed.broken,
            warnings=parsed.warnings,
            rows=parsed.rows,
            diff={
                "new_codes": len(after - before),
                "dropped_codes": len(before - after),
                "kept_codes": len(after & before),
                "replaces": str(current.public_id) if current else None,
            },
            created_by=ctx.actor.id[:64],
            created_at=now,
            expires_at=now + PREVIEW_TTL,
        )
        session.add(preview)
        session.flush()
        target.resource_id = str(preview.public_id)
        return preview


def get_import(
    session: Session, *, ctx: RequestContext, import_id: str | uuid.UUID
) -> FacilityMasterImport:
    require(ctx.actor, "facility.master_import")
    try:
        pid = import_id if isinstance(import_id, uuid.UUID) else uuid.UUID(str(import_id))
    except ValueError:
        pid = None
    found = None
    if pid is not None:
        found = session.scalar(
            select(FacilityMasterImport).where(FacilityMasterImport.public_id == pid)
        )
    if found is None:
        raise NotFound(
            "No master-list upload has this id. Upload the file again for a new preview.",
            code="HS-1365",
        )
    return found


MASTER_CONFIRM_CODES = ConfirmCodes("HS-1366", "HS-1367", "HS-1368", "HS-1369")


def confirm_import(
    session: Session,
    *,
    ctx: RequestContext,
    clock: Clock,
    import_id: str | uuid.UUID,
    sha256: str | None = None,
) -> FacilityMasterImport:
    """Make the previewed rows the state's master, all at once, and reconcile."""
    with audited(
        session,
        ctx,
        action="facility.master.confirm",
        resource_type="facility_master",
        resource_id=str(import_id)[:64],
        clock=clock,
    ):
        preview = get_import(session, ctx=ctx, import_id=import_id)
        # A second confirm of the same upload waits here, then finds it confirmed.
        session.refresh(preview, with_for_update=True)
        now = clock.now()
        assert_confirmable(
            preview,
            now=now,
            sha256=sha256,
            current=current_import(session, preview.state_lgd),
            noun="master list",
            codes=MASTER_CONFIRM_CODES,
        )
        session.execute(
            update(FacilityMasterImport)
            .where(
                FacilityMasterImport.state_lgd == preview.state_lgd,
                FacilityMasterImport.status == "confirmed",
            )
            .values(status="superseded")
        )
        entries = [
            {
                **r,
                "public_id": uuid.uuid4(),
                "import_id": preview.id,
                "state_lgd": preview.state_lgd,
            }
            for r in preview.rows or ()  # never empty: assert_confirmable checked
        ]
        for start in range(0, len(entries), 1000):
            session.execute(insert(FacilityMasterEntry), entries[start : start + 1000])
        preview.status = "confirmed"
        preview.confirmed_by = ctx.actor.id[:64]
        preview.confirmed_at = now
        preview.rows = None  # now in facility_master_entry
        session.flush()
        run_reconciliation(session, preview, at=now)
        return preview
