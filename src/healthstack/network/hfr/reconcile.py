"""Reconciling the state's master list of public facilities with HFR.

Each entry of the current master (the state's last confirmed import) ends up
``matched`` to one HFR facility, ``master_only`` or ``ambiguous``; each public HFR
facility of the state (not rejected) that no entry claims is ``hfr_only``. In order:

1. exact code: a facility that carries the entry's master code is its match;
2. earlier settlements on the review screen are kept (by master code), while the
   facility picked still exists and is free;
3. by name, within the same district and type only, and among names with the same
   numbers ("SC Ward 3" is not "SC Ward 7"): this blocking keeps a full state master
   of 3,607 entries against ~4,000 facilities to a few thousand comparisons, not 14
   million. Names are reduced to their distinctive words
   (``names.distinctive_key``); equal keys on exactly one entry and one facility
   match; otherwise a facility scoring at least ``MATCH_AT`` matches when it is clearly
   the best for the entry and the entry clearly the best for it (``MARGIN``); any
   candidate at ``CANDIDATE_AT`` or more makes the entry ambiguous, for a person.

"Public facilities registered" (``public_facility_coverage``) counts master entries
matched to a *verified* facility; verification after the run counts at once, and a
facility registered with the entry's master code is linked at once
(``link_by_code``). Other new registrations join at the next run.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import Conflict, NotFound, ValidationFailed
from healthstack.kernel.ids import parse_hfr_id
from healthstack.network.hfr.enums import FacilityStatus, MatchMethod, MatchStatus, Ownership
from healthstack.network.hfr.models import (
    Facility,
    FacilityMasterEntry,
    FacilityMasterImport,
    FacilityMasterMatch,
)
from healthstack.network.hfr.names import distinctive_key, numbers, similarity

MATCH_AT = 0.92
CANDIDATE_AT = 0.75
MARGIN = 0.08
MAX_CANDIDATES = 3


def current_import(session: Session, state_lgd: int) -> FacilityMasterImport | None:
    """The state's master list in force: its last confirmed import."""
    return session.scalar(
        select(FacilityMasterImport)
        .where(
            FacilityMasterImport.state_lgd == state_lgd, FacilityMasterImport.status == "confirmed"
        )
        .order_by(FacilityMasterImport.confirmed_at.desc(), FacilityMasterImport.id.desc())
        .limit(1)
    )


@dataclass
class _Master:
    id: int
    code: str
    key: str


@dataclass
class _Hfr:
    id: int
    hfr_id: str
    key: str


@dataclass
class _Rows:
    """The reconciliation being built: one dict per ``facility_master_match`` row."""

    import_id: int
    state_lgd: int
    at: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)  # facilities matched
    offered: set[int] = field(default_factory=set)  # facilities in an ambiguous entry

    def add(
        self,
        status: MatchStatus,
        *,
        master: _Master | None = None,
        hfr: _Hfr | None = None,
        method: MatchMethod | None = None,
        score: float | None = None,
        candidates: list[dict[str, Any]] | None = None,
        settled: tuple[str | None, datetime | None] = (None, None),
    ) -> None:
        if status is MatchStatus.MATCHED and hfr is not None:
            self.taken.add(hfr.id)
        self.rows.append(
            {
                "public_id": uuid.uuid4(),
                "state_lgd": self.state_lgd,
                "import_id": self.import_id,
                "master_entry_id": master.id if master else None,
                "facility_id": hfr.id if hfr else None,
                "status": status.value,
                "method": method.value if method else None,
                "score": round(score, 4) if score is not None else None,
                "candidates": candidates or [],
                "settled_by": settled[0],
                "settled_at": settled[1],
                "created_at": self.at,
            }
        )


@dataclass(frozen=True)
class ReconcileSummary:
    import_id: uuid.UUID
    state_lgd: int
    counts: dict[str, int]
    registered: int
    total: int


def reconcile_master(
    session: Session, ctx: RequestContext, *, clock: Clock, state_lgd: int
) -> ReconcileSummary:
    """Rebuild the state's reconciliation from the current master and HFR."""
    with audited(
        session,
        ctx,
        action="facility.master.reconcile",
        resource_type="facility_master",
        clock=clock,
    ) as target:
        require(ctx.actor, "facility.reconcile")
        master = current_import(session, state_lgd)
        if master is None:
            raise NotFound(
                "No master list of this state's public facilities has been imported yet. "
                "Import one first (upload the CSV, check the preview, confirm).",
                code="HS-1360",
            )
        target.resource_id = str(master.public_id)
        run_reconciliation(session, master, at=clock.now())
        return summarise(session, master)


