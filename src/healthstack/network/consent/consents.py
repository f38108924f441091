"""Consent requests and artefacts.

HIU side (gateway handlers, ``fn(session, message, hc)``): ``init_request``
(purpose, HI types, dates, expiry, requester and patient checked; on-init with the
consent request id), ``request_status``, ``fetch_artefact`` (on-fetch with the signed
consentDetail) and the HIP's / HIU's acknowledgements of notifications
(``on_hip_notify``, ``on_hiu_notify``).

Patient side (``phr`` calls these with the logged-in account; another patient's
request is 'not found'): ``requests_of`` and ``own_request`` to read them, ``grant`` (per
HIP among the patient's linked facilities, narrowing HI types, care contexts, dates and
expiry, never widening: one signed artefact per HIP, each HIP notified with it, the HIU
with the artefact ids), ``deny`` (the HIU is told) and ``revoke`` (both told);
``close_account`` ends them all when the ABHA is deleted. They take the clock, the
gateway's ``CallbackSender`` and, to grant, the keys and this CM's id.

The scheduler's ``expire_due`` marks artefacts and requests EXPIRED at their expiry and
tells both sides.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.integrations.sms import send_sms
from healthstack.kernel import tokens
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Purpose, RequestContext, system_context
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.errors import AuthenticationRequired, NotFound, ValidationFailed
from healthstack.kernel.ids import looks_like_abha_number
from healthstack.network.abha.auth import SELF_REQUEST_AUDIENCE, consent_digest
from healthstack.network.abha.login import mask_name
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.profile_view import preferred_address
from healthstack.network.consent import exceptions as cx
from healthstack.network.consent import pin as pins
from healthstack.network.consent.artefacts import sign_consent_detail
from healthstack.network.consent.enums import NoticeTarget
from healthstack.network.consent.linking import links_of
from healthstack.network.consent.models import ConsentArtefact, ConsentNotice, ConsentRequest
from healthstack.network.consent.protocol import (
    answered_request_id,
    find_patient,
    hip_reachable,
    parse,
    parse_uuid,
    sender_context,
)
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.exceptions import ServiceUnknown
from healthstack.network.gateway.routing import (
    Callback,
    CallbackSender,
    HandlerContext,
    InboundMessage,
    reply,
)
from healthstack.network.gateway.service import find_service
from healthstack.protocol.abdm import messages as m

HI_TYPES = tuple(t.value for t in m.HiType)
PURPOSES = frozenset(p.value for p in m.PurposeCode)
ACCESS_MODES = frozenset(a.value for a in m.AccessMode)
UNITS = frozenset(u.value for u in m.FrequencyUnit)
S = m.ConsentStatus
Row = TypeVar("Row", ConsentRequest, ConsentArtefact)


# --------------------------------------------------------------------------- helpers


def effective_status(req: ConsentRequest, now: datetime) -> str:
    """A request past its expiry reads EXPIRED even before the job has run."""
    if req.status in (S.REQUESTED, S.GRANTED) and req.data_erase_at <= now:
        return S.EXPIRED.value
    return req.status


def artefact_status(artefact: ConsentArtefact, now: datetime) -> str:
    if artefact.status == S.GRANTED and artefact.expires_at <= now:
        return S.EXPIRED.value
    return artefact.status


def _notify(
    session: Session,
    *,
    sender: CallbackSender,
    req: ConsentRequest,
    target: NoticeTarget,
    target_id: str,
    path: str,
    body: Mapping[str, Any],
    status: str,
    artefact: ConsentArtefact | None = None,
) -> ConsentNotice:
    sent = sender.send(
        session,
        path=path,
        body=body,
        service_type=ServiceType(target.value),
        service_id=target_id,
    )
    notice = ConsentNotice(
        target=target.value,
        target_id=target_id,
        status_sent=status,
        request_id=req.id,
        artefact_id=artefact.id if artefact is not None else None,
        gateway_request_id=sent.request_id,
        sent_at=sender.clock.now(),
    )
    session.add(notice)
    return notice


def notify_hip(
    session: Session, *, sender: CallbackSender, artefact: ConsentArtefact, status: str
) -> ConsentNotice:
    """GRANTED carries the signed artefact; REVOKED and EXPIRED only its id."""
    notification: dict[str, Any] = {"status": status, "consentId": str(artefact.public_id)}
    if status == S.GRANTED:
        # The stored dict exactly as signed (not a re-serialisation).
        notification.update(
            consentDetail=artefact.detail, signature=artefact.signature, grantAcknowledgement=False
        )
    return _notify(
        session,
        sender=sender,
        req=artefact.request,
        target=NoticeTarget.HIP,
        target_id=artefact.hip_id,
        path=m.HIP_CONSENT_NOTIFY,
        body={"notification": notification},
        status=status,
        artefact=artefact,
    )


def notify_hiu(
    session: Session,
    *,
    sender: CallbackSender,
    req: ConsentRequest,
    status: str,
    artefacts: Sequence[ConsentArtefact] = (),
) -> ConsentNotice:
    body = m.HiuConsentNotify(
        notification=m.HiuConsentNotification(
            consent_request_id=str(req.public_id),
            status=status,
            consent_artefacts=[m.ArtefactRef(id=str(a.public_id)) for a in artefacts] or None,
        )
    )
    return _notify(
        session,
        sender=sender,
        req=req,
        target=NoticeTarget.HIU,
        target_id=req.hiu_id,
        path=m.HIU_CONSENT_NOTIFY,
        body=m.dump(body),
        status=status,
    )


# --------------------------------------------------------------------------- HIU: init, status


def _refuse(message: str, code: str, field: str) -> cx.ProtocolRefused:
    return cx.ProtocolRefused(message, code=code, field=field)


def check_request(
    detail: m.ConsentRequestDetail, *, hiu_id: str | None, now: datetime
) -> list[str]:
    """The checks on what an HIU asks for; returns the HI types, de-duplicated."""
    if detail.purpose.code not in PURPOSES:
        raise _refuse(
            "purpose.code must be one of " + ", ".join(sorted(PURPOSES)) + ".",
            cx.PURPOSE_INVALID,
            "consent.purpose.code",
        )
    if not detail.purpose.text.strip() or len(detail.purpose.text) > 128:
        raise _refuse(
            "purpose.text must say the purpose in words (at most 128 characters).",
            cx.PURPOSE_INVALID,
            "consent.purpose.text",
        )
    bad = [t for t in detail.hi_types if t not in HI_TYPES]
    if not detail.hi_types or bad:
        raise _refuse(
            "hiTypes must list at least one of ABDM's HI types: " + ", ".join(HI_TYPES) + ".",
            cx.HI_TYPE_INVALID,
            "consent.hiTypes",
        )
    permission = detail.permission
    if permission.date_range.from_ >= permission.date_range.to:
        raise _refuse(
            "permission.dateRange.from must be before permission.dateRange.to.",
            cx.DATE_RANGE_INVALID,
            "consent.permission.dateRange",
        )
    if permission.data_erase_at <= now:
        raise _refuse(
            "permission.dataEraseAt (the consent's expiry) must be in the future.",
            cx.EXPIRY_INVALID,
            "consent.permission.dataEraseAt",
        )
    if permission.access_mode not in ACCESS_MODES:
        raise _refuse(
            "permission.accessMode must be one of " + ", ".join(sorted(ACCESS_MODES)) + ".",
            cx.BODY_INVALID,
            "consent.permission.accessMode",
        )
    frequency = permission.frequency
    if frequency.unit not in UNITS or frequency.value < 1 or frequency.repeats < 0:
        raise _refuse(
            "permission.frequency needs a unit (" + ", ".join(sorted(UNITS)) + "), a value of "
            "at least 1 and repeats of 0 or more.",
            cx.BODY_INVALID,
            "consent.permission.frequency",
        )
    if detail.hiu.id != hiu_id:
        raise _refuse(
            "consent.hiu.id must be the X-HIU-ID the request is sent for.",
            cx.PARTY_INVALID,
            "consent.hiu.id",
        )
    if not detail.requester.name.strip() or len(detail.requester.name) > 128:
        raise _refuse(
            "consent.requester.name must name the person asking (at most 128 characters).",
            cx.PARTY_INVALID,
            "consent.requester.name",
        )
    if detail.care_contexts and detail.hip is None:
        raise _refuse(
            "consent.careContexts may be given only with consent.hip.",
            cx.PARTY_INVALID,
            "consent.careContexts",
        )
    return list(dict.fromkeys(detail.hi_types))


def _self_request(detail: m.ConsentRequestDetail, *, phr_hiu: str) -> bool:
    """PATRQT (self-requested) is the patient's own PHR reading their records: only the
    PHR's HIU may ask with it, it may ask with nothing else, and the requester is the
    patient. True when this is such a request."""
    own = detail.purpose.code == m.PurposeCode.PATRQT.value
    if own != (detail.hiu.id == phr_hiu):
        raise _refuse(
            f"purpose.code PATRQT (self-requested) is for the patient's own PHR ({phr_hiu}) "
            "and the PHR asks with nothing else; a facility asks with CAREMGT or another "
            "purpose.",
            cx.PURPOSE_INVALID,
            "consent.purpose.code",
        )
    who = detail.requester.identifier.value if detail.requester.identifier else None
    if own and (who or "").strip().lower() != detail.patient.id.strip().lower():
        raise _refuse(
            "A self-requested consent names the patient as the requester "
            "(consent.requester.identifier.value = consent.patient.id).",
            cx.PARTY_INVALID,
            "consent.requester.identifier",
        )
    return own


# The header ABDM's patient-facing APIs carry the patient's user token in.
AUTH_TOKEN_HEADER = "X-AUTH-TOKEN"  # noqa: S105 - a header name


def _unproven(why: str) -> cx.ProtocolDenied:
    return cx.ProtocolDenied(
        f"A self-requested consent (PATRQT) needs the patient's proof for this request: {why} "
        f"The bridge's credentials alone grant nothing; the patient asks again from the PHR, "
        f"which sends a new proof in {AUTH_TOKEN_HEADER}.",
        code=cx.SELF_REQUEST_UNPROVEN,
        field=AUTH_TOKEN_HEADER,
    )


def _proof_of_patient(
    session: Session, message: InboundMessage, account: AbhaAccount, *, hc: HandlerContext
) -> str:
    """The self-request's proof (ADR 0015): a user token of audience ``abha-self-request``
    signed by the ABHA service, naming this patient and this request's digest, not used
    before. Returns its one-time id, which the request keeps."""
    raw = (message.headers.get(AUTH_TOKEN_HEADER) or "").strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw:
        raise _unproven(f"the {AUTH_TOKEN_HEADER} header is missing.")
    try:
        claims = tokens.verify(hc.keyring, raw, audience=SELF_REQUEST_AUDIENCE, clock=hc.clock)
    except AuthenticationRequired as exc:
        why = "it has expired." if exc.code == "HS-1402" else "it is not a valid proof."
        raise _unproven(why) from None
    if claims.get("sub") != account.abha_number:
        raise _unproven("it was issued to another patient.")
    if claims.get("consentDigest") != consent_digest(message.body.get("consent") or {}):
        raise _unproven("it was issued for another request.")
    jti = str(claims.get("jti") or "")[:64]
    used = session.scalar(select(ConsentRequest.id).where(ConsentRequest.self_proof_id == jti))
    if not jti or used is not None:
        raise _unproven("it was already used.")
    return jti


def _grant_own(
    session: Session,
    ctx: RequestContext,
    message: InboundMessage,
    account: AbhaAccount,
    req: ConsentRequest,
    *,
    hc: HandlerContext,
) -> list[Callback]:
    """The patient asked in their own PHR: granted at once for every linked facility
    the network reaches (or the one asked for), without an SMS. The on-init goes out
    before the GRANTED notification, so the PHR knows the request when it arrives."""
    hips = sorted(
        {
            link.hip_id
            for link in links_of(session, account=account)
            if link.care_contexts and req.hip_id in (None, link.hip_id)
        }
    )
    reachable = [h for h in hips if hip_reachable(session, hip_id=h)]
    if not reachable:
        raise _refuse(
            "The patient has no linked facility the network can reach now"
            + (" (the one asked for is not connected)." if hips else "; link records first."),
            cx.HIP_NOT_LINKED,
            "consent.hip",
        )
    hc.sender.send_all(session, [_on_init(message, req)])
    grant(
        session,
        ctx,
        account=account,
        consent_request_id=str(req.public_id),
        choices=[GrantChoice(hip_id=h) for h in reachable],
        pin=None,  # the patient's proof stands for it
        clock=hc.clock,
        hasher=hc.hasher,
        sender=hc.sender,
        keyring=hc.keyring,
        cm_id=hc.cm_id,
    )
    return []


def init_request(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/consent/v3/request/init`` → ``on-init`` with the consent request id; the
    request waits in the patient's PHR (a self-request from the PHR is granted at once:
    ``_grant_own``)."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.request.init",
        resource_type="consent_request",
        clock=hc.clock,
    ) as target:
        detail = parse(m.ConsentInitRequest, message.body).consent
        hi_types = check_request(detail, hiu_id=message.hiu_id, now=now)
        own = _self_request(detail, phr_hiu=hc.consent.phr_hiu_id)
        if (
            detail.hip is not None
            and find_service(session, service_id=detail.hip.id, service_type=ServiceType.HIP)
            is None
        ):
            raise _refuse(
                "consent.hip.id is not a HIP registered with the gateway.",
                cx.PARTY_INVALID,
                "consent.hip.id",
            )
        pid = detail.patient.id
        account = (
            find_patient(session, cm_id=hc.cm_id, number=pid)
            if "@" not in pid and looks_like_abha_number(pid)
            else find_patient(session, cm_id=hc.cm_id, address=pid)
        )
        if account is None:
            raise cx.ProtocolNotFound(
                "Patient not found: no active ABHA here has that address.",
                code=cx.PATIENT_NOT_FOUND,
            )
        proof_id = _proof_of_patient(session, message, account, hc=hc) if own else None
        permission = detail.permission
        req = ConsentRequest(
            hiu_id=detail.hiu.id,
            account_id=account.id,
            patient_address=pid[:64],
            purpose_code=detail.purpose.code,
            purpose_text=detail.purpose.text.strip(),
            requester=m.dump(detail.requester),
            hi_types=hi_types,
            access_mode=permission.access_mode,
            date_from=permission.date_range.from_,
            date_to=permission.date_range.to,
            data_erase_at=permission.data_erase_at,
            frequency=m.dump(permission.frequency),
            hip_id=detail.hip.id if detail.hip else None,
            care_contexts=[m.dump(c) for c in detail.care_contexts]
            if detail.care_contexts
            else None,
            status=S.REQUESTED.value,
            hiu_request_id=message.request_id,
            self_proof_id=proof_id,
            created_at=now,
            updated_at=now,
        )
        session.add(req)
        session.flush()
        target.resource_id = str(req.public_id)
        if own:
            return _grant_own(session, ctx, message, account, req, hc=hc)
        if account.mobile:
            hiu = find_service(session, service_id=req.hiu_id, service_type=ServiceType.HIU)
            who = hiu.name[:64] if hiu else "A health facility"
            whose = _whose(account, pid, cm_id=hc.cm_id)
            send_sms(
                session,
                mobile=account.mobile,
                text=f"{who} asks to see health records for {whose}. "
                "Open your PHR to approve or deny the request. - ABDM",
                template="consent.request",
                clock=hc.clock,
            )
    return [_on_init(message, req)]


def _whose(account: AbhaAccount, named: str, *, cm_id: str) -> str:
    """Which ABHA a request is for, masked: a family's ABHAs often share one mobile, so
    the SMS says whose records (``R*** K****, ra***@sbx``), never a full name or number."""
    address = named.strip().lower() if "@" in named else preferred_address(account, cm_id)
    handle, _, domain = address.partition("@")
    return f"{mask_name(account.name)}, {handle[:2]}***@{domain or cm_id}"


def _on_init(message: InboundMessage, req: ConsentRequest) -> Callback:
    return reply(
        message,
        m.ON_CONSENT_INIT,
        m.dump(m.OnConsentInit(consent_request=m.ConsentRequestRef(id=str(req.public_id)))),
    )


def _of_hiu(session: Session, model: type[Row], wanted: str, hiu_id: str | None) -> Row | None:
    """The HIU's own consent request or artefact by the public id it sent; None when no
    row has that id or it is another HIU's (the two read the same to the sender)."""
    public_id = parse_uuid(wanted)
    row = session.scalar(select(model).where(model.public_id == public_id)) if public_id else None
    return row if row is not None and row.hiu_id == hiu_id else None


