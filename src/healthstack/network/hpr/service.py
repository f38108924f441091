"""Reading the professional registry, its history, and the pieces every change shares.

- Scope: the state admin and registry verifiers see every record; a district officer
  those with a work place in their district; a facility admin those with a work place
  at their facility. Anything else is "not found", so existence is not revealed.
- Every read of a record (one, a page of a list, a history) is audited.
- ``record_version`` closes the current ``professional_version`` row and opens the
  next with a full snapshot; ``emit_event`` tells monitoring, in the same transaction.
- ``find_by_council_number``, ``find_by_mobile`` and ``search_by_name_and_birth_year``
  are the lookups roster reconciliation (the compliance helper) builds on; each audits
  itself under the caller's context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session, selectinload

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, RequestContext, Role
from healthstack.kernel.errors import Conflict, NotFound, ValidationFailed
from healthstack.kernel.events import day_of, emit
from healthstack.kernel.ids import mask_mobile, normalise_mobile, parse_hpr_id
from healthstack.network.abha.names import name_key
from healthstack.network.hpr.address import full_address
from healthstack.network.hpr.credentials import registration_key, sector_of
from healthstack.network.hpr.enums import COUNCILS, Category, Status
from healthstack.network.hpr.models import (
    Professional,
    ProfessionalVersion,
    ProfessionalWorkplace,
)
from healthstack.network.hpr.numbers import format_hpr_id

RESOURCE = "professional"
MAX_PAGE_SIZE = 200
# How alike two normalised names must be (difflib ratio, word order ignored) to be
# offered as a candidate by ``search_by_name_and_birth_year``.
NAME_CANDIDATE_THRESHOLD = 0.8

_NOT_FOUND = (
    "No professional with this HPR id is in the registry, or it is outside your area. "
    "Check the HPR id."
)


class AlreadyRegistered(Conflict):
    """This Aadhaar already has an HPR record; ``hpr_id`` points at it."""

    code = "HS-1721"

    def __init__(self, hpr_id: str):
        super().__init__(
            f"This person is already registered in HPR with HPR id {format_hpr_id(hpr_id)}. "
            "A professional has one HPR record: update that one (work places, council "
            "details) instead of registering again.",
            field="aadhaar",
        )
        self.hpr_id = hpr_id


class DuplicateCouncilNumber(Conflict):
    """The council registration number belongs to another record; ``hpr_id`` points at it."""

    code = "HS-1720"

    def __init__(self, hpr_id: str):
        super().__init__(
            "This council registration number is already registered in HPR under HPR id "
            f"{format_hpr_id(hpr_id)}. Check the number on the certificate; if that record "
            "is wrong, ask the registry verifier to correct it.",
            field="registration_number",
        )
        self.hpr_id = hpr_id


# --------------------------------------------------------------------------- scope


def _loaded() -> Select[Professional]:
    return select(Professional).options(
        selectinload(Professional.qualifications), selectinload(Professional.workplaces)
    )


def sees_everything(actor: Actor) -> bool:
    return actor.role in (Role.STATE_ADMIN, Role.REGISTRY_VERIFIER)


def visible_to(actor: Actor, professional: Professional) -> bool:
    if sees_everything(actor):
        return True
    if actor.role is Role.DISTRICT_OFFICER:
        return any(w.district_lgd == actor.district_lgd for w in professional.workplaces)
    if actor.facility_id:
        return any(w.hfr_id == actor.facility_id for w in professional.workplaces)
    return False


def _scope_filter(actor: Actor, query: Select[Any]) -> Select[Any]:
    if sees_everything(actor):
        return query
    if actor.role is Role.DISTRICT_OFFICER:
        cond = ProfessionalWorkplace.district_lgd == actor.district_lgd
    elif actor.facility_id:
        cond = ProfessionalWorkplace.hfr_id == actor.facility_id
    else:
        return query.where(false())
    return query.where(
        exists().where(ProfessionalWorkplace.professional_id == Professional.id).where(cond)
    )


def find_professional(session: Session, *, hpr_id: str) -> Professional | None:
    return session.scalar(_loaded().where(Professional.hpr_id == hpr_id))


def load_for(
    session: Session, *, actor: Actor, raw_hpr_id: str, for_update: bool = False
) -> Professional:
    """The record when ``actor`` may see it; "not found" otherwise (existence hidden)."""
    hpr_id = parse_hpr_id(raw_hpr_id)
    query = _loaded().where(Professional.hpr_id == hpr_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Professional)
    professional = session.scalar(query)
    if professional is None or not visible_to(actor, professional):
        raise NotFound(_NOT_FOUND, field="hpr_id")
    return professional


# --------------------------------------------------------------------------- snapshots


_SNAPSHOT_FIELDS = (
    "hpr_id",
    "name",
    "gender",
    "year_of_birth",
    "category",
    "subcategory",
    "council",
    "registration_number",
    "registration_year",
    "status",
    "rejection_reason",
)


def snapshot_of(
    values: Mapping[str, Any],
    qualifications: Sequence[Mapping[str, Any]],
    workplaces: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The record as the registry states it, from plain values (no Aadhaar hash; the
    mobile masked). ``snapshot`` and the bulk loader both build it here."""
    out = {name: values[name] for name in _SNAPSHOT_FIELDS}
    out["hpr_address"] = full_address(values["hpr_handle"])
    out["mobile"] = mask_mobile(values["mobile"])
    out["qualifications"] = [
        {"degree": q["degree"], "university": q["university"], "year": q["year"]}
        for q in qualifications
    ]
    out["workplaces"] = [
        {k: w[k] for k in ("hfr_id", "role", "sector", "district_lgd")} for w in workplaces
    ]
    return out


