"""The Aadhaar KYC port: what ABHA enrolment needs from UIDAI.

UIDAI sends the OTP to the mobile registered with Aadhaar and, when it is right,
returns the resident's e-KYC. The sandbox (``sandbox.py``) does the same offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class KycRecord:
    aadhaar_last4: str
    name: str
    gender: str
    birth_date: date
    address_line: str
    district_name: str
    district_lgd: int
    state_name: str
    state_lgd: int
    pincode: str
    mobile: str | None
    photo: bytes | None = None


class KycProvider(Protocol):
    def lookup(self, session: Session, aadhaar: str) -> KycRecord | None:
        """The resident's e-KYC, or None when the number is not issued."""

    def registered_mobile(self, session: Session, aadhaar: str) -> str | None:
        """Where UIDAI would send the OTP."""
