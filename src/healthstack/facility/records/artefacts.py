"""Checking a consent artefact before the HIP or the HIU acts on it.

The consent manager signs ``consentDetail`` (a detached RS256 JWS over its canonical
JSON, ``protocol.abdm.messages``); the key is the one the gateway publishes at
``/gateway/v3/certs``, fetched and cached like the callbacks' (the process's
``JwksCache``, which the caller passes as ``keys``). An artefact is used only after its
signature verifies over the object *as received*.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from healthstack.facility.records.exceptions import ArtefactInvalid
from healthstack.integrations.abdm.callbacks import JwksCache
from healthstack.protocol.abdm import messages as m


def verify_artefact(
    detail: Any, signature: str | None, *, keys: JwksCache, field: str = "consentDetail"
) -> m.ConsentDetail:
    """The parsed artefact when its signature verifies; ``ArtefactInvalid`` otherwise."""
    if not isinstance(detail, Mapping) or not signature:
        raise ArtefactInvalid(
            "The consent artefact carries no consentDetail or no signature; it cannot be used.",
            field=field,
        )
    kid = m.consent_signature_kid(signature)
    key = keys.key(kid) if kid else None
    if key is None or not m.verify_consent_signature(detail, signature, key):
        raise ArtefactInvalid(
            "The consent artefact's signature does not verify with the consent manager's "
            "published key; it was altered or not issued by the consent manager.",
            field="signature",
        )
    try:
        return m.ConsentDetail.model_validate(detail)
    except ValidationError:
        raise ArtefactInvalid(
            "The consent artefact is signed but incomplete (patient, HIP, HI types or "
            "permission missing).",
            field=field,
        ) from None


def within(
    inner_from: datetime, inner_to: datetime, outer_from: datetime, outer_to: datetime
) -> bool:
    return outer_from <= inner_from <= inner_to <= outer_to
