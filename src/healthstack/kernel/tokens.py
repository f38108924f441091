"""RS256 JSON Web Tokens signed with the service's ``signing`` key.

Audiences keep the kinds apart: ``healthstack-staff`` (browser sessions of staff) and
``abha-user`` (the ABHA holder's user token, which later services verify through the
published JWKS).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.errors import AuthenticationRequired

ISSUER = "healthstack"
STAFF_AUDIENCE = "healthstack-staff"
USER_AUDIENCE = "abha-user"


def key_id(keyring: KeyRing) -> str:
    pub = keyring.private_key("signing").public_key()
    n = pub.public_numbers().n.to_bytes(256, "big")
    return hashlib.sha256(n).hexdigest()[:16]


def issue(
    keyring: KeyRing,
    *,
    subject: str,
    audience: str,
    ttl_seconds: int,
    clock: Clock,
    claims: dict[str, Any] | None = None,
) -> str:
    now = clock.now()
    payload = {
        "iss": ISSUER,
        "sub": subject,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": str(uuid.uuid4()),
        **(claims or {}),
    }
    return jwt.encode(
        payload,
        keyring.private_key("signing"),
        algorithm="RS256",
        headers={"kid": key_id(keyring)},
    )


def verify(keyring: KeyRing, token: str, *, audience: str, clock: Clock) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            keyring.private_key("signing").public_key(),
            algorithms=["RS256"],
            audience=audience,
            issuer=ISSUER,
            options={"verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationRequired(
            "Your session is not valid. Log in again.", code="HS-1401"
        ) from exc
    # Expiry is checked against the injected clock, so tests can advance time.
    if claims["exp"] <= int(clock.now().timestamp()):
        raise AuthenticationRequired("Your session has expired. Log in again.", code="HS-1402")
    return claims


def jwks(keyring: KeyRing) -> dict[str, Any]:
    pub = keyring.private_key("signing").public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    nums = pub.public_numbers()

    def b64(i: int) -> str:
        raw = i.to_bytes((i.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "keys": [
            {
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": key_id(keyring),
                "n": b64(nums.n),
                "e": b64(nums.e),
            }
        ]
    }
