"""Domain events for the monitoring layer.

A domain service calls ``emit`` in its own transaction when something the state
reviews changes (an ABHA created, a facility verified, ...). The event is an outbox
row (topic ``event.<name>``), so it commits with the change or not at all, and the
worker hands it to the monitoring consumer, which keeps the aggregates current within
seconds. Payloads carry dimensions (district, facility, category, day), never PHI.

``emit`` adds ``event`` (the name: the worker hands every ``event.*`` topic to one
consumer), ``event_id`` (the outbox message's public id, which the consumer records
so a redelivered event is applied once) and, when the caller gave none, ``day`` (the
day of the change in India, IST, as the dashboard's days are).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock, ist_date
from healthstack.kernel.outbox import enqueue

EVENT_PREFIX = "event."
# Handler key for every event topic (the relay matches a trailing "*" as a prefix).
EVENT_TOPICS = EVENT_PREFIX + "*"


def day_of(moment: datetime) -> str:
    """The day an event counts on: its date in India (IST), ``YYYY-MM-DD``.

    The people reading the dashboard count days in IST (a registration at 01:00 IST is
    today's, though it is yesterday in UTC); the rebuild queries group the source
    tables' UTC timestamps into the same IST days, so a rebuild lands each change on the
    same day.
    """
    return ist_date(moment).isoformat()


def emit(session: Session, name: str, payload: dict[str, Any], *, clock: Clock) -> uuid.UUID:
    """Queue the event ``name`` with ``payload``; returns its event id."""
    event_id = uuid.uuid4()
    body = {**payload, "event": name, "event_id": str(event_id)}
    body.setdefault("day", day_of(clock.now()))
    msg = enqueue(session, topic=EVENT_PREFIX + name, payload=body, clock=clock)
    msg.public_id = event_id
    return event_id


def abha_account_event(
    session: Session, name: str, account: Any, *, at: datetime, clock: Clock
) -> uuid.UUID:
    """``abha.account.created`` / ``abha.account.deleted`` for ``account``: its district,
    the facility that enrolled it (the cell it is counted in) and the day of ``at``."""
    payload = {
        "district_lgd": account.district_lgd,
        "facility_id": account.enrolled_at_facility,
        "day": day_of(at),
    }
    return emit(session, name, payload, clock=clock)


def parse_day(value: Any) -> date:
    """The payload's ``day``; a clear error for a malformed one (a programming error)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError("event day must be YYYY-MM-DD") from exc