def request_status(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/consent/v3/request/status`` → ``on-status``."""
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.request.status",
        resource_type="consent_request",
        clock=hc.clock,
    ) as target:
        wanted = parse(m.ConsentStatusRequest, message.body).consent_request_id
        target.resource_id = wanted[:64]
        req = _of_hiu(session, ConsentRequest, wanted, message.hiu_id)
        if req is None:
            raise cx.ProtocolNotFound(
                "No consent request of this HIU has that id.", code=cx.REQUEST_NOT_FOUND
            )
        artefacts = list(req.artefacts)
        state = m.ConsentRequestState(
            id=str(req.public_id),
            status=effective_status(req, hc.clock.now()),
            consent_artefacts=[m.ArtefactRef(id=str(a.public_id)) for a in artefacts] or None,
        )
    return [reply(message, m.ON_CONSENT_STATUS, m.dump(m.OnConsentStatus(consent_request=state)))]


def fetch_artefact(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/consent/v3/fetch`` → ``on-fetch`` with the artefact as signed and its current
    status (an HIU may fetch only its own)."""
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.artefact.fetch",
        resource_type="consent_artefact",
        clock=hc.clock,
    ) as target:
        wanted = parse(m.ConsentFetchRequest, message.body).consent_id
        target.resource_id = wanted[:64]
        artefact = _of_hiu(session, ConsentArtefact, wanted, message.hiu_id)
        if artefact is None:
            raise cx.ProtocolNotFound(
                "No consent artefact of this HIU has that id.", code=cx.ARTEFACT_NOT_FOUND
            )
        body = {
            "consent": {
                "status": artefact_status(artefact, hc.clock.now()),
                "consentDetail": artefact.detail,
                "signature": artefact.signature,
            }
        }
    return [reply(message, m.ON_CONSENT_FETCH, body)]


