"""Signing consent artefacts.

The signature is a compact JWS, RS256, with a detached payload (``<header>..<sig>``):
the payload is the canonical JSON of ``consentDetail`` (``messages.consent_signing_input``:
keys sorted, no spaces, UTF-8), so the artefact travels as readable JSON beside its
signature. The key is the runtime keyring's ``signing`` key, the one the gateway
publishes at ``/gateway/v3/certs`` (``kernel.tokens.jwks``); the JWS header's ``kid``
names it, so a HIP or HIU verifies with the gateway's JWKS
(``messages.verify_consent_signature``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from healthstack.kernel import tokens
from healthstack.kernel.crypto import KeyRing
from healthstack.protocol.abdm.messages import consent_signing_input, verify_consent_signature


def sign_consent_detail(keyring: KeyRing, detail: Mapping[str, Any]) -> str:
    """The CM's signature over one consentDetail (its wire dict)."""
    return jwt.api_jws.encode(
        consent_signing_input(detail),
        keyring.private_key("signing"),
        algorithm="RS256",
        headers={"kid": tokens.key_id(keyring), "typ": "consent+jws"},
        is_payload_detached=True,
    )


def signature_is_ours(keyring: KeyRing, detail: Mapping[str, Any], signature: str) -> bool:
    """True when ``signature`` is this CM's over exactly this consentDetail."""
    return verify_consent_signature(detail, signature, keyring.private_key("signing").public_key())
