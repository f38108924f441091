"""Keeping the aggregates current: the event consumer and the rebuild from source.

- ``apply_event`` (the worker's handler for every ``event.*`` topic, see
  ``consumer``): records the event id in ``applied_event`` and applies the event's
  changes to ``indicator_total`` / ``indicator_daily`` with upserts, all in one
  transaction, so a redelivered event changes nothing.
- ``rebuild``: recomputes every indicator from its source tables (GROUP BY queries,
  ``indicators.py``) and replaces its rows; after a bulk seed and as the nightly
  reconciliation. Events whose changes the rebuild has already counted (committed
  but not yet applied) are marked applied in the same transaction, so the consumer
  does not count them a second time.

Concurrency. The consumer and the rebuild must not interleave: the rebuild reads one
consistent snapshot and the events it absorbs are exactly those visible in it.

- PostgreSQL: every consumer transaction holds a shared advisory lock; the rebuild
  takes the exclusive one on a connection of its own *before* its REPEATABLE READ
  snapshot starts, so every consumer transaction has either committed before the
  snapshot or waits. When the rebuild releases the lock (before its caller commits)
  a waiting consumer proceeds and meets the rebuild's uncommitted rows: its upserts
  and its ``applied_event`` insert wait for the rebuild's commit and then see it.
- SQLite: one writer at a time. The consumer's first statement and the rebuild's
  first statement are writes, so each holds the write lock for its whole transaction
  and reads a snapshot no other writer can change.

Upserts are ``INSERT ... ON CONFLICT DO UPDATE`` through each dialect's ``insert``;
changes are applied in key order so two consumers never wait on each other in a
cycle.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from healthstack.kernel.clock import Clock
from healthstack.kernel.db import is_postgres
from healthstack.kernel.events import EVENT_PREFIX, parse_day
from healthstack.kernel.outbox import OutboxMessage, OutboxStatus
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.monitoring.indicators import (
    INDICATORS,
    Count,
    Enter,
    Figures,
    Indicator,
    Leave,
    Payload,
    Rule,
    district_of,
    indicators_for,
)
from healthstack.programme.monitoring.models import (
    AppliedEvent,
    IndicatorDaily,
    IndicatorMember,
    IndicatorRebuild,
    IndicatorTotal,
)

# The advisory lock that keeps the consumer and the rebuild apart (PostgreSQL).
ADVISORY_LOCK_KEY = 0x4853_4D4F  # "HSMO"
# The nightly reconciliation runs when the last rebuild is older than this.
RECONCILE_EVERY = timedelta(hours=24)
_BATCH = 5_000

Change = tuple[date, int, str, int]  # (day, district_lgd, facility_id, delta)


def _insert(session: Session) -> Callable[..., Any]:
    return pg_insert if is_postgres(session) else sqlite_insert


# --------------------------------------------------------------------------- changes


def add_changes(session: Session, indicator: str, changes: Sequence[Change]) -> None:
    """Add ``changes`` to the indicator's totals and daily rows (upserts)."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    daily: dict[tuple[date, int, str], int] = defaultdict(int)
    for day, district, facility, delta in changes:
        totals[(district, facility)] += delta
        daily[(day, district, facility)] += delta
    ins = _insert(session)
    for (district, facility), delta in sorted(totals.items()):
        if delta == 0:
            continue
        stmt = ins(IndicatorTotal).values(
            indicator=indicator, district_lgd=district, facility_id=facility, value=delta
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["indicator", "district_lgd", "facility_id"],
                set_={"value": IndicatorTotal.value + stmt.excluded.value},
            )
        )
    for (day, district, facility), delta in sorted(daily.items()):
        if delta == 0:
            continue
        stmt = ins(IndicatorDaily).values(
            indicator=indicator, day=day, district_lgd=district, facility_id=facility, delta=delta
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["indicator", "day", "district_lgd", "facility_id"],
                set_={"delta": IndicatorDaily.delta + stmt.excluded.delta},
            )
        )


