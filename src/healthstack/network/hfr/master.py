"""The state's master list of public facilities: CSV upload → preview → confirm.

The upload is a dry run, read and checked as every uploaded list is
(``kernel.tabular_import``: the decoding, the header, every broken row listed by its
line with every reason); the good rows wait server-side in the import row (``rows``),
keyed by the import id, and nothing else is written. Confirming that id replaces the
state's master with exactly those rows, in one transaction, and reconciles it with HFR;
a file that changed needs a new upload and preview.

Columns (case, spaces and hyphens in the header do not matter; aliases in ``ALIASES``):

``state_code`` the facility's code in the state's list (unique in the file),
``name``, ``type`` (SC, HWC, PHC, CHC, SDH, DH, GMC, dispensary, ... or HealthStack's
values), ``district`` (an LGD code, or for the deployment's own state the name, as
its state profile spells it), and optionally ``sub_district``, ``ownership`` (public /
government; the master lists public facilities only) and ``department``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
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
from healthstack.settings import StateProfile

MAX_FILE_BYTES = 1_500_000  # a full state master is a few hundred kB
MAX_ROWS = 50_000

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
FORM = CsvForm(
    what="the facility list",
    things="facilities",
    split_by="division",
    required=REQUIRED,
    optional=OPTIONAL,
    aliases=ALIASES,
    max_bytes=MAX_FILE_BYTES,
    too_large=f"The file is larger than {MAX_FILE_BYTES // 1000} kB. A state's master list "
    "is smaller: remove columns the master does not use, or split it by division.",
    max_rows=MAX_ROWS,
    codes=CsvCodes(
        header="HS-1354",
        repeated_column="HS-1355",
        missing_column="HS-1356",
        too_large="HS-1358",
        unreadable="HS-1359",
        no_rows="HS-1357",
    ),
)
# Within one file: one row per state code, and per name, type and district.
UNIQUE = (
    Unique(
        key=lambda row: row["master_code"],
        says=lambda row, line: f"state_code {row['master_code']} repeats line {line}",
    ),
    Unique(
        key=lambda row: (distinctive_key(row["name"]), row["district_lgd"], row["facility_type"]),
        says=lambda row, line: f"same name, type and district as line {line}",
    ),
)
_PUBLIC_WORDS = {"", "public", "government", "govt", "gov", "state government", "state govt"}

_TYPE_HINT = (
    "SC (or HWC), PHC, CHC, SDH, DH, GMC, dispensary, laboratory, imaging centre, pharmacy "
    "or clinic"
)


@dataclass(frozen=True)
class StateDistricts:
    """How a list names the districts of its state: the deployment's own state by LGD
    code or by name (its state profile's names and other spellings); another state by
    LGD code only (``state_name`` None)."""

    state_name: str | None
    codes: frozenset[int]
    by_name: Mapping[str, int]

    @classmethod
    def of(cls, profile: StateProfile, state_lgd: int) -> StateDistricts:
        if state_lgd != profile.state_lgd:
            return cls(None, frozenset(), {})
        spellings = {name_key(spelling): lgd for spelling, lgd in profile.spellings()}
        return cls(profile.state_name, profile.district_codes, spellings)


def parse_district(raw: str, districts: StateDistricts) -> tuple[int | None, str | None]:
    value = raw.strip()
    if not value:
        return None, "district is empty"
    state = districts.state_name
    if value.isdigit():
        code = int(value)
        if state is not None and code not in districts.codes:
            return None, f"district {code} is not the LGD code of a district of {state}"
        if not 1 <= code <= 99999:
            return None, "district is not a valid LGD code"
        return code, None
    if state is not None:
        found = districts.by_name.get(name_key(value))
        if found is None:
            return None, f"district '{value[:40]}' is not a district of {state}"
        return found, None
    return None, "district must be the district's LGD code (a number) for this state"


def parse_master_csv(data: bytes, *, state_lgd: int, profile: StateProfile) -> ParsedCsv:
    """Check a master CSV of the state ``state_lgd`` without writing anything (the dry
    run)."""
    districts = StateDistricts.of(profile, state_lgd)

    def check(record: list[str], columns: list[str]) -> tuple[list[str], dict[str, Any] | None]:
        return _check_row(record, columns, districts=districts)

    return parse_csv(data, form=FORM, check_row=check, unique=UNIQUE)


def _check_row(
    record: list[str], columns: list[str], *, districts: StateDistricts
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
    district, why = parse_district(cell["district"], districts)
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
    ctx: RequestContext,
    *,
    clock: Clock,
    profile: StateProfile,
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
        parsed = parse_master_csv(data, state_lgd=state_lgd, profile=profile)
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
        preview = new_preview(
            session,
            model=FacilityMasterImport,
            parsed=parsed,
            data=data,
            filename=filename or "upload.csv",
            created_by=ctx.actor.id,
            now=clock.now(),
            state_lgd=state_lgd,
            diff={
                "new_codes": len(after - before),
                "dropped_codes": len(before - after),
                "kept_codes": len(after & before),
                "replaces": str(current.public_id) if current else None,
            },
        )
        target.resource_id = str(preview.public_id)
        return preview


def get_import(
    session: Session, ctx: RequestContext, *, import_id: str | uuid.UUID
) -> FacilityMasterImport:
    require(ctx.actor, "facility.master_import")
    found = find_preview(session, model=FacilityMasterImport, import_id=import_id)
    if found is None:
        raise NotFound(
            "No master-list upload has this id. Upload the file again for a new preview.",
            code="HS-1365",
        )
    return found


MASTER_CONFIRM_CODES = ConfirmCodes("HS-1366", "HS-1367", "HS-1368", "HS-1369")


def confirm_import(
    session: Session,
    ctx: RequestContext,
    *,
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
        preview = get_import(session, ctx, import_id=import_id)
        state = preview.state_lgd
        now = confirm_preview(
            session,
            preview=preview,
            in_force=lambda: current_import(session, state),
            scope=[FacilityMasterImport.state_lgd == state],
            entry=FacilityMasterEntry,
            entry_columns={"state_lgd": state},
            confirmed_by=ctx.actor.id,
            clock=clock,
            sha256=sha256,
            noun="master list",
            codes=MASTER_CONFIRM_CODES,
        )
        run_reconciliation(session, preview, at=now)
        return preview