def run_reconciliation(session: Session, master: FacilityMasterImport, *, at: datetime) -> None:
    """The work of ``reconcile_master``, without the permission check (confirm calls it)."""
    state = master.state_lgd
    settled = _settlements(session, state)
    session.execute(delete(FacilityMasterMatch).where(FacilityMasterMatch.state_lgd == state))
    built = _Rows(master.id, state, at)

    entries = session.execute(
        select(
            FacilityMasterEntry.id,
            FacilityMasterEntry.master_code,
            FacilityMasterEntry.name,
            FacilityMasterEntry.district_lgd,
            FacilityMasterEntry.facility_type,
        ).where(FacilityMasterEntry.import_id == master.id)
    ).all()
    facilities = session.execute(
        select(
            Facility.id,
            Facility.hfr_id,
            Facility.name,
            Facility.district_lgd,
            Facility.facility_type,
            Facility.master_code,
        ).where(
            Facility.state_lgd == state,
            Facility.ownership == Ownership.PUBLIC.value,
            Facility.status != FacilityStatus.REJECTED.value,
        )
    ).all()
    hfr = {f.id: _Hfr(f.id, f.hfr_id, distinctive_key(f.name)) for f in facilities}
    by_code = {f.master_code: hfr[f.id] for f in facilities if f.master_code}

    # 1. exact code, 2. earlier settlements
    waiting: dict[tuple[int, str], list[_Master]] = defaultdict(list)
    later: list[tuple[Any, _Master]] = []
    for e in entries:
        m = _Master(e.id, e.master_code, distinctive_key(e.name))
        if e.master_code in by_code:
            built.add(
                MatchStatus.MATCHED,
                master=m,
                hfr=by_code[e.master_code],
                method=MatchMethod.CODE,
                score=1.0,
            )
        else:
            later.append((e, m))
    for e, m in later:
        choice = settled.get(e.master_code)
        if choice is not None:
            facility_id, who, when = choice
            if facility_id is None:
                built.add(
                    MatchStatus.MASTER_ONLY,
                    master=m,
                    method=MatchMethod.MANUAL,
                    settled=(who, when),
                )
                continue
            if facility_id in hfr and facility_id not in built.taken:
                built.add(
                    MatchStatus.MATCHED,
                    master=m,
                    hfr=hfr[facility_id],
                    method=MatchMethod.MANUAL,
                    score=None,
                    settled=(who, when),
                )
                continue
        waiting[(e.district_lgd, e.facility_type)].append(m)

    # 3. by name within district and type
    pool: dict[tuple[int, str], list[_Hfr]] = defaultdict(list)
    for f in facilities:
        if f.id not in built.taken:
            pool[(f.district_lgd, f.facility_type)].append(hfr[f.id])
    for block, masters in waiting.items():
        _match_block(built, masters, [h for h in pool.get(block, []) if h.id not in built.taken])

    # 4. HFR-only: public facilities nobody claims or may claim
    for h in hfr.values():
        if h.id not in built.taken and h.id not in built.offered:
            built.add(MatchStatus.HFR_ONLY, hfr=h)
    for start in range(0, len(built.rows), 1000):
        session.execute(insert(FacilityMasterMatch), built.rows[start : start + 1000])
    session.flush()


def _settlements(
    session: Session, state_lgd: int
) -> dict[str, tuple[int | None, str | None, datetime | None]]:
    """Decisions made on the review screen, by master code, to survive a new run."""
    rows = session.execute(
        select(
            FacilityMasterEntry.master_code,
            FacilityMasterMatch.facility_id,
            FacilityMasterMatch.settled_by,
            FacilityMasterMatch.settled_at,
        )
        .join(FacilityMasterEntry, FacilityMasterEntry.id == FacilityMasterMatch.master_entry_id)
        .where(
            FacilityMasterMatch.state_lgd == state_lgd,
            FacilityMasterMatch.method == MatchMethod.MANUAL.value,
        )
    ).all()
    return {r.master_code: (r.facility_id, r.settled_by, r.settled_at) for r in rows}


