"""FHIR R4 primitive types: which JSON value each takes and the spec's lexical rules.

The regular expressions are the ones FHIR R4 publishes for each primitive type
(http://hl7.org/fhir/R4/datatypes.html); ``base64Binary`` is checked with a linear-time
test instead of the spec's regex because attachments can be megabytes long.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from typing import Any

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"

DATE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?")
DATETIME = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?")
INSTANT = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}")
TIME = re.compile(_TIME)
CODE = re.compile(r"[^\s]+(\s[^\s]+)*")
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
URI = re.compile(r"\S*")
OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _regex(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return isinstance(v, str) and pattern.fullmatch(v) is not None

    return check


def _integer(lo: int, hi: int = 2**31 - 1) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi

    return check


def _decimal(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _boolean(v: Any) -> bool:
    return isinstance(v, bool)


def _base64(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    # Attachments run to megabytes: decode in C rather than match the spec's regex.
    has_space = " " in v or "\n" in v or "\r" in v or "\t" in v
    compact = "".join(v.split()) if has_space else v
    try:
        binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _xhtml(v: Any) -> bool:
    return isinstance(v, str) and v.lstrip().startswith("<div")


CHECKS: dict[str, Callable[[Any], bool]] = {
    "boolean": _boolean,
    "integer": _integer(-(2**31)),
    "positiveInt": _integer(1),
    "unsignedInt": _integer(0),
    "decimal": _decimal,
    "string": _string,
    "markdown": _string,
    "code": _regex(CODE),
    "id": _regex(ID),
    "uri": _regex(URI),
    "url": _regex(URI),
    "canonical": _regex(URI),
    "oid": _regex(OID),
    "uuid": _regex(UUID),
    "date": _regex(DATE),
    "dateTime": _regex(DATETIME),
    "instant": _regex(INSTANT),
    "time": _regex(TIME),
    "base64Binary": _base64,
    "xhtml": _xhtml,
}


def json_kind(type_code: str) -> str:
    """How the expected JSON value is described in messages."""
    if type_code == "boolean":
        return "true or false"
    if type_code in ("integer", "positiveInt", "unsignedInt"):
        return "a whole number" + (" above 0" if type_code == "positiveInt" else "")
    if type_code == "decimal":
        return "a number"
    if type_code in ("date", "dateTime", "instant", "time"):
        return {
            "date": "a date YYYY, YYYY-MM or YYYY-MM-DD",
            "dateTime": "a date, or a date-time with seconds and a time zone",
            "instant": "a date-time with seconds and a time zone (YYYY-MM-DDThh:mm:ss+zz:zz)",
            "time": "a time hh:mm:ss",
        }[type_code]
    return f"a valid {type_code}"
