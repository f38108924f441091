"""Health information requests: the consent manager's checks, the forward to the HIP,
the HIP's acknowledgement and the transfer notifications (gateway handlers).

An HIU's request is accepted only when its consent artefact exists, belongs to this
HIU, is GRANTED (not revoked, not past its expiry), the dates asked for lie within the
artefact's, the key material is usable Fidelius key material and the push URL is
http(s). A refusal is an error callback on ``on-request`` (codes in
``network.consent.exceptions``) and an audit row; an accepted request gets a transactionId,
which the HIU hears on ``on-request`` and the HIP receives with the request. The data
itself goes from the HIP to the HIU directly and never passes here.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel.audit import audited
from healthstack.kernel.context import Purpose
from healthstack.kernel.errors import ValidationFailed
from healthstack.network.consent import exceptions as cx
from healthstack.network.consent.consents import artefact_status
from healthstack.network.consent.enums import HiRequestStatus
from healthstack.network.consent.models import ConsentArtefact, HiRequest, TransferNotice
from healthstack.network.consent.protocol import (
    answered_request_id,
    parse,
    parse_uuid,
    send_to,
    sender_context,
)
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.routing import Callback, HandlerContext, InboundMessage, reply
from healthstack.protocol.abdm import messages as m

S = m.ConsentStatus
FINAL = frozenset({HiRequestStatus.TRANSFERRED.value, HiRequestStatus.FAILED.value})


def _key_expired(expiry: str, now: datetime) -> bool:
    try:
        at = datetime.fromisoformat(expiry.strip().replace("Z", "+00:00"))
    except ValueError:
        return False  # ABDM does not fix the format; the HIP decides on an odd one
    if at.tzinfo is None:
        return False
    return at <= now


def check_hi_request(
    session: Session, *, req: m.HiRequest, hiu_id: str | None, now: datetime
) -> ConsentArtefact:
    """The consent manager's checks, in the order a refusal names the first failure."""
    public_id = parse_uuid(req.consent.id)
    artefact = (
        session.scalar(select(ConsentArtefact).where(ConsentArtefact.public_id == public_id))
        if public_id
        else None
    )
    if artefact is None:
        raise cx.ProtocolNotFound(
            "No consent artefact has that id: the patient has not granted it.",
            code=cx.HI_NO_CONSENT,
        )
    if artefact.hiu_id != hiu_id:
        raise cx.ProtocolDenied("This consent was granted to another HIU.", code=cx.HI_OTHER_HIU)
    status = artefact_status(artefact, now)
    if status == S.REVOKED:
        raise cx.ProtocolDenied("The patient has revoked this consent.", code=cx.HI_REVOKED)
    if status == S.EXPIRED:
        raise cx.ProtocolDenied("This consent has expired.", code=cx.HI_EXPIRED)
    if status != S.GRANTED:
        raise cx.ProtocolDenied("This consent is not granted.", code=cx.HI_NO_CONSENT)
    dates = req.date_range
    if dates.from_ >= dates.to:
        raise cx.ProtocolRefused(
            "hiRequest.dateRange.from must be before hiRequest.dateRange.to.",
            code=cx.DATE_RANGE_INVALID,
            field="hiRequest.dateRange",
        )
    if dates.from_ < artefact.date_from or dates.to > artefact.date_to:
        raise cx.ProtocolDenied(
            "hiRequest.dateRange goes beyond the period the consent covers; ask within "
            "the consent's permission.dateRange.",
            code=cx.HI_DATES_OUTSIDE,
            field="hiRequest.dateRange",
        )
    try:
        wire = req.key_material.to_wire()
    except ValidationFailed:
        raise cx.ProtocolRefused(
            "hiRequest.keyMaterial is not usable Fidelius key material (ECDH on Curve25519, "
            "a valid public key and a 32-byte nonce).",
            code=cx.HI_KEY_INVALID,
            field="hiRequest.keyMaterial",
        ) from None
    if _key_expired(wire.expiry, now):
        raise cx.ProtocolRefused(
            "hiRequest.keyMaterial.dhPublicKey.expiry has passed; make fresh key material.",
            code=cx.HI_KEY_INVALID,
            field="hiRequest.keyMaterial",
        )
    url = req.data_push_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 512:
        raise cx.ProtocolRefused(
            "hiRequest.dataPushUrl must be an http(s) URL of at most 512 characters.",
            code=cx.HI_PUSH_URL_INVALID,
            field="hiRequest.dataPushUrl",
        )
    return artefact