def _match_block(built: _Rows, masters: list[_Master], hfrs: list[_Hfr]) -> None:
    # Equal distinctive keys, one on each side: the same facility.
    m_count: dict[str, int] = defaultdict(int)
    h_by_key: dict[str, list[_Hfr]] = defaultdict(list)
    for m in masters:
        m_count[m.key] += 1
    for h in hfrs:
        h_by_key[h.key].append(h)
    rest: list[_Master] = []
    for m in masters:
        same = h_by_key.get(m.key, [])
        if len(same) == 1 and m_count[m.key] == 1:
            built.add(
                MatchStatus.MATCHED, master=m, hfr=same[0], method=MatchMethod.NAME, score=1.0
            )
        else:
            rest.append(m)
    free: dict[tuple[str, ...], list[_Hfr]] = defaultdict(list)
    for h in hfrs:
        if h.id not in built.taken:
            free[numbers(h.key)].append(h)
    scores: dict[int, list[tuple[float, _Hfr]]] = {}
    best_for_h: dict[int, list[float]] = defaultdict(list)
    for m in rest:
        found = []
        for h in free.get(numbers(m.key), ()):
            s = similarity(m.key, h.key, floor=CANDIDATE_AT)
            if s >= CANDIDATE_AT:
                found.append((s, h))
                best_for_h[h.id].append(s)
        found.sort(key=lambda p: (-p[0], p[1].hfr_id))
        scores[m.id] = found
    undecided: list[_Master] = []
    for m in rest:
        found = scores[m.id]
        if found:
            best, h = found[0]
            runner_up = found[1][0] if len(found) > 1 else 0.0
            rivals = sorted(best_for_h[h.id], reverse=True)
            rival = rivals[1] if len(rivals) > 1 else 0.0  # another entry's score for h
            if best >= MATCH_AT and best - runner_up >= MARGIN and best - rival >= MARGIN:
                built.add(
                    MatchStatus.MATCHED, master=m, hfr=h, method=MatchMethod.SIMILAR, score=best
                )
                continue
        undecided.append(m)
    for m in undecided:
        offer = [(s, h) for s, h in scores[m.id] if h.id not in built.taken][:MAX_CANDIDATES]
        if not offer:
            built.add(MatchStatus.MASTER_ONLY, master=m)
            continue
        built.offered.update(h.id for _, h in offer)
        built.add(
            MatchStatus.AMBIGUOUS,
            master=m,
            score=offer[0][0],
            candidates=[{"hfr_id": h.hfr_id, "score": round(s, 4)} for s, h in offer],
        )


# --------------------------------------------------------------------------- figures


def summarise(session: Session, master: FacilityMasterImport) -> ReconcileSummary:
    counts = {s.value: 0 for s in MatchStatus}
    for status, n in session.execute(
        select(FacilityMasterMatch.status, func.count())
        .where(FacilityMasterMatch.state_lgd == master.state_lgd)
        .group_by(FacilityMasterMatch.status)
    ):
        counts[status] = int(n)
    registered, total = public_facility_coverage(session, state_lgd=master.state_lgd)
    return ReconcileSummary(master.public_id, master.state_lgd, counts, registered, total)


def public_facility_coverage(
    session: Session, *, state_lgd: int, district_lgd: int | None = None
) -> tuple[int, int]:
    """(registered, total): the current master's entries (of the district), and those
    matched to a verified HFR facility. (0, 0) before any master is imported."""
    master = current_import(session, state_lgd)
    if master is None:
        return 0, 0
    total_q = select(func.count()).where(FacilityMasterEntry.import_id == master.id)
    registered_q = (
        select(func.count())
        .select_from(FacilityMasterMatch)
        .join(FacilityMasterEntry, FacilityMasterEntry.id == FacilityMasterMatch.master_entry_id)
        .join(Facility, Facility.id == FacilityMasterMatch.facility_id)
        .where(
            FacilityMasterMatch.import_id == master.id,
            FacilityMasterMatch.status == MatchStatus.MATCHED.value,
            Facility.status == FacilityStatus.VERIFIED.value,
        )
    )
    if district_lgd is not None:
        total_q = total_q.where(FacilityMasterEntry.district_lgd == district_lgd)
        registered_q = registered_q.where(FacilityMasterEntry.district_lgd == district_lgd)
    total = session.scalar(total_q.select_from(FacilityMasterEntry)) or 0
    return int(session.scalar(registered_q) or 0), int(total)


