"""The ABHA user token (RS256): issued at enrolment and login, verified by every
later service (here and, through ``/.well-known/jwks.json``, elsewhere)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel import tokens
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.errors import AuthenticationRequired, PermissionDenied
from healthstack.network.abha.models import AbhaAccount
from healthstack.protocol.abdm.messages import canonical_json
from healthstack.settings import AbhaSettings

REFRESH_AUDIENCE = "abha-refresh"
# A user token for one self-request only (ADR 0015): the PHR mints it for the consent
# init it sends, the consent manager takes it once, in X-AUTH-TOKEN.
SELF_REQUEST_AUDIENCE = "abha-self-request"


@dataclass(frozen=True)
class UserTokens:
    token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def issue_user_tokens(
    account: AbhaAccount, *, keyring: KeyRing, clock: Clock, abha_settings: AbhaSettings
) -> UserTokens:
    cfg = abha_settings
    claims = {
        "abhaNumber": account.abha_number,
        "typ": "Transaction",
        "clientId": "healthstack",
    }
    token = tokens.issue(
        keyring,
        subject=account.abha_number,
        audience=tokens.USER_AUDIENCE,
        ttl_seconds=cfg.user_token_ttl_seconds,
        clock=clock,
        claims=claims,
    )
    refresh = tokens.issue(
        keyring,
        subject=account.abha_number,
        audience=REFRESH_AUDIENCE,
        ttl_seconds=cfg.refresh_token_ttl_seconds,
        clock=clock,
    )
    return UserTokens(token, cfg.user_token_ttl_seconds, refresh, cfg.refresh_token_ttl_seconds)


def consent_digest(consent: Mapping[str, Any]) -> str:
    """SHA-256 of a consent init's ``network.consent`` object as it travels (canonical JSON)."""
    return hashlib.sha256(canonical_json(consent)).hexdigest()


def issue_self_request_token(
    account: AbhaAccount,
    *,
    consent: Mapping[str, Any],
    keyring: KeyRing,
    clock: Clock,
    ttl_seconds: int,
) -> str:
    """The holder's proof that they ask for this one consent request themself: a short
    user token naming them and the request's digest, with a one-time id (``jti``).
    Unlike the login token it opens no PHR API, so the bridge that carries it learns
    nothing it could use elsewhere. It lasts ``ttl_seconds``
    (``consent.self_request_proof_seconds``)."""
    return tokens.issue(
        keyring,
        subject=account.abha_number,
        audience=SELF_REQUEST_AUDIENCE,
        ttl_seconds=ttl_seconds,
        clock=clock,
        claims={
            "typ": "SelfRequest",
            "abhaNumber": account.abha_number,
            "consentDigest": consent_digest(consent),
        },
    )


def account_from_token(
    session: Session,
    *,
    token: str,
    keyring: KeyRing,
    clock: Clock,
    allow_inactive: bool = False,
) -> AbhaAccount:
    """Verify a user token and load its account (ACTIVE only, unless told otherwise)."""
    claims = tokens.verify(keyring, token, audience=tokens.USER_AUDIENCE, clock=clock)
    account = session.scalar(select(AbhaAccount).where(AbhaAccount.abha_number == claims["sub"]))
    if account is None or account.status == "DELETED":
        raise AuthenticationRequired("This ABHA no longer exists. Log in again.", code="HS-1404")
    if account.status != "ACTIVE" and not allow_inactive:
        raise PermissionDenied(
            "This ABHA is deactivated. Reactivate it from the patient login page first.",
            code="HS-1405",
        )
    return account


def patient_context(
    account: AbhaAccount, *, request_id: str, ip: str | None = None
) -> RequestContext:
    return RequestContext(
        actor=Actor(kind=ActorKind.PATIENT, id=account.abha_number, display="self"),
        purpose=Purpose.SELF_SERVICE,
        request_id=request_id,
        ip=ip,
    )