def hi_request(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/data-flow/v3/health-information/request`` → ``on-request`` to the HIU and the
    request, with the same transactionId, to the artefact's HIP."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.hi_request",
        resource_type="consent_artefact",
        clock=hc.clock,
    ) as target:
        body = parse(m.HiRequestBody, message.body).hi_request
        target.resource_id = body.consent.id[:64]
        artefact = check_hi_request(session, req=body, hiu_id=message.hiu_id, now=now)
        txn = HiRequest(
            artefact_id=artefact.id,
            hiu_id=artefact.hiu_id,
            hip_id=artefact.hip_id,
            date_from=body.date_range.from_,
            date_to=body.date_range.to,
            data_push_url=body.data_push_url.strip(),
            status=HiRequestStatus.REQUESTED.value,
            hiu_request_id=message.request_id,
            hip_request_id="",
            created_at=now,
            updated_at=now,
        )
        session.add(txn)
        session.flush()
        txn.hip_request_id = send_to(
            session,
            sender=hc.sender,
            kind=ServiceType.HIP,
            service_id=artefact.hip_id,
            path=m.HIP_HI_REQUEST,
            body=m.HipHiRequest(transaction_id=str(txn.public_id), hi_request=body),
        )
    answer = m.OnHiRequest(
        hi_request=m.HiRequestState(
            transaction_id=str(txn.public_id), session_status=HiRequestStatus.REQUESTED.value
        )
    )
    return [reply(message, m.ON_HI_REQUEST, m.dump(answer))]


def hip_on_request(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/data-flow/v3/health-information/hip/on-request``: the HIP's acknowledgement
    (or refusal) of a forwarded request. A duplicate or late one changes nothing."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.hi_request.ack",
        resource_type="hi_transaction",
        clock=hc.clock,
    ) as target:
        answer = parse(m.OnHiRequest, message.body)
        rid = answered_request_id(message.body)
        txn = (
            session.scalar(
                select(HiRequest).where(HiRequest.hip_request_id == rid).with_for_update()
            )
            if rid
            else None
        )
        if txn is None or txn.hip_id != message.hip_id:
            raise cx.ProtocolNotFound(
                "This acknowledgement answers no health information request sent to this HIP.",
                code=cx.HI_TRANSACTION_UNKNOWN,
            )
        target.resource_id = str(txn.public_id)
        if txn.status != HiRequestStatus.REQUESTED:
            return []
        if answer.error is not None:
            txn.status = HiRequestStatus.FAILED.value
            txn.error_code = answer.error.code[:16]
            txn.completed_at = now
        else:
            txn.status = HiRequestStatus.ACKNOWLEDGED.value
            txn.acknowledged_at = now
        txn.updated_at = now
    return []


def hi_notify(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/data-flow/v3/health-information/notify`` from the HIP (pushed or failed, per
    care context) or the HIU (received, decrypted): recorded per transaction."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.hi_notify",
        resource_type="hi_transaction",
        clock=hc.clock,
    ) as target:
        note = parse(m.HiNotify, message.body).notification
        kind = note.notifier.type
        sender = message.hip_id if kind == "HIP" else message.hiu_id if kind == "HIU" else None
        if sender is None or note.notifier.id != sender:
            raise cx.ProtocolRefused(
                "notification.notifier must be the HIP (X-HIP-ID) or HIU (X-HIU-ID) that sends it.",
                code=cx.PARTY_INVALID,
                field="notification.notifier",
            )
        public_id = parse_uuid(note.transaction_id)
        txn = (
            session.scalar(
                select(HiRequest).where(HiRequest.public_id == public_id).with_for_update()
            )
            if public_id
            else None
        )
        party = (txn.hip_id if kind == "HIP" else txn.hiu_id) if txn is not None else None
        if (
            txn is None
            or party != sender
            or str(txn.artefact.public_id) != str(parse_uuid(note.consent_id))
        ):
            raise cx.ProtocolNotFound(
                "No health information transaction of this sender has that transactionId "
                "and consentId.",
                code=cx.HI_TRANSACTION_UNKNOWN,
            )
        target.resource_id = str(txn.public_id)
        status = note.status_notification.session_status
        session.add(
            TransferNotice(
                hi_request=txn,
                notifier_type=kind,
                notifier_id=sender,
                session_status=status[:12],
                status_responses=[
                    m.dump(r) for r in note.status_notification.status_responses or []
                ],
                done_at=note.done_at,
                received_at=now,
                gateway_request_id=message.request_id,
            )
        )
        if kind == "HIP" and txn.status not in FINAL and status in FINAL:
            txn.status = status
            txn.completed_at = now
            txn.updated_at = now
    return []
