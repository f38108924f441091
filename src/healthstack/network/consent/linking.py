"""Linking care contexts to ABHA accounts.

HIP-initiated (each a gateway handler, ``fn(session, message, hc)``):
``generate_token`` (the ABHA must exist here and its name, gender and birth year match;
a link token valid for months, only its hash kept), ``link_care_contexts`` (with
X-LINK-TOKEN: the token must be this HIP's and this patient's; idempotent by reference
numbers), ``context_notify`` (new data on a linked care context) and ``sms_notify``
(the deep-link SMS when the HIP knows only a mobile).

Patient-initiated (the CM's side; the patient acts through ``phr``): ``start_discovery``
→ the HIP's ``on_discover`` → ``request_link`` (the HIP sends its own OTP) → its
``on_link_init`` → ``confirm_link`` → its ``on_link_confirm``, which stores the linked
care contexts; a wrong OTP comes back as ABDM-1035 and the patient may try again. An
answer is applied only if it quotes the REQUEST-ID of the CM's last message in that
transaction, so duplicates and late answers to an earlier step change nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.integrations.sms import send_sms
from healthstack.kernel import tokens
from healthstack.kernel.audit import AuditEvent, audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Purpose, RequestContext
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import looks_like_abha_number, normalise_mobile
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.names import name_key
from healthstack.network.abha.search import name_score
from healthstack.network.consent import exceptions as cx
from healthstack.network.consent.enums import LinkedVia, LinkStep
from healthstack.network.consent.models import (
    LinkedCareContext,
    LinkToken,
    LinkTransaction,
    PatientLink,
)
from healthstack.network.consent.protocol import (
    answered_request_id,
    find_patient,
    hip_name,
    hip_reachable,
    parse,
    patient_address,
    send_to,
    sender_context,
)
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.routing import (
    Callback,
    CallbackSender,
    HandlerContext,
    InboundMessage,
    reply,
)
from healthstack.protocol.abdm import messages as m
from healthstack.settings import ConsentSettings

LINK_TOKEN_AUDIENCE = "hiecm-link-token"  # noqa: S105 - a token audience
HI_TYPES = frozenset(t.value for t in m.HiType)
_REF = re.compile(r"^[^\s].{0,63}$", re.DOTALL)
_OTP = re.compile(r"^\d{4,8}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- the link store


def upsert_links(
    session: Session,
    *,
    account: AbhaAccount,
    hip_id: str,
    entries: Iterable[m.HipPatient],
    via: LinkedVia,
    now: datetime,
) -> list[LinkedCareContext]:
    """Store care contexts under the account at this HIP; an existing reference is
    updated (label, HI types), never duplicated."""
    touched: list[LinkedCareContext] = []
    links: dict[str, PatientLink] = {}
    for entry in entries:
        link = links.get(entry.reference_number) or session.scalar(
            select(PatientLink).where(
                PatientLink.account_id == account.id,
                PatientLink.hip_id == hip_id,
                PatientLink.patient_reference == entry.reference_number,
            )
        )
        if link is None:
            link = PatientLink(
                account_id=account.id,
                hip_id=hip_id,
                patient_reference=entry.reference_number,
                linked_via=via.value,
                created_at=now,
                updated_at=now,
            )
            session.add(link)
            session.flush()
        links[entry.reference_number] = link
        link.updated_at = now
        for cc in entry.care_contexts:
            row = next((c for c in link.care_contexts if c.reference == cc.reference_number), None)
            if row is None:
                row = LinkedCareContext(
                    link=link,
                    reference=cc.reference_number,
                    display=(cc.display or cc.reference_number)[:256],
                    hi_types=[],
                    linked_via=via.value,
                    linked_at=now,
                    updated_at=now,
                )
                session.add(row)
            elif cc.display:
                row.display = cc.display[:256]
            if entry.hi_type and entry.hi_type not in row.hi_types:
                row.hi_types = [*row.hi_types, entry.hi_type]
            row.updated_at = now
            touched.append(row)
    session.flush()
    return touched


def check_entries(entries: Sequence[m.HipPatient], *, need_display: bool) -> None:
    """Care contexts a HIP sends to link: at least one, references present and short,
    HI types ABDM's."""
    if not entries or not any(e.care_contexts for e in entries):
        raise cx.ProtocolRefused(
            "Name at least one patient with at least one care context to link.",
            code=cx.CARE_CONTEXTS_INVALID,
            field="patient",
        )
    for entry in entries:
        if not _REF.match(entry.reference_number):
            raise cx.ProtocolRefused(
                "patient.referenceNumber must be 1 to 64 characters.",
                code=cx.CARE_CONTEXTS_INVALID,
                field="patient.referenceNumber",
            )
        if entry.hi_type is not None and entry.hi_type not in HI_TYPES:
            raise cx.ProtocolRefused(
                "patient.hiType must be one of ABDM's HI types: " + ", ".join(sorted(HI_TYPES)),
                code=cx.HI_TYPE_INVALID,
                field="patient.hiType",
            )
        for cc in entry.care_contexts:
            if not _REF.match(cc.reference_number) or (need_display and not cc.display):
                raise cx.ProtocolRefused(
                    "Each care context needs a referenceNumber (1 to 64 characters) and a "
                    "display text (without clinical detail).",
                    code=cx.CARE_CONTEXTS_INVALID,
                    field="patient.careContexts",
                )