# --------------------------------------------------------------------------- review


def get_match(session: Session, entry_id: str | uuid.UUID) -> FacilityMasterMatch:
    try:
        pid = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id))
    except ValueError:
        pid = None
    row = None
    if pid is not None:
        row = session.scalar(
            select(FacilityMasterMatch).where(FacilityMasterMatch.public_id == pid)
        )
    if row is None:
        raise NotFound(
            "This reconciliation entry does not exist any more (a new run replaces them). "
            "Open the review list again.",
            code="HS-1361",
        )
    return row


def settle_match(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    entry_id: str | uuid.UUID,
    hfr_id: str | None,
) -> FacilityMasterMatch:
    """Settle an ambiguous entry: the HFR facility (one of its candidates) that is the
    same facility, or None when none of them is."""
    with audited(
        session,
        ctx,
        action="facility.master.settle",
        resource_type="facility_master_match",
        resource_id=str(entry_id)[:64],
        clock=clock,
    ):
        require(ctx.actor, "facility.reconcile")
        row = get_match(session, entry_id)
        if row.status != MatchStatus.AMBIGUOUS.value:
            raise Conflict(
                "This entry is not waiting for review any more (it was settled or matched). "
                "Open the review list again.",
                code="HS-1362",
            )
        offered = [c["hfr_id"] for c in row.candidates]
        if hfr_id is not None:
            hfr_id = parse_hfr_id(hfr_id)
            if hfr_id not in offered:
                raise ValidationFailed(
                    "Pick one of the candidate facilities shown for this entry, or 'none of "
                    "these'.",
                    field="hfr_id",
                    code="HS-1363",
                )
            facility = session.scalar(select(Facility).where(Facility.hfr_id == hfr_id))
            if facility is None or _matched_elsewhere(session, facility.id):
                raise Conflict(
                    "That HFR facility has meanwhile been matched to another master entry. "
                    "Run the reconciliation again, or pick another candidate.",
                    code="HS-1364",
                )
            row.status = MatchStatus.MATCHED.value
            row.facility_id = facility.id
            row.score = next(c["score"] for c in row.candidates if c["hfr_id"] == hfr_id)
            session.execute(
                delete(FacilityMasterMatch).where(
                    FacilityMasterMatch.facility_id == facility.id,
                    FacilityMasterMatch.status == MatchStatus.HFR_ONLY.value,
                )
            )
        else:
            row.status = MatchStatus.MASTER_ONLY.value
            row.facility_id = None
        row.method = MatchMethod.MANUAL.value
        row.settled_by = (ctx.actor.display or ctx.actor.id)[:64]
        row.settled_at = clock.now()
        session.flush()
        _release(session, row, [h for h in offered if h != hfr_id], at=clock.now())
        return row


def _matched_elsewhere(session: Session, facility_id: int) -> bool:
    return bool(
        session.scalar(
            select(FacilityMasterMatch.id)
            .where(
                FacilityMasterMatch.facility_id == facility_id,
                FacilityMasterMatch.status == MatchStatus.MATCHED.value,
            )
            .limit(1)
        )
    )


def _release(
    session: Session, row: FacilityMasterMatch, hfr_ids: list[str], *, at: datetime
) -> None:
    """Candidates no entry claims or offers any more become HFR-only."""
    if not hfr_ids:
        return
    still_offered = {
        c["hfr_id"]
        for (cands,) in session.execute(
            select(FacilityMasterMatch.candidates).where(
                FacilityMasterMatch.state_lgd == row.state_lgd,
                FacilityMasterMatch.status == MatchStatus.AMBIGUOUS.value,
            )
        )
        for c in cands
    }
    for facility_id, hfr_id in session.execute(
        select(Facility.id, Facility.hfr_id).where(Facility.hfr_id.in_(hfr_ids))
    ):
        if hfr_id in still_offered:
            continue
        listed = session.scalar(
            select(FacilityMasterMatch.id).where(FacilityMasterMatch.facility_id == facility_id)
        )
        if listed is None:
            session.add(
                FacilityMasterMatch(
                    state_lgd=row.state_lgd,
                    import_id=row.import_id,
                    facility_id=facility_id,
                    status=MatchStatus.HFR_ONLY.value,
                    candidates=[],
                    created_at=at,
                )
            )
    session.flush()


