"""Durable outbox rows, written in the caller's transaction.

A change and the messages it causes (an SMS, later a gateway call) commit together or
not at all. The worker (``healthstack.kernel.relay``) sends them after commit, with
retries and backoff, and parks a message as ``dead`` after ``max_attempts``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from healthstack.kernel.clock import Clock, SystemClock
from healthstack.kernel.db import Base, IdMixin


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(IdMixin, Base):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "available_at"),)

    topic: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the row must lose what it may not keep once sent (an OTP's text); the
    # worker's purge job looks for due rows by this index and clears it.
    purge_at: Mapped[datetime | None] = mapped_column(index=True)


def enqueue(
    session: Session,
    *,
    topic: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    max_attempts: int = 8,
    clock: Clock | None = None,
) -> OutboxMessage:
    now = (clock or SystemClock()).now()
    msg = OutboxMessage(
        topic=topic,
        payload=payload,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        max_attempts=max_attempts,
        created_at=now,
        available_at=now,
    )
    session.add(msg)
    return msg
