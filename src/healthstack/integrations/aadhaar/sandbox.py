"""The offline KYC sandbox: looks residents up in ``kyc_resident``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.integrations.aadhaar.port import KycRecord


def _record(r: KycResident) -> KycRecord:
    return KycRecord(
        aadhaar_last4=r.aadhaar[-4:],
        name=r.name,
        gender=r.gender,
        birth_date=r.birth_date,
        address_line=r.address_line,
        district_name=r.district_name,
        district_lgd=r.district_lgd,
        state_name=r.state_name,
        state_lgd=r.state_lgd,
        pincode=r.pincode,
        mobile=r.mobile,
        photo=r.photo,
    )


class SandboxKyc:
    def lookup(self, session: Session, aadhaar: str) -> KycRecord | None:
        row = session.scalar(select(KycResident).where(KycResident.aadhaar == aadhaar))
        return _record(row) if row else None

    def registered_mobile(self, session: Session, aadhaar: str) -> str | None:
        return session.scalar(select(KycResident.mobile).where(KycResident.aadhaar == aadhaar))
