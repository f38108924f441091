"""Facility registry tables: facilities, their history, the HFR id counter, the state
master imports and entries, and the reconciliation of master with HFR."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, BigIntPK, IdMixin
from healthstack.kernel.tabular_import import CsvImport

# A rejected facility gives up its name and master code; the others hold them.
_HOLDS_NAME = text("status != 'rejected'")


class Facility(IdMixin, Base):
    """The registry's current view of one facility; every change also writes a
    ``FacilityVersion`` with the full snapshot."""

    __tablename__ = "facility"
    __table_args__ = (
        # ABDM refuses a name another HIP already uses (normalised, see names.name_key).
        Index(
            "uq_facility_name_key_held",
            "name_key",
            unique=True,
            sqlite_where=_HOLDS_NAME,
            postgresql_where=_HOLDS_NAME,
        ),
        Index(
            "uq_facility_master_code_held",
            "state_lgd",
            "master_code",
            unique=True,
            sqlite_where=text("master_code IS NOT NULL AND status != 'rejected'"),
            postgresql_where=text("master_code IS NOT NULL AND status != 'rejected'"),
        ),
        # Reconciliation blocks by district and type; the list filters by them.
        Index("ix_facility_block", "state_lgd", "district_lgd", "facility_type"),
    )

    hfr_id: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    facility_type: Mapped[str] = mapped_column(String(32))
    ownership: Mapped[str] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(100))
    system_of_medicine: Mapped[str] = mapped_column(String(24))
    state_lgd: Mapped[int] = mapped_column(SmallInteger)
    district_lgd: Mapped[int] = mapped_column(Integer)
    sub_district_lgd: Mapped[int | None] = mapped_column(Integer)
    address_line: Mapped[str | None] = mapped_column(String(200))
    pincode: Mapped[str] = mapped_column(String(6))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    beds: Mapped[int] = mapped_column(Integer, default=0)
    hmis: Mapped[str | None] = mapped_column(String(100))
    # The facility's code in the state's own master list, when it carries one.
    master_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Staff public id of who registered it: a facility admin manages what they registered.
    registered_by: Mapped[str] = mapped_column(String(64), index=True)
    registered_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


class FacilityVersion(IdMixin, Base):
    """One state of a facility, valid from ``valid_from`` until ``valid_to`` (open while
    current). Never updated except to close it; never deleted."""

    __tablename__ = "facility_version"
    __table_args__ = (
        UniqueConstraint("facility_id", "version", name="uq_facility_version_number"),
        Index("ix_facility_version_period", "facility_id", "valid_from"),
    )

    facility_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("facility.id"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    change_kind: Mapped[str] = mapped_column(String(12))
    change_reason: Mapped[str | None] = mapped_column(Text)
    # Which fields this change touched (empty for a status change).
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    changed_by: Mapped[str] = mapped_column(String(64))  # staff public id or "system"
    changed_by_name: Mapped[str] = mapped_column(String(64))  # username, never a patient's
    changed_by_role: Mapped[str | None] = mapped_column(String(32))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]


class HfrIdCounter(Base):
    """How many HFR ids each state has issued (docs/adr/0006-hfr-id-allocation.md)."""

    __tablename__ = "hfr_id_counter"

    state_lgd: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    next_value: Mapped[int] = mapped_column(BigInteger)


class FacilityMasterImport(CsvImport, Base):
    """One upload of the state's master list: a preview until confirmed (the columns
    every uploaded list has are ``kernel.tabular_import.CsvImport``'s)."""

    __tablename__ = "facility_master_import"

    state_lgd: Mapped[int] = mapped_column(SmallInteger, index=True)
    # What confirming would change in the current master: new / dropped codes.
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FacilityMasterEntry(IdMixin, Base):
    """One public facility in the state's master list (of one confirmed import)."""

    __tablename__ = "facility_master_entry"
    __table_args__ = (
        UniqueConstraint("import_id", "master_code", name="uq_facility_master_entry_code"),
        Index("ix_facility_master_entry_block", "import_id", "district_lgd", "facility_type"),
    )

    import_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("facility_master_import.id"))
    state_lgd: Mapped[int] = mapped_column(SmallInteger)
    master_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    facility_type: Mapped[str] = mapped_column(String(32))
    district_lgd: Mapped[int] = mapped_column(Integer)
    sub_district: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    line: Mapped[int] = mapped_column(Integer)


class FacilityMasterMatch(IdMixin, Base):
    """One line of the reconciliation of the current master with HFR: a master entry,
    an HFR facility, or both. ``public_id`` is the entry id the review screen settles."""

    __tablename__ = "facility_master_match"
    __table_args__ = (
        Index("ix_facility_master_match_status", "state_lgd", "status"),
        Index("ix_facility_master_match_facility", "facility_id"),
    )

    state_lgd: Mapped[int] = mapped_column(SmallInteger)
    import_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("facility_master_import.id"))
    master_entry_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("facility_master_entry.id"), unique=True
    )
    facility_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("facility.id"))
    status: Mapped[str] = mapped_column(String(12))
    method: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float | None] = mapped_column(Float)
    # Ambiguous: [{"hfr_id", "score"}], best first. Kept after settling, for the record.
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    settled_by: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
