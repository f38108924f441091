"""Roster ↔ HPR reconciliation, the roster in force it works on (``current_roster``,
which the upload's confirm replaces), and the review that settles uncertain pairs.

Keys, strongest first: the council registration (council + number, separators and
case ignored), then the mobile, then the name with the birth year. A key links an
entry only when the rest agrees well enough; otherwise the candidates wait for a
reviewer (``uncertain``). The HPR records are read once per run (a dictionary per
key), not once per roster entry: the full roster reconciles in one pass.

An entry a reviewer settled is never re-linked automatically; entries with no HPR
record are tried again on every run (the escalation job runs it first), so a doctor
who registers after the roster import stops being chased.

One HPR record is one person, so it links to one post at most: when two entries
claim the same record, the stronger key keeps it (council, then mobile, then name)
and the other waits for a reviewer with the record as its candidate; a tie, or a
record another post already holds, sends every new claim to review. A name with the
birth year links on its own only where HPR places the person (a work place in the
post's district or at its facility): in a state where a few names are shared by
thousands, a namesake elsewhere is not evidence enough.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, RequestContext, Role
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import parse_hpr_id
from healthstack.network.hpr.models import Professional, ProfessionalWorkplace
from healthstack.network.hpr.service import _name_similarity

from .models import RosterEntry, RosterImport

# A name this close (word order ignored) with the same birth year links on its own.
NAME_LINK = 0.97
# Below this a name is not a candidate at all.
NAME_CANDIDATE = 0.75
# A council number or mobile whose holder's name is this unlike the roster's is a
# data-entry slip more often than the same person: a reviewer decides.
KEY_NAME_FLOOR = 0.6

STATUSES = ("registered_verified", "registered_pending", "not_registered", "uncertain")


def current_roster(session: Session) -> RosterImport | None:
    """The roster in force: the last confirmed upload; None before any."""
    return session.scalar(
        select(RosterImport)
        .where(RosterImport.status == "confirmed")
        .order_by(RosterImport.confirmed_at.desc(), RosterImport.id.desc())
        .limit(1)
    )


def registration_status(link: str, professional_status: str | None) -> str:
    """What the roster entry's HPR registration amounts to."""
    if link == "uncertain":
        return "uncertain"
    if link == "matched" and professional_status == "VERIFIED":
        return "registered_verified"
    if link == "matched" and professional_status == "SUBMITTED":
        return "registered_pending"
    return "not_registered"  # no record, or the council verifier rejected it


Who = tuple[int, str, str]  # (professional id, hpr_id, name_key)


@dataclass
class _Born:
    """The professionals born in one year, with their name keys as parallel lists (the
    shapes rapidfuzz scans in C)."""

    who: list[Who] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    sorted_keys: list[str] = field(default_factory=list)


@dataclass
class _People:
    by_council: dict[tuple[str, str], Who]
    by_mobile: dict[str, list[Who]]
    by_year: dict[int, _Born]
    # Where HPR places each professional: their work places' HFR ids and districts.
    places: dict[int, tuple[set[str], set[int]]] = field(default_factory=dict)

    def works_at(self, pid: int, entry: RosterEntry) -> bool:
        hfr_ids, districts = self.places.get(pid, (set(), set()))
        return entry.hfr_id in hfr_ids or entry.district_lgd in districts


def _sorted_words(key: str) -> str:
    return " ".join(sorted(key.split()))


def _people(session: Session, cadres: set[str], years: set[int]) -> _People:
    P = Professional
    people = _People({}, defaultdict(list), defaultdict(_Born))
    rows = session.execute(
        select(
            P.id,
            P.hpr_id,
            P.name_key,
            P.council,
            P.registration_key,
            P.mobile,
            P.year_of_birth,
            P.category,
        )
    )
    for pid, hpr, key, council, reg, mobile, year, category in rows:
        who = (pid, hpr, key)
        people.by_council[(council, reg)] = who
        if category in cadres:
            people.by_mobile[mobile].append(who)
            if year in years:
                born = people.by_year[year]
                born.who.append(who)
                born.keys.append(key)
                born.sorted_keys.append(_sorted_words(key))
                people.places[pid] = (set(), set())
    if people.places:
        W = ProfessionalWorkplace
        for pid, hfr, district in session.execute(
            select(W.professional_id, W.hfr_id, W.district_lgd)
            .join(P, P.id == W.professional_id)
            .where(P.category.in_(cadres), P.year_of_birth.in_(years))
        ):
            if pid in people.places:
                people.places[pid][0].add(hfr)
                if district is not None:
                    people.places[pid][1].add(int(district))
    return people


