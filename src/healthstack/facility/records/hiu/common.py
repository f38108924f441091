"""What the HIU's flows share: the kinds of call whose answers they look for, the HI
types a doctor may ask for, the sealer of the HIU's private keys, and reading the CM's
body in ABDM's shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.facility.records.models import (
    ConsentStatus,
    DataRequestStatus,
    HiuConsentArtefact,
)
from healthstack.integrations.abdm import CallbackContext
from healthstack.kernel.context import Actor, ActorKind
from healthstack.kernel.crypto import KeyedHasher, Sealer
from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.abdm import messages as m

_HIU_KEY_SEAL = "records.hiu-key"
CALL_CONSENT_INIT = "records.consent-init"
CALL_CONSENT_STATUS = "records.consent-status"
CALL_CONSENT_FETCH = "records.consent-fetch"
CALL_HI_REQUEST = "records.hi-request"
# A HIP pushes straight to the dataPushUrl (not through the gateway).
PUSH_ACTOR = Actor(kind=ActorKind.CLIENT, id="hip-data-push", display="HIP data push")
# The HI types a doctor may ask for (ABDM's v3 list).
HI_TYPES = tuple(t.value for t in m.HiType)
FINISHED = (
    DataRequestStatus.COMPLETED.value,
    DataRequestStatus.PARTIAL.value,
    DataRequestStatus.ERRORED.value,
    DataRequestStatus.ERASED.value,
)


def to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def key_sealer(hasher: KeyedHasher) -> Sealer:
    """Seals a data request's private key to its row."""
    return Sealer(hasher, _HIU_KEY_SEAL)


def hiu_headers(hiu_id: str) -> dict[str, str]:
    return {"X-HIU-ID": hiu_id}


def by_public_id(session: Session, model: Any, value: Any, *where: Any) -> Any:
    try:
        pid = uuid.UUID(str(value))
    except ValueError:
        return None
    return session.scalar(select(model).where(model.public_id == pid, *where))


def answers_our_call(cb: CallbackContext, kind: str) -> bool:
    return (
        cb.call is not None
        and cb.call.context.get("kind") == kind
        and cb.call.service_id == cb.hiu_id
    )


def parse_body(model: type[m.Message], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
        raise ValidationFailed(
            f"The message body does not have ABDM's shape ({where}).", field=where
        ) from None


def artefact_valid(artefact: HiuConsentArtefact, now: datetime) -> bool:
    return (
        artefact.status == ConsentStatus.GRANTED.value
        and artefact.data_erase_at is not None
        and artefact.data_erase_at > now
    )
