"""Bridges and their services (registration, validation) and gateway sessions
(client credentials → RS256 tokens through ``kernel.tokens``, refresh, and checking the
bearer token a bridge sends with every request)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel import tokens
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.errors import AuthenticationRequired, Conflict, NotFound, ValidationFailed
from healthstack.kernel.ids import parse_hfr_id
from healthstack.network.gateway import exceptions as gx
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.models import GatewayBridge, GatewayService
from healthstack.settings import DEV_SECRET_PLACEHOLDER, GatewaySettings

# The audiences of the gateway's own tokens. A bridge's client id may not take one of
# these (nor the kernel's), so no token meant for one purpose verifies as another
# (a callback token's audience is the receiving bridge's client id).
ACCESS_AUDIENCE = "hiecm-gateway"
REFRESH_AUDIENCE = "hiecm-gateway-refresh"
RESERVED_CLIENT_IDS = frozenset(
    {ACCESS_AUDIENCE, REFRESH_AUDIENCE, tokens.STAFF_AUDIENCE, tokens.USER_AUDIENCE, "gateway"}
)
CALLBACK_TOKEN_TYPE = "callback"  # noqa: S105 - a token type
MIN_SECRET_LENGTH = 16

_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
# An application's HIU id: as long as an HFR id at most, so it fits where one goes.
_APP_ID = re.compile(r"^[A-Z][A-Z0-9_-]{2,15}$")
_hasher = PasswordHasher()
# Verified against for an unknown client id, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-client-secret")


# --------------------------------------------------------------------------- bridges


def normalise_client_id(raw: str) -> str:
    value = (raw or "").strip()
    if not _CLIENT_ID.match(value):
        raise ValidationFailed(
            "A client id is 3 to 64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (for example jk-hmis).",
            field="client_id",
        )
    if value.lower() in RESERVED_CLIENT_IDS:
        raise ValidationFailed(
            f"The client id {value!r} is reserved by the gateway; choose another.",
            field="client_id",
        )
    return value


def normalise_url(raw: str) -> str:
    """The bridge's callback base URL: http(s), a host, no credentials, query or fragment.
    Callback paths (``/api/v3/...``) are appended to it, so a trailing slash is dropped."""
    value = (raw or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "The bridge URL must start with http:// or https:// and name a host "
            "(for example https://hmis.example.org).",
            field="url",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationFailed(
            "The bridge URL may not carry a user name, password, query or fragment; "
            "give only scheme, host, port and path.",
            field="url",
        )
    if len(value) > 512:
        raise ValidationFailed("The bridge URL is longer than 512 characters.", field="url")
    return value.rstrip("/")


def _check_secret(secret: str, *, development: bool) -> str:
    if len(secret) < MIN_SECRET_LENGTH or len(secret) > 256 or not secret.isprintable():
        raise ValidationFailed(
            f"A client secret needs {MIN_SECRET_LENGTH} to 256 printable characters; "
            "leave it out to have one generated.",
            field="secret",
        )
    if secret == DEV_SECRET_PLACEHOLDER and not development:
        # Public in the source: anyone could act as this bridge.
        raise ValidationFailed(
            "This is the development placeholder secret, which everyone knows. Leave the "
            "secret out to have a random one generated.",
            field="secret",
        )
    return secret


def secret_matches(bridge: GatewayBridge, secret: str) -> bool:
    """Whether ``secret`` is this bridge's client secret."""
    try:
        return bool(_hasher.verify(bridge.secret_hash, secret))
    except (VerificationError, InvalidHashError):
        return False


