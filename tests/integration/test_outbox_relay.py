from __future__ import annotations

from sqlalchemy import select

from healthstack.kernel.outbox import OutboxMessage, OutboxStatus, enqueue
from healthstack.kernel.relay import drain, relay_once
from healthstack.kernel.uow import unit_of_work


def _enqueue(runtime, topic="t", max_attempts=3):
    with unit_of_work(runtime.session_factory) as s:
        enqueue(s, topic=topic, payload={"n": 1}, max_attempts=max_attempts, clock=runtime.clock)


def _status(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return [(m.status, m.attempts) for m in s.scalars(select(OutboxMessage))]


def test_sent_after_commit(runtime):
    seen = []
    _enqueue(runtime)
    assert drain(runtime.session_factory, {"t": seen.append}, clock=runtime.clock) == 1
    assert seen == [{"n": 1}]
    assert _status(runtime) == [(OutboxStatus.SENT.value, 1)]


def test_rolled_back_change_sends_nothing(runtime):
    try:
        with unit_of_work(runtime.session_factory) as s:
            enqueue(s, topic="t", payload={}, clock=runtime.clock)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _status(runtime) == []


def test_failures_back_off_then_die(runtime, clock):
    def broken(payload):
        raise ConnectionError("gateway down")

    _enqueue(runtime, max_attempts=3)
    handlers = {"t": broken}
    assert relay_once(runtime.session_factory, handlers, clock=clock) == 1
    assert _status(runtime) == [(OutboxStatus.PENDING.value, 1)]
    # Not due again until the backoff has passed.
    assert relay_once(runtime.session_factory, handlers, clock=clock) == 0
    clock.advance(seconds=10)
    assert relay_once(runtime.session_factory, handlers, clock=clock) == 1
    clock.advance(seconds=60)
    assert relay_once(runtime.session_factory, handlers, clock=clock) == 1
    assert _status(runtime) == [(OutboxStatus.DEAD.value, 3)]
    clock.advance(hours=5)
    assert relay_once(runtime.session_factory, handlers, clock=clock) == 0
