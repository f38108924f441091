"""Campaigns, each roster entry's compliance status, exemptions and the history of
one person's escalation.

Status of a roster entry (``STATUSES``): ``registered_verified`` and
``registered_pending`` (an HPR record, verified or waiting for the verifier),
``not_registered`` (no record yet, or rejected, and the cadre's deadline not passed
or no campaign), ``overdue`` (not registered after the deadline: ``days_overdue``
counts whole days after it), ``uncertain`` (the reconciliation needs a reviewer
first: nobody is chased on a guess) and ``exempt`` (an exemption in force).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock, ist_date
from healthstack.kernel.context import Actor, RequestContext
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.network.hpr.models import Professional

from .models import ComplianceCampaign, EscalationStep, Exemption, RosterEntry
from .reconcile import current_roster, in_scope, registration_status, scope_filter

CADRES = ("doctor", "nurse")
EXEMPTION_KINDS = ("leave", "deputation", "vacancy")
STATUSES = (
    "registered_verified",
    "registered_pending",
    "not_registered",
    "overdue",
    "uncertain",
    "exempt",
)


# --------------------------------------------------------------------------- campaigns


def open_campaigns(session: Session) -> dict[str, ComplianceCampaign]:
    rows = session.scalars(
        select(ComplianceCampaign)
        .where(ComplianceCampaign.closed_at.is_(None))
        .order_by(ComplianceCampaign.id)
    )
    return {c.cadre: c for c in rows}


def open_campaign(
    session: Session, ctx: RequestContext, *, clock: Clock, cadre: str, deadline: date
) -> ComplianceCampaign:
    """Set ``cadre``'s registration deadline; an open campaign for it is closed."""
    with audited(
        session, ctx, action="compliance.campaign.open", resource_type="campaign", clock=clock
    ) as target:
        require(ctx.actor, "compliance.campaign")
        if cadre not in CADRES:
            raise ValidationFailed(
                f"cadre must be one of: {', '.join(CADRES)}.", field="cadre", code="HS-1870"
            )
        now = clock.now()
        if deadline.year < 2020 or deadline.year > now.year + 5:
            raise ValidationFailed(
                "deadline must be a date between 2020 and five years from now.",
                field="deadline",
                code="HS-1871",
            )
        previous = open_campaigns(session).get(cadre)
        if previous is not None:
            previous.closed_at = now
        campaign = ComplianceCampaign(
            cadre=cadre, deadline=deadline, created_by=ctx.actor.id[:64], created_at=now
        )
        session.add(campaign)
        session.flush()
        target.resource_id = str(campaign.public_id)
        return campaign


# --------------------------------------------------------------------------- status


@dataclass
class ComplianceRow:
    entry: RosterEntry
    hpr_id: str | None
    registration: str  # reconcile.registration_status
    status: str  # STATUSES
    deadline: date | None
    days_overdue: int | None
    step: int  # the highest rung of the open campaign's ladder reached (0: none)
    step_at: datetime | None
    exemption: Exemption | None


def _active_exemptions(session: Session, today: date) -> dict[str, Exemption]:
    rows = session.scalars(
        select(Exemption)
        .where(Exemption.revoked_at.is_(None))
        .where((Exemption.until.is_(None)) | (Exemption.until >= today))
        .order_by(Exemption.id)
    )
    return {e.employee_id: e for e in rows}