def find_care_context(
    session: Session,
    *,
    account_id: int,
    hip_id: str,
    patient_reference: str,
    reference: str,
) -> LinkedCareContext | None:
    return session.scalar(
        select(LinkedCareContext)
        .join(PatientLink, LinkedCareContext.link_id == PatientLink.id)
        .where(
            PatientLink.account_id == account_id,
            PatientLink.hip_id == hip_id,
            PatientLink.patient_reference == patient_reference,
            LinkedCareContext.reference == reference,
        )
    )


def links_of(session: Session, *, account: AbhaAccount) -> list[PatientLink]:
    return list(
        session.scalars(
            select(PatientLink)
            .where(PatientLink.account_id == account.id)
            .order_by(PatientLink.hip_id, PatientLink.id)
        )
    )


# --------------------------------------------------------------------------- link token


def _demographics_match(
    account: AbhaAccount, req: m.GenerateTokenRequest, threshold: float
) -> bool:
    words = name_key(req.name).split()
    return (
        bool(words)
        and name_score(words, account.name_key) >= threshold
        and req.gender.strip().upper() == account.gender
        and req.year_of_birth == account.year_of_birth
    )


def _recent_mismatches(session: Session, account: AbhaAccount, since: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "consent.link_token.issue",
            AuditEvent.resource_id == str(account.public_id),
            AuditEvent.reason_code == cx.INVALID_ABHA,
            AuditEvent.occurred_at >= since,
        )
    )
    return int(count or 0)


