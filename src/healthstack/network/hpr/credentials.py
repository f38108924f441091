"""What a professional declares besides their identity, checked: category and
sub-category, council, registration number and year, qualifications and work places.

Every check raises ``ValidationFailed`` naming the field (``workplaces[1].hfr_id``)
and what to do; none echoes the value. The same checks serve registration, edits
and bulk loads, so a record cannot enter the registry by one door that another
would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import parse_hfr_id
from healthstack.network.hpr.enums import (
    COUNCILS,
    ROLES,
    SUBCATEGORIES,
    Category,
    Sector,
    councils_for,
    subcategory_label,
)
from healthstack.network.hpr.facility_refs import FacilityRef, find_facility

# The oldest registration or degree year accepted, and the youngest age at which one
# is plausible (an ANM diploma can follow school at 17; a council registers after it).
EARLIEST_YEAR = 1950
MIN_AGE_AT_REGISTRATION = 17
MIN_AGE_AT_QUALIFICATION = 16
MAX_QUALIFICATIONS = 10
MAX_WORKPLACES = 5

_REG_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9 ./-]{0,31}$")
_DEGREE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,()&'/+-]{1,63}$")
_UNIVERSITY = re.compile(r"^[A-Za-z][A-Za-z0-9 .,()&'/-]{2,127}$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class QualificationInput:
    degree: str
    university: str
    year: int


@dataclass(frozen=True)
class WorkplaceInput:
    hfr_id: str
    role: str
    sector: str


@dataclass(frozen=True)
class DetailsInput:
    """The professional part of a registration (or the whole of an edit)."""

    category: str
    subcategory: str
    council: str
    registration_number: str
    registration_year: int
    qualifications: Sequence[QualificationInput] = ()
    workplaces: Sequence[WorkplaceInput] = ()


@dataclass(frozen=True)
class Qualification:
    degree: str
    university: str
    year: int


@dataclass(frozen=True)
class Workplace:
    hfr_id: str
    role: str
    sector: str
    district_lgd: int | None


@dataclass(frozen=True)
class Details:
    category: str
    subcategory: str
    council: str
    registration_number: str
    registration_key: str
    registration_year: int
    qualifications: tuple[Qualification, ...] = field(default_factory=tuple)
    workplaces: tuple[Workplace, ...] = field(default_factory=tuple)


def _fail(message: str, field_name: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field=field_name, code=code)


def check_category(category: str, subcategory: str) -> Category:
    try:
        cat = Category((category or "").strip().lower())
    except ValueError:
        raise _fail(
            "category must be doctor, nurse or other. Choose the one the council "
            "registration is for.",
            "category",
            "HS-1701",
        ) from None
    if subcategory not in SUBCATEGORIES[cat]:
        allowed = ", ".join(SUBCATEGORIES[cat])
        raise _fail(
            f"This sub-category does not belong to the category {cat.value}. Choose one "
            f"of: {allowed}.",
            "subcategory",
            "HS-1702",
        )
    return cat


def check_council(council: str, subcategory: str) -> str:
    code = (council or "").strip().upper()
    if code not in COUNCILS:
        raise _fail(
            "This council is not one HPR registers against. Choose the council from the "
            f"list (for example JKMC, NMC, DCI, JKNC): {', '.join(COUNCILS)}.",
            "council",
            "HS-1703",
        )
    if subcategory not in COUNCILS[code].registers:
        fitting = ", ".join(c.code for c in councils_for(subcategory))
        raise _fail(
            f"{COUNCILS[code].name} does not register {subcategory_label_any(subcategory)}. "
            f"Choose the council that issued the registration: {fitting}.",
            "council",
            "HS-1704",
        )
    return code


def subcategory_label_any(code: str) -> str:
    for cat in Category:
        if code in SUBCATEGORIES[cat]:
            return subcategory_label(cat.value, code).lower()
    return code


def registration_key(number: str) -> str:
    """Letters and digits only, upper-case: how duplicates and roster matches compare."""
    return re.sub(r"[^A-Z0-9]", "", (number or "").upper())


def check_registration_number(raw: str) -> tuple[str, str]:
    """The number as shown (trimmed, upper-case, single spaces) and its key."""
    value = _SPACES.sub(" ", (raw or "").strip().upper())
    if not value:
        raise _fail(
            "registration_number is empty. Enter the number on the council registration "
            "certificate.",
            "registration_number",
            "HS-1705",
        )
    if not _REG_NUMBER.match(value) or not any(ch.isdigit() for ch in value):
        raise _fail(
            "A council registration number has up to 32 letters, digits, spaces, '/', '-' "
            "or '.', and at least one digit. Copy it from the registration certificate.",
            "registration_number",
            "HS-1705",
        )
    return value, registration_key(value)


def check_year(
    year: int, *, field_name: str, year_of_birth: int | None, this_year: int, min_age: int
) -> int:
    if not isinstance(year, int) or not EARLIEST_YEAR <= year <= this_year:
        raise _fail(
            f"{field_name} must be a year from {EARLIEST_YEAR} to {this_year}.",
            field_name,
            "HS-1706",
        )
    if year_of_birth is not None and year < year_of_birth + min_age:
        raise _fail(
            f"{field_name} is before the professional was {min_age} years old, per the "
            "Aadhaar date of birth. Check the year on the certificate.",
            field_name,
            "HS-1706",
        )
    return year


def check_qualifications(
    items: Sequence[QualificationInput], *, year_of_birth: int | None, this_year: int
) -> tuple[Qualification, ...]:
    if not items:
        raise _fail(
            "Add at least one qualification (degree or diploma, university or board, year).",
            "qualifications",
            "HS-1707",
        )
    if len(items) > MAX_QUALIFICATIONS:
        raise _fail(
            f"At most {MAX_QUALIFICATIONS} qualifications can be listed; keep the main ones.",
            "qualifications",
            "HS-1707",
        )
    out: list[Qualification] = []
    seen: set[tuple[str, int]] = set()
    for i, item in enumerate(items):
        where = f"qualifications[{i}]"
        degree = _SPACES.sub(" ", (item.degree or "").strip())
        university = _SPACES.sub(" ", (item.university or "").strip())
        if not _DEGREE.match(degree) or not any(ch.isalpha() for ch in degree):
            raise _fail(
                "The degree has 2 to 64 letters, digits, spaces or . , ( ) & ' / + - "
                "(for example MBBS, MD (Medicine), B.Sc Nursing).",
                f"{where}.degree",
                "HS-1707",
            )
        if not _UNIVERSITY.match(university):
            raise _fail(
                "The university or board has 3 to 128 characters and starts with a letter "
                "(for example University of Kashmir).",
                f"{where}.university",
                "HS-1707",
            )
        year = check_year(
            item.year,
            field_name=f"{where}.year",
            year_of_birth=year_of_birth,
            this_year=this_year,
            min_age=MIN_AGE_AT_QUALIFICATION,
        )
        key = (degree.lower(), year)
        if key in seen:
            raise _fail(
                "The same degree and year is listed twice. Remove the repeated line.",
                f"{where}.degree",
                "HS-1707",
            )
        seen.add(key)
        out.append(Qualification(degree, university, year))
    return tuple(out)


def check_workplaces(
    session: Session,
    *,
    items: Sequence[WorkplaceInput],
    category: Category,
    facilities: Mapping[str, FacilityRef] | None = None,
) -> tuple[Workplace, ...]:
    """Check each work place; ``network.hfr`` (HFR id -> facility, from
    ``facility_refs.find_facilities``) saves a query per row in bulk loads."""
    if not items:
        raise _fail(
            "Add at least one work place: the facility's HFR id, the role there and "
            "whether the post is public or private.",
            "workplaces",
            "HS-1708",
        )
    if len(items) > MAX_WORKPLACES:
        raise _fail(f"At most {MAX_WORKPLACES} work places can be listed.", "workplaces", "HS-1708")
    roles = ROLES[category]
    out: list[Workplace] = []
    for i, item in enumerate(items):
        where = f"workplaces[{i}]"
        try:
            hfr_id = parse_hfr_id(item.hfr_id)
        except ValidationFailed as exc:
            raise _fail(exc.message, f"{where}.hfr_id", exc.code) from None
        if any(w.hfr_id == hfr_id for w in out):
            raise _fail(
                "The same facility is listed twice. Keep one line per facility.",
                f"{where}.hfr_id",
                "HS-1708",
            )
        if item.role not in roles:
            raise _fail(
                f"This role is not one for a {category.value}. Choose one of: {', '.join(roles)}.",
                f"{where}.role",
                "HS-1709",
            )
        try:
            sector = Sector((item.sector or "").strip().lower())
        except ValueError:
            raise _fail(
                "sector must be public (a government post) or private.",
                f"{where}.sector",
                "HS-1709",
            ) from None
        facility = _workplace_facility(session, hfr_id, sector, where, facilities)
        out.append(Workplace(hfr_id, item.role, sector.value, facility.district_lgd))
    return tuple(out)


def _workplace_facility(
    session: Session,
    hfr_id: str,
    sector: Sector,
    where: str,
    known: Mapping[str, FacilityRef] | None,
) -> FacilityRef:
    """The facility a work place names: it must be in the facility registry (and not
    rejected there), and a post there has the facility's ownership."""
    facility = known.get(hfr_id) if known is not None else find_facility(session, hfr_id=hfr_id)
    if facility is None:
        raise _fail(
            "No facility with this HFR id is in the facility registry. Check the id on the "
            "facility's HFR certificate, or ask the facility to register first.",
            f"{where}.hfr_id",
            "HS-1712",
        )
    if facility.ownership is not None and facility.ownership != sector.value:
        raise _fail(
            f"This facility is {facility.ownership}, so a post there is "
            f"{facility.ownership} too. Set sector to {facility.ownership}.",
            f"{where}.sector",
            "HS-1709",
        )
    return facility