def compliance_rows(
    session: Session,
    *,
    actor: Actor | None,
    today: date,
    cadre: str | None = None,
    status: str | None = None,
    district_lgd: int | None = None,
    hfr_id: str | None = None,
    employee_id: str | None = None,
) -> list[ComplianceRow]:
    """The current roster's entries in ``actor``'s scope (None: the whole state, for
    the scheduled job) with their status. Unaudited: callers audit."""
    roster = current_roster(session)
    if roster is None:
        return []
    query = (
        select(RosterEntry, Professional.hpr_id, Professional.status)
        .outerjoin(Professional, Professional.id == RosterEntry.professional_id)
        .where(RosterEntry.import_id == roster.id)
    )
    if actor is not None:
        query = scope_filter(actor, query)
    if cadre:
        query = query.where(RosterEntry.cadre == cadre)
    if district_lgd is not None:
        query = query.where(RosterEntry.district_lgd == district_lgd)
    if hfr_id:
        query = query.where(RosterEntry.hfr_id == hfr_id.strip().upper())
    if employee_id:
        query = query.where(RosterEntry.employee_id == employee_id)
    campaigns = open_campaigns(session)
    steps: dict[tuple[str, int], tuple[int, datetime]] = {}
    if campaigns:
        for emp, cid, step, at in session.execute(
            select(
                EscalationStep.employee_id,
                EscalationStep.campaign_id,
                func.max(EscalationStep.step),
                func.max(EscalationStep.at),
            )
            .where(EscalationStep.campaign_id.in_([c.id for c in campaigns.values()]))
            .group_by(EscalationStep.employee_id, EscalationStep.campaign_id)
        ):
            steps[(emp, cid)] = (int(step), at)
    exempt = _active_exemptions(session, today)
    out = []
    for entry, hpr, prof_status in session.execute(query.order_by(RosterEntry.line)):
        registration = registration_status(entry.link, prof_status)
        campaign = campaigns.get(entry.cadre)
        deadline = campaign.deadline if campaign else None
        days = None
        state = registration
        exemption = exempt.get(entry.employee_id)
        if registration == "not_registered":
            if exemption is not None:
                state = "exempt"
            elif deadline is not None and today > deadline:
                state, days = "overdue", (today - deadline).days
        step, step_at = (0, None)
        if campaign is not None:
            step, step_at = steps.get((entry.employee_id, campaign.id), (0, None))
        row = ComplianceRow(
            entry, hpr, registration, state, deadline, days, step, step_at, exemption
        )
        if status is None or row.status == status:
            out.append(row)
    return out


def list_status(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    cadre: str | None = None,
    status: str | None = None,
    district_lgd: int | None = None,
    hfr_id: str | None = None,
) -> list[ComplianceRow]:
    """Each roster entry's compliance status, in the caller's scope (audited)."""
    with audited(
        session, ctx, action="compliance.status.list", resource_type="roster", clock=clock
    ):
        require(ctx.actor, "compliance.read")
        if cadre is not None and cadre not in CADRES:
            raise ValidationFailed(
                f"cadre must be one of: {', '.join(CADRES)}.", field="cadre", code="HS-1870"
            )
        if status is not None and status not in STATUSES:
            raise ValidationFailed(
                f"status must be one of: {', '.join(STATUSES)}.", field="status", code="HS-1872"
            )
        return compliance_rows(
            session,
            actor=ctx.actor,
            today=ist_date(clock.now()),
            cadre=cadre,
            status=status,
            district_lgd=district_lgd,
            hfr_id=hfr_id,
        )


# --------------------------------------------------------------------------- people


def _entry_for(session: Session, actor: Actor, employee_id: str) -> RosterEntry:
    roster = current_roster(session)
    entry = None
    if roster is not None:
        entry = session.scalar(
            select(RosterEntry).where(
                RosterEntry.import_id == roster.id, RosterEntry.employee_id == employee_id[:40]
            )
        )
    if entry is None or not in_scope(actor, entry):
        raise NotFound(
            "No post holder with this employee id is on the roster in your scope. Check "
            "the id against the roster list.",
            code="HS-1873",
        )
    return entry


@dataclass
class PersonHistory:
    row: ComplianceRow
    steps: Sequence[EscalationStep]
    exemptions: Sequence[Exemption]