def generate_token(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/v3/token/generate-token`` → ``on-generate-token`` with a link token."""
    cfg = hc.consent
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    assert message.hip_id is not None  # the route requires X-HIP-ID
    with audited(
        session,
        ctx,
        action="consent.link_token.issue",
        resource_type="abha_account",
        clock=hc.clock,
    ) as target:
        req = parse(m.GenerateTokenRequest, message.body)
        if not req.abha_number and not req.abha_address:
            raise cx.ProtocolRefused(
                "Send the patient's abhaNumber or abhaAddress.",
                code=cx.INVALID_ABHA,
                field="abhaNumber",
            )
        account = find_patient(
            session, cm_id=hc.cm_id, address=req.abha_address, number=req.abha_number
        )
        if account is None:
            raise cx.ProtocolNotFound(
                "Invalid ABHA Number or ABHA Address: no active ABHA here has it.",
                code=cx.INVALID_ABHA,
            )
        target.resource_id = str(account.public_id)
        if _recent_mismatches(session, account, now - timedelta(days=1)) >= (
            cfg.link_token_failures_per_day
        ):
            raise cx.ProtocolDenied(
                "You are blocked. Please try again after 24 hours: too many requests for "
                "this ABHA did not match its details.",
                code=cx.BLOCKED,
            )
        if not _demographics_match(account, req, cfg.name_match_score):
            raise cx.ProtocolRefused(
                "Invalid ABHA Number or ABHA Address: the name, gender or year of birth do "
                "not match the ABHA. Check them against the ABHA card.",
                code=cx.INVALID_ABHA,
            )
        row = LinkToken(
            token_hash="",
            account_id=account.id,
            hip_id=message.hip_id,
            hip_request_id=message.request_id,
            issued_at=now,
            expires_at=now + timedelta(days=cfg.link_token_days),
        )
        session.add(row)
        session.flush()
        # A JWT as ABDM's are; only its hash is kept, and the claims name no patient.
        token = tokens.issue(
            hc.keyring,
            subject=str(row.public_id),
            audience=LINK_TOKEN_AUDIENCE,
            ttl_seconds=cfg.link_token_days * 86400,
            clock=hc.clock,
            claims={"hipId": message.hip_id, "typ": "link"},
        )
        row.token_hash = token_hash(token)
        address = req.abha_address or patient_address(account, cm_id=hc.cm_id)
    return [
        reply(
            message,
            m.ON_GENERATE_TOKEN,
            m.dump(m.OnGenerateToken(abha_address=address, link_token=token)),
        )
    ]


# --------------------------------------------------------------------------- HIP-initiated link


def link_care_contexts(
    session: Session, message: InboundMessage, hc: HandlerContext
) -> list[Callback]:
    """``/hip/v3/link/carecontext`` with X-LINK-TOKEN → ``on_carecontext``."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session, ctx, action="consent.link.hip", resource_type="abha_account", clock=hc.clock
    ) as target:
        req = parse(m.LinkCareContextRequest, message.body)
        raw = (message.headers.get("X-LINK-TOKEN") or "").strip()
        row = session.scalar(select(LinkToken).where(LinkToken.token_hash == token_hash(raw)))
        if row is None or row.hip_id != message.hip_id:
            raise cx.ProtocolDenied(
                "The X-LINK-TOKEN is not a link token of this HIP. Ask for one with "
                "/v3/token/generate-token.",
                code=cx.LINK_TOKEN_INVALID,
                field="X-LINK-TOKEN",
            )
        account = session.get(AbhaAccount, row.account_id)
        assert account is not None
        target.resource_id = str(account.public_id)
        if row.expires_at <= now:
            raise cx.ProtocolDenied(
                "The link token has expired. Ask for a new one with /v3/token/generate-token.",
                code=cx.LINK_TOKEN_EXPIRED,
                field="X-LINK-TOKEN",
            )
        if account.status != "ACTIVE":
            raise cx.ProtocolNotFound(
                "Invalid ABHA Number or ABHA Address: the ABHA is not active.",
                code=cx.INVALID_ABHA,
            )
        if req.abha_number or req.abha_address:
            named = find_patient(
                session, cm_id=hc.cm_id, address=req.abha_address, number=req.abha_number
            )
            if named is None or named.id != account.id:
                raise cx.ProtocolDenied(
                    "The link token was issued for another ABHA. Ask for a token for this patient.",
                    code=cx.LINK_TOKEN_OTHER_PATIENT,
                    field="abhaAddress",
                )
        check_entries(req.patient, need_display=True)
        upsert_links(
            session,
            account=account,
            hip_id=row.hip_id,
            entries=req.patient,
            via=LinkedVia.HIP,
            now=now,
        )
        address = req.abha_address or patient_address(account, cm_id=hc.cm_id)
    return [
        reply(
            message,
            m.ON_LINK_CARE_CONTEXT,
            m.dump(m.OnLinkCareContext(abha_address=address, status="SUCCESS")),
        )
    ]


def context_notify(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/hip/v3/link/context/notify``: new data on a linked care context."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session,
        ctx,
        action="consent.link.context_notify",
        resource_type="abha_account",
        clock=hc.clock,
    ) as target:
        note = parse(m.ContextNotifyRequest, message.body).notification
        if note.hip.id != message.hip_id:
            raise cx.ProtocolRefused(
                "notification.hip.id must be the X-HIP-ID the request is sent for.",
                code=cx.PARTY_INVALID,
                field="notification.hip.id",
            )
        pid = note.patient.id
        account = (
            find_patient(session, cm_id=hc.cm_id, number=pid)
            if looks_like_abha_number(pid) and "@" not in pid
            else find_patient(session, cm_id=hc.cm_id, address=pid)
        )
        if account is None:
            raise cx.ProtocolNotFound("Patient not found.", code=cx.PATIENT_NOT_FOUND)
        target.resource_id = str(account.public_id)
        bad = [t for t in note.hi_types if t not in HI_TYPES]
        if not note.hi_types or bad:
            raise cx.ProtocolRefused(
                "notification.hiTypes must list ABDM HI types: " + ", ".join(sorted(HI_TYPES)),
                code=cx.HI_TYPE_INVALID,
                field="notification.hiTypes",
            )
        row = find_care_context(
            session,
            account_id=account.id,
            hip_id=note.hip.id,
            patient_reference=note.care_context.patient_reference,
            reference=note.care_context.care_context_reference,
        )
        if row is None:
            raise cx.ProtocolNotFound(
                "This care context is not linked to this ABHA at this HIP. Link it first.",
                code=cx.CARE_CONTEXT_NOT_LINKED,
            )
        row.hi_types = [*row.hi_types, *(t for t in note.hi_types if t not in row.hi_types)]
        row.data_added_at = now
        row.updated_at = now
    return [
        reply(
            message,
            m.ON_CONTEXT_NOTIFY,
            m.dump(m.OnContextNotify(acknowledgement=m.Acknowledgement(status="SUCCESS"))),
        )
    ]