def _namesakes(entry: RosterEntry, people: _People, floor: float) -> list[tuple[float, bool, Who]]:
    """(score, same birth year, who) of the professionals born within a year of the
    entry whose name scores at least ``floor``, best first.

    rapidfuzz's ratio (from the longest common subsequence) is never below difflib's
    (from matching blocks, a common subsequence), so it safely drops the names that
    cannot reach ``floor``, in C; the survivors get the registry's own score."""
    assert entry.birth_year is not None
    cutoff = floor * 100
    key, sorted_key = entry.name_key, _sorted_words(entry.name_key)
    near = []
    for year in (entry.birth_year - 1, entry.birth_year, entry.birth_year + 1):
        born = people.by_year.get(year)
        if born is None:
            continue
        hits = {
            i
            for query, keys in ((key, born.keys), (sorted_key, born.sorted_keys))
            for _, _, i in process.extract(
                query, keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
            )
        }
        for i in hits:
            who = born.who[i]
            score = _name_similarity(key, who[2])
            if score >= floor:
                near.append((score, year == entry.birth_year, who))
    near.sort(key=lambda t: (-t[0], not t[1]))
    return near


def _decide(
    entry: RosterEntry, people: _People
) -> tuple[str, str | None, int | None, float | None, list[dict[str, Any]]]:
    """(link, method, professional id, score, candidates) for one entry."""
    unknown_council = False
    if entry.council and entry.registration_key:
        found = people.by_council.get((entry.council, entry.registration_key))
        if found is not None:
            score = _name_similarity(entry.name_key, found[2])
            if score >= KEY_NAME_FLOOR:
                return "matched", "council", found[0], score, []
            return (
                "uncertain",
                None,
                None,
                None,
                [{"hpr_id": found[1], "score": score, "via": "council"}],
            )
        unknown_council = True
    candidates: dict[str, dict[str, Any]] = {}
    if entry.mobile:
        same = people.by_mobile.get(entry.mobile, [])
        scored = [(_name_similarity(entry.name_key, w[2]), w) for w in same]
        good = [(s, w) for s, w in scored if s >= KEY_NAME_FLOOR]
        if len(good) == 1:
            return "matched", "mobile", good[0][1][0], good[0][0], []
        for s, w in scored:
            candidates[w[1]] = {"hpr_id": w[1], "score": s, "via": "mobile"}
    if entry.birth_year:
        if unknown_council:
            # HR holds a council registration HPR has never seen: most likely the
            # person is not registered, and a namesake (common in a state where a few
            # names are shared by thousands) is weak evidence. Only a near-identical
            # name of the same birth year goes to a reviewer; none links by itself.
            near = [t for t in _namesakes(entry, people, NAME_LINK) if t[1]]
        else:
            near = _namesakes(entry, people, NAME_CANDIDATE)
            if near and not candidates:
                best, exact_year, who = near[0]
                runner_up = near[1][0] if len(near) > 1 else 0.0
                if (
                    best >= NAME_LINK
                    and exact_year
                    and runner_up < NAME_LINK
                    and people.works_at(who[0], entry)
                ):
                    return "matched", "name", who[0], best, []
        for s, _, w in near[:5]:
            candidates.setdefault(w[1], {"hpr_id": w[1], "score": s, "via": "name"})
    if candidates:
        ranked = sorted(candidates.values(), key=lambda c: -c["score"])[:5]
        return "uncertain", None, None, None, ranked
    return "none", None, None, None, []


