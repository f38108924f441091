"""Bridges, their services, and the ledger of every gateway exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class GatewayBridge(IdMixin, Base):
    """A client of the gateway (an HMIS, a HIU app). Only an argon2 hash of its secret
    is kept. The token bucket of its rate limit lives on the row, so every server
    process shares it (the row is locked while a request takes a token)."""

    __tablename__ = "gateway_bridge"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(256))
    url: Mapped[str] = mapped_column(String(512))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_tokens: Mapped[float] = mapped_column(Float)
    rate_checked_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    services: Mapped[list[GatewayService]] = relationship(
        back_populates="bridge", order_by="GatewayService.id"
    )


class GatewayService(IdMixin, Base):
    """A HIP or HIU (an HFR id) a bridge acts for. One service id belongs to one bridge;
    it may be both a HIP and a HIU (two rows)."""

    __tablename__ = "gateway_service"
    __table_args__ = (UniqueConstraint("service_id", "service_type"),)

    bridge_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("gateway_bridge.id"), index=True)
    # Looked up by the unique (service_id, service_type) index.
    service_id: Mapped[str] = mapped_column(String(32))
    service_type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    bridge: Mapped[GatewayBridge] = relationship(back_populates="services")


class GatewayMessage(IdMixin, Base):
    """One exchange: a request a bridge sent (inbound) or a callback to a bridge
    (outbound). ``body`` is kept only until the message is processed or delivered (it
    may carry PHI); ``body_digest`` (SHA-256 of the canonical JSON) stays."""

    __tablename__ = "gateway_message"
    __table_args__ = (
        # A bridge's REQUEST-ID is seen once per direction: replays are no-ops.
        UniqueConstraint("bridge_id", "direction", "request_id"),
        Index("ix_gateway_message_in_reply_to", "in_reply_to"),
        Index("ix_gateway_message_status", "direction", "status"),
    )

    direction: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str] = mapped_column(String(36))
    path: Mapped[str] = mapped_column(String(255))
    bridge_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("gateway_bridge.id"))
    service_id: Mapped[str | None] = mapped_column(String(32))
    service_type: Mapped[str | None] = mapped_column(String(8))
    # Outbound: the REQUEST-ID this callback answers (body.response.requestId).
    in_reply_to: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    body_digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Inbound: the headers a handler may need besides the service ids (X-LINK-TOKEN).
    # A credential, so purged with the body.
    extra_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    bridge: Mapped[GatewayBridge] = relationship()
