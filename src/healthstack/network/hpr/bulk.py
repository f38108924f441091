"""Loading many professionals at once: the ``jk`` seed (7,730 public doctors, 5,149
public nurses, private professionals) or a migration from an older register.

Each row passes the same checks as a registration (Aadhaar Verhoeff, mobile, the
``credentials`` rules, work places at facilities the facility registry knows) plus
uniqueness within the batch and against the registry (Aadhaar, council number, HPR
address). The first bad row refuses the whole batch (``ValidationFailed`` naming the
row, counted from 1); nothing is written. HPR ids come from one reserved block.

What is written per row: the ``professional`` row, its qualifications and work places,
its history (version 1 "registered"; a VERIFIED or REJECTED row gets version 2 with
the decision at ``decided_at``) and an audit row (system actor, purpose SEEDING).
Events: off by default, as for facilities: after a seed, monitoring's ``rebuild``
recomputes its aggregates from these tables (verified professionals counted on the
day of ``status_changed_at``). With ``emit_events`` the ``professional.registered``
(and ``verified`` / ``rejected``) events go out instead, carrying the rows' own days.
Core ``executemany`` inserts (1,000 rows a statement) on both databases: the 12,879
public doctors and nurses of the ``jk`` profile load in about five seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from healthstack.identity.aadhaar import aadhaar_hash
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import SYSTEM_ACTOR, Purpose
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.kernel.events import emit
from healthstack.kernel.ids import normalise_aadhaar, normalise_mobile
from healthstack.network.abha.names import name_key
from healthstack.network.hpr.address import candidate_handles, parse_hpr_address
from healthstack.network.hpr.credentials import (
    DetailsInput,
    QualificationInput,
    WorkplaceInput,
    check_details,
)
from healthstack.network.hpr.enums import Status
from healthstack.network.hpr.facility_refs import find_facilities
from healthstack.network.hpr.models import (
    Professional,
    ProfessionalQualification,
    ProfessionalVersion,
    ProfessionalWorkplace,
)
from healthstack.network.hpr.numbers import HprIdPermutation, reserve
from healthstack.network.hpr.service import event_payload_of, snapshot_of
from healthstack.network.hpr.verification import check_reason

CHUNK = 1000
GENDERS = frozenset({"M", "F", "O"})


@dataclass(frozen=True)
class ProfessionalSeed:
    """One professional to load. ``aadhaar`` is hashed here exactly as registration
    hashes it, so a seeded professional who later registers is told they already are."""

    aadhaar: str
    name: str
    gender: str  # M | F | O
    birth_date: date
    mobile: str
    details: DetailsInput
    status: str = Status.VERIFIED.value
    rejection_reason: str | None = None
    hpr_address: str | None = None  # None: the first free one built from the name
    registered_at: datetime | None = None  # None: now
    decided_at: datetime | None = None  # verified / rejected at; None: registered_at
    residence_district_lgd: int | None = None
    residence_state_lgd: int | None = None


@dataclass
class BulkResult:
    hpr_ids: list[str] = field(default_factory=list)  # in row order

    @property
    def count(self) -> int:
        return len(self.hpr_ids)


def seed_from_mapping(row: Mapping[str, Any]) -> ProfessionalSeed:
    """A ``ProfessionalSeed`` from a plain mapping (CSV/JSON): the same keys, with the
    details' keys at the top level and ``qualifications`` / ``workplaces`` as lists of
    mappings (degree, university, year / hfr_id, role, sector)."""
    details = DetailsInput(
        category=str(row.get("category", "")),
        subcategory=str(row.get("subcategory", "")),
        council=str(row.get("council", "")),
        registration_number=str(row.get("registration_number", "")),
        registration_year=int(row.get("registration_year") or 0),
        qualifications=tuple(
            QualificationInput(str(q["degree"]), str(q["university"]), int(q["year"]))
            for q in row.get("qualifications") or ()
        ),
        workplaces=tuple(
            WorkplaceInput(str(w["hfr_id"]), str(w["role"]), str(w["sector"]))
            for w in row.get("workplaces") or ()
        ),
    )
    birth = row["birth_date"]
    return ProfessionalSeed(
        aadhaar=str(row["aadhaar"]),
        name=str(row["name"]),
        gender=str(row["gender"]),
        birth_date=birth if isinstance(birth, date) else date.fromisoformat(str(birth)),
        mobile=str(row["mobile"]),
        details=details,
        status=str(row.get("status") or Status.VERIFIED.value),
        rejection_reason=row.get("rejection_reason"),
        hpr_address=row.get("hpr_address"),
        registered_at=_moment(row.get("registered_at")),
        decided_at=_moment(row.get("decided_at")),
        residence_district_lgd=row.get("residence_district_lgd"),
        residence_state_lgd=row.get("residence_state_lgd"),
    )


def _seed(index: int, row: ProfessionalSeed | Mapping[str, Any]) -> ProfessionalSeed:
    if isinstance(row, ProfessionalSeed):
        return row
    try:
        return seed_from_mapping(row)
    except KeyError as exc:
        raise ValidationFailed(
            f"Row {index}: {exc.args[0]} is missing.", field=str(exc.args[0])
        ) from None
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"Row {index}: a value has the wrong form (dates YYYY-MM-DD, times ISO-8601 "
            "with a time zone, years and qualification years as numbers)."
        ) from None


def _moment(value: Any) -> datetime | None:
    """A datetime, or an ISO-8601 string of one (with its time zone), or None."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _row_error(index: int, exc: DomainError) -> ValidationFailed:
    return ValidationFailed(f"Row {index}: {exc.message}", field=exc.field, code=exc.code)


