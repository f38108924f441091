"""What the coverage dashboard reads from compliance (``programme.monitoring.indicators``), and
the one definition of "not in HPR" that both show. Compliance never reads the
dashboard: the dashboard reads these.

- the doctors / nurses figures: public professionals verified in HPR, each at their
  first work place (``public_professionals``);
- the doctors / nurses denominators: posts per district on the roster in force;
- ``hpr.overdue``: the people the escalation job found overdue on its last run (at
  least one rung of an open campaign reached, still not registered, not exempt). The
  job runs with the injected clock, so the figure is as of its last run; the worker
  rebuilds the figure right after each run.
- "not in HPR" (``DEFINITION``, ``hpr_gaps``): a cadre's posts on the roster minus its
  public professionals verified in HPR, which is the dashboard's target minus its
  value. It answers "how many are not in HPR" whatever the state of the roster's
  data. The compliance pages also name people, post by post, through the roster's
  reconciliation; ``HprGap`` carries that breakdown and the two terms by which the
  named list differs from the count, so the pages can show why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.kernel.clock import ist_date
from healthstack.network.hpr.models import Professional
from healthstack.network.hpr.models import ProfessionalWorkplace as W

from .models import ComplianceCampaign, EscalationStep, Exemption, RosterEntry
from .reconcile import current_roster
from .service import CADRES, ComplianceRow

# Stated on the dashboard's doctor and nurse figures and on the compliance status page.
DEFINITION = (
    "Not in HPR = {cadre} posts on the HR roster in force − public {cadre}s verified in "
    "HPR (each counted at their first work place)."
)


def definition(cadre: str) -> str:
    return DEFINITION.format(cadre=cadre)


@dataclass(frozen=True)
class HprGap:
    """A cadre's posts against its professionals verified in HPR, in one scope.

    ``missing`` (posts − in_hpr) is the figure. The roster names the people behind it
    post by post, and the named list differs from the figure by two terms, so that
    ``missing == not_registered + uncertain + pending - unlinked + elsewhere``:
    ``unlinked`` verified professionals no post of the roster is linked to yet (their
    post waits for review, or HR lists them elsewhere), ``elsewhere`` posts linked to a
    record the figure does not count there (a private or other district's first work
    place, or one record claimed by two posts)."""

    cadre: str
    posts: int
    in_hpr: int
    not_registered: int  # no HPR record, or rejected (overdue and exempt included)
    uncertain: int  # the reconciliation waits for a reviewer
    pending: int  # registered, waiting for the council's verifier
    unlinked: int
    elsewhere: int

    @property
    def missing(self) -> int:
        return self.posts - self.in_hpr

    @property
    def definition(self) -> str:
        return definition(self.cadre)


def public_professionals(
    session: Session, cadre: str
) -> list[tuple[str, int | None, str | None, date]]:
    """(HPR id, district, facility, day verified) of each public professional of the
    cadre verified in HPR, at their first work place: the count the dashboard shows
    (``hpr.doctors``, ``hpr.nurses``) and ``hpr_gaps`` compares the roster with."""
    people = {
        pid: (hpr, at)
        for pid, hpr, at in session.execute(
            select(Professional.id, Professional.hpr_id, Professional.status_changed_at).where(
                Professional.status == "VERIFIED", Professional.category == cadre
            )
        )
    }
    places: dict[int, list[tuple[str, str, int | None]]] = defaultdict(list)
    if people:
        for pid, hfr, sector, d in session.execute(
            select(W.professional_id, W.hfr_id, W.sector, W.district_lgd)
            .join(Professional, Professional.id == W.professional_id)
            .where(Professional.status == "VERIFIED", Professional.category == cadre)
            .order_by(W.professional_id, W.position)
        ):
            places[pid].append((hfr, sector, d))
    members = []
    for pid, (hpr, at) in people.items():
        work = places.get(pid, [])
        # Public professionals: at least one public post (sector "public" or "both").
        if not any(sector == "public" for _, sector, _ in work):
            continue
        hfr, _, d = work[0]
        members.append((hpr, d, hfr or None, ist_date(at)))
    return members


def hpr_gaps(
    session: Session,
    rows: Sequence[ComplianceRow],
    *,
    district_lgd: int | None = None,
    hfr_id: str | None = None,
) -> list[HprGap]:
    """Each cadre's gap over ``rows`` (every roster entry of one scope: the state, a
    district, a facility), against the dashboard's count in the same scope."""
    gaps = []
    for cadre in CADRES:
        ours = [r for r in rows if r.entry.cadre == cadre]
        members = {
            key
            for key, d, f, _ in public_professionals(session, cadre)
            if (district_lgd is None or d == district_lgd) and (hfr_id is None or f == hfr_id)
        }
        linked = {r.hpr_id for r in ours if r.status == "registered_verified"}
        verified_posts = sum(1 for r in ours if r.status == "registered_verified")
        unlinked = len(members - linked)
        gaps.append(
            HprGap(
                cadre=cadre,
                posts=len(ours),
                in_hpr=len(members),
                not_registered=sum(
                    1 for r in ours if r.status in ("not_registered", "overdue", "exempt")
                ),
                uncertain=sum(1 for r in ours if r.status == "uncertain"),
                pending=sum(1 for r in ours if r.status == "registered_pending"),
                unlinked=unlinked,
                # What makes the identity hold: verified posts the count does not hold.
                elsewhere=verified_posts - (len(members) - unlinked),
            )
        )
    return gaps


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
