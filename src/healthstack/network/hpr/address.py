"""HPR address rules, suggestions and availability.

An HPR address is ``<handle>@hpr.abdm`` (REFERENCE.md §4.3). The handle follows the
ABHA address rules (docs/adr/0004-abha-address-rules.md, the constants are shared
with ``network.abha.address``): 8-18 characters; lower-case letters, digits, ``.`` and ``_``;
starts with a letter; ``.``/``_`` never last and never two in a row; no run of ten or
more digits; no reserved word as a letter group (ABHA's list plus ``hpr`` and
``hfr``). Handles are stored lower-case without the suffix, so uniqueness is
case-insensitive; HPR addresses are their own namespace (an ABHA address with the
same handle is another person's business). Errors name the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.kernel.errors import Conflict, ValidationFailed
from healthstack.network.abha.address import (
    MAX_LENGTH,
    MIN_LENGTH,
    RESERVED_WORDS,
    broken_handle_rule,
)
from healthstack.network.abha.names import name_key
from healthstack.network.hpr.models import Professional

SUFFIX = "hpr.abdm"
HPR_RESERVED_WORDS = RESERVED_WORDS | {"hpr", "hfr", "council", "nmc"}
FIELD = "hpr_address"


class HprAddressTaken(Conflict):
    """The handle belongs to another professional; ``suggestions`` are free ones."""

    code = "HS-1711"

    def __init__(self, message: str, *, suggestions: list[str] | None = None):
        super().__init__(message, field=FIELD)
        self.suggestions = list(suggestions or [])


def _invalid(rule: str) -> ValidationFailed:
    return ValidationFailed(
        f"This HPR address cannot be used: {rule} Choose another address.",
        field=FIELD,
        code="HS-1710",
    )


def full_address(handle: str) -> str:
    return f"{handle}@{SUFFIX}"


def parse_hpr_address(raw: str) -> str:
    """Check a chosen HPR address and return its handle (lower-case, no suffix).

    Accepts ``Ravi.Sharma`` or ``ravi.sharma@hpr.abdm``; refuses another suffix.
    """
    value = (raw or "").strip().lower()
    if value.count("@") > 1:
        raise _invalid("it may contain '@' only once, before hpr.abdm.")
    if "@" in value:
        value, given = value.split("@", 1)
        if given != SUFFIX:
            raise ValidationFailed(
                f"HPR addresses end in @{SUFFIX}. Enter the address without a suffix or "
                f"with @{SUFFIX}.",
                field=FIELD,
                code="HS-1710",
            )
    rule = broken_handle_rule(
        value,
        reserved=HPR_RESERVED_WORDS,
        reserved_examples="hpr, abdm or admin",
        number_kind="HPR id",
    )
    if rule:
        raise _invalid(rule)
    return value


def is_valid_handle(handle: str) -> bool:
    try:
        return parse_hpr_address(handle) == handle
    except ValidationFailed:
        return False


def taken_handles(session: Session, *, handles: Iterable[str]) -> set[str]:
    wanted = sorted({h.lower() for h in handles})
    if not wanted:
        return set()
    rows = session.scalars(
        select(Professional.hpr_handle).where(func.lower(Professional.hpr_handle).in_(wanted))
    )
    return {r.lower() for r in rows}


def is_available(session: Session, *, handle: str) -> bool:
    return not taken_handles(session, handles=[handle])


def _name_parts(name: str) -> tuple[str, str]:
    words = [w for w in name_key(name).split() if w not in ("dr", "mohd", "md", "smt", "kum")]
    if not words:
        return "", ""
    first = words[0][:9]
    last = words[-1][:9] if len(words) > 1 else ""
    return first, last


def candidate_handles(name: str, year_of_birth: int | None) -> Iterator[str]:
    """Valid handles built from the name, most natural first, then numbered ones
    (``ravi.sharma01`` ...); each once."""
    first, last = _name_parts(name)
    yyyy = f"{year_of_birth:04d}" if year_of_birth else ""
    yy = yyyy[-2:]
    if first and last:
        named = [
            f"{first}.{last}",
            f"{first}{last}",
            f"{first}_{last}",
            f"dr.{first}.{last}",
            f"{last}.{first}",
            f"{first}.{last}{yy}",
            f"{first}{last}{yyyy}",
            f"{first[0]}.{last}{yyyy}",
        ]
    elif first or last:
        only = first or last
        named = [f"{only}.{yyyy}", f"{only}_{yyyy}", f"dr.{only}{yy}"]
    else:
        named = []
    seen: set[str] = set()
    for cand in named:
        if cand not in seen and is_valid_handle(cand):
            seen.add(cand)
            yield cand
    base = f"{first}.{last}" if first and last else (first or last)
    # "professional" stands in for a name with no Latin letters or a reserved word.
    for stem in (base[: MAX_LENGTH - 4], "professional"):
        if not stem or not is_valid_handle(f"{stem}{'1' * max(1, MIN_LENGTH - len(stem))}"):
            continue
        width = max(2, MIN_LENGTH - len(stem))
        for n in range(1, 10_000):
            cand = f"{stem}{n:0{width}d}"
            if cand not in seen and is_valid_handle(cand):
                seen.add(cand)
                yield cand


def suggestions(
    session: Session, *, name: str, year_of_birth: int | None, count: int = 5
) -> list[str]:
    """At least ``max(count, 3)`` valid, free handles built from the name."""
    count = max(count, 3)
    free: list[str] = []
    pending = candidate_handles(name, year_of_birth)
    while len(free) < count:
        batch = list(islice(pending, count * 2))
        if not batch:
            break
        taken = taken_handles(session, handles=batch)
        free += [c for c in batch if c not in taken]
    return free[:count]