def reconcile_roster(
    session: Session, ctx: RequestContext, *, roster: RosterImport, clock: Clock
) -> dict[str, int]:
    """Link the roster's entries without an HPR record (and never reviewed) to HPR.
    Returns how many entries ended in each link state."""
    with audited(
        session,
        ctx,
        action="compliance.roster.reconcile",
        resource_type="roster",
        resource_id=str(roster.public_id),
        clock=clock,
    ):
        open_entries = list(
            session.scalars(
                select(RosterEntry).where(
                    RosterEntry.import_id == roster.id,
                    RosterEntry.link.in_(("none", "uncertain")),
                    RosterEntry.reviewed_at.is_(None),
                )
            )
        )
        if open_entries:
            people = _people(
                session,
                {e.cadre for e in open_entries},
                {y + d for e in open_entries if (y := e.birth_year) for d in (-1, 0, 1)},
            )
            decided = [(entry, *_decide(entry, people)) for entry in open_entries]
            held: set[int] = set(
                pid
                for pid in session.scalars(
                    select(RosterEntry.professional_id).where(
                        RosterEntry.import_id == roster.id,
                        RosterEntry.link == "matched",
                        RosterEntry.professional_id.is_not(None),
                    )
                )
                if pid is not None
            )
            hpr_of = {who[0]: who[1] for who in people.by_council.values()}
            for entry, link, method, pid, score, candidates in _one_post_per_record(
                decided, held, hpr_of
            ):
                entry.link, entry.method, entry.professional_id = link, method, pid
                entry.score, entry.candidates = score, candidates
            session.flush()
        return link_counts(session, roster)


_STRENGTH = {"council": 3, "mobile": 2, "name": 1}
Decision = tuple[RosterEntry, str, str | None, int | None, float | None, list[dict[str, Any]]]


def _one_post_per_record(
    decided: list[Decision], held: set[int], hpr_of: dict[int, str]
) -> list[Decision]:
    """The decisions with no record linked twice: per record the one strongest claim
    keeps it, unless another post holds it already or the strongest claims tie; every
    other claim becomes uncertain, the record its candidate."""
    claims: dict[int, list[int]] = defaultdict(list)
    for i, (_, link, _, pid, _, _) in enumerate(decided):
        if link == "matched" and pid is not None:
            claims[pid].append(i)
    out = list(decided)
    for pid, indexes in claims.items():
        if len(indexes) == 1 and pid not in held:
            continue
        ranked = sorted(indexes, key=lambda i: -_STRENGTH.get(decided[i][2] or "", 0))
        keep = None
        if pid not in held:
            top = [i for i in ranked if decided[i][2] == decided[ranked[0]][2]]
            keep = ranked[0] if len(top) == 1 else None
        for i in indexes:
            if i == keep:
                continue
            entry, _, method, _, score, _ = decided[i]
            candidate = {"hpr_id": hpr_of.get(pid, ""), "score": score, "via": method}
            out[i] = (entry, "uncertain", None, None, None, [candidate])
    return out


def link_counts(session: Session, roster: RosterImport) -> dict[str, int]:
    """How many of the roster's entries are matched, uncertain and without a record."""
    counts = dict(
        session.execute(
            select(RosterEntry.link, func.count())
            .where(RosterEntry.import_id == roster.id)
            .group_by(RosterEntry.link)
        ).all()
    )
    return {k: int(counts.get(k, 0)) for k in ("matched", "uncertain", "none")}


# --------------------------------------------------------------------------- scope


def sees_everything(actor: Actor) -> bool:
    return actor.role is Role.STATE_ADMIN


def in_scope(actor: Actor, entry: RosterEntry) -> bool:
    """State admin: all; district officer: their district; facility admin: their
    facility's posts. Anyone else sees nothing (and gets 404, not a hint)."""
    if actor.role is Role.STATE_ADMIN:
        return True
    if actor.role is Role.DISTRICT_OFFICER:
        return actor.district_lgd is not None and entry.district_lgd == actor.district_lgd
    if actor.role is Role.FACILITY_ADMIN:
        return actor.facility_id is not None and entry.hfr_id == actor.facility_id
    return False


