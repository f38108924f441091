"""The outbox relay: claim due messages, hand each to its topic's handler, and
record the outcome. Failures back off exponentially (with jitter) and a message that
fails ``max_attempts`` times is parked as ``dead`` for an operator to look at.

Claiming is safe with several workers: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
SQLite the single writer lock serialises the claiming UPDATE.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import DomainError
from healthstack.kernel.logs import log_unexpected
from healthstack.kernel.outbox import OutboxMessage, OutboxStatus
from healthstack.kernel.uow import unit_of_work

log = logging.getLogger("healthstack.relay")


@dataclass(frozen=True)
class Delivered:
    """What a handler may return on success: the payload the row keeps from now on
    (delivery needed more than the record may keep, e.g. an SMS's full mobile)."""

    keep: dict[str, Any]


Handler = Callable[[dict[str, Any]], Delivered | None]

BASE_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 3600.0
# A claim older than this is presumed abandoned by a crashed worker.
CLAIM_TIMEOUT = timedelta(minutes=5)


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    base = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return base * jitter


def _claim(session: Session, *, clock: Clock, limit: int) -> list[int]:
    now = clock.now()
    due = (
        (OutboxMessage.status == OutboxStatus.PENDING.value) & (OutboxMessage.available_at <= now)
    ) | (
        (OutboxMessage.status == OutboxStatus.IN_FLIGHT.value)
        & (OutboxMessage.claimed_at <= now - CLAIM_TIMEOUT)
    )
    query = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.IN_FLIGHT.value, claimed_at=now)
        )
    return ids


def handler_for(handlers: dict[str, Handler], topic: str) -> Handler | None:
    """The handler of ``topic``: its exact key, else the longest ``prefix*`` key."""
    exact = handlers.get(topic)
    if exact is not None:
        return exact
    prefixes = [k for k in handlers if k.endswith("*") and topic.startswith(k[:-1])]
    return handlers[max(prefixes, key=len)] if prefixes else None


def relay_once(
    factory: sessionmaker[Session],
    handlers: dict[str, Handler],
    *,
    clock: Clock,
    limit: int = 100,
) -> int:
    """Deliver one batch; returns how many messages were handled (sent or failed)."""
    with unit_of_work(factory) as session:
        ids = _claim(session, clock=clock, limit=limit)
    for msg_id in ids:
        with unit_of_work(factory) as session:
            msg = session.get(OutboxMessage, msg_id)
            if msg is None:  # pragma: no cover - deleted underneath us
                continue
            handler = handler_for(handlers, msg.topic)
            msg.attempts += 1
            try:
                if handler is None:
                    raise LookupError(f"no handler for topic {msg.topic}")
                outcome = handler(msg.payload)
            except Exception as exc:
                # The error text is ours (type and handler message), never the payload.
                msg.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                if not isinstance(exc, DomainError):  # a domain error is an expected refusal
                    log_unexpected(
                        log, exc, f"job {msg.topic} ({msg.public_id})", level=logging.WARNING
                    )
                if msg.attempts >= msg.max_attempts:
                    msg.status = OutboxStatus.DEAD.value
                    log.warning(
                        "outbox message %s is dead after %s tries", msg.public_id, msg.attempts
                    )
                else:
                    msg.status = OutboxStatus.PENDING.value
                    msg.available_at = clock.now() + timedelta(
                        seconds=backoff_seconds(msg.attempts)
                    )
            else:
                msg.status = OutboxStatus.SENT.value
                msg.sent_at = clock.now()
                msg.last_error = None
                if isinstance(outcome, Delivered):
                    msg.payload = outcome.keep
    return len(ids)


def drain(factory: sessionmaker[Session], handlers: dict[str, Handler], *, clock: Clock) -> int:
    """Relay until nothing is due (tests and CLI)."""
    total = 0
    while True:
        n = relay_once(factory, handlers, clock=clock)
        total += n
        if n == 0:
            return total