def person_history(
    session: Session, ctx: RequestContext, *, clock: Clock, employee_id: str
) -> PersonHistory:
    """One person's status, every rung of the ladder reached and every exemption."""
    with audited(
        session,
        ctx,
        action="compliance.person.read",
        resource_type="roster_entry",
        clock=clock,
    ) as target:
        require(ctx.actor, "compliance.read")
        entry = _entry_for(session, ctx.actor, employee_id)
        target.resource_id = str(entry.public_id)
        rows = compliance_rows(
            session, actor=ctx.actor, today=ist_date(clock.now()), employee_id=entry.employee_id
        )
        steps = session.scalars(
            select(EscalationStep)
            .where(EscalationStep.employee_id == entry.employee_id)
            .order_by(EscalationStep.at, EscalationStep.step)
        ).all()
        exemptions = session.scalars(
            select(Exemption)
            .where(Exemption.employee_id == entry.employee_id)
            .order_by(Exemption.created_at)
        ).all()
        return PersonHistory(rows[0], steps, exemptions)


def grant_exemption(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    employee_id: str,
    kind: str,
    reason: str,
    until: date | None = None,
) -> Exemption:
    """Stop the ladder for this person (leave, deputation, a vacant post), recording
    why and who approved it."""
    with audited(
        session, ctx, action="compliance.exemption.grant", resource_type="roster_entry", clock=clock
    ) as target:
        require(ctx.actor, "compliance.exempt")
        entry = _entry_for(session, ctx.actor, employee_id)
        target.resource_id = str(entry.public_id)
        if kind not in EXEMPTION_KINDS:
            raise ValidationFailed(
                f"kind must be one of: {', '.join(EXEMPTION_KINDS)}.", field="kind", code="HS-1874"
            )
        text = " ".join((reason or "").split())
        if len(text) < 5:
            raise ValidationFailed(
                "Give the reason for the exemption (for example the leave order number).",
                field="reason",
                code="HS-1875",
            )
        now = clock.now()
        if until is not None and until < ist_date(now):
            raise ValidationFailed(
                "until is in the past: give the last day the exemption covers, or leave it "
                "empty for an exemption until revoked.",
                field="until",
                code="HS-1876",
            )
        exemption = Exemption(
            employee_id=entry.employee_id,
            kind=kind,
            reason=text[:500],
            until=until,
            approved_by=ctx.actor.id[:64],
            approved_by_name=(ctx.actor.display or ctx.actor.id)[:64],
            approver_role=ctx.actor.role.value if ctx.actor.role else "system",
            created_at=now,
        )
        session.add(exemption)
        session.flush()
        return exemption


def revoke_exemption(
    session: Session, ctx: RequestContext, *, clock: Clock, exemption_id: str | uuid.UUID
) -> Exemption:
    """End an exemption: the ladder resumes on the next run."""
    with audited(
        session,
        ctx,
        action="compliance.exemption.revoke",
        resource_type="exemption",
        resource_id=str(exemption_id)[:64],
        clock=clock,
    ):
        require(ctx.actor, "compliance.exempt")
        try:
            pid = uuid.UUID(str(exemption_id))
        except ValueError:
            pid = None
        found = session.scalar(select(Exemption).where(Exemption.public_id == pid)) if pid else None
        if found is not None:
            _entry_for(session, ctx.actor, found.employee_id)  # 404 outside the scope
        if found is None or found.revoked_at is not None:
            raise NotFound(
                "No exemption in force has this id. Open the person's history again.",
                code="HS-1877",
            )
        found.revoked_at = clock.now()
        session.flush()
        return found


# --------------------------------------------------------------------------- notices

# The rungs (escalation.LADDER) from which a person is on the facility head's notice
# and on the district officer's show-cause list.
NOTICE_STEP = 3
SHOW_CAUSE_STEP = 4


@dataclass
class FacilityNotice:
    """One facility's notice: the overdue staff who reached the notice rung."""

    hfr_id: str
    name: str | None
    district_lgd: int
    rows: list[ComplianceRow]