def _deep_link(hc: HandlerContext, given: str | None) -> str:
    if given:
        parts = urlsplit(given.strip())
        if parts.scheme == "https" and parts.hostname and len(given) <= 256:
            return given.strip()
    return hc.base_url.rstrip("/") + hc.consent.phr_path


def sms_notify(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    """``/hip/v3/link/patient/links/sms/notify2``: an SMS with a link to the PHR, where
    the patient can discover and link the HIP's records."""
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(
        session, ctx, action="consent.link.sms_notify", resource_type="sms", clock=hc.clock
    ):
        note = parse(m.SmsNotifyRequest, message.body).notification
        if note.hip.id != message.hip_id:
            raise cx.ProtocolRefused(
                "notification.hip.id must be the X-HIP-ID the request is sent for.",
                code=cx.PARTY_INVALID,
                field="notification.hip.id",
            )
        try:
            mobile = normalise_mobile(note.phone_no)
        except ValidationFailed:
            raise cx.ProtocolRefused(
                "notification.phoneNo must be an Indian mobile number (+91 and 10 digits "
                "starting 6 to 9).",
                code=cx.MOBILE_INVALID,
                field="notification.phoneNo",
            ) from None
        facility = (note.hip.name or hip_name(session, hip_id=note.hip.id) or "A health facility")[
            :64
        ]
        info = f" ({note.care_context_info.strip()[:60]})" if note.care_context_info else ""
        send_sms(
            session,
            mobile=mobile,
            text=f"{facility} has health records for you{info}. See them and link them to "
            f"your ABHA: {_deep_link(hc, note.deeplink_url)} - ABDM",
            template="consent.deep_link",
            clock=hc.clock,
        )
    return [reply(message, m.ON_SMS_NOTIFY, m.dump(m.OnSmsNotify(status="ACKNOWLEDGED")))]


# --------------------------------------------------------------------------- patient-initiated


def own_transaction(
    session: Session, *, account: AbhaAccount, transaction_id: str
) -> LinkTransaction:
    """The patient's own transaction, locked; another patient's is 'not found'."""
    try:
        public_id = uuid.UUID(str(transaction_id))
    except ValueError:
        public_id = None
    txn = (
        session.scalar(
            select(LinkTransaction).where(LinkTransaction.public_id == public_id).with_for_update()
        )
        if public_id
        else None
    )
    if txn is None or txn.account_id != account.id:
        raise NotFound(
            "No such discovery for your ABHA. Start again by searching the facility.",
            field="transactionId",
        )
    return txn


def start_discovery(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    hip_id: str,
    unverified: Sequence[m.Identifier] = (),
    clock: Clock,
    sender: CallbackSender,
    cm_id: str,
) -> LinkTransaction:
    """Ask a HIP for the patient's records: the CM sends the patient's verified
    identifiers (mobile if verified, ABHA number), name, gender and birth year."""
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.discover",
        resource_type="link_transaction",
        clock=clock,
    ) as target:
        if not hip_reachable(session, hip_id=hip_id):
            raise NotFound(
                "That facility is not connected to the health information network. "
                "Choose another, or ask the facility to link your records.",
                code=cx.HIP_OFFLINE,
                field="hipId",
            )
        for ident in unverified:
            if ident.type != m.IdentifierType.MR.value or not _REF.match(ident.value):
                raise ValidationFailed(
                    "Only a medical record number (MR, up to 64 characters) may be added "
                    "to a search.",
                    field="unverifiedIdentifiers",
                )
        txn = LinkTransaction(
            account_id=account.id,
            hip_id=hip_id,
            step=LinkStep.DISCOVERING.value,
            sent_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(txn)
        session.flush()
        target.resource_id = str(txn.public_id)
        verified = [
            m.Identifier(type=m.IdentifierType.ABHA_NUMBER.value, value=account.abha_number)
        ]
        if account.mobile and account.mobile_verified:
            verified.insert(
                0, m.Identifier(type=m.IdentifierType.MOBILE.value, value=account.mobile)
            )
        body = m.DiscoverRequest(
            transaction_id=str(txn.public_id),
            patient=m.DiscoverPatient(
                id=patient_address(account, cm_id=cm_id),
                verified_identifiers=verified,
                unverified_identifiers=list(unverified),
                name=account.name,
                gender=account.gender,
                year_of_birth=account.year_of_birth,
            ),
        )
        txn.pending_request_id = send_to(
            session,
            sender=sender,
            kind=ServiceType.HIP,
            service_id=hip_id,
            path=m.DISCOVER,
            body=body,
        )
    return txn


def _chosen_entries(txn: LinkTransaction, references: Sequence[str] | None) -> list[dict[str, Any]]:
    """The discovered patient entries cut down to the chosen care contexts."""
    wanted = set(references) if references is not None else None
    known: set[str] = set()
    chosen: list[dict[str, Any]] = []
    for raw in txn.discovered or []:
        entry = m.HipPatient.model_validate(raw)
        picked = [
            cc for cc in entry.care_contexts if wanted is None or cc.reference_number in wanted
        ]
        known.update(cc.reference_number for cc in entry.care_contexts)
        if picked:
            chosen.append(
                m.dump(entry.model_copy(update={"care_contexts": picked, "count": len(picked)}))
            )
    if wanted is not None and wanted - known:
        raise ValidationFailed(
            "Choose care contexts from those the facility listed.",
            code=cx.CARE_CONTEXT_UNKNOWN,
            field="careContexts",
        )
    if not chosen:
        raise ValidationFailed(
            "Choose at least one record to link.", code=cx.NOTHING_CHOSEN, field="careContexts"
        )
    return chosen


def request_link(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    transaction_id: str,
    references: Sequence[str] | None = None,
    clock: Clock,
    sender: CallbackSender,
    cm_id: str,
) -> LinkTransaction:
    """Link init: the chosen care contexts go to the HIP, which sends its OTP."""
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.link.init",
        resource_type="link_transaction",
        resource_id=str(transaction_id)[:64],
        clock=clock,
    ):
        txn = own_transaction(session, account=account, transaction_id=transaction_id)
        # Choosing again (or again after no answer) sends a new init: an answer to the
        # earlier one no longer counts.
        if txn.step not in (LinkStep.FOUND, LinkStep.OTP_SENT, LinkStep.INITIATING):
            raise cx.WrongStep(
                "These records cannot be linked now: search the facility again first.",
                field="transactionId",
            )
        chosen = _chosen_entries(txn, references)
        body = m.LinkInitRequest(
            transaction_id=str(txn.public_id),
            abha_address=patient_address(account, cm_id=cm_id),
            patient=[
                m.HipPatient(
                    reference_number=e["referenceNumber"],
                    care_contexts=[
                        m.CareContext(reference_number=c["referenceNumber"])
                        for c in e["careContexts"]
                    ],
                    hi_type=e.get("hiType"),
                    count=len(e["careContexts"]),
                )
                for e in chosen
            ],
        )
        txn.chosen = chosen
        txn.step = LinkStep.INITIATING.value
        txn.link_ref_number = None
        txn.error_code = None
        txn.sent_at = now
        txn.updated_at = now
        txn.pending_request_id = send_to(
            session,
            sender=sender,
            kind=ServiceType.HIP,
            service_id=txn.hip_id,
            path=m.LINK_INIT,
            body=body,
        )
    return txn