def _existing(session: Session, column: Any, values: list[Any]) -> set[Any]:
    found: set[Any] = set()
    for start in range(0, len(values), 500):
        found.update(session.scalars(select(column).where(column.in_(values[start : start + 500]))))
    return found


def bulk_load_professionals(
    session: Session,
    *,
    rows: Iterable[ProfessionalSeed | Mapping[str, Any]],
    clock: Clock,
    hasher: KeyedHasher,
    secret_key: SecretStr,
    registered_by: str = "seed",
    emit_events: bool = False,
) -> BulkResult:
    """Check and load ``rows`` in the caller's transaction (all or nothing). The HPR ids
    are the permutation keyed by ``secret_key`` (ADR 0007)."""
    now = clock.now()
    this_year = now.year
    seeds = [_seed(index, row) for index, row in enumerate(rows, start=1)]
    if not seeds:
        return BulkResult()
    facilities = find_facilities(
        session, hfr_ids=(w.hfr_id.strip().upper() for s in seeds for w in s.details.workplaces)
    )
    hashes = [aadhaar_hash(hasher, _aadhaar(i, s)) for i, s in enumerate(seeds, 1)]
    taken_hashes = _existing(session, Professional.aadhaar_hash, hashes)
    taken_handles = set(session.scalars(select(Professional.hpr_handle)))
    taken_numbers = {
        (c, k)
        for c, k in session.execute(select(Professional.council, Professional.registration_key))
    }
    seen_hashes: set[str] = set()
    streams: dict[tuple[str, int], Iterator[str]] = {}
    prepared: list[dict[str, Any]] = []
    for index, (seed, digest) in enumerate(zip(seeds, hashes, strict=True), start=1):
        try:
            values = _prepare(session, seed, this_year=this_year, facilities=facilities)
        except DomainError as exc:
            raise _row_error(index, exc) from None
        if digest in taken_hashes or digest in seen_hashes:
            raise ValidationFailed(
                f"Row {index}: this Aadhaar is already registered in HPR"
                + (" (an earlier row)." if digest in seen_hashes else "."),
                field="aadhaar",
                code="HS-1721",
            )
        seen_hashes.add(digest)
        number = (values["council"], values["registration_key"])
        if number in taken_numbers:
            raise ValidationFailed(
                f"Row {index}: this council registration number is already registered "
                "(in HPR or an earlier row).",
                field="registration_number",
                code="HS-1720",
            )
        taken_numbers.add(number)
        if seed.hpr_address:
            try:
                handle = parse_hpr_address(seed.hpr_address)
            except DomainError as exc:
                raise _row_error(index, exc) from None
            if handle in taken_handles:
                raise ValidationFailed(
                    f"Row {index}: this HPR address is taken (in HPR or an earlier row).",
                    field="hpr_address",
                    code="HS-1711",
                )
        else:
            # One candidate stream per name and year, resumed row after row: everything
            # it yielded before is taken, so common names do not rescan from the start.
            stream = streams.setdefault(
                (values["name_key"], seed.birth_date.year),
                candidate_handles(seed.name, seed.birth_date.year),
            )
            handle = next((h for h in stream if h not in taken_handles), "")
            if not handle:
                raise ValidationFailed(
                    f"Row {index}: no free HPR address is left for this name; give hpr_address.",
                    field="hpr_address",
                    code="HS-1711",
                )
        taken_handles.add(handle)
        registered_at = seed.registered_at or now
        decided_at = seed.decided_at or registered_at
        if registered_at.tzinfo is None or decided_at.tzinfo is None:
            raise ValidationFailed(
                f"Row {index}: registered_at and decided_at need a time zone (UTC).",
                field="registered_at",
            )
        if decided_at < registered_at:
            raise ValidationFailed(
                f"Row {index}: decided_at is before registered_at.", field="decided_at"
            )
        values.update(
            aadhaar_hash=digest,
            aadhaar_last4=_aadhaar(index, seed)[-4:],
            hpr_handle=handle,
            registered_at=registered_at,
            decided_at=decided_at,
        )
        prepared.append(values)
    return _write(
        session,
        prepared,
        registered_by=registered_by,
        emit_events=emit_events,
        clock=clock,
        permutation=HprIdPermutation(secret_key.get_secret_value()),
    )


