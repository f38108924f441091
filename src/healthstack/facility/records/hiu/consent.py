"""Asking for consent and hearing the answer.

``request_records``: consent init (purpose, HI types, date range, expiry = dataEraseAt,
the doctor as requester) through ``enqueue_call``; ``on_consent_init`` keeps the CM's
consent request id; ``consent_notify`` (GRANTED / DENIED / REVOKED / EXPIRED) fetches
each granted artefact (``refresh_status`` asks where a request stands); and
``on_consent_fetch`` verifies its signature and scope (this HIU, this patient, no wider
than asked) before the health-information request starts (``hiu.data_request``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.facility.records import exceptions as x
from healthstack.facility.records.artefacts import verify_artefact, within
from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hip.common import gateway_context
from healthstack.facility.records.hiu.common import (
    CALL_CONSENT_FETCH,
    CALL_CONSENT_INIT,
    CALL_CONSENT_STATUS,
    HI_TYPES,
    answers_our_call,
    by_public_id,
    hiu_headers,
    parse_body,
    to_ms,
)
from healthstack.facility.records.hiu.data_request import start_data_request
from healthstack.facility.records.hiu.erasure import erase_artefact
from healthstack.facility.records.models import (
    ConsentStatus,
    HiuConsentArtefact,
    HiuConsentRequest,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext, JwksCache
from healthstack.kernel.audit import audited, keep_failures
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import ActorKind, RequestContext
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import DomainError, NotFound, ValidationFailed
from healthstack.protocol.abdm import messages as m


def request_records(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    phr_hiu_id: str,
    hiu_id: str,
    patient_abha_address: str,
    hi_types: Sequence[str],
    date_from: datetime,
    date_to: datetime,
    data_erase_at: datetime,
    requester_name: str,
    requester_hpr_id: str | None = None,
    purpose: str = m.PurposeCode.CAREMGT.value,
    hip_id: str | None = None,
    patient_proof: Callable[[Mapping[str, Any]], str] | None = None,
) -> HiuConsentRequest:
    """Ask the patient (through the CM) for consent to see their records here
    (``hip_id``: from that facility only). A patient actor asks for themself, through
    the PHR's HIU with purpose PATRQT (``phr.own_records`` has checked the address is
    theirs); ``patient_proof`` makes the patient's proof for the request's ``network.consent``
    object, sent in X-AUTH-TOKEN (ADR 0015)."""
    _may_ask(ctx, hiu_id, purpose, phr_hiu_id=phr_hiu_id)
    # Kept exactly as they travel (ABDM's timestamps carry milliseconds), so the
    # artefact's period compares equal to what was asked for.
    date_from, date_to, data_erase_at = (
        to_ms(date_from),
        to_ms(date_to),
        to_ms(data_erase_at),
    )
    address = (patient_abha_address or "").strip().lower()
    now = clock.now()
    if "@" not in address or len(address) > 64:
        raise ValidationFailed(
            "Enter the patient's ABHA address, e.g. name@sbx (it is on the ABHA card).",
            field="abha_address",
        )
    types = list(dict.fromkeys(hi_types))
    if not types or any(t not in HI_TYPES for t in types):
        raise ValidationFailed(
            "Choose at least one record type (" + ", ".join(HI_TYPES) + ").", field="hi_types"
        )
    if date_from > date_to:
        raise ValidationFailed("The period starts after it ends.", field="date_from")
    if data_erase_at <= now:
        raise ValidationFailed(
            "The consent must last into the future: pick a later expiry.", field="expiry"
        )
    if purpose not in {p.value for p in m.PurposeCode}:
        raise ValidationFailed("Unknown purpose of use.", field="purpose")
    with audited(
        session,
        ctx,
        action="records.consent_request.create",
        resource_type="hiu_consent_request",
        clock=clock,
    ) as target:
        row = HiuConsentRequest(
            public_id=uuid.uuid4(),
            hiu_id=hiu_id,
            requested_by=ctx.actor.id[:64],
            requester_name=requester_name[:128],
            requester_hpr_id=requester_hpr_id,
            patient_abha_address=address,
            purpose_code=purpose,
            hi_types=types,
            date_from=date_from,
            date_to=date_to,
            data_erase_at=data_erase_at,
            status=ConsentStatus.REQUESTED.value,
            created_at=now,
            updated_at=now,
        )
        target.resource_id = str(row.public_id)
        body = m.ConsentInitRequest(
            consent=m.ConsentRequestDetail(
                purpose=m.UsePurpose(
                    text=m.PURPOSE_TEXT[m.PurposeCode(purpose)],
                    code=purpose,
                    ref_uri=m.PURPOSE_REF_URI,
                ),
                patient=m.PatientId(id=address),
                hip=m.OrgRef(id=hip_id) if hip_id else None,
                hiu=m.OrgRef(id=hiu_id),
                requester=m.Requester(
                    name=requester_name,
                    identifier=_requester_id(ctx, address, requester_hpr_id),
                ),
                hi_types=types,
                permission=m.Permission(
                    access_mode=m.AccessMode.VIEW.value,
                    date_range=m.DateRange(from_=date_from, to=date_to),
                    data_erase_at=data_erase_at,
                    frequency=m.Frequency(unit=m.FrequencyUnit.HOUR.value, value=1, repeats=0),
                ),
            )
        )
        wire = m.dump(body)
        headers = hiu_headers(hiu_id)
        if patient_proof is not None:
            headers["X-AUTH-TOKEN"] = patient_proof(wire["consent"])
        row.init_request_id = outbox.enqueue(
            session,
            path=m.CONSENT_INIT,
            body=wire,
            headers=headers,
            context={"kind": CALL_CONSENT_INIT, "request": str(row.public_id)},
        )
        session.add(row)
        session.flush()
    return row


def _may_ask(ctx: RequestContext, hiu_id: str, purpose: str, *, phr_hiu_id: str) -> None:
    if ctx.actor.kind is ActorKind.PATIENT:
        if hiu_id != phr_hiu_id or purpose != m.PurposeCode.PATRQT.value:
            raise NotFound("A patient asks for their own records through the PHR only.")
        return
    actor = require(ctx.actor, "records.request")
    if actor.kind is not ActorKind.SYSTEM and actor.facility_id != hiu_id:
        raise NotFound("No such facility in your scope.", field="hiu_id")


def _requester_id(
    ctx: RequestContext, address: str, hpr_id: str | None
) -> m.RequesterIdentifier | None:
    """The doctor by HPR registration; the patient asking for themself by their ABHA."""
    if ctx.actor.kind is ActorKind.PATIENT:
        return m.RequesterIdentifier(
            type="ABHA_ADDRESS", value=address, system="https://healthid.abdm.gov.in"
        )
    if hpr_id:
        return m.RequesterIdentifier(type="REGNO", value=hpr_id, system="https://hpr.abdm.gov.in")
    return None


def refresh_status(
    session: Session, *, request: HiuConsentRequest, outbox: AbdmOutbox
) -> str | None:
    """Ask the CM where a consent request stands (``on-status`` answers)."""
    if not request.consent_request_id:
        return None
    return outbox.enqueue(
        session,
        path=m.CONSENT_STATUS,
        body=m.dump(m.ConsentStatusRequest(consent_request_id=request.consent_request_id)),
        headers=hiu_headers(request.hiu_id),
        context={"kind": CALL_CONSENT_STATUS, "request": str(request.public_id)},
    )


def on_consent_init(session: Session, *, cb: CallbackContext, clock: Clock) -> None:
    """The CM's answer to our consent init: the consent request's id, or the refusal."""
    if not answers_our_call(cb, CALL_CONSENT_INIT):
        return
    assert cb.call is not None
    row: HiuConsentRequest | None = by_public_id(
        session, HiuConsentRequest, cb.call.context.get("request")
    )
    if row is None:
        return
    body: m.OnConsentInit = parse_body(m.OnConsentInit, cb.body)
    row.updated_at = clock.now()
    if body.error is not None or body.consent_request is None:
        row.status = ConsentStatus.ERRORED.value
        row.error_code = (body.error.code if body.error else "no-id")[:32]
        return
    row.consent_request_id = body.consent_request.id[:64]


def _apply_status(
    session: Session,
    row: HiuConsentRequest,
    status: str,
    artefact_ids: Sequence[str],
    *,
    clock: Clock,
    outbox: AbdmOutbox,
) -> None:
    now = clock.now()
    status = status.strip().upper()
    if status not in {s.value for s in m.ConsentStatus}:
        raise ValidationFailed("Unknown consent status.", field="notification.status")
    if status == ConsentStatus.REQUESTED.value:
        return
    if row.status in (ConsentStatus.REVOKED.value, ConsentStatus.EXPIRED.value) and (
        status == ConsentStatus.GRANTED.value
    ):
        return  # a late or replayed GRANTED does not revive an ended consent
    row.status = status
    row.updated_at = now
    known = {a.consent_id: a for a in row.artefacts}
    if status == ConsentStatus.GRANTED.value:
        for consent_id in artefact_ids:
            if consent_id in known:
                continue
            artefact = HiuConsentArtefact(
                public_id=uuid.uuid4(),
                request_id=row.id,
                consent_id=consent_id[:64],
                status=ConsentStatus.REQUESTED.value,  # granted, not yet fetched and verified
                created_at=now,
                updated_at=now,
            )
            session.add(artefact)
            session.flush()
            outbox.enqueue(
                session,
                path=m.CONSENT_FETCH,
                body=m.dump(m.ConsentFetchRequest(consent_id=consent_id)),
                headers=hiu_headers(row.hiu_id),
                context={"kind": CALL_CONSENT_FETCH, "artefact": str(artefact.public_id)},
            )
    elif status in (ConsentStatus.REVOKED.value, ConsentStatus.EXPIRED.value):
        ended = [known[c] for c in artefact_ids if c in known] or list(row.artefacts)
        for artefact in ended:
            artefact.status = status
            artefact.updated_at = now
            erase_artefact(session, artefact=artefact, now=now)
        # The patient may withdraw one facility's share (or it may end sooner than the
        # others): the request stays granted while another artefact of it stands.
        live = (ConsentStatus.GRANTED.value, ConsentStatus.REQUESTED.value)
        if any(a.status in live for a in row.artefacts if a not in ended):
            row.status = ConsentStatus.GRANTED.value


def consent_notify(
    session: Session, *, cb: CallbackContext, clock: Clock, outbox: AbdmOutbox
) -> None:
    """CM → HIU: the patient decided (or the consent ended). A notification for a
    request this HIU does not know yet (its on-init is still on the way) is refused with
    404 so the gateway delivers it again later."""
    body: m.HiuConsentNotify = parse_body(m.HiuConsentNotify, cb.body)
    n = body.notification
    row = session.scalar(
        select(HiuConsentRequest).where(
            HiuConsentRequest.consent_request_id == n.consent_request_id,
            HiuConsentRequest.hiu_id == cb.hiu_id,
        )
    )
    if row is None:
        raise NotFound(
            "No consent request of this HIU has that id (yet); deliver it again later.",
            code=x.ARTEFACT_UNKNOWN,
        )
    ids = [a.id for a in (n.consent_artefacts or [])]
    with audited(
        session,
        gateway_context(cb),
        action="records.consent_request.notify",
        resource_type="hiu_consent_request",
        resource_id=str(row.public_id),
        clock=clock,
    ):
        _apply_status(session, row, n.status, ids, clock=clock, outbox=outbox)
    outbox.enqueue(
        session,
        path=m.HIU_ON_CONSENT_NOTIFY,
        body=m.dump(
            m.OnHiuConsentNotify(
                acknowledgement=[m.ConsentAcknowledgement(consent_id=c) for c in ids],
                response=m.RequestReference(request_id=cb.request_id),
            )
        ),
        headers=hiu_headers(str(cb.hiu_id)),
        context={"kind": "records.hiu-answer", "answers": cb.request_id},
    )


def on_consent_status(
    session: Session, *, cb: CallbackContext, clock: Clock, outbox: AbdmOutbox
) -> None:
    """The CM's answer to ``refresh_status``."""
    if not answers_our_call(cb, CALL_CONSENT_STATUS):
        return
    assert cb.call is not None
    row: HiuConsentRequest | None = by_public_id(
        session, HiuConsentRequest, cb.call.context.get("request")
    )
    body: m.OnConsentStatus = parse_body(m.OnConsentStatus, cb.body)
    if row is None or body.consent_request is None:
        return
    state = body.consent_request
    _apply_status(
        session,
        row,
        state.status,
        [a.id for a in (state.consent_artefacts or [])],
        clock=clock,
        outbox=outbox,
    )


