"""HPR tables: professionals, their qualifications and work places, the history of
every change (``professional_version``) and the HPR id counter (ADR 0007)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class Professional(IdMixin, Base):
    """One health professional. Identity (name, gender, birth date) comes from the
    Aadhaar e-KYC and is not edited here; the Aadhaar itself is kept only as the keyed
    hash (``identity.aadhaar.aadhaar_hash``, the same one ABHA uses) and its last
    four digits."""

    __tablename__ = "professional"
    __table_args__ = (
        # A council registration number belongs to one professional (per council).
        UniqueConstraint("council", "registration_key", name="uq_professional_council_number"),
        Index("ix_professional_name_key_year", "name_key", "year_of_birth"),
        Index("ix_professional_category_status", "category", "status"),
    )

    hpr_id: Mapped[str] = mapped_column(String(14), unique=True)
    # Lower-case, without "@hpr.abdm": uniqueness is case-insensitive.
    hpr_handle: Mapped[str] = mapped_column(String(32), unique=True)
    aadhaar_hash: Mapped[str] = mapped_column(String(64), unique=True)
    aadhaar_last4: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(192))
    # Lower-case letters and single spaces (abha.names.name_key): what matching uses.
    name_key: Mapped[str] = mapped_column(String(192))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    year_of_birth: Mapped[int] = mapped_column(SmallInteger)
    mobile: Mapped[str] = mapped_column(String(10), index=True)
    mobile_verified: Mapped[bool] = mapped_column(Boolean, default=True)
    # Residence from the e-KYC (the work places say where they practise).
    residence_district_lgd: Mapped[int | None] = mapped_column(Integer)
    residence_state_lgd: Mapped[int | None] = mapped_column(SmallInteger)

    category: Mapped[str] = mapped_column(String(8))  # doctor | nurse | other
    subcategory: Mapped[str] = mapped_column(String(32))
    council: Mapped[str] = mapped_column(String(8))
    # As entered (trimmed, upper-case); ``registration_key`` keeps letters and digits
    # only, so "JKMC-1234" and "jkmc 1234" are found as the same registration.
    registration_number: Mapped[str] = mapped_column(String(32))
    registration_key: Mapped[str] = mapped_column(String(32))
    registration_year: Mapped[int] = mapped_column(SmallInteger)

    status: Mapped[str] = mapped_column(String(10), index=True)  # enums.Status
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime]
    status_changed_by: Mapped[str | None] = mapped_column(String(64))
    # "self" (the professional, after Aadhaar OTP), "facility" (a facility admin for
    # their staff), "state" (the state admin), "bulk" (the seed / a migration load).
    registered_via: Mapped[str] = mapped_column(String(8))
    registered_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]

    qualifications: Mapped[list[ProfessionalQualification]] = relationship(
        back_populates="professional",
        order_by="ProfessionalQualification.position",
        cascade="all, delete-orphan",
    )
    workplaces: Mapped[list[ProfessionalWorkplace]] = relationship(
        back_populates="professional",
        order_by="ProfessionalWorkplace.position",
        cascade="all, delete-orphan",
    )


class ProfessionalQualification(Base):
    """A degree or diploma. Replaced as a whole on edit; history keeps the old list."""

    __tablename__ = "professional_qualification"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    professional_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("professional.id"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    degree: Mapped[str] = mapped_column(String(64))
    university: Mapped[str] = mapped_column(String(128))
    year: Mapped[int] = mapped_column(SmallInteger)

    professional: Mapped[Professional] = relationship(back_populates="qualifications")


class ProfessionalWorkplace(Base):
    """Where the professional works: a facility by HFR id, the role there, and
    whether the post is public or private. ``district_lgd`` is the facility's district
    (from the facility registry when it knows the facility); dashboards and district
    officers' scope read it."""

    __tablename__ = "professional_workplace"
    __table_args__ = (Index("ix_professional_workplace_district", "district_lgd"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    professional_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("professional.id"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    hfr_id: Mapped[str] = mapped_column(String(12), index=True)
    role: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str] = mapped_column(String(8))  # public | private
    district_lgd: Mapped[int | None] = mapped_column(Integer)

    professional: Mapped[Professional] = relationship(back_populates="workplaces")


class ProfessionalVersion(Base):
    """The registry's record as it stood from ``valid_from`` until ``valid_to`` (open
    for the current one): a full snapshot after every change (registration, edit,
    verification, rejection). No row is ever deleted."""

    __tablename__ = "professional_version"
    __table_args__ = (
        UniqueConstraint("professional_id", "version", name="uq_professional_version_number"),
        Index("ix_professional_version_validity", "professional_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    professional_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("professional.id"))
    version: Mapped[int] = mapped_column(Integer)
    # registered | edited | verified | rejected | resubmitted
    change: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_by_role: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]


class HprIdCounter(Base):
    """The HPR id allocator's counter; ids are a keyed permutation of it (ADR 0007)."""

    __tablename__ = "hpr_id_counter"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)
