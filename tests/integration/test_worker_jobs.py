"""The worker's scheduled jobs: expired OTP transactions are purged, lock-outs kept."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from healthstack.identity.models import OtpTransaction
from healthstack.jobs.worker import Worker
from healthstack.kernel.uow import unit_of_work


def _txn(runtime, *, expired_days_ago: float, locked_for: timedelta | None = None) -> uuid.UUID:
    now = runtime.clock.now()
    pid = uuid.uuid4()
    with unit_of_work(runtime.session_factory) as s:
        s.add(
            OtpTransaction(
                public_id=pid,
                scope="abha-enrol",
                otp_system="aadhaar",
                subject_key="k",
                sent_to=None,
                status="PENDING",
                state={"aadhaar_sealed": "opaque"},
                created_at=now - timedelta(days=expired_days_ago + 1),
                expires_at=now - timedelta(days=expired_days_ago),
                locked_until=now + locked_for if locked_for else None,
            )
        )
    return pid


def _left(runtime) -> set[uuid.UUID]:
    with unit_of_work(runtime.session_factory) as s:
        return set(s.scalars(select(OtpTransaction.public_id)))


def test_purge_runs_when_due_and_keeps_what_is_still_needed(runtime):
    old = _txn(runtime, expired_days_ago=2)
    recent = _txn(runtime, expired_days_ago=0.5)
    locked = _txn(runtime, expired_days_ago=2, locked_for=timedelta(minutes=20))
    worker = Worker(runtime)
    # (Other scheduled jobs run on the same first pass; only the purge is looked at.)
    assert worker.run_due_jobs(now=1000.0)["abha.purge_expired_transactions"] == 1
    assert _left(runtime) == {recent, locked}
    # Not due again for ten minutes (the audit sealer, every few seconds, is).
    assert set(worker.run_due_jobs(now=1100.0)) == {"audit.seal"}
    runtime.clock.advance(hours=1)  # the lock-out is over
    done = worker.run_due_jobs(now=1700.0)
    done.pop("audit.seal")
    assert done == {"abha.purge_expired_transactions": 1}
    assert _left(runtime) == {recent}
    assert old not in _left(runtime)


def test_applied_event_ids_are_forgotten_after_a_week(runtime):
    from healthstack.programme.monitoring.models import AppliedEvent

    now = runtime.clock.now()
    with unit_of_work(runtime.session_factory) as s:
        s.add(
            AppliedEvent(
                event_id=uuid.uuid4(),
                name="abha.account.created",
                applied_at=now - timedelta(days=8),
            )
        )
        s.add(
            AppliedEvent(
                event_id=uuid.uuid4(),
                name="abha.account.created",
                applied_at=now - timedelta(days=1),
            )
        )
    done = Worker(runtime).run_due_jobs(now=1000.0)
    assert done["monitoring.purge_applied_events"] == 1
    with unit_of_work(runtime.session_factory) as s:
        assert len(s.scalars(select(AppliedEvent)).all()) == 1
