"""Accepting a protocol request: the checks every request to the gateway passes, the
per-bridge rate limit, the inbound ledger row and the job that processes it.

A CM route calls ``accept`` with the body it parsed and answers ``accepted.response()``
(202, empty body); ``accepting(path)`` is the same as a FastAPI dependency for routes
that take the JSON body as it is (it unpacks the runtime for ``accept``). Refusals
render as ABDM error bodies (web/errors.py) and leave an audit row; accepted requests
are recorded in the ledger, not the audit.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.kernel.audit import AuditEvent, Outcome
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import ANONYMOUS_ACTOR, Actor, ActorKind, Purpose
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.errors import (
    AuthenticationRequired,
    DomainError,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from healthstack.kernel.outbox import enqueue
from healthstack.network.gateway import exceptions as gx
from healthstack.network.gateway.enums import Direction, MessageStatus, ServiceType
from healthstack.network.gateway.models import GatewayBridge, GatewayMessage
from healthstack.network.gateway.routing import (
    PROCESS_MAX_ATTEMPTS,
    PROCESS_TOPIC,
    canonical_json,
    digest,
    handler_for,
)
from healthstack.network.gateway.service import authenticate_bearer, find_service
from healthstack.settings import GatewaySettings
from healthstack.web.deps import DbSession, RuntimeDep

# Protocol headers kept for the handler besides the service ids. X-AUTH-TOKEN is the
# patient's proof on a self-request (ADR 0015); the ledger drops it once processed.
PASSED_HEADERS = ("X-LINK-TOKEN", "REQUESTER-ID", "X-AUTH-TOKEN")


@dataclass(frozen=True)
class Accepted:
    message_id: uuid.UUID
    request_id: str
    client_id: str
    hip_id: str | None
    hiu_id: str | None

    def response(self) -> Response:
        return Response(status_code=202)


# --------------------------------------------------------------------------- headers


def _header(name: str, message: str, code: str) -> gx.HeaderInvalid:
    return gx.HeaderInvalid(message, field=name, code=code)


def parse_request_id(raw: str | None) -> str:
    if not raw or not raw.strip():
        raise _header(
            "REQUEST-ID",
            "The REQUEST-ID header is missing. Send a new random UUID with every request.",
            gx.REQUEST_ID_BAD,
        )
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise _header(
            "REQUEST-ID",
            "The REQUEST-ID header must be a UUID (for example "
            "839ede87-6bad-48df-a0d5-e93305c88e75).",
            gx.REQUEST_ID_BAD,
        ) from None


def parse_timestamp(raw: str | None, *, now: datetime, past: int, future: int) -> datetime:
    """ISO-8601, UTC with Z (ABDM sends 2026-11-26T10:00:00.000Z); a time without an
    offset is read as UTC. Refused outside [now - past, now + future] seconds."""
    if not raw or not raw.strip():
        raise _header(
            "TIMESTAMP",
            "The TIMESTAMP header is missing. Send the current UTC time in ISO-8601, "
            "for example 2026-11-26T10:00:00.000Z.",
            gx.TIMESTAMP_BAD,
        )
    try:
        stamp = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _header(
            "TIMESTAMP",
            "The TIMESTAMP header must be an ISO-8601 UTC time, for example "
            "2026-11-26T10:00:00.000Z.",
            gx.TIMESTAMP_BAD,
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if stamp < now - timedelta(seconds=past) or stamp > now + timedelta(seconds=future):
        raise _header(
            "TIMESTAMP",
            f"The TIMESTAMP header is more than {past // 60} minutes old or "
            f"{future // 60} minutes ahead. Set the clock (NTP) and send the request "
            "again with a new TIMESTAMP.",
            gx.TIMESTAMP_STALE,
        )
    return stamp


def check_cm_id(raw: str | None, cm_id: str) -> None:
    if (raw or "").strip() != cm_id:
        raise _header(
            "X-CM-ID",
            f"The X-CM-ID header must name this consent manager ({cm_id}).",
            gx.CM_ID_BAD,
        )


# --------------------------------------------------------------------------- rate limit


def take_token(bridge: GatewayBridge, *, now: datetime, rate: float, burst: int) -> None:
    """Token bucket on the (locked) bridge row: ``burst`` requests at once, refilled at
    ``rate`` per second."""
    elapsed = max(0.0, (now - bridge.rate_checked_at).total_seconds())
    tokens = min(float(burst), bridge.rate_tokens + elapsed * rate)
    if tokens < 1.0:
        wait = max(1, math.ceil((1.0 - tokens) / rate))
        raise gx.GatewayRateLimited(
            f"This client has sent more than {burst} requests in a burst or more than "
            f"{rate:g} a second. Wait {wait} seconds and send the request again.",
            retry_after=wait,
        )
    bridge.rate_tokens = tokens - 1.0
    bridge.rate_checked_at = max(now, bridge.rate_checked_at)


# --------------------------------------------------------------------------- audit


def _outcome(exc: DomainError) -> Outcome:
    if isinstance(exc, PermissionDenied | AuthenticationRequired):
        return Outcome.DENIED
    if isinstance(exc, NotFound):
        return Outcome.NOT_FOUND
    return Outcome.FAILED


def audit_event(
    *,
    actor: Actor,
    action: str,
    resource: str,
    request_id: str | None,
    clock: Clock,
    outcome: Outcome,
    reason_code: str,
    client_address: str | None = None,
) -> AuditEvent:
    # Written here, not through kernel.audit, but sealed into the chain like every row.
    return AuditEvent(
        occurred_at=clock.now(),
        actor_kind=actor.kind.value,
        actor_id=actor.id[:64],
        actor_role=None,
        facility_id=None,
        purpose=Purpose.ADMINISTRATION.value,
        action=action,
        resource_type="gateway_message",
        resource_id=resource[:64],
        outcome=outcome.value,
        reason_code=reason_code[:32],
        request_id=(request_id or "")[:64] or None,
        client_address=(client_address or "")[:64] or None,
    )


def audit_refusal(
    exc: DomainError,
    *,
    actor: Actor,
    action: str,
    resource: str,
    request_id: str | None,
    clock: Clock,
    client_address: str | None = None,
) -> None:
    """Hang an audit row on a refused protocol message's error; the unit of work writes
    it after the rollback (kernel.audit.persist_failed). Accepted messages are in the
    ledger instead."""
    event = audit_event(
        actor=actor,
        action=action,
        resource=resource,
        request_id=request_id,
        clock=clock,
        outcome=_outcome(exc),
        reason_code=exc.code,
        client_address=client_address,
    )
    exc.audit_events = [*getattr(exc, "audit_events", []), event]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- accept

# How an accepted request stands, for the client that sends it again.
_STATE = {
    MessageStatus.ACCEPTED.value: "waiting to be processed; the answer is still to come",
    MessageStatus.PROCESSED.value: "processed; its answer was queued to your callback URL",
    MessageStatus.FAILED.value: "it failed; an error went to your callback URL",
}


def _utc(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _services(
    session: Session, request: Request, bridge: GatewayBridge, requires: Sequence[str]
) -> dict[ServiceType, str]:
    found: dict[ServiceType, str] = {}
    for name in requires:
        if not (request.headers.get(name) or "").strip():
            raise _header(
                name, f"The {name} header is required on this request.", gx.HEADER_MISSING
            )
    for kind in ServiceType:
        value = (request.headers.get(kind.header) or "").strip()
        if not value:
            continue
        service = find_service(session, service_id=value, service_type=kind)
        if service is None or not service.is_active:
            raise gx.ServiceUnknown(
                f"{kind.header} {value[:32]} is not a {kind.value} registered with the "
                "gateway. Register the facility's service first.",
                field=kind.header,
            )
        if service.bridge_id != bridge.id:
            raise gx.ServiceNotYours(
                f"{kind.header} {value[:32]} is not a service of this client. Send it with "
                "the credentials of the bridge that serves it.",
                field=kind.header,
            )
        found[kind] = service.service_id
    return found


def accept(
    session: Session,
    *,
    request: Request,
    path: str,
    body: Mapping[str, Any],
    requires: Sequence[str] = ("X-HIP-ID",),
    clock: Clock,
    keyring: KeyRing,
    settings: GatewaySettings,
    cm_id: str,
) -> Accepted:
    """Check the request, record it and queue its processing; call from a route of
    ``path`` (relative to /api/hiecm, the key ``register_handler`` used) with the JSON
    body. ``keyring`` verifies the bridge's session token; ``cm_id`` is the X-CM-ID this
    consent manager answers to. Raises the gateway's ABDM-coded errors: a REQUEST-ID
    accepted before is 409, with ABDM-1113 when the request is the same (path and body),
    else ABDM-1112."""
    raw_rid = request.headers.get("REQUEST-ID")
    address = request.client.host if request.client else None
    actor = ANONYMOUS_ACTOR
    try:
        bridge = authenticate_bearer(
            session,
            authorization=request.headers.get("Authorization"),
            keyring=keyring,
            clock=clock,
            lock=True,
        )
        actor = Actor(kind=ActorKind.CLIENT, id=bridge.client_id, display=bridge.client_id)
        now = clock.now()
        take_token(bridge, now=now, rate=settings.rate_per_second, burst=settings.rate_burst)
        request_id = parse_request_id(raw_rid)
        parse_timestamp(
            request.headers.get("TIMESTAMP"),
            now=now,
            past=settings.timestamp_past_seconds,
            future=settings.timestamp_future_seconds,
        )
        check_cm_id(request.headers.get("X-CM-ID"), cm_id)
        services = _services(session, request, bridge, requires)
        if not isinstance(body, Mapping):
            raise gx.HeaderInvalid(
                "The body must be a JSON object.", field="body", code=gx.BODY_BAD
            )
        if handler_for(path) is None:
            raise ServiceUnavailable(
                "The gateway does not process this request yet. Try again later.",
                code="ABDM-1024",
            )
        body_digest = digest(canonical_json(body))
        existing = session.scalar(
            select(GatewayMessage).where(
                GatewayMessage.bridge_id == bridge.id,
                GatewayMessage.direction == Direction.INBOUND.value,
                GatewayMessage.request_id == request_id,
            )
        )
        if existing is not None:
            if existing.body_digest != body_digest or existing.path != path:
                raise gx.RequestIdReused(
                    "This REQUEST-ID was already used for a different request. Send every "
                    "new request with a new UUID.",
                    field="REQUEST-ID",
                )
            raise gx.AlreadyAccepted(
                f"This request was already accepted under this REQUEST-ID at "
                f"{_utc(existing.created_at)} ({_STATE[existing.status]}). Its answer comes "
                "once, on your callback URL, and is not sent again. To ask again, send the "
                "request with a new REQUEST-ID.",
                field="REQUEST-ID",
            )
        extra = {h: request.headers[h] for h in PASSED_HEADERS if request.headers.get(h)}
        msg = GatewayMessage(
            direction=Direction.INBOUND.value,
            request_id=request_id,
            path=path,
            bridge_id=bridge.id,
            service_id=services.get(ServiceType.HIP) or services.get(ServiceType.HIU),
            service_type=(
                ServiceType.HIP.value
                if ServiceType.HIP in services
                else ServiceType.HIU.value
                if ServiceType.HIU in services
                else None
            ),
            status=MessageStatus.ACCEPTED.value,
            body_digest=body_digest,
            body=dict(body),
            extra_headers={
                **extra,
                **{k.header: v for k, v in services.items()},
            },
            attempts=0,
            max_attempts=PROCESS_MAX_ATTEMPTS,
            created_at=now,
            updated_at=now,
        )
        session.add(msg)
        try:
            session.flush()
        except IntegrityError as exc:
            raise gx.RequestIdReused(
                "Another request with this REQUEST-ID arrived at the same moment and was "
                "accepted; this copy is not. Its answer comes on your callback URL.",
                field="REQUEST-ID",
            ) from exc
        enqueue(
            session,
            topic=PROCESS_TOPIC,
            payload={"message_id": str(msg.public_id)},
            dedupe_key=f"{PROCESS_TOPIC}:{msg.public_id}",
            max_attempts=PROCESS_MAX_ATTEMPTS,
            clock=clock,
        )
        return Accepted(
            msg.public_id,
            request_id,
            bridge.client_id,
            services.get(ServiceType.HIP),
            services.get(ServiceType.HIU),
        )
    except DomainError as exc:
        audit_refusal(
            exc,
            actor=actor,
            action="gateway.accept",
            resource=path,
            request_id=raw_rid,
            clock=clock,
            client_address=address,
        )
        raise


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or ABDM-1111."""
    raw = await request.body()
    try:
        value = json.loads(raw or b"null")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise gx.HeaderInvalid("The body must be a JSON object.", field="body", code=gx.BODY_BAD)
    return value


def accepting(path: str, *, requires: Sequence[str] = ("X-HIP-ID",)) -> Callable[..., Accepted]:
    """``accept`` as a dependency: ``accepted: Annotated[Accepted, Depends(accepting(P))]``."""

    def dependency(
        request: Request,
        session: DbSession,
        runtime: RuntimeDep,
        body: Annotated[dict[str, Any], Depends(json_object)],
    ) -> Accepted:
        return accept(
            session,
            request=request,
            path=path,
            body=body,
            requires=requires,
            clock=runtime.clock,
            keyring=runtime.keyring,
            settings=runtime.settings.gateway,
            cm_id=runtime.settings.abha.cm_id,
        )

    return dependency