def on_consent_fetch(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    keys: JwksCache,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    push_url: str,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """The fetched artefact: verified with the gateway's ``keys`` and checked against
    what was asked; a granted one starts the health-information request (its data
    pushed to ``push_url``)."""
    if not answers_our_call(cb, CALL_CONSENT_FETCH):
        return
    assert cb.call is not None
    artefact: HiuConsentArtefact | None = by_public_id(
        session, HiuConsentArtefact, cb.call.context.get("artefact")
    )
    if artefact is None:
        return
    if artefact.status not in (ConsentStatus.REQUESTED.value, ConsentStatus.ERRORED.value):
        # Verified already, or the consent ended (revoked, expired) while this answer
        # was on its way: a late artefact must not revive it or ask for data again.
        return
    request = artefact.request
    body: m.OnConsentFetch = parse_body(m.OnConsentFetch, cb.body)
    now = clock.now()
    artefact.updated_at = now
    if body.error is not None or body.consent is None:
        artefact.status = ConsentStatus.ERRORED.value
        artefact.error_code = (body.error.code if body.error else "no-consent")[:32]
        return
    raw = (cb.body.get("consent") or {}).get("consentDetail")
    try:
        with audited(
            session,
            gateway_context(cb),
            action="records.artefact.verify",
            resource_type="hiu_consent_artefact",
            resource_id=str(artefact.public_id),
            clock=clock,
        ):
            detail = verify_artefact(raw, body.consent.signature, keys=keys)
            _check_scope(detail, artefact, request)
    except DomainError as exc:
        keep_failures(session, exc)
        artefact.status = ConsentStatus.ERRORED.value
        artefact.error_code = exc.code
        return
    artefact.hip_id = detail.hip.id
    artefact.hi_types = list(detail.hi_types)
    artefact.care_contexts = [c.model_dump(by_alias=True) for c in detail.care_contexts]
    artefact.date_from = detail.permission.date_range.from_
    artefact.date_to = detail.permission.date_range.to
    artefact.data_erase_at = detail.permission.data_erase_at
    artefact.detail = raw
    artefact.signature = body.consent.signature
    artefact.verified_at = now
    artefact.error_code = None
    status = body.consent.status.strip().upper()
    artefact.status = status if status in {s.value for s in m.ConsentStatus} else "ERRORED"
    if artefact.status == ConsentStatus.GRANTED.value and artefact.data_erase_at > now:
        start_data_request(
            session,
            artefact=artefact,
            clock=clock,
            outbox=outbox,
            hasher=hasher,
            push_url=push_url,
            config=config,
        )


def _check_scope(
    detail: m.ConsentDetail, artefact: HiuConsentArtefact, request: HiuConsentRequest
) -> None:
    if detail.consent_id != artefact.consent_id:
        raise x.ArtefactInvalid("The fetched artefact is another one.", code=x.ARTEFACT_UNKNOWN)
    if detail.hiu is None or detail.hiu.id != request.hiu_id:
        raise x.ArtefactInvalid("The artefact is for another HIU.", code=x.ARTEFACT_UNKNOWN)
    if detail.patient.id.lower() != request.patient_abha_address:
        raise x.ArtefactInvalid("The artefact is for another patient.", code=x.ARTEFACT_UNKNOWN)
    if not set(detail.hi_types) <= set(request.hi_types):
        raise x.ArtefactInvalid(
            "The artefact grants record types that were not asked for.", code=x.HI_TYPE_OUTSIDE
        )
    rng = detail.permission.date_range
    if not within(rng.from_, rng.to, request.date_from, request.date_to):
        raise x.ArtefactInvalid(
            "The artefact's period is wider than the one asked for.", code=x.DATE_OUTSIDE
        )
