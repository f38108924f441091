"""The HIP's side of the exchange: what the consent manager asks of a facility.

- Discovery (``discover``): match the patient on verified identifiers (ABHA number,
  ABHA address, mobile), then name (fuzzy), gender and birth year (±1); answer
  ``on-discover`` with the unlinked care contexts, one entry per HI type, or ABDM-1010.
- Patient-initiated linking (``link_init`` / ``link_confirm``): an OTP by SMS to the
  patient's mobile and a link reference number; the right OTP links the chosen care
  contexts, a wrong one is ABDM-1035 (three wrong tries lock the request).
- Consent (``consent_notify``): a GRANTED artefact is kept only after its signature
  verified and only when it is for this HIP; REVOKED / EXPIRED end it. Acknowledged on
  ``/consent/v3/request/hip/on-notify``.
- Health information (``hi_request``): checked against the stored artefact (status,
  expiry, date range; HI types and care contexts decide what is sent), then fixed into
  pages and pushed by the worker (``push``, an outbox handler): each document encrypted
  with Fidelius under a key pair fresh for the request, POSTed straight to the HIU's
  ``dataPushUrl`` with its MD5 checksum and the bridge's gateway session token, page
  by page; then ``notify`` TRANSFERRED or
  FAILED with DELIVERED / ERRORED per care context. A page is marked sent only after
  the HIU took it, and the HIU ignores a page it already has, so a worker killed at any
  point resumes without losing or repeating a page.

Every answer goes through ``enqueue_call`` with ``response.requestId`` = the REQUEST-ID
of the callback it answers; refusals are audited and answered with the error.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from rapidfuzz import fuzz
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.artefacts import verify_artefact, within
from healthstack.facility.records.care_contexts import facility_name
from healthstack.facility.records.config import records_config
from healthstack.facility.records.models import (
    CareContext,
    ConsentStatus,
    DocumentStatus,
    FacilityPatient,
    HealthDocument,
    HipConsentArtefact,
    HipDataTransfer,
    HipDiscovery,
    HipLinkRequest,
    HipTransferPage,
    LinkStatus,
    PageStatus,
    TransferStatus,
)
from healthstack.integrations.abdm import CallbackContext, enqueue_call
from healthstack.integrations.abdm.callbacks import GATEWAY_ACTOR
from healthstack.integrations.abdm.client import TRANSPORT_KEY, AbdmCallFailed, abdm_client
from healthstack.integrations.sms import send_sms
from healthstack.kernel.audit import Outcome, audited, keep_failures, record_access
from healthstack.kernel.context import Purpose, RequestContext
from healthstack.kernel.errors import DomainError, NotFound, ValidationFailed
from healthstack.kernel.ids import mask_mobile, normalise_mobile
from healthstack.kernel.outbox import enqueue
from healthstack.kernel.uow import unit_of_work
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from healthstack.runtime import Runtime

PUSH_TOPIC = "records.push"
_OTP_DOMAIN = "records.link-otp"
# A push answered with one of these will not succeed if sent again.
_PERMANENT = {400, 401, 403, 409, 410, 413, 415, 422}
ABHA_NUMBER_TYPES = {"ABHA_NUMBER", "NDHM_HEALTH_NUMBER", "HEALTH_NUMBER"}
ABHA_ADDRESS_TYPES = {"ABHA_ADDRESS", "HEALTH_ID"}


def gateway_context(cb: CallbackContext) -> RequestContext:
    """Who acts when the consent manager asks: the gateway, for care management."""
    return RequestContext(
        actor=GATEWAY_ACTOR, purpose=Purpose.CARE_MANAGEMENT, request_id=cb.request_id
    )


def _answer(
    session: Session,
    runtime: Runtime,
    cb: CallbackContext,
    path: str,
    body: m.Message,
    *,
    context: dict[str, Any] | None = None,
) -> str:
    wire = m.dump(body)
    if "error" in wire:
        # A refusal carries the error and what it answers, not empty result lists.
        wire = {k: v for k, v in wire.items() if v != []}
    return enqueue_call(
        session,
        runtime,
        path=path,
        body=wire,
        headers={"X-HIP-ID": str(cb.hip_id)},
        context={"kind": "records.hip-answer", "answers": cb.request_id, **(context or {})},
    )


def _error(exc: DomainError) -> m.ErrorDetail:
    return m.ErrorDetail(code=exc.code, message=exc.message)


def _reference(cb: CallbackContext) -> m.RequestReference:
    return m.RequestReference(request_id=cb.request_id)


def _parse(model: type[m.Message], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
        raise ValidationFailed(
            f"The message body does not have ABDM's shape ({where}); fix it and send it again.",
            field=where,
        ) from None


# --------------------------------------------------------------------------- discovery


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z]+", " ", folded).split())


def _identifiers(patient: m.DiscoverPatient) -> dict[str, str]:
    found: dict[str, str] = {"ABHA_ADDRESS": patient.id.strip().lower()}
    for ident in patient.verified_identifiers:
        kind, value = ident.type.strip().upper(), (ident.value or "").strip()
        if kind in ABHA_NUMBER_TYPES:
            digits = value.replace("-", "").replace(" ", "")
            if digits.isdigit() and len(digits) == 14:
                found["ABHA_NUMBER"] = digits
        elif kind in ABHA_ADDRESS_TYPES and "@" in value:
            found["ABHA_ADDRESS"] = value.lower()
        elif kind == "MOBILE":
            try:
                found["MOBILE"] = normalise_mobile(value)
            except ValidationFailed:
                continue
    return found


def _demographics_match(
    runtime: Runtime, candidate: FacilityPatient, asked: m.DiscoverPatient
) -> bool:
    cfg = records_config(runtime)
    gender = (asked.gender or "U").strip().upper()[:1]
    if gender not in ("U", "") and candidate.gender not in ("U", gender):
        return False
    if (
        asked.year_of_birth
        and candidate.year_of_birth
        and abs(asked.year_of_birth - candidate.year_of_birth) > cfg.discovery_year_slack
    ):
        return False
    a, b = _name_key(asked.name or ""), _name_key(candidate.name)
    return bool(a and b) and fuzz.token_sort_ratio(a, b) >= cfg.discovery_name_score


def match_patient(
    session: Session, runtime: Runtime, hip_id: str, asked: m.DiscoverPatient
) -> tuple[FacilityPatient, list[str]]:
    """The one patient of this HIP the discovery names (see the module docstring)."""
    ids = _identifiers(asked)
    conditions = []
    if "ABHA_NUMBER" in ids:
        conditions.append(FacilityPatient.abha_number == ids["ABHA_NUMBER"])
    if "ABHA_ADDRESS" in ids:
        conditions.append(FacilityPatient.abha_address == ids["ABHA_ADDRESS"])
    if "MOBILE" in ids:
        conditions.append(FacilityPatient.mobile == ids["MOBILE"])
    candidates = list(
        session.scalars(
            select(FacilityPatient)
            .where(FacilityPatient.hip_id == hip_id, or_(*conditions))
            .order_by(FacilityPatient.id)
            .limit(100)
        )
    )
    mrn = next(
        (i.value.strip() for i in asked.unverified_identifiers if i.type.upper() == "MR"), None
    )
    scored: list[tuple[FacilityPatient, list[str]]] = []
    for c in candidates:
        if mrn is not None and c.mrn != mrn:
            continue
        if not _demographics_match(runtime, c, asked):
            continue
        matched = [
            kind
            for kind, attr in (
                ("ABHA_NUMBER", "abha_number"),
                ("ABHA_ADDRESS", "abha_address"),
                ("MOBILE", "mobile"),
            )
            if kind in ids and getattr(c, attr) == ids[kind]
        ]
        scored.append((c, [*matched, *(["MR"] if mrn else [])]))
    if len(scored) > 1:
        strong = [s for s in scored if {"ABHA_NUMBER", "ABHA_ADDRESS"} & set(s[1])]
        scored = strong if len(strong) == 1 else scored
    if not scored:
        raise x.PatientNotFound(
            "No patient at this facility matches these details. Check the name, gender "
            "and year of birth on the ABHA, or ask the facility to add the ABHA."
        )
    if len(scored) > 1:
        raise x.PatientNotFound(
            "More than one patient at this facility matches these details; ask the "
            "facility's registration desk to link the records."
        )
    return scored[0]


def patient_entries(
    patient: FacilityPatient, contexts: Iterable[CareContext]
) -> list[m.HipPatient]:
    """One entry per HI type (ABDM v3), each with its care contexts and their count."""
    by_type: dict[str, list[CareContext]] = {}
    for cc in contexts:
        for hi_type in cc.hi_types or []:
            by_type.setdefault(hi_type, []).append(cc)
    return [
        m.HipPatient(
            reference_number=patient.mrn,
            display=patient.name,
            care_contexts=[
                m.CareContext(reference_number=c.reference, display=c.display) for c in ccs
            ],
            hi_type=hi_type,
            count=len(ccs),
        )
        for hi_type, ccs in by_type.items()
    ]


def discover(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    body: m.DiscoverRequest = _parse(m.DiscoverRequest, cb.body)
    hip = str(cb.hip_id)
    ctx = gateway_context(cb)
    try:
        with audited(
            session,
            ctx,
            action="records.discover",
            resource_type="facility_patient",
            clock=runtime.clock,
        ) as target:
            patient, matched_by = match_patient(session, runtime, hip, body.patient)
            target.resource_id = str(patient.public_id)
    except x.PatientNotFound as exc:
        keep_failures(session, exc)
        _answer(
            session,
            runtime,
            cb,
            m.ON_DISCOVER,
            m.OnDiscover(
                transaction_id=body.transaction_id, error=_error(exc), response=_reference(cb)
            ),
        )
        return
    found = session.scalar(
        select(HipDiscovery).where(
            HipDiscovery.hip_id == hip, HipDiscovery.transaction_id == body.transaction_id
        )
    )
    if found is None:
        session.add(
            HipDiscovery(
                public_id=uuid.uuid4(),
                hip_id=hip,
                transaction_id=body.transaction_id[:64],
                patient_id=patient.id,
                abha_address=body.patient.id.strip().lower()[:64],
                matched_by=matched_by,
                created_at=runtime.clock.now(),
            )
        )
    contexts = session.scalars(
        select(CareContext)
        .where(
            CareContext.patient_id == patient.id,
            CareContext.link_status != LinkStatus.LINKED.value,
        )
        .order_by(CareContext.id)
    )
    _answer(
        session,
        runtime,
        cb,
        m.ON_DISCOVER,
        m.OnDiscover(
            transaction_id=body.transaction_id,
            patient=patient_entries(patient, contexts),
            matched_by=matched_by,
            response=_reference(cb),
        ),
    )


# --------------------------------------------------------------------------- OTP linking


def _otp_hash(runtime: Runtime, link_ref: str, otp: str) -> str:
    return runtime.hasher.hash(_OTP_DOMAIN, f"{link_ref}:{otp}")


def _chosen_contexts(
    session: Session, patient: FacilityPatient, entries: list[m.HipPatient]
) -> list[CareContext]:
    refs: set[str] = set()
    for entry in entries:
        if entry.reference_number != patient.mrn:
            raise x.LinkRefused(
                "The link names a patient other than the one discovered.",
                code=x.CARE_CONTEXT_MISMATCH,
            )
        refs.update(c.reference_number for c in entry.care_contexts)
    if not refs:
        raise x.LinkRefused("The link names no care contexts.", code=x.CARE_CONTEXT_MISMATCH)
    contexts = list(
        session.scalars(
            select(CareContext)
            .where(CareContext.patient_id == patient.id, CareContext.reference.in_(refs))
            .order_by(CareContext.id)
        )
    )
    if len(contexts) != len(refs):
        raise x.LinkRefused(
            "Some care contexts named are not this patient's at this facility.",
            code=x.CARE_CONTEXT_MISMATCH,
        )
    return contexts


def link_init(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    body: m.LinkInitRequest = _parse(m.LinkInitRequest, cb.body)
    hip = str(cb.hip_id)
    cfg = records_config(runtime)
    ctx = gateway_context(cb)
    now = runtime.clock.now()
    try:
        with audited(
            session,
            ctx,
            action="records.link.init",
            resource_type="facility_patient",
            clock=runtime.clock,
        ) as target:
            discovery = session.scalar(
                select(HipDiscovery).where(
                    HipDiscovery.hip_id == hip, HipDiscovery.transaction_id == body.transaction_id
                )
            )
            patient = (
                session.get(FacilityPatient, discovery.patient_id)
                if discovery is not None and discovery.patient_id is not None
                else None
            )
            if discovery is None or patient is None:
                raise x.LinkRefused(
                    "No discovery at this facility has that transaction id; discover the "
                    "records first."
                )
            target.resource_id = str(patient.public_id)
            if body.abha_address.strip().lower() != discovery.abha_address:
                raise x.LinkRefused("The link is for another ABHA address than the discovery.")
            contexts = _chosen_contexts(session, patient, body.patient)
            if not patient.mobile:
                raise x.LinkRefused(
                    "The facility has no mobile number for this patient to send the OTP to; "
                    "ask the registration desk to add it."
                )
    except DomainError as exc:
        keep_failures(session, exc)
        _answer(
            session,
            runtime,
            cb,
            m.ON_LINK_INIT,
            m.OnLinkInit(
                transaction_id=body.transaction_id, error=_error(exc), response=_reference(cb)
            ),
        )
        return
    otp = f"{secrets.randbelow(10**cfg.link_otp_length):0{cfg.link_otp_length}d}"
    link_ref = str(uuid.uuid4())
    expires = now + timedelta(seconds=cfg.link_otp_ttl_seconds)
    session.add(
        HipLinkRequest(
            public_id=uuid.uuid4(),
            hip_id=hip,
            link_ref=link_ref,
            transaction_id=body.transaction_id[:64],
            patient_id=patient.id,
            abha_address=discovery.abha_address,
            care_context_ids=[c.id for c in contexts],
            otp_hash=_otp_hash(runtime, link_ref, otp),
            otp_expires_at=expires,
            attempts=0,
            status="PENDING",
            created_at=now,
        )
    )
    minutes = cfg.link_otp_ttl_seconds // 60
    send_sms(
        session,
        mobile=patient.mobile,
        text=(
            f"{otp} is your OTP to link your health records at "
            f"{facility_name(session, hip)} with your ABHA. It is valid for {minutes} "
            "minutes. Do not share it with anyone."
        ),
        template="records.link-otp",
        clock=runtime.clock,
    )
    _answer(
        session,
        runtime,
        cb,
        m.ON_LINK_INIT,
        m.OnLinkInit(
            transaction_id=body.transaction_id,
            link=m.LinkReference(
                reference_number=link_ref,
                authentication_type=m.AuthenticationType.DIRECT.value,
                meta=m.LinkMeta(
                    communication_medium="MOBILE",
                    communication_hint=mask_mobile(patient.mobile),
                    communication_expiry=expires,
                ),
            ),
            response=_reference(cb),
        ),
    )


def link_confirm(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    body: m.LinkConfirmRequest = _parse(m.LinkConfirmRequest, cb.body)
    hip = str(cb.hip_id)
    cfg = records_config(runtime)
    now = runtime.clock.now()
    ctx = gateway_context(cb)
    link = session.scalar(
        select(HipLinkRequest)
        .where(
            HipLinkRequest.link_ref == body.confirmation.link_ref_number,
            HipLinkRequest.hip_id == hip,
        )
        .with_for_update()
    )
    refusal: DomainError | None = None
    if link is None or link.status != "PENDING":
        refusal = x.LinkRefused(
            "The link reference is unknown, already used or locked; start the link again."
        )
    elif link.otp_expires_at <= now:
        link.status = "EXPIRED"
        link.done_at = now
        refusal = x.LinkRefused("The OTP has expired; start the link again for a new one.")
    elif not runtime.hasher.matches(
        _OTP_DOMAIN, f"{link.link_ref}:{body.confirmation.token.strip()}", link.otp_hash
    ):
        link.attempts += 1
        left = cfg.link_otp_max_attempts - link.attempts
        if left <= 0:
            link.status = "LOCKED"
            link.done_at = now
            link.otp_hash = None
        # The try that locks the link says so with the lock's code: a CM (and the
        # patient) must start again rather than try another OTP.
        refusal = x.LinkRefused(
            "Incorrect OTP."
            + (f" {left} tries left." if left > 0 else " The link is locked; start again."),
            code=x.WRONG_OTP if left > 0 else x.LINK_REQUEST_INVALID,
        )
    if refusal is not None:
        record_access(
            session,
            ctx,
            action="records.link.confirm",
            resource_type="hip_link_request",
            resource_id=str(link.public_id) if link else None,
            outcome=Outcome.FAILED,
            reason_code=refusal.code,
            clock=runtime.clock,
        )
        _answer(
            session,
            runtime,
            cb,
            m.ON_LINK_CONFIRM,
            m.OnLinkConfirm(error=_error(refusal), response=_reference(cb)),
        )
        return
    assert link is not None
    patient = session.get(FacilityPatient, link.patient_id)
    assert patient is not None
    contexts = list(
        session.scalars(select(CareContext).where(CareContext.id.in_(link.care_context_ids)))
    )
    for cc in contexts:
        cc.link_status = LinkStatus.LINKED.value
        cc.linked_via = "patient"
        cc.linked_at = now
        cc.linked_abha_address = link.abha_address
        cc.link_error = None
        cc.updated_at = now
    if not patient.abha_address:
        patient.abha_address = link.abha_address
    link.status = "LINKED"
    link.done_at = now
    link.otp_hash = None
    record_access(
        session,
        ctx,
        action="records.link.confirm",
        resource_type="facility_patient",
        resource_id=str(patient.public_id),
        clock=runtime.clock,
    )
    _answer(
        session,
        runtime,
        cb,
        m.ON_LINK_CONFIRM,
        m.OnLinkConfirm(patient=patient_entries(patient, contexts), response=_reference(cb)),
    )


# --------------------------------------------------------------------------- consent


def _store_artefact(
    session: Session, runtime: Runtime, detail: m.ConsentDetail, raw: dict[str, Any], signature: str
) -> HipConsentArtefact:
    now = runtime.clock.now()
    row = session.scalar(
        select(HipConsentArtefact).where(HipConsentArtefact.consent_id == detail.consent_id)
    )
    if row is None:
        row = HipConsentArtefact(public_id=uuid.uuid4(), consent_id=detail.consent_id[:64])
        session.add(row)
    elif row.status != ConsentStatus.GRANTED.value:
        return row  # revoked or expired stays so: a late GRANTED does not revive it
    row.hip_id = detail.hip.id
    row.hiu_id = detail.hiu.id if detail.hiu else None
    row.patient_abha_address = detail.patient.id.lower()[:64]
    row.purpose_code = detail.purpose.code[:16]
    row.hi_types = list(detail.hi_types)
    row.care_contexts = [c.model_dump(by_alias=True) for c in detail.care_contexts]
    row.date_from = detail.permission.date_range.from_
    row.date_to = detail.permission.date_range.to
    row.data_erase_at = detail.permission.data_erase_at
    row.status = ConsentStatus.GRANTED.value
    row.detail = raw
    row.signature = signature
    row.received_at = now
    row.status_changed_at = now
    session.flush()
    return row


def end_artefact(row: HipConsentArtefact, status: ConsentStatus, now: datetime) -> None:
    """Revoked, expired or opted out: the artefact stops serving data; its signed body
    is dropped (the scope columns stay for the audit trail)."""
    if row.status == status.value:
        return
    row.status = status.value
    row.status_changed_at = now
    row.detail = None
    row.signature = None


def ended_artefact(
    hip_id: str, consent_id: str, status: ConsentStatus, now: datetime
) -> HipConsentArtefact:
    """An artefact known only by its end: no scope, nothing it lets out."""
    return HipConsentArtefact(
        public_id=uuid.uuid4(),
        consent_id=consent_id[:64],
        hip_id=hip_id,
        patient_abha_address="",
        purpose_code="",
        hi_types=[],
        care_contexts=[],
        date_from=now,
        date_to=now,
        data_erase_at=now,
        status=status.value,
        received_at=now,
        status_changed_at=now,
    )


def consent_notify(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    body: m.HipConsentNotify = _parse(m.HipConsentNotify, cb.body)
    n = body.notification
    hip = str(cb.hip_id)
    ctx = gateway_context(cb)
    now = runtime.clock.now()
    status = n.status.strip().upper()
    try:
        with audited(
            session,
            ctx,
            action=f"records.consent.{status.lower()}"[:64],
            resource_type="consent_artefact",
            resource_id=n.consent_id[:64],
            clock=runtime.clock,
        ):
            if status == ConsentStatus.GRANTED.value:
                raw = cb.body.get("notification", {}).get("consentDetail")
                detail = verify_artefact(runtime, raw, n.signature)
                if detail.hip.id != hip:
                    raise x.ArtefactInvalid(
                        "The consent artefact is for another HIP.", code=x.ARTEFACT_UNKNOWN
                    )
                if detail.consent_id != n.consent_id:
                    raise x.ArtefactInvalid(
                        "The notification's consentId differs from the signed artefact's.",
                        code=x.ARTEFACT_UNKNOWN,
                    )
                _store_artefact(session, runtime, detail, raw, str(n.signature))
            elif status in (
                ConsentStatus.REVOKED.value,
                ConsentStatus.EXPIRED.value,
                ConsentStatus.DENIED.value,
            ):
                row = session.scalar(
                    select(HipConsentArtefact).where(HipConsentArtefact.consent_id == n.consent_id)
                )
                if row is None:
                    # The end overtook the grant (its delivery is still being retried):
                    # a tombstone, so the late GRANTED does not make it live here.
                    session.add(ended_artefact(hip, n.consent_id, ConsentStatus(status), now))
                elif row.hip_id == hip:
                    end_artefact(row, ConsentStatus(status), now)
            else:
                raise ValidationFailed(
                    f"Consent status {status[:16]!r} is not one a HIP is told of.",
                    field="notification.status",
                )
    except DomainError as exc:
        keep_failures(session, exc)
        _answer(
            session,
            runtime,
            cb,
            m.HIP_ON_CONSENT_NOTIFY,
            m.OnHipConsentNotify(error=_error(exc), response=_reference(cb)),
        )
        return
    _answer(
        session,
        runtime,
        cb,
        m.HIP_ON_CONSENT_NOTIFY,
        m.OnHipConsentNotify(
            acknowledgement=m.ConsentAcknowledgement(consent_id=n.consent_id),
            response=_reference(cb),
        ),
    )


def forget_patient(session: Session, runtime: Runtime, *, hip_id: str, abha_address: str) -> int:
    """The ABHA was deactivated or deleted (opt-out): its artefacts here end (DELETED)."""
    now = runtime.clock.now()
    rows = session.scalars(
        select(HipConsentArtefact).where(
            HipConsentArtefact.hip_id == hip_id,
            HipConsentArtefact.patient_abha_address == abha_address.strip().lower(),
            HipConsentArtefact.status == ConsentStatus.GRANTED.value,
        )
    ).all()
    for row in rows:
        end_artefact(row, ConsentStatus.DELETED, now)
    return len(rows)


# --------------------------------------------------------------------------- HI request


def _artefact_in_force(
    session: Session, runtime: Runtime, hip_id: str, consent_id: str
) -> HipConsentArtefact:
    row = session.scalar(
        select(HipConsentArtefact).where(HipConsentArtefact.consent_id == consent_id)
    )
    if row is None or row.hip_id != hip_id:
        raise x.ConsentRefused(
            "This HIP holds no consent artefact with that id.", code=x.ARTEFACT_UNKNOWN
        )
    now = runtime.clock.now()
    if row.status == ConsentStatus.GRANTED.value and row.data_erase_at <= now:
        end_artefact(row, ConsentStatus.EXPIRED, now)
    if row.status == ConsentStatus.EXPIRED.value:
        raise x.ConsentRefused("The consent has expired.", code=x.CONSENT_EXPIRED)
    if row.status != ConsentStatus.GRANTED.value:
        raise x.ConsentRefused(
            f"The consent is {row.status.lower()}; no data is shared under it.",
            code=x.CONSENT_NOT_GRANTED,
        )
    return row


def _check_key_material(runtime: Runtime, km: m.KeyMaterial) -> fidelius.WireKeyMaterial:
    try:
        wire = km.to_wire()
    except ValidationFailed as exc:
        raise x.ConsentRefused(
            f"The HIU's key material is unusable: {exc.message}", code=x.KEY_MATERIAL_BAD
        ) from None
    try:
        expiry = datetime.fromisoformat(wire.expiry.replace("Z", "+00:00"))
    except ValueError:
        return wire  # the expiry's form is not fixed by ABDM: do not refuse on it
    expiry = expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
    if expiry <= runtime.clock.now():
        raise x.ConsentRefused("The HIU's key material has expired.", code=x.KEY_MATERIAL_BAD)
    return wire


def _documents(
    session: Session, artefact: HipConsentArtefact, date_from: datetime, date_to: datetime
) -> list[tuple[HealthDocument, str]]:
    """The documents the artefact covers in the requested range: its care contexts only,
    its HI types only, current ones only."""
    wanted = {
        (str(c.get("patientReference")), str(c.get("careContextReference")))
        for c in artefact.care_contexts
    }
    refs = {cc for _, cc in wanted}
    if not refs or not artefact.hi_types:
        return []
    rows = session.execute(
        select(HealthDocument, CareContext.reference, FacilityPatient.mrn)
        .join(CareContext, HealthDocument.care_context_id == CareContext.id)
        .join(FacilityPatient, CareContext.patient_id == FacilityPatient.id)
        .where(
            CareContext.hip_id == artefact.hip_id,
            CareContext.reference.in_(refs),
            HealthDocument.hi_type.in_(artefact.hi_types),
            HealthDocument.status == DocumentStatus.CURRENT.value,
            HealthDocument.recorded_at >= date_from,
            HealthDocument.recorded_at <= date_to,
        )
        .order_by(CareContext.id, HealthDocument.id)
    ).all()
    return [(doc, ref) for doc, ref, mrn in rows if (mrn, ref) in wanted]


def _paginate(docs: list[tuple[HealthDocument, str]]) -> list[list[dict[str, Any]]]:
    """One document per page. Fidelius derives one AES-GCM key and IV from a page's key
    material, and ABDM sends one key material per page: two entries on one page would
    be encrypted under the same key and IV, which gives away the XOR of their
    plaintexts and lets GCM tags be forged. So each page carries one entry, under key
    material of its own (``_page_body``)."""
    pages: list[list[dict[str, Any]]] = [
        [{"document": doc.id, "careContextReference": ref}] for doc, ref in docs
    ]
    return pages or [[]]  # an empty transfer is one empty page: the HIU learns it is done


def hi_request(session: Session, runtime: Runtime, cb: CallbackContext) -> None:
    body: m.HipHiRequest = _parse(m.HipHiRequest, cb.body)
    hip = str(cb.hip_id)
    request = body.hi_request
    existing = session.scalar(
        select(HipDataTransfer).where(HipDataTransfer.transaction_id == body.transaction_id)
    )
    if existing is not None:
        # The consent manager asked again for the same transaction: same answer, no
        # second transfer.
        _answer_hi_request(session, runtime, cb, body.transaction_id, existing.error_code)
        return
    if (
        session.scalar(
            select(HipConsentArtefact.id).where(HipConsentArtefact.consent_id == request.consent.id)
        )
        is None
    ):
        # The consent manager forwards requests only under artefacts it issued to this
        # HIP, so one never heard of is a GRANTED notice still on its way (held up and
        # retried): refused with 404 and nothing kept, the gateway delivers it again.
        raise NotFound(
            "This HIP has not received that consent artefact yet; deliver the request again later.",
            code=x.ARTEFACT_UNKNOWN,
        )
    ctx = gateway_context(cb)
    now = runtime.clock.now()
    requested_from, requested_to = request.date_range.from_, request.date_range.to
    transfer = HipDataTransfer(
        public_id=uuid.uuid4(),
        transaction_id=body.transaction_id[:64],
        hip_id=hip,
        consent_id=request.consent.id[:64],
        data_push_url=request.data_push_url[:512],
        date_from=requested_from,
        date_to=requested_to,
        status=TransferStatus.ACKNOWLEDGED.value,
        created_at=now,
    )
    try:
        with audited(
            session,
            ctx,
            action="records.hi_request.serve",
            resource_type="consent_artefact",
            resource_id=request.consent.id[:64],
            clock=runtime.clock,
        ):
            artefact = _artefact_in_force(session, runtime, hip, request.consent.id)
            if requested_from > requested_to or not within(
                requested_from, requested_to, artefact.date_from, artefact.date_to
            ):
                raise x.ConsentRefused(
                    "The requested date range is outside the consent's.", code=x.DATE_OUTSIDE
                )
            url = urlsplit(request.data_push_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise x.ConsentRefused(
                    "The dataPushUrl is not an http(s) URL; send the HI request again with "
                    "the HIU's https address for data pushes.",
                    code=x.DATA_PUSH_URL_BAD,
                )
            wire = _check_key_material(runtime, request.key_material)
    except DomainError as exc:
        keep_failures(session, exc)
        transfer.status = TransferStatus.REFUSED.value
        transfer.error_code = exc.code
        transfer.finished_at = now
        session.add(transfer)
        _answer_hi_request(session, runtime, cb, body.transaction_id, exc.code, exc.message)
        return
    transfer.artefact_id = artefact.id
    transfer.hiu_key_material = wire.to_dict()
    session.add(transfer)
    session.flush()
    pages = _paginate(_documents(session, artefact, requested_from, requested_to))
    transfer.page_count = len(pages)
    for number, entries in enumerate(pages, start=1):
        session.add(
            HipTransferPage(
                public_id=uuid.uuid4(),
                transfer_id=transfer.id,
                page_number=number,
                entries=entries,
                status=PageStatus.PENDING.value,
                attempts=0,
            )
        )
    session.flush()
    cfg = records_config(runtime)
    enqueue(
        session,
        topic=PUSH_TOPIC,
        payload={"transfer": str(transfer.public_id)},
        dedupe_key=f"{PUSH_TOPIC}:{transfer.public_id}",
        # The job gives up only after every page had its tries.
        max_attempts=cfg.push_max_attempts * len(pages) + 1,
        clock=runtime.clock,
    )
    _answer_hi_request(session, runtime, cb, body.transaction_id, None)


def _answer_hi_request(
    session: Session,
    runtime: Runtime,
    cb: CallbackContext,
    transaction_id: str,
    error_code: str | None,
    message: str | None = None,
) -> None:
    if error_code is None:
        answer = m.OnHiRequest(
            hi_request=m.HiRequestState(
                transaction_id=transaction_id,
                session_status=m.SessionStatus.ACKNOWLEDGED.value,
            ),
            response=_reference(cb),
        )
    else:
        # The spec's acknowledgement knows only ACKNOWLEDGED: a refusal is the error,
        # found by the CM through response.requestId (its HI request's REQUEST-ID).
        answer = m.OnHiRequest(
            error=m.ErrorDetail(
                code=error_code, message=message or "The request is outside the consent."
            ),
            response=_reference(cb),
        )
    _answer(session, runtime, cb, m.HIP_ON_HI_REQUEST, answer)


# --------------------------------------------------------------------------- the push


class PushFailed(Exception):
    """A page did not reach the HIU this time; the relay tries again after its backoff."""


def _http(runtime: Runtime) -> httpx.Client:
    client = runtime.extras.get("records.http")
    if not isinstance(client, httpx.Client):
        transport = runtime.extras.get(TRANSPORT_KEY)
        client = httpx.Client(
            transport=transport if isinstance(transport, httpx.BaseTransport) else None,
            timeout=runtime.settings.abdm.http_timeout_seconds * 3,
            follow_redirects=False,
        )
        runtime.extras["records.http"] = client
    return client


def plaintext(bundle: dict[str, Any]) -> bytes:
    """The bytes a document is encrypted and checksummed as (UTF-8 JSON)."""
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()


def _page_body(
    session: Session, runtime: Runtime, transfer: HipDataTransfer, page: HipTransferPage
) -> dict[str, Any]:
    # Fresh key material for every page, and every try of it: nothing to keep, and no
    # two plaintexts ever share a key and IV (see _paginate).
    key = fidelius.generate_key_material()
    hiu = fidelius.WireKeyMaterial.from_dict(transfer.hiu_key_material or {})
    ids = [int(e["document"]) for e in page.entries]
    docs = {
        d.id: d for d in session.scalars(select(HealthDocument).where(HealthDocument.id.in_(ids)))
    }
    entries = []
    for e in page.entries:
        doc = docs[int(e["document"])]
        data = plaintext(doc.bundle)
        entries.append(
            m.DataEntry(
                content=fidelius.encrypt(
                    data,
                    sender_private_key=key.private_key,
                    sender_nonce=key.nonce,
                    receiver_public_key=hiu.public_key,
                    receiver_nonce=hiu.nonce,
                ),
                media=m.FHIR_MEDIA,
                checksum=hashlib.md5(data).hexdigest(),  # noqa: S324 - ABDM's checksum
                care_context_reference=str(e["careContextReference"]),
            )
        )
    expiry = transfer.created_at + timedelta(seconds=records_config(runtime).hiu_key_ttl_seconds)
    push = m.DataPush(
        page_number=page.page_number,
        page_count=transfer.page_count,
        transaction_id=transfer.transaction_id,
        entries=entries,
        key_material=m.KeyMaterial.from_wire(key.wire(expiry)),
    )
    return m.dump(push)


def _post_page(runtime: Runtime, url: str, body: dict[str, Any]) -> tuple[int | None, str | None]:
    """POST one page with the bridge's gateway session token (ABDM requires it on the
    push; the HIU answers 401 without it). A 401 is tried once more with a fresh
    session, since the HIU may see the cached token as expired before we do. Returns
    the HTTP status, or the error when the HIU (or the gateway, for the token) could
    not be reached."""
    client = abdm_client(runtime)
    status: int | None = None
    for fresh in (False, True):
        try:
            token = client.session_token(fresh=fresh)
        except AbdmCallFailed as exc:
            return None, f"no gateway session for the push: {exc.status or 'unreachable'}"
        try:
            response = _http(runtime).post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        status = response.status_code
        if status != 401:
            break
    return status, None


def _load_transfer(session: Session, public_id: str) -> HipDataTransfer | None:
    return session.scalar(
        select(HipDataTransfer)
        .where(HipDataTransfer.public_id == uuid.UUID(public_id))
        .with_for_update()
    )


def push(runtime: Runtime, payload: dict[str, Any]) -> None:
    """The ``records.push`` outbox handler: send the transfer's pending pages in order,
    each in its own units of work (prepare, POST outside any transaction, record)."""
    transfer_id = str(payload["transfer"])
    cfg = records_config(runtime)
    while True:
        with unit_of_work(runtime.session_factory) as session:
            transfer = _load_transfer(session, transfer_id)
            if transfer is None or transfer.status != TransferStatus.ACKNOWLEDGED.value:
                return
            page = session.scalar(
                select(HipTransferPage)
                .where(
                    HipTransferPage.transfer_id == transfer.id,
                    HipTransferPage.status == PageStatus.PENDING.value,
                )
                .order_by(HipTransferPage.page_number)
                .limit(1)
            )
            if page is None:
                finish_transfer(session, runtime, transfer)
                return
            artefact = (
                session.get(HipConsentArtefact, transfer.artefact_id)
                if transfer.artefact_id
                else None
            )
            now = runtime.clock.now()
            if (
                artefact is not None
                and artefact.status == ConsentStatus.GRANTED.value
                and artefact.data_erase_at <= now
            ):
                end_artefact(artefact, ConsentStatus.EXPIRED, now)
            if artefact is None or artefact.status != ConsentStatus.GRANTED.value:
                # Revoked or expired mid-transfer: nothing more leaves.
                for p in transfer.pages:
                    if p.status == PageStatus.PENDING.value:
                        p.status = PageStatus.FAILED.value
                        p.last_error = "consent ended"
                transfer.error_code = x.CONSENT_NOT_GRANTED
                finish_transfer(session, runtime, transfer)
                return
            body = _page_body(session, runtime, transfer, page)
            url, page_id = transfer.data_push_url, page.id
        status, error = _post_page(runtime, url, body)
        retry = False
        with unit_of_work(runtime.session_factory) as session:
            page = session.scalar(
                select(HipTransferPage).where(HipTransferPage.id == page_id).with_for_update()
            )
            if page is None or page.status != PageStatus.PENDING.value:
                continue
            page.attempts += 1
            page.http_status = status
            if status is not None and 200 <= status < 300:
                page.status = PageStatus.SENT.value
                page.sent_at = runtime.clock.now()
                page.last_error = None
            else:
                page.last_error = (error or f"HTTP {status}")[:200]
                if (status in _PERMANENT) or page.attempts >= cfg.push_max_attempts:
                    page.status = PageStatus.FAILED.value
                else:
                    retry = True
        if retry:
            raise PushFailed(f"page not delivered ({error or status}); tried again later")


def finish_transfer(session: Session, runtime: Runtime, transfer: HipDataTransfer) -> None:
    """Close the transfer and tell the consent manager how each care context went."""
    per_context: dict[str, str] = {}
    for page in transfer.pages:
        for e in page.entries:
            ref = str(e["careContextReference"])
            ok = page.status == PageStatus.SENT.value
            if per_context.get(ref) != m.HiStatus.ERRORED.value:
                per_context[ref] = (m.HiStatus.DELIVERED if ok else m.HiStatus.ERRORED).value
    all_sent = all(p.status == PageStatus.SENT.value for p in transfer.pages)
    transfer.status = (TransferStatus.TRANSFERRED if all_sent else TransferStatus.FAILED).value
    transfer.finished_at = runtime.clock.now()
    transfer.care_context_status = per_context
    body = m.HiNotify(
        notification=m.HiNotification(
            consent_id=transfer.consent_id,
            transaction_id=transfer.transaction_id,
            done_at=runtime.clock.now(),
            notifier=m.Notifier(type=m.NotifierType.HIP.value, id=transfer.hip_id),
            status_notification=m.StatusNotification(
                session_status=(
                    m.SessionStatus.TRANSFERRED if all_sent else m.SessionStatus.FAILED
                ).value,
                hip_id=transfer.hip_id,
                status_responses=[
                    m.StatusResponse(
                        care_context_reference=ref,
                        hi_status=st,
                        description="Delivered" if st == "DELIVERED" else "Not delivered",
                    )
                    for ref, st in per_context.items()
                ],
            ),
        )
    )
    enqueue_call(
        session,
        runtime,
        path=m.HI_NOTIFY,
        body=m.dump(body),
        headers={"X-HIP-ID": transfer.hip_id},
        context={"kind": "records.hip-notify", "transfer": str(transfer.public_id)},
    )


def handlers(runtime: Runtime) -> dict[str, Any]:
    return {PUSH_TOPIC: lambda payload: push(runtime, payload)}