# --------------------------------------------------------------------------- acknowledgements


def _acknowledge(
    session: Session,
    message: InboundMessage,
    *,
    clock: Clock,
    target: NoticeTarget,
    status: str | None,
) -> None:
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.notice.ack",
        resource_type="consent_notice",
        clock=clock,
    ) as audit_target:
        rid = answered_request_id(message.body)
        notice = (
            session.scalar(select(ConsentNotice).where(ConsentNotice.gateway_request_id == rid))
            if rid
            else None
        )
        sender = message.hip_id if target is NoticeTarget.HIP else message.hiu_id
        if notice is None or notice.target != target.value or notice.target_id != sender:
            raise cx.ProtocolNotFound(
                "This acknowledgement answers no consent notification sent to this "
                f"{target.value}.",
                code=cx.ARTEFACT_NOT_FOUND,
            )
        audit_target.resource_id = str(notice.public_id)
        if notice.acked_at is None:  # a duplicate or a late second answer changes nothing
            notice.acked_at = clock.now()
            notice.ack_status = (status or "OK")[:10]


def on_hip_notify(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/consent/v3/request/hip/on-notify``: the HIP's acknowledgement."""
    answer = parse(m.OnHipConsentNotify, message.body)
    status = (
        answer.error.code
        if answer.error
        else answer.acknowledgement.status
        if answer.acknowledgement
        else None
    )
    _acknowledge(session, message, clock=hc.clock, target=NoticeTarget.HIP, status=status)
    return []


def on_hiu_notify(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/consent/v3/request/hiu/on-notify``: the HIU's acknowledgement."""
    answer = parse(m.OnHiuConsentNotify, message.body)
    statuses = {a.status for a in answer.acknowledgement or []}
    status = (
        answer.error.code
        if answer.error
        else (statuses.pop() if len(statuses) == 1 else "MIXED" if statuses else None)
    )
    _acknowledge(session, message, clock=hc.clock, target=NoticeTarget.HIU, status=status)
    return []


# --------------------------------------------------------------------------- patient decisions


@dataclass(frozen=True)
class GrantChoice:
    """What the patient grants to one HIP; anything left out is the request's own."""

    hip_id: str
    hi_types: Sequence[str] | None = None
    # (patient reference at the HIP, care context reference); None: all linked there.
    care_contexts: Sequence[tuple[str, str]] | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    expires_at: datetime | None = None


@dataclass
class _Plan:
    hip_id: str
    hi_types: list[str]
    care_contexts: list[tuple[str, str]]
    date_from: datetime
    date_to: datetime
    expires_at: datetime


def requests_of(session: Session, *, account: AbhaAccount) -> list[ConsentRequest]:
    """The patient's consent requests, newest first."""
    return list(
        session.scalars(
            select(ConsentRequest)
            .where(ConsentRequest.account_id == account.id)
            .order_by(ConsentRequest.created_at.desc(), ConsentRequest.id.desc())
        )
    )


def own_request(
    session: Session, *, account: AbhaAccount, consent_request_id: str, lock: bool = False
) -> ConsentRequest:
    """The patient's own consent request; another patient's is 'not found'."""
    public_id = parse_uuid(consent_request_id)
    query = select(ConsentRequest).where(ConsentRequest.public_id == public_id)
    if lock:
        query = query.with_for_update()
    req = session.scalar(query) if public_id else None
    if req is None or req.account_id != account.id:
        raise NotFound("No consent request for your ABHA has that id.", field="consentRequestId")
    return req


def _widens(message: str, field_name: str) -> ValidationFailed:
    return ValidationFailed(
        f"{message} You may only narrow what was asked for.", code=cx.WIDENS, field=field_name
    )


def _plan(
    session: Session,
    account: AbhaAccount,
    req: ConsentRequest,
    choices: Sequence[GrantChoice],
    now: datetime,
) -> list[_Plan]:
    if not choices:
        raise ValidationFailed(
            "Choose at least one facility whose records you share.",
            code=cx.NOTHING_CHOSEN,
            field="consents",
        )
    linked: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for link in links_of(session, account=account):
        for cc in link.care_contexts:
            linked[link.hip_id].add((link.patient_reference, cc.reference))
    asked_contexts = (
        {(c["patientReference"], c["careContextReference"]) for c in req.care_contexts}
        if req.care_contexts
        else None
    )
    plans: list[_Plan] = []
    seen: set[str] = set()
    for choice in choices:
        if choice.hip_id in seen:
            raise ValidationFailed(
                "Name each facility once.", code=cx.NOTHING_CHOSEN, field="consents.hip"
            )
        seen.add(choice.hip_id)
        if req.hip_id and choice.hip_id != req.hip_id:
            raise _widens("The request is for one facility only.", "consents.hip")
        if choice.hip_id not in linked:
            raise ValidationFailed(
                "That facility is not one of your linked facilities. Link its records first.",
                code=cx.HIP_NOT_LINKED,
                field="consents.hip",
            )
        if not hip_reachable(session, hip_id=choice.hip_id):
            raise ValidationFailed(
                "That facility is not connected to the network now; it cannot be sent "
                "your consent. Try again later or leave it out.",
                code=cx.HIP_OFFLINE,
                field="consents.hip",
            )
        hi_types = list(dict.fromkeys(choice.hi_types)) if choice.hi_types else list(req.hi_types)
        if not hi_types:
            raise ValidationFailed(
                "Choose at least one type of record.", code=cx.NOTHING_CHOSEN, field="hiTypes"
            )
        if set(hi_types) - set(req.hi_types):
            raise _widens("A type of record was chosen that was not asked for.", "hiTypes")
        date_from = choice.date_from or req.date_from
        date_to = choice.date_to or req.date_to
        if date_from < req.date_from or date_to > req.date_to:
            raise _widens("The dates go beyond the period asked for.", "dateRange")
        if date_from >= date_to:
            raise ValidationFailed(
                "The start date must be before the end date.",
                code=cx.DATE_RANGE_INVALID,
                field="dateRange",
            )
        expires_at = choice.expires_at or req.data_erase_at
        if expires_at > req.data_erase_at:
            raise _widens("The consent would last longer than asked for.", "dataEraseAt")
        if expires_at <= now:
            raise ValidationFailed(
                "The consent must end in the future.", code=cx.EXPIRY_INVALID, field="dataEraseAt"
            )
        here = linked[choice.hip_id]
        offered = here & asked_contexts if asked_contexts is not None else here
        if choice.care_contexts is not None:
            wanted = {(p, c) for p, c in choice.care_contexts}
            if wanted - here:
                raise ValidationFailed(
                    "A chosen record is not linked to your ABHA at that facility.",
                    code=cx.CARE_CONTEXT_UNKNOWN,
                    field="careContexts",
                )
            if wanted - offered:
                raise _widens("A chosen record was not asked for.", "careContexts")
            offered = wanted
        if not offered:
            raise ValidationFailed(
                "Choose at least one record at that facility.",
                code=cx.NOTHING_CHOSEN,
                field="careContexts",
            )
        plans.append(
            _Plan(
                hip_id=choice.hip_id,
                hi_types=[t for t in HI_TYPES if t in hi_types],
                care_contexts=sorted(offered),
                date_from=date_from,
                date_to=date_to,
                expires_at=expires_at,
            )
        )
    return plans


def grant(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    choices: Sequence[GrantChoice],
    pin: str | None,
    clock: Clock,
    hasher: KeyedHasher,
    sender: CallbackSender,
    keyring: KeyRing,
    cm_id: str,
) -> list[ConsentArtefact]:
    """The patient grants: one signed artefact per chosen HIP (signed with ``keyring``'s
    signing key, naming this CM, ``cm_id``); each HIP gets its artefact, the HIU the
    artefact ids. ``pin``: the patient's consent PIN, checked (with ``hasher``) before
    anything changes (``network.consent.pin``); a self-request the patient proved
    (ADR 0015) is granted on that proof instead."""
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.grant",
        resource_type="consent_request",
        resource_id=str(consent_request_id)[:64],
        clock=clock,
    ):
        req = own_request(
            session, account=account, consent_request_id=consent_request_id, lock=True
        )
        if effective_status(req, now) != S.REQUESTED:
            raise cx.NotPending(
                "This request is no longer waiting for you (already answered or expired).",
                field="consentRequestId",
            )
        if req.self_proof_id is None:
            pins.check_pin(session, ctx, account=account, pin=pin, clock=clock, hasher=hasher)
        plans = _plan(session, account, req, choices, now)
        artefacts: list[ConsentArtefact] = []
        requester = m.Requester.model_validate(req.requester)
        frequency = m.Frequency.model_validate(req.frequency)
        for plan in plans:
            consent_id = uuid.uuid4()
            detail = m.dump(
                m.ConsentDetail(
                    consent_id=str(consent_id),
                    created_at=now,
                    patient=m.PatientId(id=req.patient_address),
                    care_contexts=[
                        m.CareContextRef(patient_reference=p, care_context_reference=c)
                        for p, c in plan.care_contexts
                    ],
                    purpose=m.UsePurpose(
                        text=req.purpose_text, code=req.purpose_code, ref_uri=m.PURPOSE_REF_URI
                    ),
                    hip=m.OrgRef(id=plan.hip_id),
                    hiu=m.OrgRef(id=req.hiu_id),
                    consent_manager=m.OrgRef(id=cm_id),
                    requester=requester,
                    hi_types=plan.hi_types,
                    permission=m.Permission(
                        access_mode=req.access_mode,
                        date_range=m.DateRange(from_=plan.date_from, to=plan.date_to),
                        data_erase_at=plan.expires_at,
                        frequency=frequency,
                    ),
                )
            )
            artefact = ConsentArtefact(
                public_id=consent_id,
                request=req,
                account_id=account.id,
                hip_id=plan.hip_id,
                hiu_id=req.hiu_id,
                status=S.GRANTED.value,
                hi_types=plan.hi_types,
                date_from=plan.date_from,
                date_to=plan.date_to,
                expires_at=plan.expires_at,
                detail=detail,
                signature=sign_consent_detail(keyring, detail),
                created_at=now,
                updated_at=now,
            )
            session.add(artefact)
            artefacts.append(artefact)
        session.flush()
        req.status = S.GRANTED.value
        req.decided_at = now
        req.updated_at = now
        for artefact in artefacts:
            notify_hip(session, sender=sender, artefact=artefact, status=S.GRANTED.value)
        notify_hiu(session, sender=sender, req=req, status=S.GRANTED.value, artefacts=artefacts)
    return artefacts


def deny(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    clock: Clock,
    sender: CallbackSender,
) -> ConsentRequest:
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.deny",
        resource_type="consent_request",
        resource_id=str(consent_request_id)[:64],
        clock=clock,
    ):
        req = own_request(
            session, account=account, consent_request_id=consent_request_id, lock=True
        )
        if effective_status(req, now) != S.REQUESTED:
            raise cx.NotPending(
                "This request is no longer waiting for you (already answered or expired).",
                field="consentRequestId",
            )
        req.status = S.DENIED.value
        req.decided_at = now
        req.updated_at = now
        notify_hiu(session, sender=sender, req=req, status=S.DENIED.value)
    return req


