"""What the coverage dashboard reads from compliance (``monitoring.indicators``):

- the doctors / nurses denominators: posts per district on the roster in force;
- ``hpr.overdue``: the people the escalation job found overdue on its last run (at
  least one rung of an open campaign reached, still not registered, not exempt). The
  job runs with the injected clock, so the figure is as of its last run; the worker
  rebuilds the figure right after each run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.kernel.clock import ist_date
from healthstack.professionals.models import Professional

from .models import ComplianceCampaign, EscalationStep, Exemption, RosterEntry
from .roster import current_roster


def roster_posts(cadre: str) -> Callable[[Session], dict[int, int] | None]:
    """Posts of ``cadre`` per district on the roster in force; None before any roster."""

    def query(session: Session) -> dict[int, int] | None:
        roster = current_roster(session)
        if roster is None:
            return None
        rows = session.execute(
            select(RosterEntry.district_lgd, func.count())
            .where(RosterEntry.import_id == roster.id, RosterEntry.cadre == cadre)
            .group_by(RosterEntry.district_lgd)
        )
        return {int(d): int(n) for d, n in rows}

    return query


def overdue_members(session: Session) -> list[tuple[str, int, str, date]]:
    """(employee id, district, facility, first overdue day) of each overdue person."""
    roster = current_roster(session)
    if roster is None:
        return []
    first = (
        select(
            EscalationStep.employee_id.label("employee_id"),
            func.min(EscalationStep.at).label("since"),
            func.max(EscalationStep.at).label("last"),
        )
        .join(ComplianceCampaign, ComplianceCampaign.id == EscalationStep.campaign_id)
        .where(ComplianceCampaign.closed_at.is_(None))
        .group_by(EscalationStep.employee_id)
        .subquery()
    )
    rows = session.execute(
        select(
            RosterEntry.employee_id,
            RosterEntry.district_lgd,
            RosterEntry.hfr_id,
            RosterEntry.link,
            Professional.status,
            first.c.since,
            first.c.last,
        )
        .join(first, first.c.employee_id == RosterEntry.employee_id)
        .outerjoin(Professional, Professional.id == RosterEntry.professional_id)
        .where(RosterEntry.import_id == roster.id)
    ).all()
    exempt: dict[str, list[tuple[date | None, object]]] = {}
    for emp, until, revoked in session.execute(
        select(Exemption.employee_id, Exemption.until, Exemption.revoked_at)
    ):
        exempt.setdefault(emp, []).append((until, revoked))
    out = []
    for emp, district, hfr, link, status, since, last in rows:
        if link == "matched" and status in ("VERIFIED", "SUBMITTED"):
            continue  # registered since
        if any(
            revoked is None and (until is None or until >= ist_date(last))
            for until, revoked in exempt.get(emp, [])
        ):
            continue
        out.append((emp, district, hfr, ist_date(since)))
    return out