def _facility_names(session: Session, hfr_ids: Sequence[str]) -> dict[str, str]:
    from healthstack.network.hfr.models import Facility  # the registry compliance checks

    if not hfr_ids:
        return {}
    return {
        str(h): str(n)
        for h, n in session.execute(
            select(Facility.hfr_id, Facility.name).where(Facility.hfr_id.in_(list(hfr_ids)))
        )
    }


def _at_rung(rows: Sequence[ComplianceRow], step: int) -> list[ComplianceRow]:
    return [r for r in rows if r.status == "overdue" and r.step >= step]


def facility_notices(
    session: Session, ctx: RequestContext, *, clock: Clock
) -> list[FacilityNotice]:
    """The facilities in the caller's scope with staff at the notice rung or beyond,
    most overdue first."""
    with audited(
        session, ctx, action="compliance.notice.list", resource_type="roster", clock=clock
    ):
        require(ctx.actor, "compliance.read")
        rows = _at_rung(
            compliance_rows(
                session, actor=ctx.actor, today=ist_date(clock.now()), status="overdue"
            ),
            NOTICE_STEP,
        )
        by_facility: dict[str, list[ComplianceRow]] = {}
        for r in rows:
            by_facility.setdefault(r.entry.hfr_id, []).append(r)
        names = _facility_names(session, sorted(by_facility))
        notices = [
            FacilityNotice(hfr, names.get(hfr), group[0].entry.district_lgd, group)
            for hfr, group in by_facility.items()
        ]
        notices.sort(key=lambda n: (-max(r.days_overdue or 0 for r in n.rows), n.hfr_id))
        return notices


def facility_notice(
    session: Session, ctx: RequestContext, *, clock: Clock, hfr_id: str
) -> FacilityNotice:
    """The notice to the head of ``hfr_id`` (possibly empty: nobody at that rung yet);
    not found when no roster post of the facility is in the caller's scope."""
    code = hfr_id.strip().upper()[:12]
    with audited(
        session,
        ctx,
        action="compliance.notice.facility",
        resource_type="facility",
        resource_id=code,
        clock=clock,
    ):
        require(ctx.actor, "compliance.read")
        roster = current_roster(session)
        sample = None
        if roster is not None:
            sample = session.scalar(
                select(RosterEntry)
                .where(RosterEntry.import_id == roster.id, RosterEntry.hfr_id == code)
                .limit(1)
            )
        if sample is None or not in_scope(ctx.actor, sample):
            raise NotFound(
                "No roster posts at this facility are in your scope. Check the HFR id.",
                code="HS-1878",
            )
        rows = _at_rung(
            compliance_rows(
                session, actor=ctx.actor, today=ist_date(clock.now()), hfr_id=code, status="overdue"
            ),
            NOTICE_STEP,
        )
        return FacilityNotice(
            code, _facility_names(session, [code]).get(code), sample.district_lgd, rows
        )


def show_cause_list(
    session: Session, ctx: RequestContext, *, clock: Clock, district_lgd: int | None = None
) -> list[ComplianceRow]:
    """The show-cause list: overdue people who reached the last rung, in the caller's
    scope (and ``district_lgd``, when given), by district then most overdue."""
    with audited(session, ctx, action="compliance.show_cause", resource_type="roster", clock=clock):
        require(ctx.actor, "compliance.read")
        rows = _at_rung(
            compliance_rows(
                session,
                actor=ctx.actor,
                today=ist_date(clock.now()),
                district_lgd=district_lgd,
                status="overdue",
            ),
            SHOW_CAUSE_STEP,
        )
        rows.sort(key=lambda r: (r.entry.district_lgd, -(r.days_overdue or 0), r.entry.line))
        return rows


def summary_counts(rows: Sequence[ComplianceRow]) -> dict[str, Any]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in rows:
        counts[r.status] += 1
    return counts