def revoke(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    artefact_ids: Sequence[str] | None = None,
    clock: Clock,
    sender: CallbackSender,
) -> list[ConsentArtefact]:
    """Withdraw a granted consent (all its artefacts, or the ones named): each HIP is
    told to stop, the HIU that these artefacts are revoked."""
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.revoke",
        resource_type="consent_request",
        resource_id=str(consent_request_id)[:64],
        clock=clock,
    ):
        req = own_request(
            session, account=account, consent_request_id=consent_request_id, lock=True
        )
        live = [a for a in req.artefacts if artefact_status(a, now) == S.GRANTED]
        if artefact_ids is not None:
            wanted = {str(parse_uuid(a)) for a in artefact_ids}
            if wanted - {str(a.public_id) for a in req.artefacts}:
                raise NotFound("A named consent is not part of this request.", field="consentIds")
            live = [a for a in live if str(a.public_id) in wanted]
        if not live:
            raise cx.NotRevocable(
                "There is no granted consent to revoke here (it was denied, revoked or has "
                "expired).",
                field="consentRequestId",
            )
        for artefact in live:
            artefact.status = S.REVOKED.value
            artefact.revoked_at = now
            artefact.updated_at = now
            notify_hip(session, sender=sender, artefact=artefact, status=S.REVOKED.value)
        if not any(a.status == S.GRANTED for a in req.artefacts):
            req.status = S.REVOKED.value
        req.updated_at = now
        notify_hiu(session, sender=sender, req=req, status=S.REVOKED.value, artefacts=live)
    return live


