"""Audit rows: success commits with the change; failure survives the rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent, audited
from healthstack.kernel.context import Purpose, system_context
from healthstack.kernel.errors import NotFound, PermissionDenied
from healthstack.kernel.outbox import OutboxMessage, enqueue
from healthstack.kernel.uow import unit_of_work


def _events(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return [(e.action, e.outcome, e.reason_code) for e in s.scalars(select(AuditEvent))]


def test_success_is_recorded_with_the_change(runtime):
    ctx = system_context(Purpose.ENROLMENT)
    with (
        unit_of_work(runtime.session_factory) as s,
        audited(s, ctx, action="thing.write", resource_type="thing") as target,
    ):
        target.resource_id = "r1"
    assert _events(runtime) == [("thing.write", "success", None)]


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (PermissionDenied("no"), "denied"),
        (NotFound("gone"), "not_found"),
        (ValueError("x"), "failed"),
    ],
)
def test_failure_is_recorded_after_rollback(runtime, exc, outcome):
    ctx = system_context(Purpose.ENROLMENT)
    with pytest.raises(type(exc)), unit_of_work(runtime.session_factory) as s:
        enqueue(s, topic="t", payload={}, clock=runtime.clock)
        with audited(s, ctx, action="thing.write", resource_type="thing", resource_id="r2"):
            raise exc
    events = _events(runtime)
    assert [(a, o) for a, o, _ in events] == [("thing.write", outcome)]
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalars(select(OutboxMessage)).all() == []  # the change itself rolled back


def test_the_client_address_is_kept_with_the_row(runtime):
    from healthstack.kernel.context import SYSTEM_ACTOR, RequestContext

    ctx = RequestContext(actor=SYSTEM_ACTOR, purpose=Purpose.ADMINISTRATION, ip="203.0.113.9")
    with (
        unit_of_work(runtime.session_factory) as s,
        audited(s, ctx, action="thing.read", resource_type="thing"),
    ):
        pass
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalars(select(AuditEvent.client_address)).all() == ["203.0.113.9"]
