"""Verification of the callbacks the gateway delivers to this facility side's bridge
routes (``/api/v3/...``). Always on: there is no setting that turns it off.

A callback is taken when
- its ``Authorization: Bearer`` JWT verifies (RS256) with a key from the gateway's
  ``{gateway}/gateway/v3/certs`` (cached; fetched again, at most once a minute, when an
  unknown key id shows up), has not expired, is addressed to our client id
  (``aud``), is a callback token (``typ``), and binds this REQUEST-ID, the SHA-256 of
  this very body and these X-HIP-ID / X-HIU-ID headers (so a signed callback cannot be
  replayed with another body, to another facility or to another bridge);
- its TIMESTAMP is within the window (default 10 minutes past, 2 ahead);
- its REQUEST-ID has not been received before: a duplicate raises
  ``DuplicateCallback``, which the app answers 202 with nothing done.

It is then recorded in the ledger (in the route's transaction, so a failure to apply it
leaves it unrecorded and the gateway's retry is processed), and the call it answers is
looked up by ``response.requestId``. Every verdict is audited.

``verify_session_token`` checks the one inbound call that does not come through the
gateway, a HIP's data push: it carries the HIP bridge's gateway session token, verified
against the same JWKS (docs/adr/0013).

Both take what they check with, typed: the ``abdm`` settings section, the clock and the
gateway's keys (``JwksCache``, one per process: ``Runtime.gateway_keys``). The FastAPI
dependency that runs ``verify_callback_message`` for a bridge route is the facility
side's (``facility.records.dependencies.VerifiedCallback``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.integrations.abdm.models import AbdmMessage, CallStatus, Direction
from healthstack.integrations.abdm.outbound import OutboundCall, find_call_row, find_context
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.errors import (
    AuthenticationRequired,
    DomainError,
    ServiceUnavailable,
    ValidationFailed,
)
from healthstack.settings import AbdmSettings, Settings

# The same codes the gateway uses for the same faults (gateway/exceptions.py).
TOKEN_INVALID = "ABDM-1101"  # noqa: S105 - an error code
TOKEN_EXPIRED = "ABDM-1102"  # noqa: S105 - an error code
REQUEST_ID_BAD = "ABDM-1104"
TIMESTAMP_BAD = "ABDM-1105"
TIMESTAMP_STALE = "ABDM-1106"
CM_ID_BAD = "ABDM-1107"
BODY_BAD = "ABDM-1111"
DUPLICATE = "ABDM-1112"

# The audience and type of the gateway's session (access) tokens: gateway.service
# issues them so (ACCESS_AUDIENCE); this side checks them without importing the gateway.
SESSION_AUDIENCE = "hiecm-gateway"
SESSION_TOKEN_TYPE = "access"  # noqa: S105 - a token type

GATEWAY_ACTOR = Actor(kind=ActorKind.CLIENT, id="abdm-gateway", display="ABDM gateway")
# Clocks of the gateway and this side may differ a little.
EXPIRY_LEEWAY = timedelta(seconds=30)


class CallbackRefused(AuthenticationRequired):
    code = TOKEN_INVALID


class DuplicateCallback(DomainError):
    """A callback with a REQUEST-ID received before: answered 202, nothing applied."""

    status_hint = 202
    code = DUPLICATE


@dataclass(frozen=True)
class CallbackContext:
    request_id: str  # the callback's own REQUEST-ID
    in_reply_to: str | None  # body.response.requestId: the call it answers
    hip_id: str | None  # X-HIP-ID: the facility it is for (as HIP)
    hiu_id: str | None  # X-HIU-ID: the facility it is for (as HIU)
    path: str
    body: dict[str, Any]
    call: OutboundCall | None  # our call it answers, with its context; None if not ours


# --------------------------------------------------------------------------- JWKS


class JwksCache:
    """The gateway's signing keys by key id."""

    def __init__(self, url: str, client: httpx.Client, clock: Clock, *, refetch_seconds: int = 60):
        self.url = url
        self._client = client
        self._clock = clock
        self._refetch = timedelta(seconds=refetch_seconds)
        self._keys: dict[str, Any] = {}
        self._fetched_at: datetime | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def _fetch(self) -> None:
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise ServiceUnavailable(
                "The gateway's signing keys could not be fetched; the callback cannot be "
                "checked now. Send it again later.",
                code="ABDM-1024",
            ) from exc
        self.fetches += 1
        self._fetched_at = self._clock.now()
        self._keys = {k.key_id: k.key for k in keys if k.key_id}

    def key(self, kid: str) -> Any | None:
        with self._lock:
            if kid not in self._keys and (
                self._fetched_at is None or self._clock.now() - self._fetched_at >= self._refetch
            ):
                self._fetch()
            return self._keys.get(kid)