def _member_key(payload: Payload, key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= 32:
        raise ValueError(f"event {key} must be a non-empty string of at most 32 characters")
    return value


def changes_for(
    session: Session, ind: Indicator, rule: Rule, payload: Payload, day: date
) -> list[Change]:
    """What one rule of ``ind`` does with one event (membership kept in the session)."""
    if isinstance(rule, Count):
        return [(day, rule.district(payload), rule.facility(payload), rule.delta)]
    key = _member_key(payload, rule.key)
    member = session.get(IndicatorMember, (ind.key, key), with_for_update=True)
    if isinstance(rule, Leave) or (isinstance(rule, Enter) and not rule.qualifies(payload)):
        if member is None:
            return []
        session.delete(member)
        return [(day, member.district_lgd, member.facility_id, -1)]
    cell = (district_of(payload), rule.facility(payload))
    if member is None:
        session.add(
            IndicatorMember(
                indicator=ind.key,
                member_key=key,
                district_lgd=cell[0],
                facility_id=cell[1],
                since=day,
            )
        )
        return [(day, *cell, +1)]
    old = (member.district_lgd, member.facility_id)
    if old == cell:
        return []  # verified again where it already counts
    member.district_lgd, member.facility_id = cell
    return [(day, *old, -1), (day, *cell, +1)]


def _shared_lock(session: Session) -> None:
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock_shared(ADVISORY_LOCK_KEY)))


def apply_event(
    session: Session, *, event_id: uuid.UUID, name: str, payload: Payload, clock: Clock
) -> bool:
    """Apply one event to the aggregates; False when it was applied before."""
    _shared_lock(session)
    # The ledger row first: on SQLite this write takes the write lock for the whole
    # transaction; on both, a second delivery stops here.
    stmt = _insert(session)(AppliedEvent).values(
        event_id=event_id, name=name[:64], applied_at=clock.now()
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["event_id"])
    # RETURNING gives no row when the event was there already (rowcount is not reliable
    # for ORM-enabled inserts on every driver).
    if session.execute(stmt.returning(AppliedEvent.event_id)).first() is None:
        return False
    targets = indicators_for(name)
    if not targets:
        return True  # an event no indicator counts (yet): recorded, nothing to change
    day = parse_day(payload.get("day"))
    for ind in targets:
        changes: list[Change] = []
        for rule in ind.rules_for(name):
            changes += changes_for(session, ind, rule, payload, day)
        session.flush()
        add_changes(session, ind.key, changes)
    return True


def consumer(factory: sessionmaker[Session], clock: Clock) -> Callable[[Payload], None]:
    """The worker's handler for ``event.*``: one event, one transaction of its own."""

    def consume(payload: Payload) -> None:
        name = payload.get("event")
        raw_id = payload.get("event_id")
        if not isinstance(name, str) or not isinstance(raw_id, str):
            raise ValueError("an event needs 'event' and 'event_id' (send it with events.emit)")
        event_id = uuid.UUID(raw_id)
        with unit_of_work(factory) as session:
            apply_event(session, event_id=event_id, name=name, payload=payload, clock=clock)

    return consume


# --------------------------------------------------------------------------- rebuild


@dataclass
class RebuildReport:
    rebuilt: list[str] = field(default_factory=list)
    # Indicators whose registry is not installed: their rows were left as they were.
    skipped: list[str] = field(default_factory=list)
    cells: int = 0
    # Committed events the rebuild already counted, marked applied.
    absorbed_events: int = 0
    seconds: float = 0.0


