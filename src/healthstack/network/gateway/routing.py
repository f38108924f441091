"""Routing inside the gateway: the handler registry the consent manager fills, the
message a handler receives, the typed context it runs with (``HandlerContext``), the
callbacks it returns, and ``CallbackSender`` (each callback an outbound ledger row plus
an outbox row, in the caller's transaction).

A handler runs in the worker, in its own unit of work, after the request was answered
202: ``fn(session, message, hc) -> Iterable[Callback]``, ``hc`` a ``HandlerContext``
(the worker builds it from its runtime: ``network.gateway.config``). Its writes and the
callbacks it returns commit together. A ``DomainError`` it raises is answered with an
error callback ``{"error": {"code", "message"}, "response": {"requestId"}}`` on the
handler's ``reply_path``; any other exception is retried, and after the last attempt
the requester gets ABDM-1024 on the same path.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.outbox import enqueue
from healthstack.network.gateway.enums import Direction, MessageStatus, ServiceType
from healthstack.network.gateway.exceptions import ServiceUnknown
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.service import find_bridge, find_service
from healthstack.settings import ConsentSettings, GatewaySettings

PROCESS_TOPIC = "gateway.process"
DELIVER_TOPIC = "gateway.deliver"
PROCESS_MAX_ATTEMPTS = 5

# Modules that register handlers when imported, loaded on first lookup so the worker
# process knows every path the web process accepts. The consent manager adds its own.
HANDLER_MODULES: tuple[str, ...] = (
    "healthstack.network.gateway.diagnostics",
    "healthstack.network.consent.handlers",
)


@dataclass(frozen=True)
class InboundMessage:
    """A request a bridge sent, as its handler sees it."""

    message_id: uuid.UUID  # the ledger row's public id
    request_id: str  # the bridge's REQUEST-ID: what callbacks answer
    path: str  # relative to /api/hiecm, e.g. /v3/token/generate-token
    client_id: str  # the bridge that sent it
    hip_id: str | None  # X-HIP-ID, checked to be a HIP of that bridge
    hiu_id: str | None  # X-HIU-ID, checked to be a HIU of that bridge
    body: dict[str, Any]
    received_at: datetime
    # Other protocol headers a handler may need (X-LINK-TOKEN, REQUESTER-ID).
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Callback:
    """A message for a bridge. Addressed to a service (the bridge serving that HIP or
    HIU gets it, with X-HIP-ID / X-HIU-ID set) or, without one, to ``client_id``."""

    path: str  # on the bridge, e.g. /api/v3/hip/token/on-generate-token
    body: dict[str, Any]
    service_type: ServiceType | None = None
    service_id: str | None = None
    in_reply_to: str | None = None  # sets body.response.requestId when absent
    client_id: str | None = None


@dataclass(frozen=True)
class CallbackSender:
    """Queues messages to bridges: a handler's answers, the consent manager's
    notifications and forwards. ``max_attempts``: how often the worker tries to deliver
    one before it is dead (``GatewaySettings.callback_max_attempts``)."""

    clock: Clock
    max_attempts: int

    @classmethod
    def configured(cls, clock: Clock, settings: GatewaySettings) -> CallbackSender:
        return cls(clock=clock, max_attempts=settings.callback_max_attempts)

    def send(
        self,
        session: Session,
        *,
        path: str,
        body: Mapping[str, Any],
        service_type: ServiceType | None = None,
        service_id: str | None = None,
        in_reply_to: str | None = None,
        client_id: str | None = None,
    ) -> GatewayMessage:
        """Queue a callback (ledger row + outbox row, in the caller's transaction); the
        worker delivers it after commit. Its REQUEST-ID is new and stays the same over
        retries, so a bridge that got it twice sees a duplicate."""
        if not path.startswith("/"):
            raise ValueError(f"callback path {path!r} must start with '/'")
        if service_id is not None:
            if service_type is None:
                raise ValueError("a callback to a service needs its service_type (HIP or HIU)")
            service = find_service(session, service_id=service_id, service_type=service_type)
            if service is None or not service.is_active or not service.bridge.is_active:
                raise ServiceUnknown(
                    f"{service_type.header} {service_id} is not registered with the gateway; "
                    "the message cannot be delivered."
                )
            bridge = service.bridge
        elif client_id is not None:
            found = find_bridge(session, client_id=client_id)
            if found is None or not found.is_active:
                raise ServiceUnknown(f"No active bridge {client_id!r} to deliver to.")
            bridge = found
        else:
            raise ValidationFailed("A callback needs a service id or a client id to go to.")
        payload = dict(body)
        if in_reply_to is not None and "response" not in payload:
            payload["response"] = {"requestId": in_reply_to}
        now = self.clock.now()
        msg = GatewayMessage(
            direction=Direction.OUTBOUND.value,
            request_id=str(uuid.uuid4()),
            path=path,
            bridge_id=bridge.id,
            service_id=service_id,
            service_type=service_type.value if service_id and service_type else None,
            in_reply_to=in_reply_to,
            status=MessageStatus.PENDING.value,
            body_digest=digest(canonical_json(payload)),
            body=payload,
            attempts=0,
            max_attempts=self.max_attempts,
            created_at=now,
            updated_at=now,
        )
        session.add(msg)
        session.flush()
        enqueue(
            session,
            topic=DELIVER_TOPIC,
            payload={"message_id": str(msg.public_id)},
            dedupe_key=f"{DELIVER_TOPIC}:{msg.public_id}",
            max_attempts=self.max_attempts,
            clock=self.clock,
        )
        return msg

    def send_all(self, session: Session, callbacks: Iterable[Callback]) -> None:
        """``send`` for each of a handler's callbacks, in order."""
        for cb in callbacks:
            self.send(
                session,
                path=cb.path,
                body=cb.body,
                service_type=cb.service_type,
                service_id=cb.service_id,
                in_reply_to=cb.in_reply_to,
                client_id=cb.client_id,
            )


@dataclass(frozen=True)
class HandlerContext:
    """What a handler works with besides its session and message: the clock, the
    sender for the messages it queues itself (its answers are returned instead), the
    deployment's keys, and the consent manager's id and settings."""

    clock: Clock
    sender: CallbackSender
    keyring: KeyRing  # signs consent artefacts and link tokens, verifies patients' proofs
    hasher: KeyedHasher  # the consent PIN's keyed hash
    cm_id: str  # this consent manager (X-CM-ID), also its ABHA address suffix
    base_url: str  # where the PHR's deep links point
    consent: ConsentSettings


Handler = Callable[[Session, InboundMessage, HandlerContext], Iterable[Callback]]


@dataclass(frozen=True)
class HandlerEntry:
    path: str
    fn: Handler
    reply_path: str | None  # where error callbacks for this path go


_HANDLERS: dict[str, HandlerEntry] = {}
_loaded = False
_lock = threading.Lock()


def register_handler(path: str, fn: Handler, *, reply_path: str | None = None) -> None:
    """Route requests accepted at ``path`` (relative to /api/hiecm) to ``fn``.
    ``reply_path`` is the callback path on which the requester hears of a failure."""
    if not path.startswith("/"):
        raise ValueError(f"handler path {path!r} must start with '/'")
    existing = _HANDLERS.get(path)
    if existing is not None and existing.fn is not fn:
        raise ValueError(f"{path} already has a handler ({existing.fn.__qualname__})")
    _HANDLERS[path] = HandlerEntry(path, fn, reply_path)


def handler_for(path: str) -> HandlerEntry | None:
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for module in HANDLER_MODULES:
                    importlib.import_module(module)
                _loaded = True
    return _HANDLERS.get(path)


def reply(message: InboundMessage, path: str, body: Mapping[str, Any]) -> Callback:
    """The callback answering ``message``, to the service (or bridge) that sent it."""
    if message.hip_id:
        kind, sid = ServiceType.HIP, message.hip_id
    elif message.hiu_id:
        kind, sid = ServiceType.HIU, message.hiu_id
    else:
        return Callback(
            path, dict(body), in_reply_to=message.request_id, client_id=message.client_id
        )
    return Callback(path, dict(body), kind, sid, in_reply_to=message.request_id)


def error_body(code: str, message: str, in_reply_to: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, "response": {"requestId": in_reply_to}}


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The bytes a body is digested and sent as (sorted keys, no spaces, UTF-8)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