def link_by_code(session: Session, facility: Facility, *, clock: Clock) -> None:
    """A public facility registered (or edited) with a master code claims that entry at
    once, unless the entry is already matched."""
    if (
        not facility.master_code
        or facility.ownership != Ownership.PUBLIC.value
        or facility.status == FacilityStatus.REJECTED.value
    ):
        return
    master = current_import(session, facility.state_lgd)
    if master is None:
        return
    row = session.scalar(
        select(FacilityMasterMatch)
        .join(FacilityMasterEntry, FacilityMasterEntry.id == FacilityMasterMatch.master_entry_id)
        .where(
            FacilityMasterEntry.import_id == master.id,
            FacilityMasterEntry.master_code == facility.master_code,
        )
    )
    if row is None or row.status == MatchStatus.MATCHED.value:
        return
    if _matched_elsewhere(session, facility.id):
        return
    offered = (
        [c["hfr_id"] for c in row.candidates] if row.status == MatchStatus.AMBIGUOUS.value else []
    )
    row.status = MatchStatus.MATCHED.value
    row.method = MatchMethod.CODE.value
    row.facility_id = facility.id
    row.score = 1.0
    session.execute(
        delete(FacilityMasterMatch).where(
            FacilityMasterMatch.facility_id == facility.id,
            FacilityMasterMatch.status == MatchStatus.HFR_ONLY.value,
        )
    )
    session.flush()
    _release(session, row, [h for h in offered if h != facility.hfr_id], at=clock.now())


@dataclass(frozen=True)
class MatchView:
    """One reconciliation line with what the review screen shows of both sides."""

    row: FacilityMasterMatch
    entry: FacilityMasterEntry | None
    facility: Facility | None
    candidates: list[tuple[Facility, float]]


def list_matches(
    session: Session,
    ctx: RequestContext,
    *,
    state_lgd: int,
    status: MatchStatus | None = None,
    district_lgd: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[MatchView], int]:
    require(ctx.actor, "facility.reconcile")
    query = (
        select(FacilityMasterMatch)
        .outerjoin(
            FacilityMasterEntry, FacilityMasterEntry.id == FacilityMasterMatch.master_entry_id
        )
        .outerjoin(Facility, Facility.id == FacilityMasterMatch.facility_id)
        .where(FacilityMasterMatch.state_lgd == state_lgd)
    )
    if status is not None:
        query = query.where(FacilityMasterMatch.status == status.value)
    if district_lgd is not None:
        query = query.where(
            func.coalesce(FacilityMasterEntry.district_lgd, Facility.district_lgd) == district_lgd
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(FacilityMasterEntry.line, Facility.hfr_id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return match_views(session, list(rows)), int(total)


def match_views(session: Session, rows: list[FacilityMasterMatch]) -> list[MatchView]:
    """The rows with both sides loaded (three queries, whatever the number of rows)."""
    entry_ids = {r.master_entry_id for r in rows if r.master_entry_id}
    facility_ids = {r.facility_id for r in rows if r.facility_id}
    offered = {c["hfr_id"] for r in rows for c in r.candidates}
    entries = {
        e.id: e
        for e in session.scalars(
            select(FacilityMasterEntry).where(FacilityMasterEntry.id.in_(entry_ids))
        )
    }
    facilities = list(
        session.scalars(
            select(Facility).where(or_(Facility.id.in_(facility_ids), Facility.hfr_id.in_(offered)))
        )
    )
    by_id = {f.id: f for f in facilities}
    by_hfr = {f.hfr_id: f for f in facilities}
    return [
        MatchView(
            row=r,
            entry=entries.get(r.master_entry_id) if r.master_entry_id else None,
            facility=by_id.get(r.facility_id) if r.facility_id else None,
            candidates=[
                (by_hfr[c["hfr_id"]], c["score"]) for c in r.candidates if c["hfr_id"] in by_hfr
            ],
        )
        for r in rows
    ]
