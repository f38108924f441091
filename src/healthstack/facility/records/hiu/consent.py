"""The HIU's side: a doctor asks for a patient's records, the consent manager answers,
the HIP pushes, the doctor reads.

- ``request_records``: consent init (purpose, HI types, date range, expiry = dataEraseAt,
  the doctor as requester) through ``enqueue_call``; ``on_consent_init`` keeps the CM's
  consent request id; ``consent_notify`` (GRANTED / DENIED / REVOKED / EXPIRED) fetches
  each granted artefact, ``on_consent_fetch`` verifies its signature and scope (this HIU,
  this patient, no wider than asked) and sends the health-information request with fresh
  Fidelius key material (private key sealed) and this deployment's ``dataPushUrl``.
- ``receive_push``: the HIP's page, authenticated by the HIP bridge's gateway session
  token (``Authorization: Bearer``, verified against the gateway's JWKS; 401 without
  it) bound to the transfer's HIP as far as this HIU knows it, then by a transaction
  this HIU started (unknown ones are refused) and by the page's own key material (each
  page decrypts with this request's private key and that page's HIP key and nonce). A
  push under a consent that ended is refused (403, the consent's code), even a page
  taken before. Every entry decrypted, its MD5 checked, the document validated (the
  IG's rules refuse, HealthStack's own identifier forms only warn) and checked against
  the artefact; a page already received is a no-op. When the last page is in, the CM
  hears OK / ERRORED per care context, with what was refused and why in words.
- Reading (``request_detail``, ``read_record``): only for staff of the requesting
  facility with ``records.read``, only while the artefact is valid (granted, before
  dataEraseAt), each read audited with the doctor's context.
- ``erase_expired`` (scheduled): bundles and keys gone at dataEraseAt; revocation and
  expiry erase at once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.facility.records import exceptions as x
from healthstack.facility.records.artefacts import verify_artefact, within
from healthstack.facility.records.config import data_push_url, records_config, validate
from healthstack.facility.records.hip.linking import gateway_context
from healthstack.facility.records.models import (
    ConsentStatus,
    DataRequestStatus,
    HipConsentArtefact,
    HiuConsentArtefact,
    HiuConsentRequest,
    HiuDataRequest,
    HiuReceivedRecord,
    RecordStatus,
)
from healthstack.integrations.abdm import CallbackContext, enqueue_call
from healthstack.integrations.abdm.callbacks import session_client_id, verify_session_token
from healthstack.kernel import jsonlimit
from healthstack.kernel.audit import Outcome, audited, keep_failures, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.crypto import SealBroken, Sealer
from healthstack.kernel.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.documents.view import RecordView, read_document
from healthstack.protocol.fhir.validation import Issue, Severity
from healthstack.protocol.fhir.validation.core import NOT_IG_RULES
from healthstack.runtime import Runtime

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


def _to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _sealer(runtime: Runtime) -> Sealer:
    return Sealer(runtime.hasher, _HIU_KEY_SEAL)


def _hiu_headers(hiu_id: str) -> dict[str, str]:
    return {"X-HIU-ID": hiu_id}


# --------------------------------------------------------------------------- asking


def request_records(
    session: Session,
    ctx: RequestContext,
    runtime: Runtime,
    *,
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
    _may_ask(ctx, runtime, hiu_id, purpose)
    # Kept exactly as they travel (ABDM's timestamps carry milliseconds), so the
    # artefact's period compares equal to what was asked for.
    date_from, date_to, data_erase_at = (
        _to_ms(date_from),
        _to_ms(date_to),
        _to_ms(data_erase_at),
    )
    address = (patient_abha_address or "").strip().lower()
    now = runtime.clock.now()
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
        clock=runtime.clock,
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
        headers = _hiu_headers(hiu_id)
        if patient_proof is not None:
            headers["X-AUTH-TOKEN"] = patient_proof(wire["consent"])
        row.init_request_id = enqueue_call(
            session,
            runtime,
            path=m.CONSENT_INIT,
            body=wire,
            headers=headers,
            context={"kind": CALL_CONSENT_INIT, "request": str(row.public_id)},
        )
        session.add(row)
        session.flush()
    return row


def _may_ask(ctx: RequestContext, runtime: Runtime, hiu_id: str, purpose: str) -> None:
    if ctx.actor.kind is ActorKind.PATIENT:
        if hiu_id != phr_hiu_id(runtime) or purpose != m.PurposeCode.PATRQT.value:
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


def phr_hiu_id(runtime: Runtime) -> str:
    """The PHR's own HIU (an application id), which the patient reads their records by."""
    return runtime.settings.consent.phr_hiu_id