def confirm_link(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    transaction_id: str,
    otp: str,
    clock: Clock,
    sender: CallbackSender,
    settings: ConsentSettings,
) -> LinkTransaction:
    """Send the OTP the HIP gave the patient; the HIP checks it (not the CM). A link
    still confirming past ``settings.hip_answer_seconds`` may be confirmed again."""
    now = clock.now()
    with audited(
        session,
        ctx,
        action="consent.link.confirm",
        resource_type="link_transaction",
        resource_id=str(transaction_id)[:64],
        clock=clock,
    ):
        txn = own_transaction(session, account=account, transaction_id=transaction_id)
        silent = (
            txn.step == LinkStep.CONFIRMING
            and (now - txn.sent_at).total_seconds() > settings.hip_answer_seconds
        )
        if (txn.step != LinkStep.OTP_SENT and not silent) or not txn.link_ref_number:
            raise cx.WrongStep(
                "There is no OTP to confirm for this link. Choose the records to link first.",
                field="transactionId",
            )
        value = (otp or "").strip()
        if not _OTP.match(value):
            raise ValidationFailed(
                "Enter the OTP the facility sent you: 4 to 8 digits.", field="otp"
            )
        txn.step = LinkStep.CONFIRMING.value
        txn.error_code = None
        txn.sent_at = now
        txn.updated_at = now
        txn.pending_request_id = send_to(
            session,
            sender=sender,
            kind=ServiceType.HIP,
            service_id=txn.hip_id,
            path=m.LINK_CONFIRM,
            body=m.LinkConfirmRequest(
                confirmation=m.LinkConfirmation(link_ref_number=txn.link_ref_number, token=value)
            ),
        )
    return txn


