"""Registering, editing, verifying and reading facilities, with their history.

Decisions (docs/adr/0006-hfr-id-allocation.md has the id scheme):

- Who sees a facility: the state admin and registry verifiers see every facility; a
  district officer those of their district; facility staff (a facility admin, the
  desk, ...) the facility their account is attached to (its HFR id) and those they
  registered themselves. Anyone else gets 404, so existence is not revealed.
- Who changes one: ``facility.register`` and ``facility.edit`` (facility admin, district
  officer, state admin, within what they see); ``facility.verify`` (registry
  verifier, state admin). A facility is not verified by the person who registered it
  (maker-checker).
- Workflow: submitted → verified, or rejected with a reason. Editing a rejected
  facility resubmits it. Editing a verified facility's key fields (name, type,
  ownership and department, district, sub-district, PIN) sends it back to submitted
  for re-verification; other fields (contact, services, beds, HMIS, coordinates,
  address line, master code) change without it. The state never changes: the HFR id
  carries it.
- History: every change, status changes included, closes the current
  ``facility_version`` (``valid_to``) and opens the next with the full snapshot, who
  made it and why; ``facility_as_of`` answers "what did the registry say at X".
- Facility data is not personal health information, but every change is audited
  (``audited``) like the rest, so refused attempts are on record too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, RequestContext, Role
from healthstack.kernel.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.events import day_of, emit
from healthstack.kernel.ids import normalise_mobile, parse_hfr_id
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
from healthstack.network.hfr.names import check_facility_name, clean_name, name_key
from healthstack.settings import StateProfile

# India's mainland and islands: a point outside is a typing error (often lat/lon swapped).
INDIA_BOUNDS = ((6.0, 37.5), (68.0, 97.5))
MAX_BEDS = 5000
REASON_MIN = 5

_PIN = re.compile(r"^[1-9]\d{5}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_MASTER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}$")

# Changing these on a verified facility sends it back for verification.
KEY_FIELDS = frozenset(
    {
        "name",
        "facility_type",
        "ownership",
        "department",
        "district_lgd",
        "sub_district_lgd",
        "pincode",
    }
)


@dataclass
class FacilityDetails:
    """What a registration says about a facility (the editable fields)."""

    name: str
    facility_type: FacilityType
    ownership: Ownership
    system_of_medicine: SystemOfMedicine
    state_lgd: int
    district_lgd: int
    pincode: str
    services: list[Service]
    beds: int = 0
    department: str | None = None
    sub_district_lgd: int | None = None
    address_line: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    hmis: str | None = None
    master_code: str | None = None


DETAIL_FIELDS = tuple(f.name for f in fields(FacilityDetails))
REQUIRED_FIELDS = frozenset(
    f.name for f in fields(FacilityDetails) if f.default is MISSING or f.name == "beds"
)


@dataclass
class Review:
    """Every problem with some details at once, the cleaned details, and warnings
    (things worth a second look that do not stop the registration)."""

    details: FacilityDetails
    problems: list[DomainError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_first(self) -> None:
        if self.problems:
            raise self.problems[0]


@dataclass(frozen=True)
class Outcome:
    facility: Facility
    warnings: list[str]
    # An edit sent a verified facility back for verification.
    reverification: bool = False


# --------------------------------------------------------------------------- checks


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = clean_name(value)
    return value or None


def _phone(raw: str) -> str:
    """A mobile (10 digits, 6-9 first) or a landline with its STD code (0 first)."""
    digits = re.sub(r"[\s()-]", "", raw).removeprefix("+91")
    if digits.startswith("0") and 10 <= len(digits) <= 12 and digits.isdigit():
        return digits
    try:
        return normalise_mobile(digits)
    except ValidationFailed:
        raise ValidationFailed(
            "The contact phone is a 10-digit mobile number or a landline with its STD code "
            "(for example 0194-2452052).",
            field="contact_phone",
            code="HS-1318",
        ) from None


def review_details(
    session: Session | None,
    details: FacilityDetails,
    *,
    profile: StateProfile,
    current: Facility | None = None,
) -> Review:
    """Check and clean ``details``; a facility of the deployment's state (``profile``)
    is in one of its districts. Without a session the registry look-ups (name and
    master code already held) are skipped: a bulk load checks those across its batch."""
    d = replace(details)
    review = Review(d)
    problems = review.problems

    def problem(message: str, fld: str, code: str, cls: type[DomainError] = ValidationFailed):
        problems.append(cls(message, field=fld, code=code))

    try:
        d.name = check_facility_name(d.name)
    except ValidationFailed as exc:
        problems.append(exc)
    else:
        holder = session and _name_holder(session, name_key(d.name), current)
        if holder:
            problem(
                f"Another facility ({holder}) is already registered under this name, and "
                "ABDM refuses a name another HIP uses. Add the village, town or locality to "
                "tell them apart (for example 'PHC Khag, Budgam').",
                "name",
                "HS-1305",
                Conflict,
            )
    d.department = _blank_to_none(d.department)
    if d.ownership is Ownership.PUBLIC and not d.department:
        problem(
            "A public facility is run by a government department: name it (for example "
            "Health and Medical Education).",
            "department",
            "HS-1311",
        )
    if d.ownership is Ownership.PRIVATE and d.department:
        problem(
            "A private facility has no government department; leave the department empty "
            "or choose public ownership.",
            "department",
            "HS-1312",
        )
    if d.department and len(d.department) > 100:
        problem("The department name has at most 100 characters.", "department", "HS-1311")
    try:
        hfr_ids.check_state(d.state_lgd)
    except ValidationFailed as exc:
        problems.append(exc)
    if d.state_lgd == profile.state_lgd and d.district_lgd not in profile.district_codes:
        problem(
            f"This is not the LGD code of a district of {profile.state_name}. Choose the "
            "district from the list.",
            "district_lgd",
            "HS-1313",
        )
    elif not 1 <= d.district_lgd <= 99999:
        problem("A district LGD code is a positive number.", "district_lgd", "HS-1313")
    if d.sub_district_lgd is not None and not 1 <= d.sub_district_lgd <= 999999:
        problem(
            "A sub-district LGD code is a positive number; leave it empty if unknown.",
            "sub_district_lgd",
            "HS-1314",
        )
    d.pincode = (d.pincode or "").strip()
    if not _PIN.match(d.pincode):
        problem(
            "A PIN code has 6 digits and does not start with 0. Check it.", "pincode", "HS-1315"
        )
    _review_coordinates(d, review, profile)
    d.contact_phone = _blank_to_none(d.contact_phone)
    if d.contact_phone:
        try:
            d.contact_phone = _phone(d.contact_phone)
        except ValidationFailed as exc:
            problems.append(exc)
    d.contact_email = _blank_to_none(d.contact_email)
    if d.contact_email:
        d.contact_email = d.contact_email.lower()
        if len(d.contact_email) > 254 or not _EMAIL.match(d.contact_email):
            problem(
                "The contact e-mail is not an e-mail address (name@example.org). Check it.",
                "contact_email",
                "HS-1319",
            )
    d.services = sorted(set(d.services), key=list(Service).index)
    if not d.services:
        problem(
            "Tick the services the facility offers (at least one, for example OPD).",
            "services",
            "HS-1320",
        )
    if not 0 <= d.beds <= MAX_BEDS:
        problem(f"Beds are a number from 0 to {MAX_BEDS}.", "beds", "HS-1321")
    elif Service.IPD in d.services and d.beds < 1:
        problem(
            "A facility offering IPD has beds: enter how many, or untick IPD.",
            "beds",
            "HS-1322",
        )
    elif d.beds > 0 and Service.IPD not in d.services:
        review.warnings.append(
            "Beds are recorded but IPD is not among the services; tick IPD if patients stay."
        )
    d.hmis = _blank_to_none(d.hmis)
    if d.hmis and len(d.hmis) > 100:
        problem("The HMIS name has at most 100 characters.", "hmis", "HS-1325")
    d.address_line = _blank_to_none(d.address_line)
    if d.address_line and len(d.address_line) > 200:
        problem("The address has at most 200 characters.", "address_line", "HS-1326")
    d.master_code = _blank_to_none(d.master_code)
    if d.master_code:
        if not _MASTER_CODE.match(d.master_code):
            problem(
                "The state master code uses letters, digits and / _ . - (at most 40), as "
                "printed in the state's facility list.",
                "master_code",
                "HS-1323",
            )
        else:
            holder = session and _code_holder(session, d.state_lgd, d.master_code, current)
            if holder:
                problem(
                    f"Another facility ({holder}) already carries this state master code. "
                    "Check the code in the state's facility list.",
                    "master_code",
                    "HS-1324",
                    Conflict,
                )
    return review


def _review_coordinates(d: FacilityDetails, review: Review, profile: StateProfile) -> None:
    if (d.latitude is None) != (d.longitude is None):
        review.problems.append(
            ValidationFailed(
                "Give both latitude and longitude, or neither.",
                field="latitude" if d.latitude is None else "longitude",
                code="HS-1316",
            )
        )
        return
    if d.latitude is None or d.longitude is None:
        return
    (lat_lo, lat_hi), (lon_lo, lon_hi) = INDIA_BOUNDS
    if not (lat_lo <= d.latitude <= lat_hi and lon_lo <= d.longitude <= lon_hi):
        review.problems.append(
            ValidationFailed(
                f"The coordinates lie outside India (latitude {lat_lo}-{lat_hi}, longitude "
                f"{lon_lo}-{lon_hi}). Check that latitude and longitude are not swapped.",
                field="latitude",
                code="HS-1317",
            )
        )
        return
    d.latitude, d.longitude = round(d.latitude, 6), round(d.longitude, 6)
    # The state's box is loose: a point outside is worth a second look, not a refusal.
    bounds = profile.bounds if d.state_lgd == profile.state_lgd else None
    if bounds is not None and not bounds.holds(d.latitude, d.longitude):
        review.warnings.append(
            f"The coordinates lie outside {profile.state_name}; check them on a map."
        )


def _name_holder(session: Session, key: str, current: Facility | None) -> str | None:
    query = select(Facility.hfr_id).where(
        Facility.name_key == key, Facility.status != FacilityStatus.REJECTED.value
    )
    if current is not None:
        query = query.where(Facility.id != current.id)
    return session.scalar(query.limit(1))


def _code_holder(
    session: Session, state_lgd: int, code: str, current: Facility | None
) -> str | None:
    query = select(Facility.hfr_id).where(
        Facility.state_lgd == state_lgd,
        Facility.master_code == code,
        Facility.status != FacilityStatus.REJECTED.value,
    )
    if current is not None:
        query = query.where(Facility.id != current.id)
    return session.scalar(query.limit(1))


# --------------------------------------------------------------------------- scope


def _is_registry_wide(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or actor.role in (
        Role.STATE_ADMIN,
        Role.REGISTRY_VERIFIER,
    )


def can_see(actor: Actor, facility: Facility) -> bool:
    if _is_registry_wide(actor):
        return True
    if actor.role is Role.DISTRICT_OFFICER:
        return facility.district_lgd == actor.district_lgd
    if actor.role in FACILITY_ROLES:
        return facility.hfr_id == actor.facility_id or facility.registered_by == actor.id
    return False


def scope_clause(actor: Actor) -> ColumnElement[bool]:
    """``can_see`` as a WHERE clause, for lists."""
    if _is_registry_wide(actor):
        return true()
    if actor.role is Role.DISTRICT_OFFICER:
        return Facility.district_lgd == actor.district_lgd
    if actor.role in FACILITY_ROLES:
        return or_(Facility.hfr_id == (actor.facility_id or ""), Facility.registered_by == actor.id)
    return false()


_HIDDEN = (
    "No facility with this HFR id is registered, or it is outside what your account "
    "can see. Check the id."
)


def find_facility(session: Session, hfr_id: str) -> Facility | None:
    """The facility, whoever asks (for other domains: work places, the seed)."""
    return session.scalar(select(Facility).where(Facility.hfr_id == hfr_id.strip().upper()))


def get_facility(session: Session, ctx: RequestContext, *, hfr_id: str) -> Facility:
    """The facility if the caller may see it; a malformed id is a 400, a hidden one 404."""
    require(ctx.actor, "facility.read")
    facility = find_facility(session, parse_hfr_id(hfr_id))
    if facility is None or not can_see(ctx.actor, facility):
        raise NotFound(_HIDDEN, code="HS-1330")
    return facility


def _locked(session: Session, facility: Facility) -> Facility:
    """Re-read with a row lock (PostgreSQL) so two edits of one facility serialise."""
    return session.scalars(
        select(Facility)
        .where(Facility.id == facility.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


# --------------------------------------------------------------------------- history


def snapshot(facility: Facility) -> dict[str, Any]:
    """Everything the registry says about the facility, as JSON."""
    data: dict[str, Any] = {"hfr_id": facility.hfr_id}
    for name in DETAIL_FIELDS:
        data[name] = getattr(facility, name)
    data["services"] = list(facility.services or [])
    data.update(
        status=facility.status,
        rejection_reason=facility.rejection_reason,
        registered_at=facility.registered_at.isoformat(),
        verified_at=facility.verified_at.isoformat() if facility.verified_at else None,
        updated_at=facility.updated_at.isoformat(),
        version=facility.version,
    )
    return data


def _record(
    session: Session,
    ctx: RequestContext,
    *,
    facility: Facility,
    kind: ChangeKind,
    at: datetime,
    reason: str | None,
    changed_fields: Iterable[str] = (),
) -> None:
    session.execute(
        update(FacilityVersion)
        .where(FacilityVersion.facility_id == facility.id, FacilityVersion.valid_to.is_(None))
        .values(valid_to=at)
    )
    session.add(
        FacilityVersion(
            facility_id=facility.id,
            version=facility.version,
            snapshot=snapshot(facility),
            status=facility.status,
            change_kind=kind.value,
            change_reason=reason,
            changed_fields=sorted(changed_fields),
            changed_by=ctx.actor.id[:64],
            changed_by_name=(ctx.actor.display or ctx.actor.id)[:64],
            changed_by_role=ctx.actor.role.value if ctx.actor.role else None,
            valid_from=at,
            valid_to=None,
        )
    )
    session.flush()


def facility_history(session: Session, facility: Facility) -> list[FacilityVersion]:
    """Every version, newest first."""
    return list(
        session.scalars(
            select(FacilityVersion)
            .where(FacilityVersion.facility_id == facility.id)
            .order_by(FacilityVersion.version.desc())
        )
    )


def facility_as_of(session: Session, hfr_id: str, at: datetime) -> FacilityVersion:
    """What the registry said about ``hfr_id`` at ``at`` (UTC-aware): the version valid
    then. ``NotFound`` when the facility did not exist yet (or does not exist)."""
    if at.tzinfo is None:
        raise ValidationFailed(
            "Give the time with its offset, for example 2026-11-26T09:00:00+05:30.",
            field="as_of",
            code="HS-1331",
        )
    facility = find_facility(session, hfr_id)
    if facility is None:
        raise NotFound(_HIDDEN, code="HS-1330")
    version = session.scalar(
        select(FacilityVersion)
        .where(
            FacilityVersion.facility_id == facility.id,
            FacilityVersion.valid_from <= at,
            or_(FacilityVersion.valid_to.is_(None), FacilityVersion.valid_to > at),
        )
        .order_by(FacilityVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(
            "The facility was not registered yet at that time; its history starts "
            f"{facility.registered_at.isoformat()}.",
            code="HS-1332",
        )
    return version


# --------------------------------------------------------------------------- events


def facility_event(
    session: Session, name: str, facility: Facility | Mapping[str, Any], *, clock: Clock
) -> None:
    """``facility.registered`` / ``verified`` / ``rejected``: dimensions only."""
    keys = ("hfr_id", "district_lgd", "ownership", "facility_type")
    if isinstance(facility, Mapping):
        payload = {k: facility[k] for k in keys}
    else:
        payload = {k: getattr(facility, k) for k in keys}
    payload["day"] = day_of(clock.now())
    emit(session, name, payload, clock=clock)


# --------------------------------------------------------------------------- changes


def _check_district_scope(actor: Actor, district_lgd: int) -> None:
    if actor.role is Role.DISTRICT_OFFICER and district_lgd != actor.district_lgd:
        raise PermissionDenied(
            "A district officer registers and edits facilities of their own district only.",
            code="HS-1333",
        )


def register_facility(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    profile: StateProfile,
    details: FacilityDetails,
) -> Outcome:
    """Check the details, give the facility its HFR id and submit it for verification."""
    with audited(
        session, ctx, action="facility.register", resource_type="facility", clock=clock
    ) as target:
        require(ctx.actor, "facility.register")
        _check_district_scope(ctx.actor, details.district_lgd)
        # Reserving the id first takes the state's counter row lock, so registrations in
        # one state run one at a time and the name check below sees the others. A failed
        # check rolls the reservation back with everything else.
        hfr_id = hfr_ids.allocate(session, details.state_lgd)[0]
        review = review_details(session, details, profile=profile)
        review.raise_first()
        d = review.details
        now = clock.now()
        facility = Facility(
            hfr_id=hfr_id,
            name_key=name_key(d.name),
            status=FacilityStatus.SUBMITTED.value,
            registered_by=ctx.actor.id[:64],
            registered_at=now,
            updated_at=now,
            version=1,
            **column_values(d),
        )
        session.add(facility)
        session.flush()
        target.resource_id = facility.hfr_id
        _record(session, ctx, facility=facility, kind=ChangeKind.REGISTERED, at=now, reason=None)
        facility_event(session, "facility.registered", facility, clock=clock)
        _link(session, facility, clock=clock)
        return Outcome(facility, review.warnings)


def column_values(d: FacilityDetails) -> dict[str, Any]:
    values = {name: getattr(d, name) for name in DETAIL_FIELDS}
    values["facility_type"] = FacilityType(d.facility_type).value
    values["ownership"] = Ownership(d.ownership).value
    values["system_of_medicine"] = SystemOfMedicine(d.system_of_medicine).value
    values["services"] = [Service(s).value for s in d.services]
    return values


def details_of(facility: Facility) -> FacilityDetails:
    values = {name: getattr(facility, name) for name in DETAIL_FIELDS}
    values["facility_type"] = FacilityType(facility.facility_type)
    values["ownership"] = Ownership(facility.ownership)
    values["system_of_medicine"] = SystemOfMedicine(facility.system_of_medicine)
    values["services"] = [Service(s) for s in facility.services or []]
    return FacilityDetails(**values)


def update_facility(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    profile: StateProfile,
    hfr_id: str,
    changes: Mapping[str, Any],
    reason: str,
) -> Outcome:
    """Apply ``changes`` (field -> new value; only the fields being changed) with the
    reason for the record. See the module docstring for re-verification."""
    with audited(
        session,
        ctx,
        action="facility.edit",
        resource_type="facility",
        resource_id=hfr_id[:64],
        clock=clock,
    ):
        require(ctx.actor, "facility.edit")
        facility = _locked(session, get_facility(session, ctx, hfr_id=hfr_id))
        unknown = set(changes) - set(DETAIL_FIELDS)
        if unknown:
            raise ValidationFailed(
                f"These fields cannot be edited: {', '.join(sorted(unknown))}.",
                field=sorted(unknown)[0],
                code="HS-1334",
            )
        emptied = sorted(k for k in REQUIRED_FIELDS if k in changes and changes[k] is None)
        if emptied:
            raise ValidationFailed(
                f"{', '.join(emptied)} cannot be emptied; send the new value instead.",
                field=emptied[0],
                code="HS-1334",
            )
        if "state_lgd" in changes and changes["state_lgd"] != facility.state_lgd:
            raise ValidationFailed(
                "A facility cannot move to another state: its HFR id carries the state code. "
                "Register it in the new state instead.",
                field="state_lgd",
                code="HS-1335",
            )
        reason = clean_name(reason)
        if len(reason) < REASON_MIN:
            raise ValidationFailed(
                "Say why the registration changes (at least 5 characters); it is kept in the "
                "facility's history.",
                field="change_reason",
                code="HS-1336",
            )
        before = details_of(facility)
        after = replace(before, **dict(changes))
        if after.district_lgd != before.district_lgd:
            _check_district_scope(ctx.actor, after.district_lgd)
        review = review_details(session, after, profile=profile, current=facility)
        review.raise_first()
        new = column_values(review.details)
        old = column_values(before)
        changed = sorted(k for k in DETAIL_FIELDS if new[k] != old[k])
        if not changed:
            raise ValidationFailed(
                "Nothing changed: the registration already says this.",
                code="HS-1337",
            )
        for name in changed:
            setattr(facility, name, new[name])
        facility.name_key = name_key(facility.name)
        reverify = facility.status == FacilityStatus.VERIFIED.value and bool(
            KEY_FIELDS & set(changed)
        )
        if reverify or facility.status == FacilityStatus.REJECTED.value:
            facility.status = FacilityStatus.SUBMITTED.value
            facility.rejection_reason = None
        now = clock.now()
        facility.updated_at = now
        facility.version += 1
        _record(
            session,
            ctx,
            facility=facility,
            kind=ChangeKind.EDITED,
            at=now,
            reason=reason,
            changed_fields=changed,
        )
        if "master_code" in changed:
            _link(session, facility, clock=clock)
        return Outcome(facility, review.warnings, reverify)


def _decide(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    hfr_id: str,
    verdict: FacilityStatus,
    reason: str | None,
) -> Facility:
    action = "facility.verify" if verdict is FacilityStatus.VERIFIED else "facility.reject"
    with audited(
        session, ctx, action=action, resource_type="facility", resource_id=hfr_id[:64], clock=clock
    ):
        require(ctx.actor, "facility.verify")
        facility = _locked(session, get_facility(session, ctx, hfr_id=hfr_id))
        if verdict is FacilityStatus.REJECTED and len(reason or "") < REASON_MIN:
            raise ValidationFailed(
                "Give the reason for rejecting (at least 5 characters): the facility admin "
                "reads it to correct the registration.",
                field="reason",
                code="HS-1340",
            )
        if facility.status != FacilityStatus.SUBMITTED.value:
            state = "verified" if facility.status == FacilityStatus.VERIFIED.value else "rejected"
            raise Conflict(
                f"This facility is already {state}; only a submitted facility is verified or "
                "rejected. An edit by its admin submits it again.",
                code="HS-1338",
            )
        if facility.registered_by == ctx.actor.id:
            raise PermissionDenied(
                "You registered this facility, so another registry verifier must verify or "
                "reject it.",
                code="HS-1339",
            )
        now = clock.now()
        facility.status = verdict.value
        facility.rejection_reason = reason
        if verdict is FacilityStatus.VERIFIED:
            facility.verified_at = now
        facility.updated_at = now
        facility.version += 1
        kind = ChangeKind.VERIFIED if verdict is FacilityStatus.VERIFIED else ChangeKind.REJECTED
        _record(session, ctx, facility=facility, kind=kind, at=now, reason=reason)
        facility_event(session, f"facility.{verdict.value}", facility, clock=clock)
        return facility


def verify_facility(
    session: Session, ctx: RequestContext, *, clock: Clock, hfr_id: str, note: str | None = None
) -> Facility:
    return _decide(
        session,
        ctx,
        clock=clock,
        hfr_id=hfr_id,
        verdict=FacilityStatus.VERIFIED,
        reason=clean_name(note or "") or None,
    )


def reject_facility(
    session: Session, ctx: RequestContext, *, clock: Clock, hfr_id: str, reason: str
) -> Facility:
    return _decide(
        session,
        ctx,
        clock=clock,
        hfr_id=hfr_id,
        verdict=FacilityStatus.REJECTED,
        reason=clean_name(reason or ""),
    )


def _link(session: Session, facility: Facility, *, clock: Clock) -> None:
    from healthstack.network.hfr.reconcile import link_by_code  # reconcile reads Facility

    link_by_code(session, facility, clock=clock)


# --------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class FacilityFilter:
    district_lgd: int | None = None
    facility_type: FacilityType | None = None
    status: FacilityStatus | None = None
    ownership: Ownership | None = None
    q: str | None = None  # part of the name


def list_facilities(
    session: Session,
    ctx: RequestContext,
    *,
    where: FacilityFilter,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Facility], int]:
    """One page of the facilities the caller may see, by name; and how many there are."""
    require(ctx.actor, "facility.read")
    query = select(Facility).where(scope_clause(ctx.actor))
    if where.district_lgd is not None:
        query = query.where(Facility.district_lgd == where.district_lgd)
    if where.facility_type is not None:
        query = query.where(Facility.facility_type == where.facility_type.value)
    if where.status is not None:
        query = query.where(Facility.status == where.status.value)
    if where.ownership is not None:
        query = query.where(Facility.ownership == where.ownership.value)
    if where.q:
        key = name_key(where.q)  # letters, digits and spaces only: nothing to escape
        if key:
            query = query.where(Facility.name_key.like(f"%{key}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Facility.name_key, Facility.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total)
