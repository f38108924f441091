"""The gateway over HTTP (thin: ``service`` and ``accept`` decide).

- Protocol routes under ``/api/hiecm`` (NHA's base URL shape): sessions, certs (JWKS),
  the OpenID configuration, and the diagnostic echo. Errors carry ABDM's body.
- The admin API under ``/api/v1/gateway`` (``gateway.admin``, the state admin, with
  an API token): bridges, their services, and the ledger (without bodies).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from healthstack.accounts.permissions import require
from healthstack.kernel import tokens
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.network.gateway import service
from healthstack.network.gateway.accept import Accepted, accepting, audit_refusal
from healthstack.network.gateway.diagnostics import ECHO_PATH
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.models import GatewayBridge, GatewayMessage
from healthstack.network.gateway.schemas import (
    BridgeCreate,
    BridgeCreated,
    BridgeRead,
    BridgeUpdate,
    MessageRead,
    ServiceCreate,
    ServiceRead,
    SessionRequest,
    SessionResponse,
)
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

PREFIX = "/api/hiecm"
protocol = APIRouter(prefix=PREFIX, tags=["gateway"])
admin = APIRouter(prefix="/api/v1/gateway", tags=["gateway-admin"])


# --------------------------------------------------------------------------- protocol


@protocol.post("/gateway/v3/sessions", response_model=SessionResponse)
def sessions(
    request: Request, body: SessionRequest, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    """Client credentials (or a refresh token) → an RS256 access token for the gateway."""
    try:
        if body.grantType == "refresh_token":
            if not body.refreshToken:
                raise ValidationFailed(
                    "refreshToken is required with grantType refresh_token.",
                    field="refreshToken",
                    code="ABDM-1103",
                )
            return service.refresh_session(
                session,
                client_id=body.clientId,
                refresh_token=body.refreshToken,
                keyring=runtime.keyring,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
            ).as_abdm()
        if not body.clientSecret:
            raise ValidationFailed(
                "clientSecret is required with grantType client_credentials.",
                field="clientSecret",
                code="ABDM-1103",
            )
        return service.issue_session(
            session,
            client_id=body.clientId,
            client_secret=body.clientSecret,
            keyring=runtime.keyring,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        ).as_abdm()
    except DomainError as exc:
        audit_refusal(
            exc,
            actor=Actor(kind=ActorKind.CLIENT, id=body.clientId, display=body.clientId),
            action="gateway.session",
            resource="/gateway/v3/sessions",
            request_id=None,
            clock=runtime.clock,
            client_address=request.client.host if request.client else None,
        )
        raise


@protocol.get("/gateway/v3/certs")
def certs(runtime: RuntimeDep) -> dict[str, Any]:
    """The JWKS that verifies session tokens and the Authorization of every callback."""
    return tokens.jwks(runtime.keyring)


@protocol.get("/gateway/v3/.well-known/openid-configuration")
def openid_configuration(runtime: RuntimeDep) -> dict[str, Any]:
    base = runtime.settings.base_url.rstrip("/") + PREFIX
    return {
        "issuer": tokens.ISSUER,
        "jwks_uri": f"{base}/gateway/v3/certs",
        "token_endpoint": f"{base}/gateway/v3/sessions",
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["token"],
    }


@protocol.post(ECHO_PATH, status_code=202, response_class=Response)
def diagnostics_echo(
    accepted: Annotated[Accepted, Depends(accepting(ECHO_PATH, requires=()))],
) -> Response:
    """Diagnostic (not ABDM): accepted like any request; the answer is a callback to
    ``/api/v3/diagnostics/on-echo`` carrying ``echo`` back."""
    return accepted.response()


# --------------------------------------------------------------------------- admin


def _admin(request: Request, staff: OptionalStaff) -> RequestContext:
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    actor = require(staff if bearer else None, "gateway.admin")
    return RequestContext(
        actor=actor,
        purpose=Purpose.ADMINISTRATION,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


Admin = Annotated[RequestContext, Depends(_admin)]


def _read(bridge: GatewayBridge) -> BridgeRead:
    return BridgeRead(
        client_id=bridge.client_id,
        name=bridge.name,
        url=bridge.url,
        is_active=bridge.is_active,
        created_at=bridge.created_at,
        services=[
            ServiceRead(
                service_id=s.service_id,
                type=ServiceType(s.service_type),
                name=s.name,
                is_active=s.is_active,
            )
            for s in bridge.services
        ],
    )


@admin.get("/bridges", response_model=list[BridgeRead])
def list_bridges(ctx: Admin, session: DbSession) -> list[BridgeRead]:
    return [_read(b) for b in service.list_bridges(session)]


@admin.post("/bridges", response_model=BridgeCreated, status_code=201)
def register_bridge(
    body: BridgeCreate, ctx: Admin, session: DbSession, runtime: RuntimeDep
) -> BridgeCreated:
    """Register a client. The secret is in this answer only; keep it."""
    bridge, secret = service.register_bridge(
        session,
        ctx,
        client_id=body.client_id,
        name=body.name,
        url=body.url,
        secret=body.secret,
        clock=runtime.clock,
        settings=runtime.settings.gateway,
        development=runtime.settings.is_development,
    )
    session.refresh(bridge)
    return BridgeCreated(**_read(bridge).model_dump(), client_secret=secret)


@admin.get("/bridges/{client_id}", response_model=BridgeRead)
def read_bridge(client_id: str, ctx: Admin, session: DbSession) -> BridgeRead:
    return _read(service.get_bridge(session, client_id=client_id))


@admin.patch("/bridges/{client_id}", response_model=BridgeRead)
def update_bridge(
    client_id: str, body: BridgeUpdate, ctx: Admin, session: DbSession, runtime: RuntimeDep
) -> BridgeRead:
    """Change the callback URL, or switch the bridge off (``is_active: false``)."""
    bridge = service.update_bridge(
        session,
        ctx,
        client_id=client_id,
        url=body.url,
        is_active=body.is_active,
        clock=runtime.clock,
        development=runtime.settings.is_development,
    )
    return _read(bridge)


@admin.post("/bridges/{client_id}/services", response_model=BridgeRead, status_code=201)
def add_service(
    client_id: str, body: ServiceCreate, ctx: Admin, session: DbSession, runtime: RuntimeDep
) -> BridgeRead:
    """Let the bridge act for a facility (HFR id) as HIP or HIU, or for an application
    (a PHR app's id) as HIU."""
    service.add_service(
        session,
        ctx,
        client_id=client_id,
        service_id=body.service_id,
        service_type=body.type,
        name=body.name,
        clock=runtime.clock,
    )
    bridge = service.get_bridge(session, client_id=client_id)
    session.refresh(bridge)
    return _read(bridge)


@admin.get("/messages", response_model=list[MessageRead])
def list_messages(
    ctx: Admin,
    session: DbSession,
    client_id: str | None = None,
    status: str | None = None,
    direction: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageRead]:
    """The ledger, newest first (bodies are never shown)."""
    query = select(GatewayMessage).order_by(GatewayMessage.id.desc()).limit(limit)
    if client_id:
        query = query.join(GatewayBridge).where(GatewayBridge.client_id == client_id)
    if status:
        query = query.where(GatewayMessage.status == status)
    if direction:
        query = query.where(GatewayMessage.direction == direction)
    return [
        MessageRead(
            id=str(m.public_id),
            direction=m.direction,
            request_id=m.request_id,
            path=m.path,
            client_id=m.bridge.client_id,
            service_id=m.service_id,
            service_type=m.service_type,
            in_reply_to=m.in_reply_to,
            status=m.status,
            body_digest=m.body_digest,
            attempts=m.attempts,
            max_attempts=m.max_attempts,
            http_status=m.http_status,
            last_error=m.last_error,
            created_at=m.created_at,
            done_at=m.done_at,
        )
        for m in session.scalars(query)
    ]


router = APIRouter()
router.include_router(protocol)
router.include_router(admin)
