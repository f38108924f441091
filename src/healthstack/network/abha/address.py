"""ABHA address rules, suggestions and availability (docs/adr/0004-abha-address-rules.md).

An ABHA address is ``<handle>@<suffix>``; the suffix is the consent manager id
(``sbx`` in the sandbox, ``abdm`` in production). Handles are stored lower-case without
the suffix, so uniqueness is case-insensitive. Every account also owns the implied
default address ``<14-digit ABHA number>@<suffix>``, which is never stored.

The rules (ADR 0004): 8-18 characters; lower-case letters, digits, ``.`` and ``_``;
starts with a letter; ``.``/``_`` never last and never two in a row; no run of ten or
more digits (a mobile, Aadhaar or ABHA number must not hide in an address); no
reserved word as a letter group. Errors name the rule broken, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.kernel.errors import Conflict, ValidationFailed
from healthstack.network.abha.models import AbhaAddress
from healthstack.network.abha.names import name_key

MIN_LENGTH = 8
MAX_LENGTH = 18
# Most custom addresses one ABHA number may hold; stops one enrolment squatting names.
MAX_ADDRESSES_PER_ACCOUNT = 10

# Letter groups that would make an address look official or be confused with the
# network's own identifiers. Compared against each maximal run of letters, so
# "abhay.kumar" is fine while "abha.kumar" and "ravi.admin" are not.
RESERVED_WORDS = frozenset(
    {
        "aadhaar",
        "aadhar",
        "abdm",
        "abha",
        "admin",
        "administrator",
        "gov",
        "govt",
        "healthid",
        "healthstack",
        "helpdesk",
        "mohfw",
        "ncg",
        "ndhm",
        "nha",
        "none",
        "null",
        "official",
        "phr",
        "root",
        "sbx",
        "support",
        "system",
        "uidai",
        "undefined",
    }
)

_ALLOWED = re.compile(r"^[a-z0-9._]+$")
_DOUBLE_SEPARATOR = re.compile(r"[._]{2}")
_LONG_DIGIT_RUN = re.compile(r"\d{10}")
_LETTER_RUNS = re.compile(r"[a-z]+")
_CODE = "HS-1250"


class AddressTaken(Conflict):
    """The handle belongs to someone else. ``suggestions`` are free alternatives (or empty)."""

    code = "HS-1251"

    def __init__(self, message: str, *, suggestions: list[str] | None = None):
        super().__init__(message, field="abhaAddress")
        self.suggestions = list(suggestions or [])


def _invalid(rule: str) -> ValidationFailed:
    return ValidationFailed(
        f"This ABHA address cannot be used: {rule} Choose another address.",
        field="abhaAddress",
        code=_CODE,
    )


def full_address(handle: str, suffix: str) -> str:
    return f"{handle}@{suffix}"


def default_address(abha_number: str, suffix: str) -> str:
    """The implied default address of an account: its 14 digits at the suffix."""
    return full_address(abha_number, suffix)


def _strip_suffix(raw: str, suffix: str) -> str:
    value = (raw or "").strip().lower()
    if value.count("@") > 1:
        raise _invalid("it may contain '@' only once, before the suffix.")
    if "@" in value:
        handle, given = value.split("@", 1)
        if given != suffix.lower():
            raise ValidationFailed(
                f"This service issues ABHA addresses ending in @{suffix}. Enter the address "
                f"without a suffix or with @{suffix}.",
                field="abhaAddress",
                code="HS-1252",
            )
        return handle
    return value


def broken_handle_rule(
    handle: str, *, reserved: frozenset[str], reserved_examples: str, number_kind: str
) -> str | None:
    """The first rule of ADR 0004 that ``handle`` breaks, in words, or None.

    Shared by ABHA and HPR addresses, which differ only in their reserved words and
    in which 14-digit number must not be hidden in one.
    """
    if not handle:
        return "it is empty; enter the part before the @."
    if handle.isdigit():
        return "an address of digits only is not allowed; it must start with a letter."
    if not _ALLOWED.match(handle):
        return "only letters a-z, digits 0-9, '.' and '_' are allowed."
    if not (MIN_LENGTH <= len(handle) <= MAX_LENGTH):
        return f"it must have {MIN_LENGTH} to {MAX_LENGTH} characters before the @."
    if not handle[0].isalpha():
        return "it must start with a letter."
    if handle[-1] in "._":
        return "it must not end with '.' or '_'."
    if _DOUBLE_SEPARATOR.search(handle):
        return "'.' and '_' must not follow each other."
    if _LONG_DIGIT_RUN.search(handle):
        return (
            f"it must not contain ten or more digits in a row (a mobile, Aadhaar or "
            f"{number_kind} does not belong in an address)."
        )
    if any(word in reserved for word in _LETTER_RUNS.findall(handle)):
        return f"it contains a reserved word (such as {reserved_examples})."
    return None


def parse_address(raw: str, suffix: str) -> str:
    """Check a chosen ABHA address and return its handle (lower-case, no suffix).

    Accepts ``Ravi.Kumar1991`` or ``ravi.kumar1991@sbx``; refuses a foreign suffix.
    """
    handle = _strip_suffix(raw, suffix)
    if handle.isdigit() and len(handle) == 10:
        raise _invalid("a mobile number is not allowed as an ABHA address.")
    if handle.isdigit() and len(handle) == 14:
        raise _invalid(
            "an address of 14 digits is the default address every ABHA number already "
            "has; a chosen address needs letters."
        )
    rule = broken_handle_rule(
        handle,
        reserved=RESERVED_WORDS,
        reserved_examples="abha, abdm or admin",
        number_kind="ABHA number",
    )
    if rule:
        raise _invalid(rule)
    return handle


def is_valid_handle(handle: str, suffix: str) -> bool:
    try:
        return parse_address(handle, suffix) == handle
    except ValidationFailed:
        return False


def taken_handles(session: Session, *, handles: Iterable[str]) -> set[str]:
    wanted = sorted({h.lower() for h in handles})
    if not wanted:
        return set()
    # Handles are stored lower-case; lower() again guards rows written elsewhere.
    rows = session.scalars(
        select(AbhaAddress.handle).where(func.lower(AbhaAddress.handle).in_(wanted))
    )
    return {r.lower() for r in rows}


def is_available(session: Session, *, handle: str) -> bool:
    return not taken_handles(session, handles=[handle])


# --------------------------------------------------------------------------- suggestions


def _name_parts(first_name: str, last_name: str | None) -> tuple[str, str]:
    first_words = name_key(first_name or "").split()
    last_words = name_key(last_name or "").split()
    first = first_words[0] if first_words else ""
    if last_words:
        last = last_words[-1]
    elif len(first_words) > 1:
        last = first_words[-1]
    else:
        last = ""
    # Keep room for a date within the 18-character limit.
    return first[:9], last[:9]


def _candidates(first: str, last: str, dob: date | None, year: int | None) -> list[str]:
    yyyy = f"{year:04d}" if year else ""
    yy = yyyy[-2:]
    dd = f"{dob.day:02d}" if dob else ""
    mm = f"{dob.month:02d}" if dob else ""
    out: list[str] = []
    if first and last:
        out += [
            f"{first}.{last}{yyyy}",
            f"{first}{last}_{dd}{mm}" if dob else f"{first}{last}_{yy}",
            f"{last}.{first}",
            f"{first}_{dd}{mm}{yyyy}" if dob else f"{first}_{last}{yyyy}",
            f"{last}.{first}{yyyy}",
            f"{first}.{last}",
            f"{first}{last}{yy}",
            f"{first[0]}.{last}{yyyy}",
            f"{first}.{last[0]}{dd}{mm}{yy}",
            f"{last}_{first}{yy}",
        ]
    name = first or last
    if name:
        out += [
            f"{name}.{dd}{mm}{yyyy}" if dob else f"{name}.{yyyy}",
            f"{name}_{yyyy}",
            f"{name}{dd}{mm}{yy}",
            f"{name}.{mm}{yyyy}",
        ]
    return out


def suggestions(
    session: Session,
    *,
    first_name: str,
    last_name: str | None = None,
    birth_date: date | None = None,
    year_of_birth: int | None = None,
    suffix: str = "sbx",
    count: int = 5,
) -> list[str]:
    """At least ``max(count, 3)`` valid, free handles built from the name and birth date."""
    count = max(count, 3)
    year = birth_date.year if birth_date else year_of_birth
    first, last = _name_parts(first_name, last_name)
    candidates: list[str] = []
    for cand in _candidates(first, last, birth_date, year):
        if cand not in candidates and is_valid_handle(cand, suffix):
            candidates.append(cand)
    taken = taken_handles(session, handles=candidates)
    free = [c for c in candidates if c not in taken]
    # Then numbered variants until there are enough free ones. "person" stands in for a
    # name with no Latin letters or one made only of reserved words.
    named = f"{first}.{last}" if first and last else (first or last)
    for base in (named[: MAX_LENGTH - 3], "person"):
        if not base:
            continue
        n = 1
        while len(free) < count and n < 1000:
            batch: list[str] = []
            while len(batch) < count * 2 and n < 1000:
                width = max(1, MIN_LENGTH - len(base))
                cand = f"{base}{n:0{width}d}"
                n += 1
                if cand not in free and is_valid_handle(cand, suffix):
                    batch.append(cand)
            if not batch:
                break
            taken = taken_handles(session, handles=batch)
            free += [c for c in batch if c not in taken]
    return free[:count]
