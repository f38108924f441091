"""The escalation ladder, climbed by the worker's scheduled job.

An overdue, not exempt person climbs one rung per run at most, and only when the
previous rung is ``wait_days`` old: SMS reminder (on the day they become overdue),
second reminder, notice to the facility head (a letter: ``notices.py``), then the
district officer's show-cause list. Every rung reached is an ``escalation_step`` row
(the person's history). Registering in HPR, or an exemption, stops the climb; the
job first re-runs the reconciliation so a fresh registration is seen. Time comes
from the injected clock, so tests advance it and run the job again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from healthstack.integrations.sms import send_sms
from healthstack.kernel.clock import Clock, ist_date
from healthstack.kernel.context import Purpose, system_context
from healthstack.web.timefmt import local_date

from .models import EscalationStep
from .reconcile import current_roster, reconcile_roster
from .service import compliance_rows, open_campaigns


@dataclass(frozen=True)
class Rung:
    step: int
    name: str
    channel: str  # sms | letter | list
    wait_days: int  # after the previous rung (the first: after the deadline)
    label: str


LADDER = (
    Rung(1, "sms_reminder", "sms", 0, "SMS reminder"),
    Rung(2, "second_reminder", "sms", 7, "Second SMS reminder"),
    Rung(3, "facility_head_notice", "letter", 7, "Notice to the facility head"),
    Rung(4, "show_cause", "list", 7, "District officer's show-cause list"),
)
RUNGS = {r.step: r for r in LADDER}

_SMS = {
    1: "HealthStack: you are not yet registered in the Healthcare Professionals Registry "
    "(HPR); the deadline for {cadre}s was {deadline}. Register at hpr.abdm.gov.in or "
    "through your facility admin.",
    2: "HealthStack: second reminder. Your HPR registration is {days} days overdue. "
    "Register now at hpr.abdm.gov.in; your facility head will be notified next.",
}


def run_escalation(session: Session, *, clock: Clock) -> int:
    """One pass of the ladder over the roster in force; returns the rungs climbed."""
    roster = current_roster(session)
    campaigns = open_campaigns(session)
    if roster is None or not campaigns:
        return 0
    ctx = system_context(Purpose.ADMINISTRATION)
    reconcile_roster(session, ctx, roster=roster, clock=clock)
    now = clock.now()
    climbed = 0
    # actor=None: the job sees the whole state.
    for row in compliance_rows(session, actor=None, today=ist_date(now), status="overdue"):
        rung = RUNGS.get(row.step + 1)
        if rung is None:
            continue  # on the show-cause list already: the district officer acts
        if row.step_at is not None and now - row.step_at < timedelta(days=rung.wait_days):
            continue
        campaign = campaigns[row.entry.cadre]
        channel = rung.channel
        if channel == "sms":
            if row.entry.mobile:
                send_sms(
                    session,
                    mobile=row.entry.mobile,
                    text=_SMS[rung.step].format(
                        cadre=row.entry.cadre,
                        deadline=local_date(campaign.deadline),  # as a person reads it
                        days=row.days_overdue,
                    ),
                    template=f"compliance.{rung.name}",
                    clock=clock,
                )
            else:
                channel = "no_mobile"  # the rung is recorded; the next one is a letter
        session.add(
            EscalationStep(
                campaign_id=campaign.id,
                employee_id=row.entry.employee_id,
                roster_entry_id=row.entry.id,
                step=rung.step,
                name=rung.name,
                channel=channel,
                at=now,
                days_overdue=row.days_overdue or 0,
            )
        )
        climbed += 1
    session.flush()
    return climbed
