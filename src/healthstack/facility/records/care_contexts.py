"""The HIP's records and HIP-initiated linking.

Records: ``ensure_patient`` (the facility's register), ``open_care_context`` (one per
OPD visit or IPD admission; the display comes from ``records.fhir.display_text``),
``add_document`` (a FHIR bundle, validated before it is stored; refused with the
element path) and ``record_document`` (builds the bundle from typed content first),
``retire_document`` (entered-in-error: never deleted).

Linking, as records land (``after_new_data``):
- the care context is linked already → context notify (new data on a linked context);
- the patient has an ABHA → link the patient's unlinked contexts: with the link token
  when the HIP holds a valid one (``/hip/v3/link/carecontext`` + X-LINK-TOKEN), else ask
  for one first (``/v3/token/generate-token``; ``on_generate_token`` stores it sealed
  and sends the waiting links);
- only a mobile is known → the SMS deep link (``.../sms/notify2``) for a new context.

Every call goes out through the gateway client (``integrations.abdm.AbdmOutbox``) in
the caller's transaction; its ``context`` (ids only) brings the answer back to the rows
it concerns. The services take what they use, typed: the clock, the outbox, the keyed
hasher that seals link tokens, the IG documents are validated against, the
facility registry's names (``integrations.hfr.FacilityNames``) and the tunables.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig, validate
from healthstack.facility.records.exceptions import DocumentInvalid
from healthstack.facility.records.models import (
    CareContext,
    DocumentStatus,
    FacilityPatient,
    HealthDocument,
    LinkStatus,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.integrations.hfr import FacilityNames
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyedHasher, SealBroken, Sealer
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import normalise_mobile, parse_abha_number, parse_hfr_id
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.documents.model import (
    Encounter,
    Organization,
    Patient,
    Practitioner,
    RecordContent,
    RecordContext,
)
from healthstack.protocol.fhir.documents.records import build_document, display_text
from healthstack.protocol.fhir.documents.view import read_document
from healthstack.protocol.fhir.terminology import EncounterClass
from healthstack.protocol.fhir.validation import IgPackage

GENDER_WORDS = {"M": "male", "F": "female", "O": "other", "U": "unknown"}
_LINK_TOKEN_SEAL = "records.link-token"  # noqa: S105 - a sealing purpose, not a secret
# Contexts of outbound calls (what the answer's handler looks for).
CALL_LINK_TOKEN = "records.link-token"  # noqa: S105 - a context kind
CALL_LINK = "records.link"
CALL_CONTEXT_NOTIFY = "records.context-notify"
CALL_SMS_NOTIFY = "records.sms-notify"


def facility_name(session: Session, *, hfr_id: str, names: FacilityNames) -> str:
    """The facility's name from the registry (its HFR id when the registry has none)."""
    return names.name_of(session, hfr_id) or hfr_id


# --------------------------------------------------------------------------- patients


def _gender(raw: str) -> str:
    value = (raw or "").strip().upper()[:1]
    if value not in GENDER_WORDS:
        raise ValidationFailed(
            "Gender must be M, F, O or U (male, female, other, undisclosed).", field="gender"
        )
    return value


def ensure_patient(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    hip_id: str,
    mrn: str,
    name: str,
    gender: str,
    year_of_birth: int | None = None,
    mobile: str | None = None,
    abha_number: str | None = None,
    abha_address: str | None = None,
) -> FacilityPatient:
    """The patient with this MRN at this HIP, created when new. Identifiers learnt later
    (an ABHA created at the desk today) are added; known ones are never overwritten by
    an empty value."""
    hip = parse_hfr_id(hip_id)
    mrn = (mrn or "").strip()
    if not mrn or len(mrn) > 32:
        raise ValidationFailed(
            "The hospital number (MRN) is required, at most 32 characters.", field="mrn"
        )
    if not (name or "").strip():
        raise ValidationFailed("The patient's name is required.", field="name")
    number = parse_abha_number(abha_number).digits if abha_number else None
    address = (abha_address or "").strip().lower() or None
    if address is not None and "@" not in address:
        raise ValidationFailed(
            "An ABHA address has the form name@sbx (or name@abdm).", field="abhaAddress"
        )
    phone = normalise_mobile(mobile) if mobile else None
    now = clock.now()
    with audited(
        session,
        ctx,
        action="records.patient.ensure",
        resource_type="facility_patient",
        clock=clock,
    ) as target:
        patient = session.scalar(
            select(FacilityPatient).where(FacilityPatient.hip_id == hip, FacilityPatient.mrn == mrn)
        )
        if patient is None:
            patient = FacilityPatient(
                public_id=uuid.uuid4(),
                hip_id=hip,
                mrn=mrn,
                name=name.strip(),
                gender=_gender(gender),
                year_of_birth=year_of_birth,
                mobile=phone,
                abha_number=number,
                abha_address=address,
                created_at=now,
                updated_at=now,
            )
            session.add(patient)
        else:
            for attr, value in (
                ("mobile", phone),
                ("abha_number", number),
                ("abha_address", address),
                ("year_of_birth", year_of_birth),
            ):
                if value is not None and getattr(patient, attr) != value:
                    setattr(patient, attr, value)
                    patient.updated_at = now
        session.flush()
        target.resource_id = str(patient.public_id)
    return patient