def refresh_status(session: Session, runtime: Runtime, request: HiuConsentRequest) -> str | None:
    """Ask the CM where a consent request stands (``on-status`` answers)."""
    if not request.consent_request_id:
        return None
    return enqueue_call(
        session,
        runtime,
        path=m.CONSENT_STATUS,
        body=m.dump(m.ConsentStatusRequest(consent_request_id=request.consent_request_id)),
        headers=_hiu_headers(request.hiu_id),
        context={"kind": CALL_CONSENT_STATUS, "request": str(request.public_id)},
    )


def _by_public_id(session: Session, model: Any, value: Any, *where: Any) -> Any:
    try:
        pid = uuid.UUID(str(value))
    except ValueError:
        return None
    return session.scalar(select(model).where(model.public_id == pid, *where))


def _ours(cb: CallbackContext, kind: str) -> bool:
    return (
        cb.call is not None
        and cb.call.context.get("kind") == kind
        and cb.call.service_id == cb.hiu_id
    )


def _parse(model: type[m.Message], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
        raise ValidationFailed(
            f"The message body does not have ABDM's shape ({where}).", field=where
        ) from None


def on_consent_init(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    if not _ours(cb, CALL_CONSENT_INIT):
        return
    assert cb.call is not None
    row: HiuConsentRequest | None = _by_public_id(
        session, HiuConsentRequest, cb.call.context.get("request")
    )
    if row is None:
        return
    body: m.OnConsentInit = _parse(m.OnConsentInit, cb.body)
    row.updated_at = runtime.clock.now()
    if body.error is not None or body.consent_request is None:
        row.status = ConsentStatus.ERRORED.value
        row.error_code = (body.error.code if body.error else "no-id")[:32]
        return
    row.consent_request_id = body.consent_request.id[:64]


def _apply_status(
    session: Session,
    runtime: Runtime,
    row: HiuConsentRequest,
    status: str,
    artefact_ids: Sequence[str],
) -> None:
    now = runtime.clock.now()
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
            enqueue_call(
                session,
                runtime,
                path=m.CONSENT_FETCH,
                body=m.dump(m.ConsentFetchRequest(consent_id=consent_id)),
                headers=_hiu_headers(row.hiu_id),
                context={"kind": CALL_CONSENT_FETCH, "artefact": str(artefact.public_id)},
            )
    elif status in (ConsentStatus.REVOKED.value, ConsentStatus.EXPIRED.value):
        ended = [known[c] for c in artefact_ids if c in known] or list(row.artefacts)
        for artefact in ended:
            artefact.status = status
            artefact.updated_at = now
            erase_artefact(session, artefact, now)
        # The patient may withdraw one facility's share (or it may end sooner than the
        # others): the request stays granted while another artefact of it stands.
        live = (ConsentStatus.GRANTED.value, ConsentStatus.REQUESTED.value)
        if any(a.status in live for a in row.artefacts if a not in ended):
            row.status = ConsentStatus.GRANTED.value


def consent_notify(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    """CM → HIU: the patient decided (or the consent ended). A notification for a
    request this HIU does not know yet (its on-init is still on the way) is refused with
    404 so the gateway delivers it again later."""
    body: m.HiuConsentNotify = _parse(m.HiuConsentNotify, cb.body)
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
        clock=runtime.clock,
    ):
        _apply_status(session, runtime, row, n.status, ids)
    enqueue_call(
        session,
        runtime,
        path=m.HIU_ON_CONSENT_NOTIFY,
        body=m.dump(
            m.OnHiuConsentNotify(
                acknowledgement=[m.ConsentAcknowledgement(consent_id=c) for c in ids],
                response=m.RequestReference(request_id=cb.request_id),
            )
        ),
        headers=_hiu_headers(str(cb.hiu_id)),
        context={"kind": "records.hiu-answer", "answers": cb.request_id},
    )


def on_consent_status(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    if not _ours(cb, CALL_CONSENT_STATUS):
        return
    assert cb.call is not None
    row: HiuConsentRequest | None = _by_public_id(
        session, HiuConsentRequest, cb.call.context.get("request")
    )
    body: m.OnConsentStatus = _parse(m.OnConsentStatus, cb.body)
    if row is None or body.consent_request is None:
        return
    state = body.consent_request
    _apply_status(
        session, runtime, row, state.status, [a.id for a in (state.consent_artefacts or [])]
    )


def on_consent_fetch(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    if not _ours(cb, CALL_CONSENT_FETCH):
        return
    assert cb.call is not None
    artefact: HiuConsentArtefact | None = _by_public_id(
        session, HiuConsentArtefact, cb.call.context.get("artefact")
    )
    if artefact is None:
        return
    if artefact.status not in (ConsentStatus.REQUESTED.value, ConsentStatus.ERRORED.value):
        # Verified already, or the consent ended (revoked, expired) while this answer
        # was on its way: a late artefact must not revive it or ask for data again.
        return
    request = artefact.request
    body: m.OnConsentFetch = _parse(m.OnConsentFetch, cb.body)
    now = runtime.clock.now()
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
            clock=runtime.clock,
        ):
            detail = verify_artefact(runtime, raw, body.consent.signature)
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
        start_data_request(session, runtime, artefact)


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


def start_data_request(
    session: Session, runtime: Runtime, artefact: HiuConsentArtefact
) -> HiuDataRequest:
    """The health-information request for a verified artefact, with key material made
    for it alone; the private key is sealed to this row."""
    assert artefact.date_from and artefact.date_to
    request = artefact.request
    key = fidelius.generate_key_material()
    now = runtime.clock.now()
    public_id = uuid.uuid4()
    expiry = now + timedelta(seconds=records_config(runtime).hiu_key_ttl_seconds)
    body = m.HiRequestBody(
        hi_request=m.HiRequest(
            consent=m.ArtefactRef(id=artefact.consent_id),
            date_range=m.DateRange(from_=artefact.date_from, to=artefact.date_to),
            data_push_url=data_push_url(runtime),
            key_material=m.KeyMaterial.from_wire(key.wire(expiry)),
        )
    )
    rid = enqueue_call(
        session,
        runtime,
        path=m.HI_REQUEST,
        body=m.dump(body),
        headers=_hiu_headers(request.hiu_id),
        context={"kind": CALL_HI_REQUEST, "data_request": str(public_id)},
    )
    row = HiuDataRequest(
        public_id=public_id,
        artefact_id=artefact.id,
        hiu_id=request.hiu_id,
        request_id=rid,
        key_sealed=_sealer(runtime).seal(
            json.dumps({"privateKey": key.private_key_b64, "nonce": key.nonce_b64}),
            str(public_id),
        ),
        public_key=key.public_key_b64,
        nonce=key.nonce_b64,
        status=DataRequestStatus.REQUESTED.value,
        pages_received=[],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def on_hi_request(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    if not _ours(cb, CALL_HI_REQUEST):
        return
    assert cb.call is not None
    row: HiuDataRequest | None = _by_public_id(
        session, HiuDataRequest, cb.call.context.get("data_request")
    )
    if row is None:
        return
    body: m.OnHiRequest = _parse(m.OnHiRequest, cb.body)
    row.updated_at = runtime.clock.now()
    if body.error is not None or body.hi_request is None:
        row.status = DataRequestStatus.ERRORED.value
        row.error_code = (body.error.code if body.error else "no-transaction")[:32]
        row.key_sealed = None
        return
    if row.transaction_id is None:
        row.transaction_id = body.hi_request.transaction_id[:64]
    if row.status == DataRequestStatus.REQUESTED.value:
        row.status = DataRequestStatus.ACKNOWLEDGED.value


# --------------------------------------------------------------------------- the push


@dataclass
class _Entry:
    status: RecordStatus
    error: str | None = None
    detail: str | None = None  # why it was refused, in words (no values from the record)
    bundle: dict[str, Any] | None = None
    hi_type: str | None = None
    title: str | None = None
    warnings: list[dict[str, str]] | None = None


def _refused(code: str, detail: str) -> _Entry:
    return _Entry(RecordStatus.ERRORED, code, detail[:500])


# Kept per record: enough for the doctor to see what was odd, not a validator's log.
MAX_WARNINGS = 10


def _artefact_valid(artefact: HiuConsentArtefact, now: datetime) -> bool:
    return (
        artefact.status == ConsentStatus.GRANTED.value
        and artefact.data_erase_at is not None
        and artefact.data_erase_at > now
    )


def _issue(issue: Issue) -> dict[str, str]:
    return {"path": issue.path, "rule": issue.rule, "message": issue.message}


def _check_received(runtime: Runtime, bundle: Any) -> tuple[str, list[dict[str, str]]] | _Entry:
    """The HI type and warnings of a received document, or the refusal. The IG's rules
    and FHIR's refuse; HealthStack's own identifier forms (``NOT_IG_RULES``) only warn
    here, so a record the IG allows reaches the doctor. Issue messages name elements
    and rules, never values, so the refusal can go to the consent manager as it is."""
    report = validate(runtime, bundle)
    errors = [i for i in report.errors if i.rule not in NOT_IG_RULES]
    if errors:
        first, more = errors[0], len(errors) - 1
        return _refused(
            x.DOCUMENT_INVALID,
            f"Not a valid ABDM FHIR document: {first.path} breaks {first.rule}: "
            f"{first.message}" + (f" ({more} more problem(s))" if more else ""),
        )
    warned = [
        *(i for i in report.errors if i.rule in NOT_IG_RULES),
        *(i for i in report.issues if i.severity is Severity.WARNING),
    ]
    kind = read_document(bundle).kind
    if kind is None:
        return _refused(
            x.DOCUMENT_INVALID,
            "The Composition does not say which ABDM record type it is (Composition.type "
            "or meta.profile names none of the IG's record profiles).",
        )
    return kind.value, [_issue(i) for i in warned[:MAX_WARNINGS]]


def _open_entry(
    runtime: Runtime,
    entry: m.DataEntry,
    artefact: HiuConsentArtefact,
    key: fidelius.KeyMaterial,
    sender: fidelius.WireKeyMaterial,
) -> _Entry:
    if not entry.content:
        return _refused(
            x.PUSH_MALFORMED,
            "The entry has no content: this HIU does not fetch links; send the encrypted "
            "content in the entry.",
        )
    try:
        data = fidelius.decrypt_bytes(
            entry.content,
            receiver_private_key=key.private_key,
            receiver_nonce=key.nonce,
            sender_public_key=sender.public_key,
            sender_nonce=sender.nonce,
        )
    except ValidationFailed:
        return _refused(
            x.DECRYPT_FAILED,
            "The entry does not decrypt with this HIU's key material for the transaction "
            "and the page's keyMaterial (Fidelius: ECDH on Curve25519, HKDF-SHA256, "
            "AES-256-GCM).",
        )
    if hashlib.md5(data).hexdigest() != entry.checksum.strip().lower():  # noqa: S324
        return _refused(
            x.CHECKSUM_MISMATCH, "The entry's checksum is not the MD5 of its decrypted content."
        )
    try:
        bundle = jsonlimit.loads(data)
    except jsonlimit.TooDeep as exc:
        return _refused(
            x.DOCUMENT_INVALID,
            f"The decrypted content nests more than {exc.limit} levels deep; no FHIR bundle does.",
        )
    except ValueError:
        return _refused(x.DOCUMENT_INVALID, "The decrypted content is not JSON (a FHIR bundle).")
    checked = _check_received(runtime, bundle)
    if isinstance(checked, _Entry):
        return checked
    hi_type, warnings = checked
    refs = {str(c.get("careContextReference")) for c in artefact.care_contexts or []}
    if entry.care_context_reference not in refs:
        return _refused(
            x.CARE_CONTEXT_MISMATCH,
            "The entry's careContextReference is not one of the consent artefact's care contexts.",
        )
    if hi_type not in (artefact.hi_types or []):
        return _refused(
            x.HI_TYPE_OUTSIDE,
            f"The document is a {hi_type} record, a type the patient's consent does not grant.",
        )
    title = read_document(bundle).title[:200] or None
    return _Entry(RecordStatus.OK, None, None, bundle, hi_type, title, warnings or None)


def _consent_gone(artefact: HiuConsentArtefact) -> x.ConsentRefused:
    """What a HIP hears when it pushes under a consent that has ended: its data is
    refused, nothing is kept, and it should stop (a 4xx it will not retry)."""
    if artefact.status == ConsentStatus.REVOKED.value:
        why, code = "the patient revoked the consent", x.CONSENT_NOT_GRANTED
    elif artefact.status in (ConsentStatus.GRANTED.value, ConsentStatus.EXPIRED.value):
        why, code = "the consent has expired (past its dataEraseAt)", x.CONSENT_EXPIRED
    else:
        why, code = f"the consent is {artefact.status.lower()}", x.CONSENT_NOT_GRANTED
    return x.ConsentRefused(
        f"This transaction's data is refused: {why}. Nothing was kept; send no more "
        "pages for this transaction.",
        code=code,
    )


def _check_sender(
    session: Session,
    runtime: Runtime,
    row: HiuDataRequest,
    artefact: HiuConsentArtefact,
    bridge: str | None,
) -> None:
    """Bind the session token's bridge to the transfer's HIP, as far as this HIU can
    know it. When this deployment's own HIP holds the artefact, the push must come from
    this deployment's bridge; when it does not, never from it (our bridge pushes only
    for its own HIPs, and every HIU it pushes to sees its token). And every page of a
    transfer comes from the bridge of the first one taken. A token naming no bridge
    binds nothing beyond its signature."""
    if bridge is None:
        return
    own = runtime.settings.abdm.client_id
    held_here = (
        session.scalar(
            select(HipConsentArtefact.id).where(
                HipConsentArtefact.consent_id == artefact.consent_id,
                HipConsentArtefact.hip_id == artefact.hip_id,
            )
        )
        is not None
    )
    if held_here != (bridge == own) or row.sender_client_id not in (None, bridge):
        raise PermissionDenied(
            "The Authorization is the session token of a bridge that does not serve the "
            "HIP this transaction is from. Push with the session token of the HIP's own "
            "bridge.",
            code=x.SENDER_NOT_HIP,
        )


def receive_push(
    session: Session,
    runtime: Runtime,
    raw: Any,
    *,
    authorization: str | None,
    ip: str | None = None,
) -> HiuDataRequest:
    """Take one page of a data push (see the module docstring)."""
    ctx = RequestContext(actor=PUSH_ACTOR, purpose=Purpose.CARE_MANAGEMENT, ip=ip)
    now = runtime.clock.now()
    with audited(
        session,
        ctx,
        action="records.data.receive",
        resource_type="hiu_data_request",
        clock=runtime.clock,
    ) as target:
        # First, before anything in the body is looked at: the transaction id alone is
        # no credential.
        claims = verify_session_token(runtime, authorization)
        if not isinstance(raw, dict):
            raise x.PushMalformed("The body must be a JSON object (ABDM's data push).")
        try:
            push = m.DataPush.model_validate(raw)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
            raise x.PushMalformed(
                f"The data push does not have ABDM's shape ({where}).", field=where
            ) from None
        row = session.scalar(
            select(HiuDataRequest)
            .where(HiuDataRequest.transaction_id == push.transaction_id)
            .with_for_update()
        )
        if row is None:
            raise x.TransactionUnknown(
                "No health-information request of this HIU has that transaction id."
            )
        target.resource_id = str(row.public_id)
        artefact = row.artefact
        _check_sender(session, runtime, row, artefact, session_client_id(claims))
        # Before the repeat check: a page sent again after the consent ended is told so,
        # not answered 202 as if it were still of use.
        if not _artefact_valid(artefact, now):
            raise _consent_gone(artefact)
        if push.page_number in (row.pages_received or []):
            return row  # sent again after a lost answer or a restart: already stored
        if row.status in FINISHED:
            raise x.TransactionUnknown("This transaction is finished; no more pages are taken.")
        if not 1 <= push.page_number <= push.page_count or (
            row.page_count is not None and row.page_count != push.page_count
        ):
            raise x.PushMalformed("The page number or page count is inconsistent.")
        # Every page brings its own key material (ABDM requires it on each page and
        # never that it stays the same), and each page decrypts with its own: a HIP
        # that makes it fresh per page never reuses a key and nonce.
        try:
            sender = push.key_material.to_wire()
        except ValidationFailed as exc:
            raise x.PushMalformed(
                f"The sender's key material is unusable: {exc.message}", code=x.KEY_MATERIAL_BAD
            ) from None
        try:
            sealed = _sealer(runtime).unseal(row.key_sealed, str(row.public_id))
        except SealBroken:
            raise x.TransactionUnknown(
                "This transaction's key material is gone; the data cannot be read."
            ) from None
        key = fidelius.KeyMaterial.from_dict(json.loads(sealed))
        row.sender_client_id = session_client_id(claims)
        for index, entry in enumerate(push.entries):
            opened = _open_entry(runtime, entry, artefact, key, sender)
            if opened.status is not RecordStatus.OK:
                # A refused entry (outside the artefact, not decrypting, a checksum or a
                # document that fails) is a refused write of PHI: audited on its own,
                # since the page it came in is taken.
                record_access(
                    session,
                    ctx,
                    action="records.data.entry",
                    resource_type="hiu_data_request",
                    resource_id=str(row.public_id),
                    outcome=Outcome.FAILED,
                    reason_code=opened.error,
                    clock=runtime.clock,
                )
            session.add(
                HiuReceivedRecord(
                    public_id=uuid.uuid4(),
                    data_request_id=row.id,
                    page_number=push.page_number,
                    entry_index=index,
                    care_context_reference=entry.care_context_reference[:64],
                    hi_type=opened.hi_type,
                    title=opened.title,
                    bundle=opened.bundle,
                    checksum=entry.checksum.strip().lower()[:32],
                    status=opened.status.value,
                    error_code=opened.error,
                    error_detail=opened.detail,
                    warnings=opened.warnings,
                    received_at=now,
                    erase_at=artefact.data_erase_at or now,
                )
            )
        row.pages_received = sorted({*(row.pages_received or []), push.page_number})
        row.page_count = push.page_count
        row.status = DataRequestStatus.RECEIVING.value
        row.updated_at = now
        session.flush()
        if len(row.pages_received) == row.page_count:
            _complete(session, runtime, row)
    return row


def _description(records: Sequence[HiuReceivedRecord]) -> str:
    """A care context's line in the HIU's notify: what was refused and why, in words
    (rules and elements, never a value from a record)."""
    refused = [r for r in records if r.status != RecordStatus.OK.value]
    if not refused:
        return "Received"
    first = refused[0]
    text = f"{len(refused)} of {len(records)} record(s) refused. {first.error_code}: " + (
        first.error_detail or "refused"
    )
    return text[:500]


def _complete(session: Session, runtime: Runtime, row: HiuDataRequest) -> None:
    records = session.scalars(
        select(HiuReceivedRecord)
        .where(HiuReceivedRecord.data_request_id == row.id)
        .order_by(HiuReceivedRecord.page_number, HiuReceivedRecord.entry_index)
    ).all()
    per_context: dict[str, list[HiuReceivedRecord]] = {}
    for r in records:
        per_context.setdefault(r.care_context_reference, []).append(r)
    ok = {
        ref: all(r.status == RecordStatus.OK.value for r in rs) for ref, rs in per_context.items()
    }
    all_ok = all(ok.values())
    now = runtime.clock.now()
    row.status = (DataRequestStatus.COMPLETED if all_ok else DataRequestStatus.PARTIAL).value
    row.completed_at = now
    row.key_sealed = None  # every page is in: the private key is never needed again
    artefact = row.artefact
    body = m.HiNotify(
        notification=m.HiNotification(
            consent_id=artefact.consent_id,
            transaction_id=str(row.transaction_id),
            done_at=now,
            notifier=m.Notifier(type=m.NotifierType.HIU.value, id=row.hiu_id),
            status_notification=m.StatusNotification(
                session_status=(
                    m.SessionStatus.TRANSFERRED if all_ok else m.SessionStatus.FAILED
                ).value,
                hip_id=str(artefact.hip_id),
                status_responses=[
                    m.StatusResponse(
                        care_context_reference=ref,
                        hi_status=(m.HiStatus.OK if ok[ref] else m.HiStatus.ERRORED).value,
                        description=_description(rs),
                    )
                    for ref, rs in per_context.items()
                ],
            ),
        )
    )
    enqueue_call(
        session,
        runtime,
        path=m.HI_NOTIFY,
        body=m.dump(body),
        headers=_hiu_headers(row.hiu_id),
        context={"kind": "records.hiu-notify", "data_request": str(row.public_id)},
    )
    row.notified = True


# --------------------------------------------------------------------------- erasing


def erase_artefact(session: Session, artefact: HiuConsentArtefact, now: datetime) -> int:
    """Erase what an artefact brought (revoked, expired, or past dataEraseAt)."""
    requests = session.scalars(
        select(HiuDataRequest).where(HiuDataRequest.artefact_id == artefact.id)
    ).all()
    erased = 0
    for dr in requests:
        result = session.execute(
            update(HiuReceivedRecord)
            .where(
                HiuReceivedRecord.data_request_id == dr.id,
                HiuReceivedRecord.status != RecordStatus.ERASED.value,
            )
            .values(bundle=None, title=None, status=RecordStatus.ERASED.value, erased_at=now)
        )
        erased += int(getattr(result, "rowcount", 0) or 0)
        dr.key_sealed = None
        dr.status = DataRequestStatus.ERASED.value
        dr.updated_at = now
    return erased


def erase_expired(session: Session, *, clock: Clock) -> int:
    """The scheduled job: every received record past its erase time loses its bundle;
    artefacts past dataEraseAt end (EXPIRED) with their keys. Returns records erased."""
    now = clock.now()
    result = session.execute(
        update(HiuReceivedRecord)
        .where(
            HiuReceivedRecord.status != RecordStatus.ERASED.value,
            HiuReceivedRecord.erase_at <= now,
        )
        .values(bundle=None, title=None, status=RecordStatus.ERASED.value, erased_at=now)
    )
    erased = int(getattr(result, "rowcount", 0) or 0)
    ended = session.scalars(
        select(HiuConsentArtefact).where(
            HiuConsentArtefact.status == ConsentStatus.GRANTED.value,
            HiuConsentArtefact.data_erase_at <= now,
        )
    ).all()
    for artefact in ended:
        artefact.status = ConsentStatus.EXPIRED.value
        artefact.updated_at = now
        erased += erase_artefact(session, artefact, now)
    from healthstack.facility.records.hip.linking import end_artefact
    from healthstack.facility.records.models import HipConsentArtefact

    for hip_artefact in session.scalars(
        select(HipConsentArtefact).where(
            HipConsentArtefact.status == ConsentStatus.GRANTED.value,
            HipConsentArtefact.data_erase_at <= now,
        )
    ).all():
        end_artefact(hip_artefact, ConsentStatus.EXPIRED, now)
    return erased


# --------------------------------------------------------------------------- reading


def _readers_scope(ctx: RequestContext, runtime: Runtime) -> Any:
    """Which requests the actor may read: staff with ``records.read`` their facility's;
    a patient their own through the PHR's HIU (made by them: ``requested_by``)."""
    actor = ctx.actor
    if actor.kind is ActorKind.PATIENT:
        return (HiuConsentRequest.hiu_id == phr_hiu_id(runtime)) & (
            HiuConsentRequest.requested_by == actor.id
        )
    require(actor, "records.read")
    if actor.kind is ActorKind.SYSTEM:
        return HiuConsentRequest.id.is_not(None)
    return HiuConsentRequest.hiu_id == actor.facility_id


def list_requests(
    session: Session, ctx: RequestContext, runtime: Runtime, *, limit: int = 50
) -> list[HiuConsentRequest]:
    return list(
        session.scalars(
            select(HiuConsentRequest)
            .where(_readers_scope(ctx, runtime))
            .order_by(HiuConsentRequest.created_at.desc(), HiuConsentRequest.id.desc())
            .limit(limit)
        )
    )


def get_request(
    session: Session, ctx: RequestContext, runtime: Runtime, public_id: str
) -> HiuConsentRequest:
    row: HiuConsentRequest | None = _by_public_id(
        session, HiuConsentRequest, public_id, _readers_scope(ctx, runtime)
    )
    if row is None:
        raise NotFound("No such record request among yours.")
    return row


@dataclass(frozen=True)
class RecordSummary:
    """A received record's line in the doctor's list, read from the record itself: the
    patient as the record names them (what the consent lets the doctor see), its date
    and its kind."""

    patient: str
    date: str
    kind: str


@dataclass
class ArtefactRecords:
    artefact: HiuConsentArtefact
    valid: bool
    data_requests: list[HiuDataRequest]
    records: list[HiuReceivedRecord]  # shown only while the artefact is valid
    # The kept records' summaries, by record id (none for a refused or erased one).
    summaries: dict[int, RecordSummary] = field(default_factory=dict)


def _summary(bundle: dict[str, Any]) -> RecordSummary:
    view = read_document(bundle)
    return RecordSummary(view.patient.name, view.date, view.kind_label)


def request_detail(
    session: Session, ctx: RequestContext, runtime: Runtime, public_id: str
) -> tuple[HiuConsentRequest, list[ArtefactRecords]]:
    """A request with its artefacts and, while each is valid, the records it brought."""
    with audited(
        session,
        ctx,
        action="records.consent_request.read",
        resource_type="hiu_consent_request",
        resource_id=str(public_id)[:64],
        clock=runtime.clock,
    ):
        row = get_request(session, ctx, runtime, public_id)
    now = runtime.clock.now()
    out = []
    for artefact in row.artefacts:
        dreqs = list(
            session.scalars(
                select(HiuDataRequest)
                .where(HiuDataRequest.artefact_id == artefact.id)
                .order_by(HiuDataRequest.id)
            )
        )
        valid = _artefact_valid(artefact, now)
        records: list[HiuReceivedRecord] = []
        if valid and dreqs:
            records = list(
                session.scalars(
                    select(HiuReceivedRecord)
                    .where(HiuReceivedRecord.data_request_id.in_([d.id for d in dreqs]))
                    .order_by(
                        HiuReceivedRecord.care_context_reference,
                        HiuReceivedRecord.page_number,
                        HiuReceivedRecord.entry_index,
                    )
                )
            )
        summaries = {
            r.id: _summary(r.bundle)
            for r in records
            if r.status == RecordStatus.OK.value and r.bundle is not None
        }
        out.append(ArtefactRecords(artefact, valid, dreqs, records, summaries))
    return row, out


def read_record(
    session: Session, ctx: RequestContext, runtime: Runtime, public_id: str
) -> tuple[HiuReceivedRecord, RecordView]:
    """One received record for the doctor: checked (role, facility, consent) and audited."""
    with audited(
        session,
        ctx,
        action="records.received.read",
        resource_type="hiu_received_record",
        resource_id=str(public_id)[:64],
        clock=runtime.clock,
    ):
        scope = _readers_scope(ctx, runtime)
        record: HiuReceivedRecord | None = _by_public_id(session, HiuReceivedRecord, public_id)
        if record is None:
            raise NotFound("No such record.")
        artefact = record.data_request.artefact
        if not session.scalar(
            select(HiuConsentRequest.id).where(HiuConsentRequest.id == artefact.request_id, scope)
        ):
            raise NotFound("No such record.")
        if not _artefact_valid(artefact, runtime.clock.now()):
            raise x.ConsentRefused(
                "The patient's consent for this record has ended (revoked or expired); it "
                "can no longer be shown.",
                code=x.CONSENT_EXPIRED
                if artefact.status != ConsentStatus.REVOKED.value
                else x.CONSENT_NOT_GRANTED,
            )
        if record.status != RecordStatus.OK.value or record.bundle is None:
            raise NotFound("This record could not be received or has been erased.")
        view = read_document(record.bundle)
    return record, view
