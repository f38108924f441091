"""What every HIP flow shares: who acts when the consent manager asks (the gateway, for
care management), reading the CM's body in ABDM's shape, and queuing the answer
(through the gateway client, ``AbdmOutbox``, with ``response.requestId`` = the
REQUEST-ID of the callback it answers; a refusal carries the error, not empty result
lists)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.integrations.abdm.callbacks import GATEWAY_ACTOR
from healthstack.kernel.context import Purpose, RequestContext
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.protocol.abdm import messages as m


def gateway_context(cb: CallbackContext) -> RequestContext:
    """Who acts when the consent manager asks: the gateway, for care management."""
    return RequestContext(
        actor=GATEWAY_ACTOR, purpose=Purpose.CARE_MANAGEMENT, request_id=cb.request_id
    )


def answer(
    session: Session,
    *,
    outbox: AbdmOutbox,
    cb: CallbackContext,
    path: str,
    body: m.Message,
    context: dict[str, Any] | None = None,
) -> str:
    wire = m.dump(body)
    if "error" in wire:
        # A refusal carries the error and what it answers, not empty result lists.
        wire = {k: v for k, v in wire.items() if v != []}
    return outbox.enqueue(
        session,
        path=path,
        body=wire,
        headers={"X-HIP-ID": str(cb.hip_id)},
        context={"kind": "records.hip-answer", "answers": cb.request_id, **(context or {})},
    )


def error_of(exc: DomainError) -> m.ErrorDetail:
    return m.ErrorDetail(code=exc.code, message=exc.message)


def reference_to(cb: CallbackContext) -> m.RequestReference:
    return m.RequestReference(request_id=cb.request_id)


def parse_body(model: type[m.Message], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
        raise ValidationFailed(
            f"The message body does not have ABDM's shape ({where}); fix it and send it again.",
            field=where,
        ) from None
