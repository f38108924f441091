"""Compliance tables: roster uploads and entries, campaigns, the escalation history
and exemptions. Nothing is deleted: a new roster supersedes the old one, a new
campaign for a cadre closes the previous one, an exemption is revoked, not removed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, BigIntPK, IdMixin
from healthstack.kernel.tabular_import import CsvImport


class RosterImport(CsvImport, Base):
    """One upload of the HR roster: a preview until confirmed (its columns are
    ``kernel.tabular_import.CsvImport``'s)."""

    __tablename__ = "roster_import"


class RosterEntry(IdMixin, Base):
    """One public post holder on a confirmed roster, with its reconciliation with HPR.

    ``link``: matched (``professional_id`` is the HPR record), uncertain (candidates
    wait for a reviewer), none (no HPR record found). The registration status shown
    (verified / pending / not registered) is read live from the linked record."""

    __tablename__ = "roster_entry"
    __table_args__ = (
        Index("ix_roster_entry_import_employee", "import_id", "employee_id", unique=True),
        Index("ix_roster_entry_import_link", "import_id", "link"),
        Index("ix_roster_entry_district", "district_lgd"),
    )

    import_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("roster_import.id"))
    employee_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(192))
    name_key: Mapped[str] = mapped_column(String(192))
    cadre: Mapped[str] = mapped_column(String(8))  # doctor | nurse
    subcategory: Mapped[str | None] = mapped_column(String(32))
    hfr_id: Mapped[str] = mapped_column(String(12), index=True)
    district_lgd: Mapped[int] = mapped_column(Integer)
    mobile: Mapped[str | None] = mapped_column(String(10))
    council: Mapped[str | None] = mapped_column(String(8))
    registration_number: Mapped[str | None] = mapped_column(String(32))
    registration_key: Mapped[str | None] = mapped_column(String(32))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    line: Mapped[int] = mapped_column(Integer)

    link: Mapped[str] = mapped_column(String(10), default="none")
    method: Mapped[str | None] = mapped_column(String(8))  # council | mobile | name | review
    professional_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("professional.id"), index=True
    )
    score: Mapped[float | None] = mapped_column(Float)
    # Uncertain: [{"hpr_id", "score", "via"}], best first; kept after review.
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]


class ComplianceCampaign(IdMixin, Base):
    """A registration deadline for a cadre. One open campaign per cadre: a new one
    closes the previous (``closed_at``)."""

    __tablename__ = "compliance_campaign"

    cadre: Mapped[str] = mapped_column(String(8), index=True)
    deadline: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class EscalationStep(IdMixin, Base):
    """One rung of the ladder reached by one person (by employee id, so the history
    survives a new roster)."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        Index("ix_escalation_step_person", "employee_id", "campaign_id", "step", unique=True),
    )

    campaign_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("compliance_campaign.id"))
    employee_id: Mapped[str] = mapped_column(String(40))
    roster_entry_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("roster_entry.id"))
    step: Mapped[int] = mapped_column(SmallInteger)  # 1..4, see escalation.LADDER
    name: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(12))  # sms | letter | list
    at: Mapped[datetime]
    days_overdue: Mapped[int] = mapped_column(Integer)


class Exemption(IdMixin, Base):
    """Leave, deputation or a vacant post: the ladder stops for this employee while it
    is in force. Approved by a district officer or the state admin."""

    __tablename__ = "compliance_exemption"
    __table_args__ = (Index("ix_compliance_exemption_employee", "employee_id"),)

    employee_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # leave | deputation | vacancy
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[date | None] = mapped_column(Date)  # None: until revoked
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_by_name: Mapped[str] = mapped_column(String(64))
    approver_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