def gateway_jwks(
    settings: Settings, *, clock: Clock, transport: httpx.BaseTransport | None = None
) -> JwksCache:
    """The keys of the gateway ``settings`` name (``{gateway}/gateway/v3/certs``),
    fetched on ``transport`` (None: real HTTP) when first needed."""
    client = httpx.Client(transport=transport, timeout=settings.abdm.http_timeout_seconds)
    return JwksCache(settings.abdm_gateway_url + "/gateway/v3/certs", client, clock)


# --------------------------------------------------------------------------- checks


def _refused(message: str, code: str = TOKEN_INVALID) -> CallbackRefused:
    return CallbackRefused(message, code=code)


def _verified(
    authorization: str | None,
    *,
    keys: JwksCache,
    clock: Clock,
    audience: str,
    what: str,
    how: str = "",
) -> dict[str, Any]:
    """The claims of a gateway-signed ``Authorization: Bearer`` JWT for ``audience``:
    RS256 with a key of the gateway's JWKS, not expired (30 s leeway). ``how`` (what
    to send instead) ends every refusal's message."""

    def refused(message: str, code: str = TOKEN_INVALID) -> CallbackRefused:
        return _refused(f"{message} {how}".strip(), code)

    value = (authorization or "").strip()
    if not value.lower().startswith("bearer ") or not value[7:].strip():
        raise refused(f"The {what} carries no gateway Authorization; it is refused.")
    token = value[7:].strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise refused(f"The {what}'s Authorization is not a JWT; it is refused.") from None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        raise refused(f"The {what}'s Authorization is not an RS256 gateway token.")
    key = keys.key(kid)
    if key is None:
        raise refused(f"The {what} is signed with a key the gateway does not publish.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "aud"],
            },
        )
    except jwt.PyJWTError:
        raise refused(
            f"The {what}'s Authorization does not verify (signature or audience)."
        ) from None
    expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    if expires + EXPIRY_LEEWAY <= clock.now():
        raise refused(f"The {what}'s Authorization has expired.", TOKEN_EXPIRED)
    return claims


def _claims(
    authorization: str | None, *, keys: JwksCache, clock: Clock, client_id: str
) -> dict[str, Any]:
    claims = _verified(authorization, keys=keys, clock=clock, audience=client_id, what="callback")
    if claims.get("typ") != "callback":
        raise _refused("The Authorization is a gateway token, but not a callback's.")
    return claims


def verify_session_token(
    authorization: str | None, *, keys: JwksCache, clock: Clock
) -> dict[str, Any]:
    """The claims of a bridge's gateway session token sent to this side directly (a
    HIP's data push to the HIU's dataPushUrl: not through the gateway, so no callback
    token; ABDM requires the HIP's session token, 401 without it). Verified against the
    same JWKS as callbacks, with the gateway's session audience and type, so a callback
    token, a refresh token or another token the same key signs is refused. Raises
    ``CallbackRefused`` (401: ABDM-1101, ABDM-1102 when expired)."""
    how = (
        "Send 'Authorization: Bearer <accessToken>' with the HIP bridge's session token "
        "from the gateway's /gateway/v3/sessions."
    )
    claims = _verified(
        authorization,
        keys=keys,
        clock=clock,
        audience=SESSION_AUDIENCE,
        what="data push",
        how=how,
    )
    if claims.get("typ") != SESSION_TOKEN_TYPE:
        raise _refused(f"The Authorization is a gateway token, but not a session token. {how}")
    return claims


def session_client_id(claims: Mapping[str, Any]) -> str | None:
    """The bridge a session token was issued to (its client id), if it names one."""
    value = claims.get("clientId") or claims.get("sub")
    return str(value)[:64] if isinstance(value, str) and value.strip() else None


