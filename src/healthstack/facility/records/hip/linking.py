"""Patient-initiated linking (``link_init`` / ``link_confirm``): an OTP by SMS to the
patient's mobile and a link reference number; the right OTP links the chosen care
contexts, a wrong one is ABDM-1035 (three wrong tries lock the request)."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.care_contexts import facility_name, patient_entries
from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hip.common import (
    answer,
    error_of,
    gateway_context,
    parse_body,
    reference_to,
)
from healthstack.facility.records.models import (
    CareContext,
    FacilityPatient,
    HipDiscovery,
    HipLinkRequest,
    LinkStatus,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.integrations.hfr import FacilityNames
from healthstack.integrations.sms import send_sms
from healthstack.kernel.audit import Outcome, audited, keep_failures, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import DomainError
from healthstack.kernel.ids import mask_mobile
from healthstack.protocol.abdm import messages as m

_OTP_DOMAIN = "records.link-otp"


def _otp_hash(hasher: KeyedHasher, link_ref: str, otp: str) -> str:
    return hasher.hash(_OTP_DOMAIN, f"{link_ref}:{otp}")


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


def link_init(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    hasher: KeyedHasher,
    outbox: AbdmOutbox,
    names: FacilityNames,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """The CM asks to link care contexts the patient chose: the OTP goes by SMS, the
    answer carries the link reference number."""
    body: m.LinkInitRequest = parse_body(m.LinkInitRequest, cb.body)
    hip = str(cb.hip_id)
    cfg = config
    ctx = gateway_context(cb)
    now = clock.now()
    try:
        with audited(
            session,
            ctx,
            action="records.link.init",
            resource_type="facility_patient",
            clock=clock,
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
        answer(
            session,
            outbox=outbox,
            cb=cb,
            path=m.ON_LINK_INIT,
            body=m.OnLinkInit(
                transaction_id=body.transaction_id, error=error_of(exc), response=reference_to(cb)
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
            otp_hash=_otp_hash(hasher, link_ref, otp),
            otp_expires_at=expires,
            attempts=0,
            status="PENDING",
            created_at=now,
        )
    )
    minutes = cfg.link_otp_ttl_seconds // 60
    facility = facility_name(session, hfr_id=hip, names=names)
    send_sms(
        session,
        mobile=patient.mobile,
        text=(
            f"{otp} is your OTP to link your health records at "
            f"{facility} with your ABHA. It is valid for {minutes} "
            "minutes. Do not share it with anyone."
        ),
        template="records.link-otp",
        clock=clock,
    )
    answer(
        session,
        outbox=outbox,
        cb=cb,
        path=m.ON_LINK_INIT,
        body=m.OnLinkInit(
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
            response=reference_to(cb),
        ),
    )


def link_confirm(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    hasher: KeyedHasher,
    outbox: AbdmOutbox,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """The patient's OTP: the right one links the care contexts, a wrong one is refused."""
    body: m.LinkConfirmRequest = parse_body(m.LinkConfirmRequest, cb.body)
    hip = str(cb.hip_id)
    cfg = config
    now = clock.now()
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
    elif not hasher.matches(
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
            clock=clock,
        )
        answer(
            session,
            outbox=outbox,
            cb=cb,
            path=m.ON_LINK_CONFIRM,
            body=m.OnLinkConfirm(error=error_of(refusal), response=reference_to(cb)),
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
        clock=clock,
    )
    answer(
        session,
        outbox=outbox,
        cb=cb,
        path=m.ON_LINK_CONFIRM,
        body=m.OnLinkConfirm(patient=patient_entries(patient, contexts), response=reference_to(cb)),
    )