def get_patient(session: Session, *, hip_id: str, mrn: str) -> FacilityPatient:
    patient = session.scalar(
        select(FacilityPatient).where(FacilityPatient.hip_id == hip_id, FacilityPatient.mrn == mrn)
    )
    if patient is None:
        raise NotFound("No patient with that hospital number at this facility.", field="mrn")
    return patient


def has_abha(patient: FacilityPatient) -> bool:
    return bool(patient.abha_number or patient.abha_address)


# --------------------------------------------------------------------------- care contexts


def new_reference(kind: EncounterClass, start: datetime) -> str:
    """A care context reference: visit kind, date and a random part (nothing clinical,
    nothing that identifies the patient)."""
    return f"{kind.value}-{start.astimezone(UTC):%Y%m%d}-{secrets.token_hex(4).upper()}"


def open_care_context(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    names: FacilityNames,
    patient: FacilityPatient,
    kind: EncounterClass | str,
    start: datetime,
    end: datetime | None = None,
    reference: str | None = None,
    facility: str | None = None,
) -> CareContext:
    """A new care context (an OPD visit or IPD admission) for the patient; returns the
    existing one when ``reference`` is already this patient's. Its display names the
    facility: ``facility``, else the registry's name."""
    visit = EncounterClass(kind)
    ref = (reference or new_reference(visit, start)).strip()
    existing = session.scalar(
        select(CareContext).where(
            CareContext.hip_id == patient.hip_id, CareContext.reference == ref
        )
    )
    if existing is not None:
        if existing.patient_id != patient.id:
            raise ValidationFailed(
                "That care context reference belongs to another patient; leave it out to "
                "have a new one made.",
                field="reference",
            )
        return existing
    encounter = Encounter(care_context=ref, kind=visit, start=start, end=end)
    name = facility or facility_name(session, hfr_id=patient.hip_id, names=names)
    now = clock.now()
    cc = CareContext(
        public_id=uuid.uuid4(),
        patient_id=patient.id,
        hip_id=patient.hip_id,
        reference=ref,
        display=display_text(encounter, name)[:255],
        kind=visit.value,
        started_at=start,
        ended_at=end,
        hi_types=[],
        link_status=(LinkStatus.PENDING if has_abha(patient) else LinkStatus.UNLINKED).value,
        created_at=now,
        updated_at=now,
    )
    session.add(cc)
    session.flush()
    record_access(
        session,
        ctx,
        action="records.care_context.open",
        resource_type="care_context",
        resource_id=str(cc.public_id),
        clock=clock,
    )
    return cc