def _aadhaar(index: int, seed: ProfessionalSeed) -> str:
    try:
        return normalise_aadhaar(seed.aadhaar)
    except DomainError as exc:
        raise _row_error(index, exc) from None


def _prepare(
    session: Session,
    seed: ProfessionalSeed,
    *,
    this_year: int,
    facilities: Mapping[str, Any],
) -> dict[str, Any]:
    name = " ".join((seed.name or "").split())
    if not name_key(name):
        raise ValidationFailed("name needs letters.", field="name", code="HS-1731")
    if seed.gender not in GENDERS:
        raise ValidationFailed("gender must be M, F or O.", field="gender", code="HS-1732")
    mobile = normalise_mobile(seed.mobile)
    details = check_details(
        session,
        details=seed.details,
        year_of_birth=seed.birth_date.year,
        this_year=this_year,
        facilities=facilities,
    )
    try:
        status = Status(seed.status)
    except ValueError:
        raise ValidationFailed(
            "status must be SUBMITTED, VERIFIED or REJECTED.", field="status", code="HS-1730"
        ) from None
    reason = check_reason(seed.rejection_reason) if status is Status.REJECTED else None
    return {
        "name": name[:192],
        "name_key": name_key(name)[:192],
        "gender": seed.gender,
        "birth_date": seed.birth_date,
        "year_of_birth": seed.birth_date.year,
        "mobile": mobile,
        "residence_district_lgd": seed.residence_district_lgd,
        "residence_state_lgd": seed.residence_state_lgd,
        "category": details.category,
        "subcategory": details.subcategory,
        "council": details.council,
        "registration_number": details.registration_number,
        "registration_key": details.registration_key,
        "registration_year": details.registration_year,
        "status": status.value,
        "rejection_reason": reason,
        "qualifications": [
            {"degree": q.degree, "university": q.university, "year": q.year}
            for q in details.qualifications
        ],
        "workplaces": [
            {"hfr_id": w.hfr_id, "role": w.role, "sector": w.sector, "district_lgd": w.district_lgd}
            for w in details.workplaces
        ],
    }


_CHILD_KEYS = ("qualifications", "workplaces", "registered_at", "decided_at")