def find_bridge(session: Session, *, client_id: str, lock: bool = False) -> GatewayBridge | None:
    query = select(GatewayBridge).where(GatewayBridge.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def get_bridge(session: Session, *, client_id: str) -> GatewayBridge:
    bridge = find_bridge(session, client_id=client_id)
    if bridge is None:
        raise NotFound(
            "No bridge has that client id. List the bridges to see the registered ids.",
            field="client_id",
        )
    return bridge


def list_bridges(session: Session) -> list[GatewayBridge]:
    return list(session.scalars(select(GatewayBridge).order_by(GatewayBridge.client_id)))


def register_bridge(
    session: Session,
    ctx: RequestContext,
    *,
    client_id: str,
    name: str,
    url: str,
    secret: str | None = None,
    clock: Clock,
    settings: GatewaySettings,
    development: bool,
) -> tuple[GatewayBridge, str]:
    """A new bridge; returns it and its client secret (shown once: only a hash is kept).
    ``development``: whether this deployment is one (only there may a bridge be given
    the public placeholder secret)."""
    with audited(
        session,
        ctx,
        action="gateway.bridge.register",
        resource_type="gateway_bridge",
        clock=clock,
    ) as target:
        cid = normalise_client_id(client_id)
        target.resource_id = cid
        clean_url = normalise_url(url)
        label = (name or "").strip()
        if not label or len(label) > 128:
            raise ValidationFailed(
                "Give the bridge a name (who runs it), at most 128 characters.", field="name"
            )
        plain = (
            _check_secret(secret, development=development)
            if secret is not None
            else secrets.token_urlsafe(32)
        )
        if find_bridge(session, client_id=cid) is not None:
            raise Conflict(
                f"A bridge with client id {cid!r} is already registered. Choose another "
                "id, or change that bridge's URL instead.",
                field="client_id",
            )
        now = clock.now()
        bridge = GatewayBridge(
            client_id=cid,
            name=label,
            secret_hash=_hasher.hash(plain),
            url=clean_url,
            is_active=True,
            rate_tokens=float(settings.rate_burst),
            rate_checked_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(bridge)
        session.flush()
    return bridge, plain


def update_bridge(
    session: Session,
    ctx: RequestContext,
    *,
    client_id: str,
    url: str | None = None,
    is_active: bool | None = None,
    secret: str | None = None,
    clock: Clock,
    development: bool,
) -> GatewayBridge:
    """Change a bridge's callback URL or client secret, or switch it off (its tokens
    stop working)."""
    with audited(
        session,
        ctx,
        action="gateway.bridge.update",
        resource_type="gateway_bridge",
        resource_id=client_id[:64],
        clock=clock,
    ):
        bridge = get_bridge(session, client_id=client_id)
        if url is not None:
            bridge.url = normalise_url(url)
        if is_active is not None:
            bridge.is_active = is_active
        if secret is not None:
            bridge.secret_hash = _hasher.hash(_check_secret(secret, development=development))
        bridge.updated_at = clock.now()
        session.flush()
    return bridge


def add_service(
    session: Session,
    ctx: RequestContext,
    *,
    client_id: str,
    service_id: str,
    service_type: ServiceType | str,
    name: str,
    clock: Clock,
) -> GatewayService:
    """Let a bridge act for a facility as HIP or HIU (its HFR id)."""
    with audited(
        session,
        ctx,
        action="gateway.service.add",
        resource_type="gateway_service",
        clock=clock,
    ) as target:
        bridge = get_bridge(session, client_id=client_id)
        try:
            kind = ServiceType(str(service_type).strip().upper())
        except ValueError:
            raise ValidationFailed(
                "A service type is HIP (provides records) or HIU (requests them).",
                field="type",
            ) from None
        sid = parse_service_id(service_id, kind)
        target.resource_id = f"{sid}:{kind.value}"
        label = (name or "").strip()
        if not label or len(label) > 128:
            raise ValidationFailed(
                "Give the service a name (the facility's name), at most 128 characters.",
                field="name",
            )
        taken = list(
            session.scalars(select(GatewayService).where(GatewayService.service_id == sid))
        )
        other = next((s for s in taken if s.bridge_id != bridge.id), None)
        if other is not None:
            raise Conflict(
                f"{sid} is served by another bridge ({other.bridge.client_id}); a facility "
                "is reached through one bridge. Remove it there first.",
                field="service_id",
            )
        if any(s.service_type == kind.value for s in taken):
            raise Conflict(f"{sid} is already a {kind.value} of this bridge.", field="service_id")
        service = GatewayService(
            bridge_id=bridge.id,
            service_id=sid,
            service_type=kind.value,
            name=label,
            is_active=True,
            created_at=clock.now(),
        )
        session.add(service)
        bridge.updated_at = clock.now()
        session.flush()
    return service


def parse_service_id(raw: str, kind: ServiceType) -> str:
    """A HIP is a facility (its HFR id). An HIU is a facility too, or an application
    that is not one (a PHR app), named by an application id such as HEALTHSTACK-PHR."""
    value = (raw or "").strip().upper()
    if kind is ServiceType.HIU and _APP_ID.match(value) and not value[2:3].isdigit():
        return value
    try:
        return parse_hfr_id(value)
    except ValidationFailed as exc:
        if kind is ServiceType.HIU:
            raise ValidationFailed(
                "An HIU service is a facility's HFR id (IN followed by 10 digits) or an "
                "application's id: 3 to 16 capital letters, digits, '-' or '_', starting "
                "with a letter (for example HEALTHSTACK-PHR).",
                field="service_id",
                code=exc.code,
            ) from None
        raise


def find_service(
    session: Session, *, service_id: str, service_type: ServiceType
) -> GatewayService | None:
    return session.scalar(
        select(GatewayService).where(
            GatewayService.service_id == service_id,
            GatewayService.service_type == service_type.value,
        )
    )


def reachable_services(session: Session, *, service_type: ServiceType) -> list[GatewayService]:
    """The active services of that type whose bridge is active, by name."""
    return list(
        session.scalars(
            select(GatewayService)
            .join(GatewayBridge, GatewayService.bridge_id == GatewayBridge.id)
            .where(
                GatewayService.service_type == service_type.value,
                GatewayService.is_active.is_(True),
                GatewayBridge.is_active.is_(True),
            )
            .order_by(GatewayService.name)
        )
    )


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    def as_abdm(self) -> dict[str, Any]:
        """The shape of ABDM's ``/gateway/v3/sessions`` answer."""
        return {
            "accessToken": self.access_token,
            "expiresIn": self.expires_in,
            "refreshExpiresIn": self.refresh_expires_in,
            "refreshToken": self.refresh_token,
            "tokenType": "bearer",
        }


def _credentials_wrong() -> AuthenticationRequired:
    return gx.GatewayUnauthorized(
        "clientId or clientSecret is wrong. Use the credentials the gateway's "
        "administrator issued for this bridge.",
        code=gx.CREDENTIALS_WRONG,
    )


def _tokens_for(
    bridge: GatewayBridge, *, keyring: KeyRing, clock: Clock, settings: GatewaySettings
) -> SessionTokens:
    claims = {"clientId": bridge.client_id}
    access = tokens.issue(
        keyring,
        subject=bridge.client_id,
        audience=ACCESS_AUDIENCE,
        ttl_seconds=settings.session_ttl_seconds,
        clock=clock,
        claims={**claims, "typ": "access"},
    )
    refresh = tokens.issue(
        keyring,
        subject=bridge.client_id,
        audience=REFRESH_AUDIENCE,
        ttl_seconds=settings.refresh_ttl_seconds,
        clock=clock,
        claims={**claims, "typ": "refresh"},
    )
    return SessionTokens(
        access, settings.session_ttl_seconds, refresh, settings.refresh_ttl_seconds
    )


def issue_session(
    session: Session,
    *,
    client_id: str,
    client_secret: str,
    keyring: KeyRing,
    clock: Clock,
    settings: GatewaySettings,
    development: bool,
) -> SessionTokens:
    """Client credentials grant."""
    bridge = find_bridge(session, client_id=client_id)
    try:
        _hasher.verify(bridge.secret_hash if bridge else _DUMMY_HASH, client_secret)
    except (VerificationError, InvalidHashError):
        bridge = None
    if client_secret == DEV_SECRET_PLACEHOLDER and not development:
        bridge = None  # registered while in development: the placeholder is public
    if bridge is None or not bridge.is_active:
        raise _credentials_wrong()
    return _tokens_for(bridge, keyring=keyring, clock=clock, settings=settings)


def refresh_session(
    session: Session,
    *,
    client_id: str,
    refresh_token: str,
    keyring: KeyRing,
    clock: Clock,
    settings: GatewaySettings,
) -> SessionTokens:
    """Refresh grant: a valid refresh token of this client (still active) → new tokens."""
    try:
        claims = tokens.verify(keyring, refresh_token, audience=REFRESH_AUDIENCE, clock=clock)
    except AuthenticationRequired:
        raise gx.GatewayUnauthorized(
            "The refresh token is not valid or has expired. Ask for a new session with "
            "grantType client_credentials.",
            code=gx.CREDENTIALS_WRONG,
        ) from None
    bridge = find_bridge(session, client_id=client_id)
    if claims.get("sub") != client_id or bridge is None or not bridge.is_active:
        raise _credentials_wrong()
    return _tokens_for(bridge, keyring=keyring, clock=clock, settings=settings)


def authenticate_bearer(
    session: Session,
    *,
    authorization: str | None,
    keyring: KeyRing,
    clock: Clock,
    lock: bool = False,
) -> GatewayBridge:
    """The active bridge whose session token is in ``Authorization: Bearer ...``.
    ``lock`` holds its row for the rest of the transaction (the rate-limit bucket)."""
    value = (authorization or "").strip()
    if not value.lower().startswith("bearer ") or not value[7:].strip():
        raise gx.GatewayUnauthorized(
            "The Authorization header is missing. Send 'Authorization: Bearer <accessToken>' "
            "with the token from /gateway/v3/sessions."
        )
    try:
        claims = tokens.verify(keyring, value[7:].strip(), audience=ACCESS_AUDIENCE, clock=clock)
    except AuthenticationRequired as exc:
        if exc.code == "HS-1402":
            raise gx.GatewayUnauthorized(
                "The session token has expired. Ask /gateway/v3/sessions for a new one "
                "(or refresh it) and send the request again.",
                code=gx.TOKEN_EXPIRED,
            ) from None
        raise gx.GatewayUnauthorized(
            "The session token is not valid here. Ask /gateway/v3/sessions for a token "
            "with this gateway's client credentials."
        ) from None
    bridge = find_bridge(session, client_id=str(claims.get("sub", "")), lock=lock)
    if claims.get("typ") != "access" or bridge is None or not bridge.is_active:
        raise gx.GatewayUnauthorized(
            "This client is not (or no longer) registered with the gateway. Ask the "
            "gateway's administrator."
        )
    return bridge


def callback_token(
    keyring: KeyRing,
    *,
    clock: Clock,
    settings: GatewaySettings,
    audience: str,
    request_id: str,
    body_digest: str,
    service_header: str | None,
    service_id: str | None,
) -> str:
    """The gateway-signed Authorization of one callback. It names the receiving bridge
    (audience) and binds the REQUEST-ID, the body's SHA-256 and the X-HIP-ID / X-HIU-ID,
    so it cannot be replayed with another body, to another facility or to another bridge."""
    claims: dict[str, Any] = {
        "typ": CALLBACK_TOKEN_TYPE,
        "requestId": request_id,
        "bodyDigest": body_digest,
    }
    if service_header and service_id:
        claims[service_header] = service_id
    return tokens.issue(
        keyring,
        subject="gateway",
        audience=audience,
        ttl_seconds=settings.callback_token_ttl_seconds,
        clock=clock,
        claims=claims,
    )
