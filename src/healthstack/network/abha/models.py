"""ABHA accounts, their addresses and the number allocator's counter. (The OTP
transactions are ``identity.models.OtpTransaction``.)"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class AbhaAccount(IdMixin, Base):
    __tablename__ = "abha_account"
    __table_args__ = (
        Index("ix_abha_account_demographics", "district_lgd", "year_of_birth", "gender"),
        Index("ix_abha_account_name_key", "name_key"),
    )

    abha_number: Mapped[str] = mapped_column(String(14), unique=True)
    # Keyed HMAC-SHA256 of the Aadhaar number, for de-duplication; never the number.
    aadhaar_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    aadhaar_last4: Mapped[str | None] = mapped_column(String(4))
    first_name: Mapped[str] = mapped_column(String(64))
    middle_name: Mapped[str | None] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(192))
    # Lower-case, letters only: what name search compares against.
    name_key: Mapped[str] = mapped_column(String(192))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    year_of_birth: Mapped[int] = mapped_column(SmallInteger)
    mobile: Mapped[str | None] = mapped_column(String(10), index=True)
    mobile_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    address_line: Mapped[str | None] = mapped_column(String(256))
    district_name: Mapped[str | None] = mapped_column(String(64))
    district_lgd: Mapped[int | None] = mapped_column(Integer)
    state_name: Mapped[str | None] = mapped_column(String(64))
    state_lgd: Mapped[int | None] = mapped_column(SmallInteger)
    pincode: Mapped[str | None] = mapped_column(String(6))
    photo: Mapped[bytes | None] = mapped_column()
    # aadhaar_otp | demographic
    kyc_method: Mapped[str] = mapped_column(String(16))
    kyc_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # ACTIVE | DEACTIVATED | DELETED
    status: Mapped[str] = mapped_column(String(12), default="ACTIVE")
    enrolled_by: Mapped[str | None] = mapped_column(String(64))
    enrolled_at_facility: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    addresses: Mapped[list[AbhaAddress]] = relationship(
        back_populates="account", order_by="AbhaAddress.id"
    )


class AbhaAddress(IdMixin, Base):
    """A chosen ABHA address. The default ``<14 digits>@<cm>`` is implied, not stored."""

    __tablename__ = "abha_address"

    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("abha_account.id"), index=True)
    # Stored lower-case without the suffix: uniqueness is case-insensitive.
    handle: Mapped[str] = mapped_column(String(32), unique=True)
    is_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    account: Mapped[AbhaAccount] = relationship(back_populates="addresses")


class AbhaNumberCounter(Base):
    """The allocator's counter. Numbers are a keyed permutation of it (ADR 0003)."""

    __tablename__ = "abha_number_counter"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)