def _told(send: Callable[[], ConsentNotice]) -> None:
    """A notification to a HIP or HIU that may have left the network since: the
    patient's decision stands all the same (the party's consent has ended either way)."""
    with suppress(ServiceUnknown):
        send()


def close_account(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    clock: Clock,
    sender: CallbackSender,
) -> int:
    """The ABHA is being deleted: every request waiting for the patient is denied and
    every live consent revoked (the HIPs stop sharing, the HIUs erase, the PHR's own
    copies too), each party told. Returns how many requests changed."""
    now = clock.now()
    changed = 0
    with audited(
        session,
        ctx,
        action="consent.close_account",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        open_requests = session.scalars(
            select(ConsentRequest)
            .where(
                ConsentRequest.account_id == account.id,
                ConsentRequest.status.in_((S.REQUESTED.value, S.GRANTED.value)),
            )
            .order_by(ConsentRequest.id)
            .with_for_update()
        )
        for req in open_requests:
            status = effective_status(req, now)
            if status == S.REQUESTED:
                req.status = S.DENIED.value
                req.decided_at = now
                _told(partial(notify_hiu, session, sender=sender, req=req, status=S.DENIED.value))
            elif status == S.GRANTED:
                live = [a for a in req.artefacts if artefact_status(a, now) == S.GRANTED]
                for artefact in live:
                    artefact.status = S.REVOKED.value
                    artefact.revoked_at = now
                    artefact.updated_at = now
                    _told(
                        partial(
                            notify_hip,
                            session,
                            sender=sender,
                            artefact=artefact,
                            status=S.REVOKED.value,
                        )
                    )
                req.status = S.REVOKED.value
                if live:
                    _told(
                        partial(
                            notify_hiu,
                            session,
                            sender=sender,
                            req=req,
                            status=S.REVOKED.value,
                            artefacts=live,
                        )
                    )
            else:
                continue
            req.updated_at = now
            changed += 1
        session.flush()
    return changed


# --------------------------------------------------------------------------- expiry


def expire_due(session: Session, *, clock: Clock, sender: CallbackSender) -> int:
    """Mark artefacts and requests whose expiry has come EXPIRED and tell the HIPs and
    HIUs; returns how many rows changed. Idempotent; several workers may run it."""
    now = clock.now()
    ctx = system_context(Purpose.CARE_MANAGEMENT)
    changed = 0
    artefacts = list(
        session.scalars(
            select(ConsentArtefact)
            .where(ConsentArtefact.status == S.GRANTED.value, ConsentArtefact.expires_at <= now)
            .order_by(ConsentArtefact.id)
            .with_for_update(skip_locked=True)
        )
    )
    by_request: dict[int, list[ConsentArtefact]] = defaultdict(list)
    for artefact in artefacts:
        artefact.status = S.EXPIRED.value
        artefact.expired_at = now
        artefact.updated_at = now
        by_request[artefact.request_id].append(artefact)
        notify_hip(session, sender=sender, artefact=artefact, status=S.EXPIRED.value)
        record_access(
            session,
            ctx,
            action="consent.expire",
            resource_type="consent_artefact",
            resource_id=str(artefact.public_id),
            clock=clock,
        )
        changed += 1
    for group in by_request.values():
        req = group[0].request
        notify_hiu(session, sender=sender, req=req, status=S.EXPIRED.value, artefacts=group)
        if req.status == S.GRANTED and not any(a.status == S.GRANTED for a in req.artefacts):
            req.status = S.EXPIRED.value
            req.updated_at = now
            changed += 1
    waiting = list(
        session.scalars(
            select(ConsentRequest)
            .where(
                ConsentRequest.status.in_((S.REQUESTED.value, S.GRANTED.value)),
                ConsentRequest.data_erase_at <= now,
            )
            .order_by(ConsentRequest.id)
            .with_for_update(skip_locked=True)
        )
    )
    for req in waiting:
        if req.status == S.GRANTED and any(a.status == S.GRANTED for a in req.artefacts):
            continue  # an artefact still runs (cannot happen: artefacts end no later)
        was = req.status
        req.status = S.EXPIRED.value
        req.updated_at = now
        if was == S.REQUESTED:
            notify_hiu(session, sender=sender, req=req, status=S.EXPIRED.value)
        record_access(
            session,
            ctx,
            action="consent.expire",
            resource_type="consent_request",
            resource_id=str(req.public_id),
            clock=clock,
        )
        changed += 1
    session.flush()
    return changed
