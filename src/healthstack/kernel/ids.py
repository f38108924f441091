"""Identifier value types: Aadhaar, ABHA number, HFR id, HPR id.

- Aadhaar: 12 digits, first digit 2-9, last digit a Verhoeff check digit (UIDAI).
- ABHA number: 14 digits, shown ``XX-XXXX-XXXX-XXXX``, sent without hyphens. The
  last digit is a Luhn (mod 10) check digit, matching every number the ABDM sandbox
  issues; on input from elsewhere a failing check is a *warning*, never a rejection
  (REFERENCE.md §4.1 and docs/adr/0003-abha-number-allocation.md).
- HFR id: ``IN`` + 10 digits, digits 3-4 the state LGD code.
- HPR id: 14 digits, shown like an ABHA number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn, verhoeff

from healthstack.kernel.errors import ValidationFailed

_DIGITS = re.compile(r"^\d+$")
_SEPARATORS = re.compile(r"[\s-]")


def _digits_only(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "")


# --------------------------------------------------------------------------- Aadhaar


def normalise_aadhaar(raw: str) -> str:
    """Return the 12 digits of a valid Aadhaar number or raise ``ValidationFailed``."""
    value = _digits_only(raw)
    if not _DIGITS.match(value) or len(value) != 12:
        raise ValidationFailed(
            "An Aadhaar number has 12 digits. Check the number on the card and enter it again.",
            field="aadhaar",
            code="HS-1201",
        )
    if value[0] in "01":
        raise ValidationFailed(
            "An Aadhaar number never starts with 0 or 1. Check the number on the card.",
            field="aadhaar",
            code="HS-1202",
        )
    if not verhoeff.is_valid(value):
        raise ValidationFailed(
            "This is not a valid Aadhaar number (the check digit does not match). "
            "Check each digit against the card and enter it again.",
            field="aadhaar",
            code="HS-1203",
        )
    return value


def aadhaar_with_check_digit(first11: str) -> str:
    return first11 + verhoeff.calc_check_digit(first11)


def mask_aadhaar(last4: str) -> str:
    return f"XXXX XXXX {last4}"


# --------------------------------------------------------------------------- ABHA number


@dataclass(frozen=True)
class AbhaNumber:
    digits: str

    @property
    def formatted(self) -> str:
        d = self.digits
        return f"{d[0:2]}-{d[2:6]}-{d[6:10]}-{d[10:14]}"

    @property
    def masked(self) -> str:
        d = self.digits
        return f"XX-XXXX-XXXX-{d[10:14]}"

    @property
    def checksum_ok(self) -> bool:
        return luhn.is_valid(self.digits)

    def __str__(self) -> str:
        return self.digits


def parse_abha_number(raw: str) -> AbhaNumber:
    """Accept ``91-1234-5678-9012`` or ``91123456789012``; the check digit is not enforced."""
    value = _digits_only(raw)
    if not _DIGITS.match(value) or len(value) != 14:
        raise ValidationFailed(
            "An ABHA Number has 14 digits, written XX-XXXX-XXXX-XXXX. "
            "Check the number on the ABHA card and enter it again.",
            field="abhaNumber",
            code="ABDM-1051",
        )
    return AbhaNumber(value)


def looks_like_abha_number(raw: str) -> bool:
    value = _digits_only(raw)
    return bool(_DIGITS.match(value)) and len(value) == 14


def abha_number_with_check_digit(first13: str) -> str:
    return first13 + luhn.calc_check_digit(first13)


def format_abha_number(digits: str) -> str:
    return AbhaNumber(digits).formatted


# --------------------------------------------------------------------------- mobile


def normalise_mobile(raw: str) -> str:
    """Indian mobile: 10 digits starting 6-9; a +91 or 0 prefix is dropped."""
    value = _digits_only(raw or "").removeprefix("+")
    if value.startswith("91") and len(value) == 12:
        value = value[2:]
    elif value.startswith("0") and len(value) == 11:
        value = value[1:]
    if not re.fullmatch(r"[6-9]\d{9}", value):
        raise ValidationFailed(
            "A mobile number has 10 digits and starts with 6, 7, 8 or 9. "
            "Enter it without spaces or the country code.",
            field="mobile",
            code="HS-1210",
        )
    return value


def mask_mobile(mobile: str) -> str:
    return "XXXXXX" + mobile[-4:]


# --------------------------------------------------------------------------- HFR / HPR

_HFR = re.compile(r"^IN(\d{2})(\d{8})$")


def parse_hfr_id(raw: str) -> str:
    value = (raw or "").strip().upper()
    if not _HFR.match(value):
        raise ValidationFailed(
            "An HFR facility id is IN followed by 10 digits (for example IN0110000123). "
            "Copy it from the facility's HFR certificate.",
            field="hfrId",
            code="HS-1220",
        )
    return value


def parse_hpr_id(raw: str) -> str:
    value = _digits_only(raw)
    if not _DIGITS.match(value) or len(value) != 14:
        raise ValidationFailed(
            "An HPR id has 14 digits, written XX-XXXX-XXXX-XXXX.", field="hprId", code="HS-1221"
        )
    return value