# --------------------------------------------------------------------------- the HIP's answers


def _answered(
    session: Session,
    message: InboundMessage,
    *,
    step: LinkStep,
    transaction_id: str | None,
) -> LinkTransaction | None:
    """The transaction this answer belongs to, if it answers the pending message of
    the expected step; None for a duplicate or an answer to an earlier message (a
    no-op). Refuses an answer from another HIP or for an unknown transaction."""
    rid = answered_request_id(message.body)
    txn: LinkTransaction | None = None
    if transaction_id:
        try:
            public_id = uuid.UUID(str(transaction_id))
        except ValueError:
            public_id = None
        if public_id is not None:
            txn = session.scalar(
                select(LinkTransaction)
                .where(LinkTransaction.public_id == public_id)
                .with_for_update()
            )
    elif rid:
        txn = session.scalar(
            select(LinkTransaction)
            .where(LinkTransaction.pending_request_id == rid)
            .with_for_update()
        )
    if txn is None or txn.hip_id != message.hip_id:
        if transaction_id is None and rid is not None and txn is None:
            return None  # an answer to a message already answered: nothing to do
        raise cx.ProtocolNotFound(
            "No discovery or link transaction of this HIP has that id.",
            code=cx.TRANSACTION_UNKNOWN,
        )
    if txn.step != step or rid is None or txn.pending_request_id != rid:
        return None
    return txn


def _done(txn: LinkTransaction, now: datetime, step: LinkStep, error: str | None) -> None:
    txn.step = step.value
    txn.error_code = error
    txn.pending_request_id = None
    txn.answered_at = now
    txn.updated_at = now


Answer = TypeVar("Answer", m.OnDiscover, m.OnLinkInit, m.OnLinkConfirm)


def _take_answer(
    session: Session,
    message: InboundMessage,
    hc: HandlerContext,
    model: type[Answer],
    *,
    action: str,
    step: LinkStep,
    apply: Callable[[Session, LinkTransaction, Answer, datetime], None],
) -> list[Callback]:
    """A HIP's answer in a discovery or link transaction, audited as ``action``: parsed,
    matched to the CM's pending message of ``step`` (``_answered``: by the transaction
    id it names, else by the REQUEST-ID it answers) and applied; a duplicate or a late
    answer changes nothing. Nothing goes back to the HIP."""
    now = hc.clock.now()
    ctx = sender_context(message, Purpose.CARE_MANAGEMENT)
    with audited(session, ctx, action=action, resource_type="link_transaction") as target:
        answer = parse(model, message.body)
        named = answer.transaction_id if not isinstance(answer, m.OnLinkConfirm) else None
        txn = _answered(session, message, step=step, transaction_id=named)
        if txn is not None:
            target.resource_id = str(txn.public_id)
            apply(session, txn, answer, now)
    return []


def _discovered(
    session: Session, txn: LinkTransaction, answer: m.OnDiscover, now: datetime
) -> None:
    if answer.error is not None or not answer.patient:
        code = answer.error.code if answer.error else cx.PATIENT_NOT_FOUND
        _done(txn, now, LinkStep.NOT_FOUND, code[:16])
        return
    try:
        check_entries(answer.patient, need_display=False)
    except cx.ProtocolRefused as exc:
        # The HIP's answer is unusable: the patient sees a failure, not a wait.
        _done(txn, now, LinkStep.FAILED, exc.code)
        return
    txn.discovered = [m.dump(p) for p in answer.patient]
    txn.matched_by = list(answer.matched_by)[:8]
    _done(txn, now, LinkStep.FOUND, None)