def scope_filter(actor: Actor, query: Any) -> Any:
    if actor.role is Role.STATE_ADMIN:
        return query
    if actor.role is Role.DISTRICT_OFFICER and actor.district_lgd is not None:
        return query.where(RosterEntry.district_lgd == actor.district_lgd)
    if actor.role is Role.FACILITY_ADMIN and actor.facility_id is not None:
        return query.where(RosterEntry.hfr_id == actor.facility_id)
    return query.where(RosterEntry.id.is_(None))


def get_entry(session: Session, *, actor: Actor, entry_id: str | uuid.UUID) -> RosterEntry:
    try:
        pid = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id))
    except ValueError:
        pid = None
    found = None
    if pid is not None:
        found = session.scalar(select(RosterEntry).where(RosterEntry.public_id == pid))
    if found is None or not in_scope(actor, found):
        raise NotFound(
            "No roster entry with this id is in your scope. Open the review list again.",
            code="HS-1861",
        )
    return found


# --------------------------------------------------------------------------- review


@dataclass
class ReviewItem:
    entry: RosterEntry
    candidates: list[tuple[Professional, float, str]]


def list_uncertain(
    session: Session, ctx: RequestContext, *, clock: Clock, page: int = 1, page_size: int = 25
) -> tuple[list[ReviewItem], int]:
    """The current roster's uncertain entries in the caller's scope, with their HPR
    candidates, for the review screen (audited: it shows people's details)."""
    with audited(
        session, ctx, action="compliance.review.list", resource_type="roster", clock=clock
    ):
        require(ctx.actor, "compliance.review")
        roster = current_roster(session)
        if roster is None:
            return [], 0
        base = scope_filter(
            ctx.actor,
            select(RosterEntry).where(
                RosterEntry.import_id == roster.id, RosterEntry.link == "uncertain"
            ),
        )
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        entries = list(
            session.scalars(
                base.order_by(RosterEntry.line).offset((page - 1) * page_size).limit(page_size)
            )
        )
        wanted = {c["hpr_id"] for e in entries for c in e.candidates}
        found = (
            {
                p.hpr_id: p
                for p in session.scalars(
                    select(Professional).where(Professional.hpr_id.in_(wanted))
                )
            }
            if wanted
            else {}
        )
        items = [
            ReviewItem(
                e,
                [
                    (found[c["hpr_id"]], float(c["score"]), c["via"])
                    for c in e.candidates
                    if c["hpr_id"] in found
                ],
            )
            for e in entries
        ]
        return items, int(total)


def settle_entry(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    entry_id: str | uuid.UUID,
    hpr_id: str | None,
) -> RosterEntry:
    """A reviewer's decision: ``hpr_id`` is the same person, or None (not in HPR)."""
    with audited(
        session,
        ctx,
        action="compliance.review.settle",
        resource_type="roster_entry",
        resource_id=str(entry_id)[:64],
        clock=clock,
    ):
        require(ctx.actor, "compliance.review")
        entry = get_entry(session, actor=ctx.actor, entry_id=entry_id)
        if hpr_id is None:
            entry.link, entry.method, entry.professional_id, entry.score = (
                "none",
                "review",
                None,
                None,
            )
        else:
            number = parse_hpr_id(hpr_id)
            professional = session.scalar(select(Professional).where(Professional.hpr_id == number))
            if professional is None:
                raise ValidationFailed(
                    "No HPR record has this HPR id. Pick one of the candidates, or 'None of "
                    "these' when the person is not registered.",
                    field="hpr_id",
                    code="HS-1862",
                )
            taken = session.scalar(
                select(RosterEntry.employee_id).where(
                    RosterEntry.import_id == entry.import_id,
                    RosterEntry.professional_id == professional.id,
                    RosterEntry.id != entry.id,
                )
            )
            if taken is not None:
                raise ValidationFailed(
                    f"This HPR record is already linked to employee {taken} on the roster. "
                    "Settle that entry first if the link is wrong.",
                    field="hpr_id",
                    code="HS-1863",
                )
            entry.link, entry.method, entry.professional_id = "matched", "review", professional.id
            entry.score = next(
                (c["score"] for c in entry.candidates if c["hpr_id"] == number), None
            )
        entry.reviewed_by = ctx.actor.id[:64]
        entry.reviewed_at = clock.now()
        session.flush()
        return entry