def snapshot(p: Professional) -> dict[str, Any]:
    values = {name: getattr(p, name) for name in (*_SNAPSHOT_FIELDS, "hpr_handle", "mobile")}
    return snapshot_of(
        values,
        [
            {"degree": q.degree, "university": q.university, "year": q.year}
            for q in p.qualifications
        ],
        [
            {"hfr_id": w.hfr_id, "role": w.role, "sector": w.sector, "district_lgd": w.district_lgd}
            for w in p.workplaces
        ],
    )


def record_version(
    session: Session,
    ctx: RequestContext,
    *,
    professional: Professional,
    change: str,
    at: datetime,
    changed_fields: Sequence[str] = (),
) -> ProfessionalVersion:
    """Close the open version (``valid_to = at``) and open the next with a snapshot."""
    session.flush()
    current = session.scalar(
        select(ProfessionalVersion)
        .where(ProfessionalVersion.professional_id == professional.id)
        .where(ProfessionalVersion.valid_to.is_(None))
    )
    number = 1
    if current is not None:
        current.valid_to = at
        number = current.version + 1
    professional.version = number
    version = ProfessionalVersion(
        professional_id=professional.id,
        version=number,
        change=change,
        snapshot=snapshot(professional),
        changed_fields=list(changed_fields),
        changed_by=ctx.actor.id[:64],
        changed_by_role=ctx.actor.role.value if ctx.actor.role else None,
        valid_from=at,
        valid_to=None,
    )
    session.add(version)
    session.flush()
    return version


def event_payload_of(
    *, hpr_id: str, category: str, workplaces: Sequence[Any], at: datetime
) -> dict[str, Any]:
    """Dimensions only (issue 3 contract), never personal data. ``workplaces`` are
    objects or mappings with ``hfr_id``, ``sector`` and ``district_lgd``."""

    def get(w: Any, key: str) -> Any:
        return w[key] if isinstance(w, Mapping) else getattr(w, key)

    first = workplaces[0] if workplaces else None
    return {
        "hpr_id": hpr_id,
        "category": category,
        "sector": sector_of(get(w, "sector") for w in workplaces),
        "district_lgd": get(first, "district_lgd") if first is not None else None,
        "hfr_ids": [get(w, "hfr_id") for w in workplaces],
        # The day in India, as every event carries it: one calendar for the dashboard.
        "day": day_of(at),
    }


def event_payload(p: Professional, *, at: datetime) -> dict[str, Any]:
    return event_payload_of(hpr_id=p.hpr_id, category=p.category, workplaces=p.workplaces, at=at)


def emit_event(session: Session, *, professional: Professional, name: str, clock: Clock) -> None:
    emit(session, name, event_payload(professional, at=clock.now()), clock=clock)


# --------------------------------------------------------------------------- reads


def get_professional(
    session: Session, ctx: RequestContext, *, hpr_id: str, clock: Clock
) -> Professional:
    with audited(
        session, ctx, action="professional.read", resource_type=RESOURCE, clock=clock
    ) as target:
        require(ctx.actor, "professional.read")
        professional = load_for(session, actor=ctx.actor, raw_hpr_id=hpr_id)
        target.resource_id = str(professional.public_id)
        return professional


def history(
    session: Session, ctx: RequestContext, *, hpr_id: str, clock: Clock
) -> tuple[Professional, list[ProfessionalVersion]]:
    """Every version of the record, oldest first."""
    with audited(
        session, ctx, action="professional.history", resource_type=RESOURCE, clock=clock
    ) as target:
        require(ctx.actor, "professional.read")
        professional = load_for(session, actor=ctx.actor, raw_hpr_id=hpr_id)
        target.resource_id = str(professional.public_id)
        versions = list(
            session.scalars(
                select(ProfessionalVersion)
                .where(ProfessionalVersion.professional_id == professional.id)
                .order_by(ProfessionalVersion.version)
            )
        )
        return professional, versions


def version_at(versions: Sequence[ProfessionalVersion], at: datetime) -> ProfessionalVersion | None:
    """The version in force at ``at`` (None before the registration)."""
    for v in versions:
        if v.valid_from <= at and (v.valid_to is None or at < v.valid_to):
            return v
    return None


@dataclass(frozen=True)
class ProfessionalFilter:
    category: str | None = None
    status: str | None = None
    district_lgd: int | None = None
    hfr_id: str | None = None


@dataclass(frozen=True)
class ProfessionalPage:
    items: list[Professional]
    total: int
    page: int
    page_size: int


