"""Monitoring tables: the aggregates the dashboard reads, the ledger that makes event
application idempotent, registry membership for distinct counts, and targets.

The aggregate tables are keyed by their dimensions (no surrogate ids: a row is a
figure, never an entity that leaves the service layer). ``district_lgd`` 0 means "not
known" and ``facility_id`` '' means "no facility" (an ABHA created online, a
professional without a work place), so the keys never hold NULLs and upserts can
target them on both databases.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, IdMixin

UNKNOWN_DISTRICT = 0
NO_FACILITY = ""


class IndicatorTotal(Base):
    """The current value of an indicator for one (district, facility) cell.

    The state figure is the sum over the indicator's rows, a district's the sum over
    its rows: a few thousand rows at most, never a scan of the registries.
    """

    __tablename__ = "indicator_total"
    # A facility's figures across the districts its enrolments came from.
    __table_args__ = (Index("ix_indicator_total_facility", "facility_id", "indicator"),)

    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    district_lgd: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class IndicatorDaily(Base):
    """The net change of an indicator on one day (IST) in one (district, facility) cell."""

    __tablename__ = "indicator_daily"
    __table_args__ = (
        # Trends read one indicator over a range of days, state-wide (the key), for a
        # district or for a facility (these two).
        Index("ix_indicator_daily_district", "indicator", "district_lgd", "day"),
        Index("ix_indicator_daily_facility", "indicator", "facility_id", "day"),
    )

    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    district_lgd: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger, default=0)


class AppliedEvent(Base):
    """Events already applied to the aggregates (the outbox message's public id).

    Written in the same transaction as the aggregate changes, so a retried or
    duplicated delivery changes nothing.
    """

    __tablename__ = "applied_event"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(index=True)


class IndicatorMember(Base):
    """Which registry entity an indicator counts now, and in which cell.

    Registry indicators count distinct entities (a facility, a professional): a
    re-verification after an edit sends ``facility.verified`` again, and it must not
    count twice; an edit that moves the facility to another district moves its count.
    ABHA accounts are counted by plain increments instead (their events carry no id).
    """

    __tablename__ = "indicator_member"

    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    district_lgd: Mapped[int] = mapped_column(Integer)
    facility_id: Mapped[str] = mapped_column(String(16))
    since: Mapped[date] = mapped_column(Date)


class IndicatorRebuild(Base):
    """When each indicator was last recomputed from its source tables."""

    __tablename__ = "indicator_rebuild"

    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    rebuilt_at: Mapped[datetime]
    cells: Mapped[int] = mapped_column(Integer, default=0)


class Target(IdMixin, Base):
    """A district's target for an indicator, in force from ``valid_from`` until the
    next row of the same (indicator, district). Rows are never changed by a later
    target, so past targets stay answerable; setting a target again for the same
    day replaces that day's value."""

    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint(
            "indicator", "district_lgd", "valid_from", name="uq_target_indicator_district_from"
        ),
    )

    indicator: Mapped[str] = mapped_column(String(64))
    district_lgd: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[date] = mapped_column(Date)
    # Staff public id (or "seed" / "cli") of who set it, and when.
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime]
