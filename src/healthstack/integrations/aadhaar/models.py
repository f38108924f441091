"""Synthetic residents of the KYC sandbox (the stand-in for UIDAI's registry)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, BigIntPK


class KycResident(Base):
    __tablename__ = "kyc_resident"
    __table_args__ = (Index("ix_kyc_resident_mobile", "mobile"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    aadhaar: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    gender: Mapped[str] = mapped_column(String(1))  # M, F, O
    birth_date: Mapped[date] = mapped_column(Date)
    address_line: Mapped[str] = mapped_column(String(256))
    locality: Mapped[str] = mapped_column(String(64))
    district_name: Mapped[str] = mapped_column(String(64))
    district_lgd: Mapped[int] = mapped_column(Integer)
    state_name: Mapped[str] = mapped_column(String(64))
    state_lgd: Mapped[int] = mapped_column(SmallInteger)
    pincode: Mapped[str] = mapped_column(String(6))
    # The mobile registered with Aadhaar; families share one.
    mobile: Mapped[str | None] = mapped_column(String(10))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
