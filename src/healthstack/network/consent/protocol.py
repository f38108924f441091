"""Helpers the consent manager's protocol services share: parsing a body into its
``messages`` model with an ABDM-coded refusal, who the sender is (for the audit), the
ABHA account a request names, and queuing a message to a HIP or HIU (through the
gateway's ``CallbackSender``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import looks_like_abha_number
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.search import lookup_by_address, lookup_by_number, preferred_address
from healthstack.network.consent import exceptions as cx
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.routing import CallbackSender, InboundMessage
from healthstack.network.gateway.service import find_service, reachable_services
from healthstack.protocol.abdm.messages import Message, dump

M = TypeVar("M", bound=BaseModel)


def parse_uuid(raw: object) -> uuid.UUID | None:
    """A public id as a protocol body carries it, or None when it is not a UUID (the
    caller answers "not found", never a parse error that tells ids apart)."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def parse(model: type[M], body: Mapping[str, Any]) -> M:
    """The body as ``model``, or ABDM-1206 naming the fields (never their values)."""
    try:
        return model.model_validate(dict(body))
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()[:5]})
        raise cx.ProtocolRefused(
            "The request body is not as ABDM specifies: check "
            + ", ".join(where)
            + " (missing or of the wrong type) and send it again.",
            code=cx.BODY_INVALID,
            field=where[0] if where else None,
        ) from None


def sender_context(message: InboundMessage, purpose: Purpose) -> RequestContext:
    """The audit context of a protocol request: the facility (X-HIP-ID / X-HIU-ID)
    acting through its bridge."""
    facility = message.hip_id or message.hiu_id
    return RequestContext(
        actor=Actor(
            kind=ActorKind.CLIENT,
            id=facility or message.client_id,
            facility_id=facility,
            display=message.client_id,
        ),
        purpose=purpose,
        request_id=message.request_id,
    )


def patient_address(account: AbhaAccount, *, cm_id: str) -> str:
    """The address the CM names the patient by (its ABHA address suffix is its id)."""
    return preferred_address(account, suffix=cm_id)


def find_patient(
    session: Session,
    *,
    cm_id: str,
    address: str | None = None,
    number: str | None = None,
) -> AbhaAccount | None:
    """The ACTIVE account an ABHA address and/or number names; None if there is none,
    if they name different accounts, or if the address is another CM's (``cm_id``, the
    suffix of this CM's addresses)."""
    by_number: AbhaAccount | None = None
    by_address: AbhaAccount | None = None
    if number:
        if not looks_like_abha_number(number):
            return None
        by_number = lookup_by_number(session, number.replace("-", ""))
        if by_number is None:
            return None
    if address:
        try:
            by_address = lookup_by_address(session, address, suffix=cm_id)
        except ValidationFailed:
            return None
        if by_address is None:
            return None
    found = by_number or by_address
    if found is None or (by_number and by_address and by_number.id != by_address.id):
        return None
    return found if found.status == "ACTIVE" else None


def hip_name(session: Session, *, hip_id: str) -> str | None:
    service = find_service(session, service_id=hip_id, service_type=ServiceType.HIP)
    return service.name if service is not None else None


def hiu_name(session: Session, *, hiu_id: str) -> str | None:
    service = find_service(session, service_id=hiu_id, service_type=ServiceType.HIU)
    return service.name if service is not None else None


def reachable_hips(session: Session) -> list[tuple[str, str]]:
    """(HFR id, name) of the HIPs the network reaches now, by name: where a patient may
    look for their records."""
    return [
        (s.service_id, s.name) for s in reachable_services(session, service_type=ServiceType.HIP)
    ]


def hip_reachable(session: Session, *, hip_id: str) -> bool:
    service = find_service(session, service_id=hip_id, service_type=ServiceType.HIP)
    return bool(service and service.is_active and service.bridge.is_active)


def send_to(
    session: Session,
    *,
    sender: CallbackSender,
    kind: ServiceType,
    service_id: str,
    path: str,
    body: Message,
    in_reply_to: str | None = None,
) -> str:
    """Queue a message to a HIP or HIU's bridge; returns its REQUEST-ID (what an
    answer quotes in ``response.requestId``)."""
    sent = sender.send(
        session,
        path=path,
        body=dump(body),
        service_type=kind,
        service_id=service_id,
        in_reply_to=in_reply_to,
    )
    return sent.request_id


def answered_request_id(body: Mapping[str, Any]) -> str | None:
    """``response.requestId`` of an answer, normalised, or None."""
    response = body.get("response")
    raw = response.get("requestId") if isinstance(response, Mapping) else None
    if not raw:
        return None
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return None
