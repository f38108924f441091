"""The facility side's ledger of its exchanges with the gateway."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, IdMixin


class Direction(StrEnum):
    OUTBOUND = "outbound"  # a call this facility side made to the gateway
    INBOUND = "inbound"  # a callback the gateway delivered here


class CallStatus(StrEnum):
    # outbound
    PENDING = "pending"  # queued, not sent yet
    RETRYING = "retrying"  # sending failed; tried again later
    SENT = "sent"  # the gateway answered 202
    REJECTED = "rejected"  # the gateway refused it (4xx); sending again would not help
    DEAD = "dead"  # every attempt failed
    # inbound
    RECEIVED = "received"  # verified and recorded (once: duplicates are refused)


class AbdmMessage(IdMixin, Base):
    """One call or callback. A call keeps its ``context`` (what the caller needs when
    the answer comes, minutes or hours later; no PHI) for good, its body and extra
    headers (X-LINK-TOKEN is a credential) only until sent. The unique REQUEST-ID per
    direction is the replay guard of inbound callbacks."""

    __tablename__ = "abdm_message"
    __table_args__ = (
        UniqueConstraint("direction", "request_id"),
        Index("ix_abdm_message_in_reply_to", "in_reply_to"),
    )

    direction: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str] = mapped_column(String(36))
    path: Mapped[str] = mapped_column(String(255))
    service_type: Mapped[str | None] = mapped_column(String(8))
    service_id: Mapped[str | None] = mapped_column(String(32))
    # Inbound: the REQUEST-ID of our call it answers (body.response.requestId).
    in_reply_to: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    body_digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extra_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    # Outbound: when the first callback answering it arrived.
    answered_at: Mapped[datetime | None]