def _timestamp(raw: str | None, now: datetime, past: int, future: int) -> None:
    try:
        stamp = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        raise ValidationFailed(
            "The TIMESTAMP header is missing or not ISO-8601.",
            field="TIMESTAMP",
            code=TIMESTAMP_BAD,
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    if stamp < now - timedelta(seconds=past) or stamp > now + timedelta(seconds=future):
        raise ValidationFailed(
            "The TIMESTAMP header is outside the accepted window.",
            field="TIMESTAMP",
            code=TIMESTAMP_STALE,
        )


def verify_callback_message(
    session: Session,
    *,
    settings: AbdmSettings,
    keys: JwksCache,
    clock: Clock,
    path: str,
    headers: Mapping[str, str],
    raw: bytes,
) -> CallbackContext:
    """Verify and record one callback; see the module docstring. Raises
    ``CallbackRefused`` (401), ``ValidationFailed`` (400), ``DuplicateCallback`` (202)
    or ``ServiceUnavailable`` (the JWKS could not be fetched: 503)."""
    raw_rid = (headers.get("REQUEST-ID") or "").strip()
    ctx = RequestContext(
        actor=GATEWAY_ACTOR,
        purpose=Purpose.ADMINISTRATION,
        request_id=raw_rid[:64] or str(uuid.uuid4()),
    )
    with audited(
        session,
        ctx,
        action="abdm.callback.receive",
        resource_type="abdm_callback",
        resource_id=path[:64],
        clock=clock,
    ):
        claims = _claims(
            headers.get("Authorization"), keys=keys, clock=clock, client_id=settings.client_id
        )
        try:
            request_id = str(uuid.UUID(raw_rid))
        except ValueError:
            raise ValidationFailed(
                "The REQUEST-ID header is missing or not a UUID.",
                field="REQUEST-ID",
                code=REQUEST_ID_BAD,
            ) from None
        _timestamp(
            headers.get("TIMESTAMP"),
            clock.now(),
            settings.timestamp_past_seconds,
            settings.timestamp_future_seconds,
        )
        cm = headers.get("X-CM-ID")
        if cm is not None and cm.strip() != settings.cm_id:
            raise ValidationFailed(
                "The X-CM-ID header names another consent manager.", field="X-CM-ID", code=CM_ID_BAD
            )
        hip = (headers.get("X-HIP-ID") or "").strip() or None
        hiu = (headers.get("X-HIU-ID") or "").strip() or None
        if (
            claims.get("requestId") != request_id
            or claims.get("bodyDigest") != hashlib.sha256(raw).hexdigest()
            or claims.get("X-HIP-ID") != hip
            or claims.get("X-HIU-ID") != hiu
        ):
            raise _refused(
                "The callback's Authorization was signed for another message "
                "(REQUEST-ID, body or X-HIP-ID / X-HIU-ID differ)."
            )
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.", field="body", code=BODY_BAD)
        response = body.get("response")
        in_reply_to = response.get("requestId") if isinstance(response, dict) else None
        in_reply_to = str(in_reply_to)[:36] if in_reply_to else None
        seen = session.scalar(
            select(AbdmMessage.id).where(
                AbdmMessage.direction == Direction.INBOUND.value,
                AbdmMessage.request_id == request_id,
            )
        )
        if seen is not None:
            raise DuplicateCallback("This callback was received before; nothing is done again.")
        now = clock.now()
        session.add(
            AbdmMessage(
                direction=Direction.INBOUND.value,
                request_id=request_id,
                path=path[:255],
                service_type="HIP" if hip else "HIU" if hiu else None,
                service_id=hip or hiu,
                in_reply_to=in_reply_to,
                status=CallStatus.RECEIVED.value,
                body_digest=hashlib.sha256(raw).hexdigest(),
                attempts=1,
                max_attempts=1,
                created_at=now,
                updated_at=now,
                done_at=now,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            # The same callback is being applied by another request right now.
            raise DuplicateCallback(
                "This callback is being received by another request; nothing is done again."
            ) from None
        call_row = find_call_row(session, in_reply_to) if in_reply_to else None
        if call_row is not None and call_row.answered_at is None:
            call_row.answered_at = now
    return CallbackContext(
        request_id=request_id,
        in_reply_to=in_reply_to,
        hip_id=hip,
        hiu_id=hiu,
        path=path,
        body=body,
        call=find_context(session, in_reply_to),
    )
