"""Domain events for the monitoring layer.

A domain service calls ``emit`` in its own transaction when something the state
reviews changes (an ABHA created, a facility verified, ...). The event is an outbox
row (topic ``event.<name>``), so it commits with the change or not at all, and the
worker hands it to the monitoring consumer, which keeps the aggregates current within
seconds. Payloads carry dimensions (district, facility, category, day), never PHI.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.kernel.outbox import enqueue

EVENT_PREFIX = "event."


def emit(session: Session, name: str, payload: dict[str, Any], *, clock: Clock) -> None:
    enqueue(session, topic=EVENT_PREFIX + name, payload=payload, clock=clock)