def _link_initiated(
    session: Session, txn: LinkTransaction, answer: m.OnLinkInit, now: datetime
) -> None:
    if answer.error is not None or answer.link is None:
        code = answer.error.code if answer.error else cx.BODY_INVALID
        _done(txn, now, LinkStep.FAILED, code[:16])
        return
    txn.link_ref_number = answer.link.reference_number[:64]
    txn.otp_expires_at = answer.link.meta.communication_expiry if answer.link.meta else None
    _done(txn, now, LinkStep.OTP_SENT, None)


def _link_confirmed(
    session: Session, txn: LinkTransaction, answer: m.OnLinkConfirm, now: datetime
) -> None:
    """Only care contexts the patient chose are stored, whatever else the answer lists."""
    if answer.error is not None:
        code = answer.error.code[:16]
        # A wrong OTP leaves the link open: the patient may type it again.
        step = LinkStep.OTP_SENT if code == cx.INCORRECT_OTP else LinkStep.FAILED
        _done(txn, now, step, code)
        return
    chosen = {
        (e["referenceNumber"], c["referenceNumber"]): c
        for e in txn.chosen or []
        for c in e["careContexts"]
    }
    kept: list[m.HipPatient] = []
    for entry in answer.patient:
        contexts = []
        for cc in entry.care_contexts:
            was = chosen.get((entry.reference_number, cc.reference_number))
            if was is not None:
                contexts.append(
                    m.CareContext(
                        reference_number=cc.reference_number,
                        display=cc.display or was.get("display"),
                    )
                )
        if contexts:
            kept.append(entry.model_copy(update={"care_contexts": contexts}))
    account = session.get(AbhaAccount, txn.account_id)
    assert account is not None
    if kept:
        upsert_links(
            session,
            account=account,
            hip_id=txn.hip_id,
            entries=kept,
            via=LinkedVia.PATIENT,
            now=now,
        )
    _done(txn, now, LinkStep.LINKED if kept else LinkStep.FAILED, None if kept else "HS-1604")


def on_discover(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    return _take_answer(
        session,
        message,
        hc,
        m.OnDiscover,
        action="consent.discover.answer",
        step=LinkStep.DISCOVERING,
        apply=_discovered,
    )


def on_link_init(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    return _take_answer(
        session,
        message,
        hc,
        m.OnLinkInit,
        action="consent.link.init.answer",
        step=LinkStep.INITIATING,
        apply=_link_initiated,
    )


def on_link_confirm(
    session: Session, message: InboundMessage, hc: HandlerContext
) -> list[Callback]:
    """The HIP's verdict on the OTP."""
    return _take_answer(
        session,
        message,
        hc,
        m.OnLinkConfirm,
        action="consent.link.confirm.answer",
        step=LinkStep.CONFIRMING,
        apply=_link_confirmed,
    )


def transaction_outcome(
    txn: LinkTransaction, *, now: datetime, settings: ConsentSettings
) -> tuple[str, dict[str, str] | None]:
    """The step a patient sees and the error to show (code, message), if any; an open
    step past the answer time (``settings.hip_answer_seconds``) reads as 'the facility
    did not answer'."""
    waited = (now - txn.sent_at).total_seconds()
    if txn.step in (LinkStep.DISCOVERING, LinkStep.INITIATING, LinkStep.CONFIRMING) and (
        waited > settings.hip_answer_seconds
    ):
        return txn.step, {
            "code": cx.HIP_SILENT,
            "message": "The facility has not answered yet. Wait a little, or try again later.",
        }
    if txn.error_code == cx.INCORRECT_OTP:
        return txn.step, {
            "code": cx.INCORRECT_OTP,
            "message": "Incorrect OTP. Check the OTP the facility sent you and enter it again.",
        }
    if txn.error_code == cx.PATIENT_NOT_FOUND or txn.step == LinkStep.NOT_FOUND:
        return txn.step, {
            "code": txn.error_code or cx.PATIENT_NOT_FOUND,
            "message": "The facility found no records for you. Check your details, or add "
            "your hospital record number to the search.",
        }
    if txn.error_code:
        return txn.step, {
            "code": txn.error_code,
            "message": "The facility could not link these records. Try again later.",
        }
    return txn.step, None