@contextmanager
def _exclusive_lock(engine: Engine) -> Iterator[None]:
    """The exclusive advisory lock, held on a connection of its own (PostgreSQL)."""
    conn: Connection = engine.connect()
    try:
        conn.execute(select(func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
        conn.commit()
        yield
    finally:
        try:
            conn.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
            conn.commit()
        except Exception:
            # Never hand a connection that may still hold the lock back to the pool.
            conn.invalidate()
        conn.close()


def _replace(session: Session, ind: Indicator, figures: Figures) -> int:
    for model in (IndicatorTotal, IndicatorDaily):
        session.execute(delete(model).where(model.indicator == ind.key))
    totals = [
        {"indicator": ind.key, "district_lgd": d, "facility_id": f, "value": v}
        for (d, f), v in sorted(figures.totals.items())
        if v != 0
    ]
    daily = [
        {"indicator": ind.key, "day": day, "district_lgd": d, "facility_id": f, "delta": v}
        for (day, d, f), v in sorted(figures.daily.items())
        if v != 0
    ]
    for model, rows in ((IndicatorTotal, totals), (IndicatorDaily, daily)):
        for start in range(0, len(rows), _BATCH):
            session.execute(insert(model), rows[start : start + _BATCH])
    if ind.kind == "members":
        session.execute(delete(IndicatorMember).where(IndicatorMember.indicator == ind.key))
        members = [
            {"indicator": ind.key, "member_key": k, "district_lgd": d, "facility_id": f, "since": s}
            for k, d, f, s in figures.members or ()
        ]
        for start in range(0, len(members), _BATCH):
            session.execute(insert(IndicatorMember), members[start : start + _BATCH])
    return len(totals)


def _absorb_pending(session: Session, rebuilt: set[str], clock: Clock) -> int:
    """Mark applied the committed, unapplied events whose every indicator was rebuilt."""
    names = {
        name
        for ind in INDICATORS
        if ind.key in rebuilt
        for name in ind.events
        if all(i.key in rebuilt for i in indicators_for(name))
    }
    if not names:
        return 0
    applied = select(AppliedEvent.event_id).where(AppliedEvent.event_id == OutboxMessage.public_id)
    unapplied = select(OutboxMessage.public_id, OutboxMessage.topic).where(
        OutboxMessage.topic.in_(sorted(EVENT_PREFIX + n for n in names)),
        # Pending, in flight or dead: sent ones were applied by the consumer.
        OutboxMessage.status != OutboxStatus.SENT.value,
        ~applied.exists(),
    )
    rows = [
        {"event_id": pid, "name": topic[len(EVENT_PREFIX) :][:64], "applied_at": clock.now()}
        for pid, topic in session.execute(unapplied)
    ]
    for start in range(0, len(rows), _BATCH):
        stmt = _insert(session)(AppliedEvent).values(rows[start : start + _BATCH])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))
    return len(rows)


def _begin_snapshot(session: Session) -> None:
    if session.in_transaction():
        raise RuntimeError(
            "rebuild must be the first thing its session does (it needs its own snapshot)"
        )
    if is_postgres(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def rebuild(session: Session, *, clock: Clock, only: Sequence[str] | None = None) -> RebuildReport:
    """Recompute the indicators (all, or ``only`` these keys) from their source tables.

    Call it in a fresh session (``unit_of_work``) and commit after it; it flushes only.
    """
    started = time.perf_counter()
    unknown = set(only or ()) - {i.key for i in INDICATORS}
    if unknown:
        raise ValueError(f"unknown indicators: {', '.join(sorted(unknown))}")
    _begin_snapshot(session)
    report = RebuildReport()
    chosen = [i for i in INDICATORS if only is None or i.key in only]
    postgres = is_postgres(session)
    engine = session.get_bind().engine
    lock = _exclusive_lock(engine) if postgres else _no_lock()
    with lock:
        if not postgres:
            # A write first: the write lock keeps the consumer out until commit.
            session.execute(delete(IndicatorRebuild).where(IndicatorRebuild.indicator == "\x00"))
        now = clock.now()
        for ind in chosen:
            figures = ind.source(session)
            if figures is None:
                report.skipped.append(ind.key)
                continue
            report.cells += _replace(session, ind, figures)
            report.rebuilt.append(ind.key)
            stmt = _insert(session)(IndicatorRebuild).values(
                indicator=ind.key, rebuilt_at=now, cells=len(figures.totals)
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["indicator"],
                    set_={"rebuilt_at": stmt.excluded.rebuilt_at, "cells": stmt.excluded.cells},
                )
            )
        report.absorbed_events = _absorb_pending(session, set(report.rebuilt), clock)
        session.flush()
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


def reconcile_if_due(session: Session, *, clock: Clock) -> int:
    """The nightly reconciliation: rebuild when the last one is older than a day.

    The worker runs this every hour in a fresh unit of work; returns the cells written
    (0 when not due). The check reads through the session's engine outside the
    session, so a rebuild still starts its snapshot first.
    """
    engine = session.get_bind().engine
    with engine.connect() as conn:
        last = conn.execute(select(func.min(IndicatorRebuild.rebuilt_at))).scalar()
        count = conn.execute(select(func.count()).select_from(IndicatorRebuild)).scalar()
    if last is not None and count and _aware(last) > clock.now() - RECONCILE_EVERY:
        return 0
    return rebuild(session, clock=clock).cells


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
