"""The gateway's outbox handlers: ``gateway.process`` runs the registered handler of an
accepted request; ``gateway.deliver`` POSTs a callback to its bridge with a
gateway-signed Authorization. Both record every attempt in the ledger and raise on
failure, so the relay retries with its backoff and parks the message dead after the
last attempt (the ledger row says ``failed`` / ``dead`` in step with it).

Callbacks go out on the process's client (``Runtime.gateway_http``), on the transport
``runtime.ports.gateway_transport`` names (tests put an ``httpx.MockTransport`` or an
ASGI transport there), else real HTTP.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel.errors import DomainError
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.config import callback_sender, handler_context
from healthstack.network.gateway.enums import Direction, MessageStatus, ServiceType
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.routing import (
    DELIVER_TOPIC,
    PROCESS_TOPIC,
    InboundMessage,
    canonical_json,
    digest,
    error_body,
    handler_for,
    reply,
)
from healthstack.network.gateway.service import callback_token
from healthstack.runtime import Runtime

log = logging.getLogger("healthstack.network.gateway")


class DeliveryFailed(Exception):
    """A bridge did not take a callback (non-2xx, or unreachable)."""


class ProcessingFailed(Exception):
    """A handler failed; the relay retries the message."""


def stamp(at: datetime) -> str:
    """ABDM's TIMESTAMP form: UTC, milliseconds, Z."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _load(session: Session, message_id: str, direction: Direction) -> GatewayMessage | None:
    return session.scalar(
        select(GatewayMessage)
        .where(
            GatewayMessage.public_id == uuid.UUID(message_id),
            GatewayMessage.direction == direction.value,
        )
        .with_for_update()
    )


def _inbound(msg: GatewayMessage) -> InboundMessage:
    headers = dict(msg.extra_headers or {})
    return InboundMessage(
        message_id=msg.public_id,
        request_id=msg.request_id,
        path=msg.path,
        client_id=msg.bridge.client_id,
        hip_id=headers.get(ServiceType.HIP.header),
        hiu_id=headers.get(ServiceType.HIU.header),
        body=dict(msg.body or {}),
        received_at=msg.created_at,
        headers=headers,
    )


def _finish(msg: GatewayMessage, status: MessageStatus, now: datetime) -> None:
    msg.status = status.value
    msg.attempts += 1
    msg.updated_at = now
    msg.done_at = now
    # The body may carry PHI: it is kept only as long as the work needs it.
    msg.body = None
    msg.extra_headers = None


def _after_failure(runtime: Runtime, message_id: str, exc: Exception) -> None:
    """Record a failed try of an inbound message, in a fresh transaction (the handler's
    own writes rolled back). A ``DomainError`` is a refusal: the message is closed and
    its sender hears the error on the handler's reply path. Anything else is counted;
    after the last try the message is ``failed`` and the sender hears ABDM-1024."""
    with unit_of_work(runtime.session_factory) as session:
        msg = _load(session, message_id, Direction.INBOUND)
        if msg is None or msg.status != MessageStatus.ACCEPTED.value:
            return
        now = runtime.clock.now()
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        if isinstance(exc, DomainError):
            code, text, status, error = exc.code, exc.message, MessageStatus.PROCESSED, exc.code
        elif msg.attempts + 1 >= msg.max_attempts:
            code, status = "ABDM-1024", MessageStatus.FAILED
            text = "The consent manager could not process the request. Send it again later."
        else:
            msg.attempts += 1
            msg.updated_at = now
            msg.last_error = error
            return
        entry = handler_for(msg.path)
        message = _inbound(msg)
        _finish(msg, status, now)
        msg.last_error = error
        if entry is None or not entry.reply_path:
            return
        try:
            callback_sender(runtime).send_all(
                session,
                [reply(message, entry.reply_path, error_body(code, text, msg.request_id))],
            )
        except DomainError:  # the sender's service is gone: nobody to tell
            log.warning("no route back for the error of message %s", msg.public_id)


def process(runtime: Runtime, payload: dict[str, Any]) -> None:
    message_id = str(payload["message_id"])
    try:
        with unit_of_work(runtime.session_factory) as session:
            msg = _load(session, message_id, Direction.INBOUND)
            if msg is None or msg.status != MessageStatus.ACCEPTED.value:
                return  # processed already (a redelivered job)
            entry = handler_for(msg.path)
            if entry is None:
                raise LookupError(f"no handler for {msg.path}")
            hc = handler_context(runtime)
            callbacks = list(entry.fn(session, _inbound(msg), hc))
            hc.sender.send_all(session, callbacks)
            _finish(msg, MessageStatus.PROCESSED, runtime.clock.now())
            msg.last_error = None
    except Exception as exc:
        _after_failure(runtime, message_id, exc)
        if not isinstance(exc, DomainError):
            raise ProcessingFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def deliver(runtime: Runtime, payload: dict[str, Any]) -> None:
    failure: Exception | None = None
    with unit_of_work(runtime.session_factory) as session:
        msg = _load(session, str(payload["message_id"]), Direction.OUTBOUND)
        if msg is None or msg.status not in (
            MessageStatus.PENDING.value,
            MessageStatus.RETRYING.value,
        ):
            return
        now = runtime.clock.now()
        content = canonical_json(msg.body or {})
        bridge = msg.bridge
        header = ServiceType(msg.service_type).header if msg.service_type else None
        headers = {
            "Authorization": "Bearer "
            + callback_token(
                runtime.keyring,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
                audience=bridge.client_id,
                request_id=msg.request_id,
                body_digest=digest(content),
                service_header=header,
                service_id=msg.service_id,
            ),
            "Content-Type": "application/json",
            "REQUEST-ID": msg.request_id,
            "TIMESTAMP": stamp(now),
            "X-CM-ID": runtime.settings.abha.cm_id,
        }
        if header and msg.service_id:
            headers[header] = msg.service_id
        status: int | None = None
        try:
            if not bridge.is_active:
                raise DeliveryFailed("the bridge is switched off")
            response = runtime.gateway_http().post(
                bridge.url + msg.path, content=content, headers=headers
            )
            status = response.status_code
            if not 200 <= status < 300:
                raise DeliveryFailed(f"the bridge answered HTTP {status}")
        except (httpx.HTTPError, DeliveryFailed) as exc:
            failure = exc
            msg.http_status = status
            msg.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            if msg.attempts + 1 >= msg.max_attempts:
                _finish(msg, MessageStatus.DEAD, now)
                log.warning("callback %s is dead after %s tries", msg.public_id, msg.attempts)
            else:
                msg.attempts += 1
                msg.status = MessageStatus.RETRYING.value
                msg.updated_at = now
        else:
            msg.http_status = status
            msg.last_error = None
            _finish(msg, MessageStatus.DELIVERED, now)
    if failure is not None:
        raise failure


def handlers(runtime: Runtime) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The gateway's entries for the worker's handler registry (jobs/worker.py)."""
    return {
        PROCESS_TOPIC: lambda payload: process(runtime, payload),
        DELIVER_TOPIC: lambda payload: deliver(runtime, payload),
    }