def _write(
    session: Session,
    prepared: list[dict[str, Any]],
    *,
    registered_by: str,
    emit_events: bool,
    clock: Clock,
    permutation: HprIdPermutation,
) -> BulkResult:
    first = reserve(session, len(prepared))
    by = registered_by[:64]
    records: list[dict[str, Any]] = []
    for offset, values in enumerate(prepared):
        values["hpr_id"] = permutation.number_for(first + offset)
        values["public_id"] = uuid.uuid4()
        decided = values["status"] != Status.SUBMITTED.value
        records.append(
            {k: v for k, v in values.items() if k not in _CHILD_KEYS}
            | {
                "mobile_verified": True,
                "status_changed_at": values["decided_at"] if decided else values["registered_at"],
                "status_changed_by": by,
                "registered_via": "bulk",
                "registered_by": by,
                "version": 2 if decided else 1,
                "created_at": values["registered_at"],
                "updated_at": values["decided_at"] if decided else values["registered_at"],
            }
        )
    ids: dict[str, int] = {}
    # Core executemany (one statement per chunk on both databases), then the ids back
    # by HPR id: RETURNING in parameter order would cost a statement per row on SQLite.
    connection = session.connection()
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        connection.execute(insert(Professional), chunk)
        found = connection.execute(
            select(Professional.hpr_id, Professional.id).where(
                Professional.hpr_id.in_([r["hpr_id"] for r in chunk])
            )
        )
        ids.update({hpr_id: pid for hpr_id, pid in found})

    quals: list[dict[str, Any]] = []
    places: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for values in prepared:
        pid = ids[values["hpr_id"]]
        quals += [
            {"professional_id": pid, "position": i, **q}
            for i, q in enumerate(values["qualifications"])
        ]
        places += [
            {"professional_id": pid, "position": i, **w} for i, w in enumerate(values["workplaces"])
        ]
        versions += _versions(pid, values, by)
        audits.append(
            {
                "public_id": uuid.uuid4(),
                "occurred_at": clock.now(),
                "actor_kind": SYSTEM_ACTOR.kind.value,
                "actor_id": by,
                "actor_role": None,
                "facility_id": None,
                "purpose": Purpose.SEEDING.value,
                "action": "professional.create",
                "resource_type": "professional",
                "resource_id": str(values["public_id"]),
                "outcome": "success",
                "reason_code": None,
                "request_id": None,
            }
        )
    for table, batch in (
        (ProfessionalQualification, quals),
        (ProfessionalWorkplace, places),
        (ProfessionalVersion, versions),
        (AuditEvent, audits),
    ):
        for start in range(0, len(batch), CHUNK):
            connection.execute(insert(table), batch[start : start + CHUNK])
    if emit_events:
        for values in prepared:
            _events(session, values, clock=clock)
    session.flush()
    return BulkResult([v["hpr_id"] for v in prepared])


def _versions(pid: int, values: dict[str, Any], by: str) -> list[dict[str, Any]]:
    decided = values["status"] != Status.SUBMITTED.value
    submitted = dict(values, status=Status.SUBMITTED.value, rejection_reason=None)
    first = {
        "professional_id": pid,
        "version": 1,
        "change": "registered",
        "snapshot": snapshot_of(submitted, values["qualifications"], values["workplaces"]),
        "changed_fields": [],
        "changed_by": by,
        "changed_by_role": None,
        "valid_from": values["registered_at"],
        "valid_to": values["decided_at"] if decided else None,
    }
    if not decided:
        return [first]
    second = dict(
        first,
        version=2,
        change="verified" if values["status"] == Status.VERIFIED.value else "rejected",
        snapshot=snapshot_of(values, values["qualifications"], values["workplaces"]),
        changed_fields=["status"]
        if values["rejection_reason"] is None
        else ["status", "rejection_reason"],
        valid_from=values["decided_at"],
        valid_to=None,
    )
    return [first, second]


def _events(session: Session, values: dict[str, Any], *, clock: Clock) -> None:
    def payload(at: datetime) -> dict[str, Any]:
        return event_payload_of(
            hpr_id=values["hpr_id"],
            category=values["category"],
            workplaces=values["workplaces"],
            at=at,
        )

    emit(session, "professional.registered", payload(values["registered_at"]), clock=clock)
    if values["status"] == Status.VERIFIED.value:
        emit(session, "professional.verified", payload(values["decided_at"]), clock=clock)
    elif values["status"] == Status.REJECTED.value:
        emit(session, "professional.rejected", payload(values["decided_at"]), clock=clock)