def _composition(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Composition":
            return resource
    return {}


def _recorded_at(bundle: Mapping[str, Any], fallback: datetime) -> datetime:
    raw = _composition(bundle).get("date") or bundle.get("timestamp")
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return fallback


def check_document(bundle: Any, *, ig: IgPackage | None) -> str:
    """Validate a bundle (IG profiles when the IG is configured, core rules always) and
    return its HI type; ``DocumentInvalid`` names the first error's element path."""
    report = validate(bundle, ig=ig)
    if not report.valid:
        first = report.errors[0]
        more = len(report.errors) - 1
        raise DocumentInvalid(
            f"The document is not a valid ABDM FHIR document: {first.path} breaks "
            f"{first.rule} ({first.message})"
            + (f"; {more} more problem(s)." if more else ".")
            + " Correct the record and save it again.",
            field=first.path,
        )
    kind = read_document(bundle).kind
    if kind is None:
        raise DocumentInvalid(
            "The document's Composition does not say which ABDM record type it is "
            "(Composition.type / meta.profile).",
            field="Bundle.entry[0].resource.type",
        )
    return kind.value


def add_document(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    ig: IgPackage | None,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    names: FacilityNames,
    config: RecordsConfig = DEFAULT_CONFIG,
    care_context: CareContext,
    bundle: dict[str, Any],
    link: bool = True,
) -> HealthDocument:
    """Store a document in the care context (after validation against ``ig``) and link
    or notify (``link=False``: leave that to ``link_pending``, as the demo seed does)."""
    with audited(
        session,
        ctx,
        action="records.document.add",
        resource_type="care_context",
        resource_id=str(care_context.public_id),
        clock=clock,
    ):
        hi_type = check_document(bundle, ig=ig)
        now = clock.now()
        doc = HealthDocument(
            public_id=uuid.uuid4(),
            care_context_id=care_context.id,
            hi_type=hi_type,
            bundle=bundle,
            size_bytes=len(m.canonical_json(bundle)),
            status=DocumentStatus.CURRENT.value,
            recorded_at=_recorded_at(bundle, now),
            created_by=ctx.actor.id[:64],
            created_at=now,
        )
        session.add(doc)
        first_in_context = not care_context.hi_types
        new_type = hi_type not in (care_context.hi_types or [])
        if new_type:
            care_context.hi_types = [*(care_context.hi_types or []), hi_type]
        care_context.updated_at = now
        session.flush()
        if not link:
            return doc
        after_new_data(
            session,
            clock=clock,
            outbox=outbox,
            hasher=hasher,
            names=names,
            config=config,
            care_context=care_context,
            hi_type=hi_type,
            new_type=new_type,
            first_in_context=first_in_context,
        )
    return doc


def record_document(
    session: Session,
    ctx: RequestContext,
    *,
    clock: Clock,
    ig: IgPackage | None,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    names: FacilityNames,
    config: RecordsConfig = DEFAULT_CONFIG,
    care_context: CareContext,
    content: RecordContent,
    practitioner: Practitioner,
    ids: Any = None,
    now: datetime | None = None,
    link: bool = True,
) -> HealthDocument:
    """Build the IG document for ``content`` in this care context, then ``add_document``."""
    patient = care_context.patient
    facility = Organization(
        hfr_id=patient.hip_id, name=facility_name(session, hfr_id=patient.hip_id, names=names)
    )
    context = RecordContext(
        patient=Patient(
            name=patient.name,
            gender=GENDER_WORDS.get(patient.gender, "unknown"),  # type: ignore[arg-type]
            abha_number=patient.abha_number,
            abha_address=patient.abha_address,
            birth_date=patient.year_of_birth,
            mrn=patient.mrn,
        ),
        practitioner=practitioner,
        organization=facility,
        encounter=Encounter(
            care_context=care_context.reference,
            kind=EncounterClass(care_context.kind),
            start=care_context.started_at,
            end=care_context.ended_at,
        ),
    )
    bundle = build_document(context, content, now=now or clock.now(), ids=ids)
    return add_document(
        session,
        ctx,
        clock=clock,
        ig=ig,
        outbox=outbox,
        hasher=hasher,
        names=names,
        config=config,
        care_context=care_context,
        bundle=bundle,
        link=link,
    )


def retire_document(
    session: Session, ctx: RequestContext, *, clock: Clock, document: HealthDocument
) -> None:
    """Entered in error: kept, never shared again."""
    with audited(
        session,
        ctx,
        action="records.document.retire",
        resource_type="health_document",
        resource_id=str(document.public_id),
        clock=clock,
    ):
        document.status = DocumentStatus.ENTERED_IN_ERROR.value
        document.status_changed_at = clock.now()


# --------------------------------------------------------------------------- linking


def _hip_headers(hip_id: str, **extra: str) -> dict[str, str]:
    return {"X-HIP-ID": hip_id, **extra}


def after_new_data(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    names: FacilityNames,
    config: RecordsConfig = DEFAULT_CONFIG,
    care_context: CareContext,
    hi_type: str,
    new_type: bool,
    first_in_context: bool,
) -> None:
    """What a new document sets off at the consent manager (see the module docstring)."""
    patient = care_context.patient
    if care_context.link_status == LinkStatus.LINKED.value:
        notify_context(
            session, clock=clock, outbox=outbox, care_context=care_context, hi_types=[hi_type]
        )
        return
    if has_abha(patient):
        if care_context.link_status == LinkStatus.UNLINKED.value:
            care_context.link_status = LinkStatus.PENDING.value
        if care_context.link_status == LinkStatus.LINKING.value and not new_type:
            return  # the link on its way carries this HI type already
        request_link(
            session, clock=clock, outbox=outbox, hasher=hasher, config=config, patient=patient
        )
        return
    if patient.mobile and first_in_context:
        notify_by_sms(session, clock=clock, outbox=outbox, names=names, care_context=care_context)


def notify_context(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    care_context: CareContext,
    hi_types: Sequence[str],
) -> str:
    patient = care_context.patient
    body = m.ContextNotifyRequest(
        notification=m.ContextNotification(
            patient=m.PatientId(
                id=care_context.linked_abha_address
                or patient.abha_address
                or str(patient.abha_number)
            ),
            care_context=m.CareContextRef(
                patient_reference=patient.mrn, care_context_reference=care_context.reference
            ),
            hi_types=list(hi_types),
            date=clock.now(),
            hip=m.OrgRef(id=care_context.hip_id),
        )
    )
    care_context.last_notified_at = clock.now()
    return outbox.enqueue(
        session,
        path=m.CONTEXT_NOTIFY,
        body=m.dump(body),
        headers=_hip_headers(care_context.hip_id),
        context={"kind": CALL_CONTEXT_NOTIFY, "care_context": str(care_context.public_id)},
    )


def notify_by_sms(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    names: FacilityNames,
    care_context: CareContext,
) -> str | None:
    """The deep-link SMS (via the CM) for a patient known only by mobile."""
    patient = care_context.patient
    if not patient.mobile:
        return None
    body = m.SmsNotifyRequest(
        notification=m.SmsNotification(
            phone_no=patient.mobile,
            receiver_name=patient.name,
            care_context_info=care_context.display,
            hip=m.OrgRef(
                id=patient.hip_id, name=facility_name(session, hfr_id=patient.hip_id, names=names)
            ),
        )
    )
    patient.sms_notified_at = clock.now()
    return outbox.enqueue(
        session,
        path=m.SMS_NOTIFY,
        body=m.dump(body),
        headers=_hip_headers(patient.hip_id),
        context={"kind": CALL_SMS_NOTIFY, "patient": str(patient.public_id)},
    )


def _sealer(hasher: KeyedHasher) -> Sealer:
    return Sealer(hasher, _LINK_TOKEN_SEAL)


def link_token(patient: FacilityPatient, *, clock: Clock, hasher: KeyedHasher) -> str | None:
    """The patient's link token at this HIP while it is valid."""
    if not patient.link_token_sealed or patient.link_token_expires_at is None:
        return None
    if patient.link_token_expires_at <= clock.now() + timedelta(minutes=5):
        return None
    try:
        return _sealer(hasher).unseal(patient.link_token_sealed, str(patient.public_id))
    except SealBroken:
        return None


def _contexts(session: Session, patient: FacilityPatient) -> list[CareContext]:
    return list(
        session.scalars(
            select(CareContext).where(CareContext.patient_id == patient.id).order_by(CareContext.id)
        )
    )


def _unlinked(session: Session, patient: FacilityPatient) -> list[CareContext]:
    waiting = (LinkStatus.PENDING.value, LinkStatus.FAILED.value, LinkStatus.UNLINKED.value)
    return [
        cc
        for cc in _contexts(session, patient)
        if cc.link_status in waiting and (cc.hi_types or [])
    ]


def request_link(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    config: RecordsConfig = DEFAULT_CONFIG,
    patient: FacilityPatient,
) -> str | None:
    """Link the patient's unlinked care contexts: with the link token when one is held,
    else ask for a token (once: a pending request is not repeated for an hour)."""
    if not has_abha(patient):
        return None
    contexts = _unlinked(session, patient)
    if not contexts:
        return None
    token = link_token(patient, clock=clock, hasher=hasher)
    now = clock.now()
    if token is None:
        retry = timedelta(seconds=config.link_token_retry_seconds)
        if (
            patient.link_token_request_id
            and patient.link_token_requested_at
            and (now - patient.link_token_requested_at < retry)
        ):
            return patient.link_token_request_id
        for cc in contexts:
            cc.link_status = LinkStatus.PENDING.value
        body = m.GenerateTokenRequest(
            abha_number=patient.abha_number,
            abha_address=patient.abha_address,
            name=patient.name,
            gender=patient.gender,
            year_of_birth=patient.year_of_birth or 0,
        )
        rid = outbox.enqueue(
            session,
            path=m.GENERATE_TOKEN,
            body=m.dump(body),
            headers=_hip_headers(patient.hip_id),
            context={"kind": CALL_LINK_TOKEN, "patient": str(patient.public_id)},
        )
        patient.link_token_request_id = rid
        patient.link_token_requested_at = now
        patient.link_token_error = None
        return rid
    return _send_link(
        session, clock=clock, outbox=outbox, patient=patient, contexts=contexts, token=token
    )


def patient_entries(
    patient: FacilityPatient, contexts: Iterable[CareContext]
) -> list[m.HipPatient]:
    """ABDM v3 groups a link by HI type: one entry per type with its care contexts."""
    by_type: dict[str, list[CareContext]] = defaultdict(list)
    for cc in contexts:
        for hi_type in cc.hi_types or []:
            by_type[hi_type].append(cc)
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


def _send_link(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    patient: FacilityPatient,
    contexts: list[CareContext],
    token: str,
) -> str:
    body = m.LinkCareContextRequest(
        abha_number=patient.abha_number,
        abha_address=patient.abha_address,
        patient=patient_entries(patient, contexts),
    )
    rid = outbox.enqueue(
        session,
        path=m.LINK_CARE_CONTEXT,
        body=m.dump(body),
        headers=_hip_headers(patient.hip_id, **{"X-LINK-TOKEN": token}),
        context={
            "kind": CALL_LINK,
            "patient": str(patient.public_id),
            "care_contexts": [str(c.public_id) for c in contexts],
            # What the link carries, so data added meanwhile is notified once linked.
            "hi_types": {str(c.public_id): list(c.hi_types or []) for c in contexts},
        },
    )
    now = clock.now()
    for cc in contexts:
        cc.link_status = LinkStatus.LINKING.value
        cc.link_request_id = rid
        cc.link_error = None
        cc.updated_at = now
    return rid


def link_pending(
    session: Session,
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    config: RecordsConfig = DEFAULT_CONFIG,
    hip_id: str | None = None,
    limit: int = 1000,
) -> int:
    """Push every patient's pending (or failed) care contexts towards a link; returns
    how many patients had something to link. The demo's ``healthstack records
    link-pending`` and a retry after refusals use it."""
    waiting = (LinkStatus.PENDING.value, LinkStatus.FAILED.value)
    query = (
        select(FacilityPatient)
        .join(CareContext, CareContext.patient_id == FacilityPatient.id)
        .where(CareContext.link_status.in_(waiting))
        .group_by(FacilityPatient.id)
        .order_by(FacilityPatient.id)
        .limit(limit)
    )
    if hip_id:
        query = query.where(FacilityPatient.hip_id == hip_id)
    done = 0
    for patient in session.scalars(query):
        if (
            request_link(
                session, clock=clock, outbox=outbox, hasher=hasher, config=config, patient=patient
            )
            is not None
        ):
            done += 1
    return done


def link_counts(session: Session, *, hip_id: str | None = None) -> dict[str, int]:
    query = select(CareContext.link_status, func.count()).group_by(CareContext.link_status)
    if hip_id:
        query = query.where(CareContext.hip_id == hip_id)
    return {str(k): int(v) for k, v in session.execute(query).all()}


# --------------------------------------------------------------------------- the answers


def _patient_by_public_id(session: Session, value: Any) -> FacilityPatient | None:
    try:
        pid = uuid.UUID(str(value))
    except ValueError:
        return None
    return session.scalar(select(FacilityPatient).where(FacilityPatient.public_id == pid))


def _token_expiry(token: str, *, now: datetime, config: RecordsConfig) -> datetime:
    """The token's own ``exp`` when it is a JWT that carries one, else six months."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    if isinstance(exp, int | float):
        return datetime.fromtimestamp(exp, tz=UTC)
    return now + timedelta(days=config.link_token_days)


def on_generate_token(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """Store the link token (sealed) and send the links that waited for it."""
    call = cb.call
    if call is None or call.context.get("kind") != CALL_LINK_TOKEN or call.service_id != cb.hip_id:
        return
    patient = _patient_by_public_id(session, call.context.get("patient"))
    if patient is None:
        return
    body = m.OnGenerateToken.model_validate(cb.body)
    if patient.link_token_request_id == cb.in_reply_to:
        patient.link_token_request_id = None
    now = clock.now()
    if body.error is not None or not body.link_token:
        patient.link_token_error = (body.error.code if body.error else "no-token")[:32]
        for cc in _unlinked(session, patient):
            cc.link_status = LinkStatus.FAILED.value
            cc.link_error = patient.link_token_error
            cc.updated_at = now
        return
    patient.link_token_sealed = _sealer(hasher).seal(body.link_token, str(patient.public_id))
    patient.link_token_expires_at = _token_expiry(body.link_token, now=now, config=config)
    patient.link_token_error = None
    if body.abha_address and not patient.abha_address:
        patient.abha_address = body.abha_address.lower()
    patient.updated_at = now
    contexts = _unlinked(session, patient)
    if contexts:
        _send_link(
            session,
            clock=clock,
            outbox=outbox,
            patient=patient,
            contexts=contexts,
            token=body.link_token,
        )


def on_link_care_context(
    session: Session, *, cb: CallbackContext, clock: Clock, outbox: AbdmOutbox
) -> None:
    call = cb.call
    if call is None or call.context.get("kind") != CALL_LINK or call.service_id != cb.hip_id:
        return
    patient = _patient_by_public_id(session, call.context.get("patient"))
    if patient is None:
        return
    body = m.OnLinkCareContext.model_validate(cb.body)
    wanted = {str(x) for x in call.context.get("care_contexts") or []}
    contexts = [cc for cc in _contexts(session, patient) if str(cc.public_id) in wanted]
    now = clock.now()
    ok = body.error is None and (body.status or "").upper() in ("SUCCESS", "OK", "LINKED")
    for cc in contexts:
        if cc.link_request_id != cb.in_reply_to or cc.link_status != LinkStatus.LINKING.value:
            continue  # a later link superseded this one
        if ok:
            cc.link_status = LinkStatus.LINKED.value
            cc.linked_via = "hip"
            cc.linked_at = now
            cc.linked_abha_address = (
                body.abha_address or patient.abha_address or ""
            ).lower() or None
            cc.link_error = None
            carried = (call.context.get("hi_types") or {}).get(str(cc.public_id), [])
            added = [t for t in cc.hi_types or [] if t not in carried]
            if added:
                notify_context(session, clock=clock, outbox=outbox, care_context=cc, hi_types=added)
        else:
            cc.link_status = LinkStatus.FAILED.value
            cc.link_error = (body.error.code if body.error else (body.status or "refused"))[:32]
        cc.updated_at = now
    if not ok:
        # The token may be what was refused: the next try asks for a new one.
        patient.link_token_sealed = None
        patient.link_token_expires_at = None
    if ok and body.abha_address and not patient.abha_address:
        patient.abha_address = body.abha_address.lower()


def on_context_notify(session: Session, *, cb: CallbackContext) -> None:
    call = cb.call
    if call is None or call.context.get("kind") != CALL_CONTEXT_NOTIFY:
        return
    body = m.OnContextNotify.model_validate(cb.body)
    if body.error is None:
        return
    try:
        ref = uuid.UUID(str(call.context.get("care_context")))
    except ValueError:
        return
    cc = session.scalar(select(CareContext).where(CareContext.public_id == ref))
    if cc is not None:
        cc.link_error = body.error.code[:32]


def on_sms_notify(session: Session, *, cb: CallbackContext) -> None:
    call = cb.call
    if call is None or call.context.get("kind") != CALL_SMS_NOTIFY:
        return
    body = m.OnSmsNotify.model_validate(cb.body)
    patient = _patient_by_public_id(session, call.context.get("patient"))
    if patient is not None and body.error is not None:
        patient.sms_notified_at = None  # not sent: a later record tries again
