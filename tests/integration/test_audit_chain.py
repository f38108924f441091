"""The tamper-evident audit chain: rows are written unsealed, the sealer chains the
committed ones by a keyed hash, and verify finds the first broken link whatever was
done to a sealed row (changed, deleted, moved, re-timed, or another key)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text, update

from healthstack.jobs.worker import SCHEDULE, Worker
from healthstack.kernel.audit import AuditEvent, Outcome
from healthstack.kernel.audit_chain import (
    AuditChain,
    ChainKey,
    ChainKeyMismatch,
    seal,
    seal_job,
    verify,
)
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.db import is_postgres
from healthstack.kernel.uow import unit_of_work
from tests.factories_audit import Row, write

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _key(runtime) -> ChainKey:
    return ChainKey.from_hasher(runtime.hasher)


def _seal(runtime, key: ChainKey | None = None) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return seal(s, key=key or _key(runtime), clock=runtime.clock)


def _verify(runtime, key: ChainKey | None = None, **kwargs):
    with unit_of_work(runtime.session_factory) as s:
        return verify(s, key=key or _key(runtime), clock=runtime.clock, **kwargs)


def _sql(runtime, statement: str, **params) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(statement), params)


def _five(runtime) -> None:
    write(
        runtime,
        *(
            Row(action=f"thing.{n}", outcome=Outcome.DENIED, at=T0 + timedelta(seconds=n))
            for n in range(1, 6)
        ),
    )
    assert _seal(runtime) == 5


def test_rows_are_written_unsealed_and_sealed_in_order(runtime):
    write(runtime, Row(action="b", at=T0 + timedelta(seconds=2)), Row(action="a", at=T0))
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalars(select(AuditEvent.chain_seq)).all() == [None, None]
    assert _seal(runtime) == 2
    assert _seal(runtime) == 0  # nothing new: nothing to do
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)).all()
        assert [(r.chain_seq, r.action) for r in rows] == [(1, "a"), (2, "b")]
        assert all(len(r.chain_hash or "") == 64 for r in rows)
        head = s.scalars(select(AuditChain)).one()
        assert (head.last_seq, head.last_hash) == (2, rows[-1].chain_hash)
    report = _verify(runtime)
    assert report.intact and report.rows == 2
    assert report.summary() == "2 rows, chain intact."


def test_a_row_committed_late_joins_the_end_of_the_chain(runtime):
    _five(runtime)
    write(runtime, Row(action="late", at=T0 - timedelta(minutes=1)))  # older time, later commit
    assert _seal(runtime) == 1
    with unit_of_work(runtime.session_factory) as s:
        late = s.scalars(select(AuditEvent).where(AuditEvent.action == "late")).one()
        assert late.chain_seq == 6
    assert _verify(runtime).intact


def test_an_empty_log_is_intact(runtime):
    assert _seal(runtime) == 0
    report = _verify(runtime)
    assert report.intact and report.summary() == "0 rows, chain intact."


def test_a_changed_outcome_is_found_with_its_row_and_field(runtime):
    _five(runtime)
    _sql(runtime, "UPDATE audit_event SET outcome = 'success' WHERE chain_seq = 3")
    report = _verify(runtime)
    assert not report.intact
    assert report.problem.seq == 3
    assert report.problem.fields == ["outcome"]
    assert report.problem.occurred_at == T0 + timedelta(seconds=3)
    assert "row 3" in report.summary() and "outcome" in report.summary()


def test_a_changed_time_is_found(runtime):
    _five(runtime)
    with runtime.engine.begin() as conn:  # through the column's type, as the app writes it
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.chain_seq == 2)
            .values(occurred_at=T0 - timedelta(days=1))
        )
    report = _verify(runtime)
    assert report.problem.seq == 2 and report.problem.fields == ["occurred_at"]


def test_a_changed_client_address_is_found(runtime):
    _five(runtime)
    _sql(runtime, "UPDATE audit_event SET client_address = '198.51.100.1' WHERE chain_seq = 4")
    report = _verify(runtime)
    assert report.problem.seq == 4 and report.problem.fields == ["client_address"]


def test_a_row_deleted_in_the_middle_is_found(runtime):
    _five(runtime)
    _sql(runtime, "DELETE FROM audit_event WHERE chain_seq = 3")
    report = _verify(runtime)
    assert report.problem.seq == 3
    assert "missing" in report.problem.what
    assert "row 3" in report.summary()


def test_the_last_rows_deleted_are_found_against_the_head(runtime):
    _five(runtime)
    _sql(runtime, "DELETE FROM audit_event WHERE chain_seq >= 4")
    report = _verify(runtime)
    assert report.problem.seq == 4 and "missing" in report.problem.what


def test_a_head_moved_back_to_hide_deleted_rows_is_found(runtime):
    _five(runtime)
    with unit_of_work(runtime.session_factory) as s:
        fourth = s.scalars(select(AuditEvent).where(AuditEvent.chain_seq == 4)).one()
    _sql(runtime, "DELETE FROM audit_event WHERE chain_seq = 5")
    _sql(runtime, "UPDATE audit_chain SET last_seq = 4, last_hash = :h", h=fourth.chain_hash)
    report = _verify(runtime)
    assert not report.intact and "head" in report.problem.what


def test_two_rows_swapped_are_found(runtime):
    _five(runtime)
    _sql(runtime, "UPDATE audit_event SET chain_seq = -2 WHERE chain_seq = 2")
    _sql(runtime, "UPDATE audit_event SET chain_seq = 2 WHERE chain_seq = 3")
    _sql(runtime, "UPDATE audit_event SET chain_seq = 3 WHERE chain_seq = -2")
    report = _verify(runtime)
    assert report.problem.seq == 2
    assert "place" in report.problem.what


def test_another_key_is_named_as_the_cause(runtime):
    _five(runtime)
    other = ChainKey.from_hasher(KeyedHasher("a-different-secret"))
    report = _verify(runtime, key=other)
    assert not report.intact
    assert "another key" in report.problem.what
    # nor does the sealer chain new rows onto a chain it cannot check
    write(runtime, Row(action="after.rotation"))
    with pytest.raises(ChainKeyMismatch):
        _seal(runtime, key=other)
    # the worker's job logs it and lets the other jobs run
    rotated = SimpleNamespace(hasher=KeyedHasher("a-different-secret"), clock=runtime.clock)
    with unit_of_work(runtime.session_factory) as s:
        assert seal_job(s, rotated) == 0
    with unit_of_work(runtime.session_factory) as s:
        assert (
            s.scalar(select(AuditEvent.chain_seq).where(AuditEvent.action == "after.rotation"))
            is None
        )


def test_rows_left_unsealed_too_long_fail_verify(runtime, clock):
    _five(runtime)
    write(runtime, Row(action="waiting", at=clock.now()))
    assert _verify(runtime).intact  # just written: the sealer has not come round yet
    clock.advance(minutes=10)
    report = _verify(runtime, grace=timedelta(minutes=5))
    assert not report.intact and report.problem is None
    assert report.overdue == 1
    assert "1 row unsealed" in report.summary()


def test_the_worker_seals_every_few_seconds(runtime):
    job = next(j for j in SCHEDULE if j.name == "audit.seal")
    assert job.every_seconds <= 10
    write(runtime, Row(action="worker.sealed"))
    done = Worker(runtime).run_due_jobs(now=0)
    assert done["audit.seal"] == 1
    assert _verify(runtime).intact


def test_gateway_refusals_are_sealed_with_their_client_address(client, runtime):
    # gateway/accept.py writes its rows itself: they join the chain like any other.
    r = client.post(
        "/api/hiecm/gateway/v3/sessions",
        json={"clientId": "nobody", "clientSecret": "wrong", "grantType": "client_credentials"},
    )
    assert r.status_code == 401, r.text
    r = client.post(
        "/api/hiecm/gateway/v3/diagnostics/echo",
        json={"echo": "x"},
        headers={"Authorization": "Bearer garbage"},
    )
    assert r.status_code == 401, r.text
    assert _seal(runtime) == 2
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)).all()
        assert [r.action for r in rows] == ["gateway.session", "gateway.accept"]
        assert all(r.chain_seq and r.client_address == "testclient" for r in rows)
    assert _verify(runtime).intact


def test_two_sealers_at_once_make_one_chain(runtime):
    if not is_postgres(runtime.engine):
        pytest.skip("SQLite has one writer at a time: the sealer's first statement waits")
    write(runtime, *(Row(action=f"c.{n}") for n in range(50)))
    _seal(runtime)  # the head row exists
    write(runtime, *(Row(action=f"d.{n}") for n in range(50)))
    holder = runtime.session_factory()
    try:
        # A sealer in progress holds the head: a second one does nothing.
        holder.execute(text("SELECT last_seq FROM audit_chain FOR UPDATE"))
        assert _seal(runtime) == 0
    finally:
        holder.rollback()
        holder.close()
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(_seal(runtime))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 50
    report = _verify(runtime)
    assert report.intact and report.rows == 100