def check_filter(f: ProfessionalFilter) -> ProfessionalFilter:
    if f.category is not None and f.category not in {c.value for c in Category}:
        raise ValidationFailed(
            "category must be doctor, nurse or other.", field="category", code="HS-1701"
        )
    if f.status is not None and f.status not in {s.value for s in Status}:
        raise ValidationFailed(
            "status must be SUBMITTED, VERIFIED or REJECTED.", field="status", code="HS-1730"
        )
    return f


def list_professionals(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    filters: ProfessionalFilter,
    page: int = 1,
    page_size: int = 50,
) -> ProfessionalPage:
    """One page of the records the caller may see, newest first."""
    with audited(session, ctx, action="professional.list", resource_type=RESOURCE, clock=clock):
        require(ctx.actor, "professional.read")
        f = check_filter(filters)
        page = max(1, page)
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        query = _scope_filter(ctx.actor, select(Professional.id))
        if f.category:
            query = query.where(Professional.category == f.category)
        if f.status:
            query = query.where(Professional.status == f.status)
        for column, value in (
            (ProfessionalWorkplace.district_lgd, f.district_lgd),
            (ProfessionalWorkplace.hfr_id, f.hfr_id),
        ):
            if value is not None:
                query = query.where(
                    exists()
                    .where(ProfessionalWorkplace.professional_id == Professional.id)
                    .where(column == value)
                )
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        ids = list(
            session.scalars(
                query.order_by(Professional.created_at.desc(), Professional.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        )
        rows = {p.id: p for p in session.scalars(_loaded().where(Professional.id.in_(ids)))}
        return ProfessionalPage([rows[i] for i in ids], total, page, page_size)


# --------------------------------------------------------------------------- lookups


def _council_key(council: str, registration_number: str) -> tuple[str, str]:
    code = (council or "").strip().upper()
    if code not in COUNCILS:
        raise ValidationFailed(
            f"council must be one of: {', '.join(COUNCILS)}.", field="council", code="HS-1703"
        )
    key = registration_key(registration_number)
    if not key:
        raise ValidationFailed(
            "registration_number needs letters or digits.",
            field="registration_number",
            code="HS-1705",
        )
    return code, key


def council_number_owner(session: Session, *, council: str, key: str) -> Professional | None:
    """The record holding this council registration (unaudited: for the registry's own
    duplicate checks, which reveal only the HPR id)."""
    return session.scalar(
        select(Professional)
        .where(Professional.council == council)
        .where(Professional.registration_key == key)
    )


def find_by_council_number(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    council: str,
    registration_number: str,
) -> Professional | None:
    """The professional registered with this council number (separators and case do
    not matter), or None. Not scoped: reconciliation runs state-wide."""
    with audited(
        session, ctx, action="professional.lookup.council", resource_type=RESOURCE, clock=clock
    ) as target:
        code, key = _council_key(council, registration_number)
        found = council_number_owner(session, council=code, key=key)
        if found is not None:
            target.resource_id = str(found.public_id)
        return found


def find_by_mobile(
    session: Session, ctx: RequestContext, *, clock: Clock, mobile: str
) -> list[Professional]:
    """The professionals whose mobile is this one (families and clinics share phones)."""
    with audited(
        session, ctx, action="professional.lookup.mobile", resource_type=RESOURCE, clock=clock
    ) as target:
        number = normalise_mobile(mobile)
        found = list(
            session.scalars(
                _loaded().where(Professional.mobile == number).order_by(Professional.id)
            )
        )
        if len(found) == 1:
            target.resource_id = str(found[0].public_id)
        return found


@dataclass(frozen=True)
class NameCandidate:
    professional: Professional
    score: float  # 1.0: the same normalised name


def _name_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    sa, sb = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    if sa == sb:
        return 0.99
    return round(max(SequenceMatcher(None, a, b).ratio(), SequenceMatcher(None, sa, sb).ratio()), 4)


def search_by_name_and_birth_year(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    name: str,
    birth_year: int,
    year_tolerance: int = 0,
    threshold: float = NAME_CANDIDATE_THRESHOLD,
    limit: int = 10,
) -> list[NameCandidate]:
    """Candidates born within ``year_tolerance`` years of ``birth_year`` whose name is
    like ``name`` (normalised with ``network.abha.names.name_key``; word order ignored), best
    first. The caller decides what is a match; this only narrows the field."""
    with audited(
        session, ctx, action="professional.lookup.name", resource_type=RESOURCE, clock=clock
    ):
        wanted = name_key(name or "")
        if not wanted:
            raise ValidationFailed("name needs letters to compare.", field="name", code="HS-1731")
        rows = session.scalars(
            _loaded().where(
                Professional.year_of_birth.between(
                    birth_year - year_tolerance, birth_year + year_tolerance
                )
            )
        )
        scored = [
            NameCandidate(p, s)
            for p in rows
            if (s := _name_similarity(wanted, p.name_key)) >= threshold
        ]
        scored.sort(key=lambda c: (-c.score, c.professional.id))
        return scored[:limit]


def find_by_aadhaar_hash(session: Session, *, digest: str) -> Professional | None:
    return session.scalar(select(Professional).where(Professional.aadhaar_hash == digest))
