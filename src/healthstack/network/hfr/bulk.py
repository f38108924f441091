"""Loading many facilities at once (the ``jk`` seed, a migration from another registry).

Each row is checked like a registration (``service.review_details``: the name rules and
every field rule) and against the batch and the registry for names and master codes
already held; the whole batch is refused on the first bad row, naming it. HFR ids are
reserved in one statement per state (docs/adr/0006), facilities and their first history
version are inserted in chunks, and the ``facility.*`` events are emitted when asked.
A mapping row uses ``FacilityDetails``' field names; ``system_of_medicine`` defaults to
modern medicine and ``services`` to OPD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import ValidationFailed
from healthstack.network.hfr import hfr_ids
from healthstack.network.hfr.enums import (
    ChangeKind,
    FacilityStatus,
    FacilityType,
    Ownership,
    Service,
    SystemOfMedicine,
)
from healthstack.network.hfr.models import Facility, FacilityVersion
from healthstack.network.hfr.names import name_key
from healthstack.network.hfr.service import (
    DETAIL_FIELDS,
    FacilityDetails,
    column_values,
    facility_event,
    review_details,
)
from healthstack.settings import StateProfile

CHUNK = 1000


def bulk_load_facilities(
    session: Session,
    rows: Iterable[FacilityDetails | Mapping[str, Any]],
    *,
    clock: Clock,
    profile: StateProfile,
    status: FacilityStatus = FacilityStatus.VERIFIED,
    registered_by: str = "system",
    emit_events: bool = False,
) -> list[str]:
    """Load many facilities at once (the seed): each row is checked like a registration
    (name rules and field rules; duplicate names and master codes also within the batch),
    ids are reserved in one statement per state, and each facility gets its first
    history version. Returns the HFR ids in row order. Refuses the whole batch on the
    first bad row, naming it (``ValidationFailed``).
    """
    now = clock.now()
    prepared: list[dict[str, Any]] = []
    held = Facility.status != FacilityStatus.REJECTED.value
    names: set[str] = set(session.scalars(select(Facility.name_key).where(held)))
    codes: set[tuple[int, str | None]] = {
        (state, code)
        for state, code in session.execute(
            select(Facility.state_lgd, Facility.master_code).where(
                held, Facility.master_code.is_not(None)
            )
        )
    }
    for index, row in enumerate(rows, start=1):
        details = row if isinstance(row, FacilityDetails) else _details_from_mapping(index, row)
        review = review_details(None, details, profile=profile)
        if review.problems:
            first = review.problems[0]
            raise ValidationFailed(f"Row {index}: {first.message}", field=first.field)
        d = review.details
        key = name_key(d.name)
        if key in names:
            raise ValidationFailed(
                f"Row {index}: the name is already used by another facility.", field="name"
            )
        names.add(key)
        if d.master_code:
            if (d.state_lgd, d.master_code) in codes:
                raise ValidationFailed(
                    f"Row {index}: the master code is already carried by another facility.",
                    field="master_code",
                )
            codes.add((d.state_lgd, d.master_code))
        prepared.append({**column_values(d), "name_key": key})
    by_state: dict[int, list[int]] = {}
    for i, values in enumerate(prepared):
        by_state.setdefault(values["state_lgd"], []).append(i)
    hfr: list[str] = [""] * len(prepared)
    for state, indexes in by_state.items():
        for i, allocated in zip(
            indexes, hfr_ids.allocate(session, state, len(indexes)), strict=True
        ):
            hfr[i] = allocated
    verified_at = now if status is FacilityStatus.VERIFIED else None
    for i, values in enumerate(prepared):
        values.update(
            hfr_id=hfr[i],
            status=status.value,
            registered_by=registered_by,
            registered_at=now,
            updated_at=now,
            verified_at=verified_at,
            version=1,
        )
    ids: dict[str, int] = {}
    for start in range(0, len(prepared), CHUNK):
        chunk = prepared[start : start + CHUNK]
        result = session.execute(
            insert(Facility).returning(Facility.id, Facility.hfr_id, sort_by_parameter_order=True),
            chunk,
        )
        ids.update({h: i for i, h in result.all()})
    versions = []
    for values in prepared:
        snap = {"hfr_id": values["hfr_id"]} | {n: values[n] for n in DETAIL_FIELDS}
        snap.update(
            status=values["status"],
            rejection_reason=None,
            registered_at=now.isoformat(),
            verified_at=verified_at.isoformat() if verified_at else None,
            updated_at=now.isoformat(),
            version=1,
        )
        versions.append(
            {
                "facility_id": ids[values["hfr_id"]],
                "version": 1,
                "snapshot": snap,
                "status": values["status"],
                "change_kind": ChangeKind.REGISTERED.value,
                "change_reason": "bulk load",
                "changed_fields": [],
                "changed_by": registered_by[:64],
                "changed_by_name": registered_by[:64],
                "changed_by_role": None,
                "valid_from": now,
                "valid_to": None,
            }
        )
    for start in range(0, len(versions), CHUNK):
        session.execute(insert(FacilityVersion), versions[start : start + CHUNK])
    if emit_events:
        for values in prepared:
            facility_event(session, "facility.registered", values, clock=clock)
            if status is FacilityStatus.VERIFIED:
                facility_event(session, "facility.verified", values, clock=clock)
    session.flush()
    return hfr


def _details_from_mapping(index: int, row: Mapping[str, Any]) -> FacilityDetails:
    unknown = sorted(set(row) - set(DETAIL_FIELDS))
    missing = sorted(
        {"name", "facility_type", "ownership", "state_lgd", "district_lgd", "pincode"} - set(row)
    )
    if unknown or missing:
        raise ValidationFailed(f"Row {index}: unknown fields {unknown}, missing fields {missing}.")
    values = dict(row)
    values.setdefault("system_of_medicine", SystemOfMedicine.MODERN_MEDICINE)
    values.setdefault("services", [Service.OPD])
    try:
        values["facility_type"] = FacilityType(values["facility_type"])
        values["ownership"] = Ownership(values["ownership"])
        values["system_of_medicine"] = SystemOfMedicine(values["system_of_medicine"])
        values["services"] = [Service(s) for s in values["services"]]
    except ValueError as exc:
        raise ValidationFailed(f"Row {index}: {exc}.") from None
    return FacilityDetails(**values)