def check_details(
    session: Session,
    *,
    details: DetailsInput,
    year_of_birth: int | None,
    this_year: int,
    facilities: Mapping[str, FacilityRef] | None = None,
) -> Details:
    """Everything in ``details`` checked and normalised, or the first rule broken."""
    category = check_category(details.category, details.subcategory)
    council = check_council(details.council, details.subcategory)
    number, key = check_registration_number(details.registration_number)
    year = check_year(
        details.registration_year,
        field_name="registration_year",
        year_of_birth=year_of_birth,
        this_year=this_year,
        min_age=MIN_AGE_AT_REGISTRATION,
    )
    qualifications = check_qualifications(
        details.qualifications, year_of_birth=year_of_birth, this_year=this_year
    )
    workplaces = check_workplaces(
        session, items=details.workplaces, category=category, facilities=facilities
    )
    return Details(
        category=category.value,
        subcategory=details.subcategory,
        council=council,
        registration_number=number,
        registration_key=key,
        registration_year=year,
        qualifications=qualifications,
        workplaces=workplaces,
    )


def sector_of(sectors: Iterable[str]) -> str:
    """public | private | both, from the work places' sectors."""
    found = set(sectors)
    if found == {"public"}:
        return "public"
    if found == {"private"}:
        return "private"
    return "both"
