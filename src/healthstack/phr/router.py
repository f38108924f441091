"""The PHR JSON API under ``/api/v1/phr`` for the logged-in ABHA holder, with the user
token in ``X-token: Bearer <token>`` (as ABHA's profile API takes it): links,
discovery, consents (``phr.service``) and the holder's own records, fetched by the
PHR's own HIU (``phr.own_records``, over the protocol like any HIU). Thin: the
services decide.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from healthstack.facility.records import hiu
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.patient.dependencies import Holder, Patient
from healthstack.network.consent import pin as pins
from healthstack.phr import own_records
from healthstack.phr import service as phr
from healthstack.phr.dependencies import Parts, PhrParts
from healthstack.phr.schemas import (
    ApproveBody,
    ConfirmBody,
    DiscoverBody,
    FetchBody,
    LinkBody,
    PinBody,
    PinResendBody,
    PinResetBody,
    RevokeBody,
)
from healthstack.protocol.abdm import messages as m
from healthstack.web.deps import DbSession, RuntimeDep

router = APIRouter(prefix="/api/v1/phr", tags=["phr"])


@router.get("/facilities")
def facilities(account: Holder, session: DbSession) -> list[dict[str, Any]]:
    """Facilities (HIPs) on the network, to search for your records."""
    return phr.list_facilities(session)


@router.get("/links")
def links(ctx: Patient, account: Holder, session: DbSession, p: Parts) -> list[dict[str, Any]]:
    """Your linked facilities and their records (care contexts)."""
    return phr.linked_facilities(session, ctx, account=account, clock=p.clock)


@router.post("/discover", status_code=202)
def discover(
    body: DiscoverBody, ctx: Patient, account: Holder, session: DbSession, p: Parts
) -> dict[str, Any]:
    """Search a facility for your records; poll the transaction for its answer."""
    return phr.discover(
        session,
        ctx,
        account=account,
        hip_id=body.hip_id,
        record_number=body.record_number,
        clock=p.clock,
        sender=p.sender,
        cm_id=p.cm_id,
        settings=p.consent,
    )


@router.get("/discover/{transaction_id}")
def discovery(
    transaction_id: str, ctx: Patient, account: Holder, session: DbSession, p: Parts
) -> dict[str, Any]:
    return phr.link_status(
        session,
        ctx,
        account=account,
        transaction_id=transaction_id,
        clock=p.clock,
        settings=p.consent,
    )


@router.post("/discover/{transaction_id}/link", status_code=202)
def link(
    transaction_id: str,
    body: LinkBody,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
) -> dict[str, Any]:
    """Link the records found (all, or those named); the facility sends you an OTP."""
    return phr.link(
        session,
        ctx,
        account=account,
        transaction_id=transaction_id,
        references=body.care_contexts,
        clock=p.clock,
        sender=p.sender,
        cm_id=p.cm_id,
        settings=p.consent,
    )


@router.post("/discover/{transaction_id}/confirm", status_code=202)
def confirm(
    transaction_id: str,
    body: ConfirmBody,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
) -> dict[str, Any]:
    """The OTP the facility sent; the facility checks it (a wrong one: ABDM-1035)."""
    return phr.confirm(
        session,
        ctx,
        account=account,
        transaction_id=transaction_id,
        otp=body.otp,
        clock=p.clock,
        sender=p.sender,
        settings=p.consent,
    )


@router.get("/consents")
def consent_list(
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Your consent requests; ``status=REQUESTED`` lists those waiting for you."""
    return phr.consent_list(session, ctx, account=account, status=status, clock=p.clock)


@router.get("/consents/{consent_request_id}")
def consent_detail(
    consent_request_id: str,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
) -> dict[str, Any]:
    return phr.consent_detail(
        session, ctx, account=account, consent_request_id=consent_request_id, clock=p.clock
    )


@router.post("/consents/{consent_request_id}/approve")
def approve(
    consent_request_id: str,
    body: ApproveBody,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
) -> dict[str, Any]:
    """Grant, per facility, what you choose of what was asked (never more), with your
    consent PIN (``pin``; set one first at ``POST /pin``)."""
    choices = [
        phr.GrantChoice(
            hip_id=g.hip.id,
            hi_types=g.hi_types,
            care_contexts=[(c.patient_reference, c.care_context_reference) for c in g.care_contexts]
            if g.care_contexts is not None
            else None,
            date_from=g.permission.date_range.from_
            if g.permission and g.permission.date_range
            else None,
            date_to=g.permission.date_range.to
            if g.permission and g.permission.date_range
            else None,
            expires_at=g.permission.data_erase_at if g.permission else None,
        )
        for g in body.consents
    ]
    return phr.approve(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        choices=choices,
        pin=body.pin,
        clock=p.clock,
        hasher=p.hasher,
        sender=p.sender,
        keyring=p.keyring,
        cm_id=p.cm_id,
    )


@router.post("/consents/{consent_request_id}/deny")
def deny(
    consent_request_id: str,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
) -> dict[str, Any]:
    return phr.deny(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        clock=p.clock,
        sender=p.sender,
    )


@router.post("/consents/{consent_request_id}/revoke")
def revoke(
    consent_request_id: str,
    ctx: Patient,
    account: Holder,
    session: DbSession,
    p: Parts,
    body: RevokeBody | None = None,
) -> dict[str, Any]:
    """Withdraw a granted consent (all of it, or the artefacts named)."""
    return phr.revoke(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        artefact_ids=body.consent_ids if body else None,
        clock=p.clock,
        sender=p.sender,
    )


def _pin_view(session: Session, account: AbhaAccount, p: PhrParts) -> dict[str, Any]:
    state = pins.status(session, account=account, now=p.clock.now())
    return {
        "set": state.set,
        "lockedUntil": m.abdm_timestamp(state.locked_until) if state.locked_until else None,
        "triesLeft": state.tries_left,
    }


@router.get("/pin")
def pin_status(account: Holder, session: DbSession, p: Parts) -> dict[str, Any]:
    """Whether your consent PIN is set, and whether wrong tries have locked it."""
    return _pin_view(session, account, p)


@router.post("/pin")
def pin_set(
    body: PinBody, ctx: Patient, account: Holder, session: DbSession, p: Parts
) -> dict[str, Any]:
    """Set your consent PIN (4 digits), or change it with ``currentPin``."""
    pins.set_pin(
        session,
        ctx,
        account=account,
        pin=body.pin,
        current_pin=body.current_pin,
        clock=p.clock,
        hasher=p.hasher,
    )
    return _pin_view(session, account, p)


@router.post("/pin/reset/otp", status_code=202)
def pin_reset_otp(ctx: Patient, account: Holder, session: DbSession, p: Parts) -> dict[str, Any]:
    """Forgot the PIN (or locked it): an OTP goes to your ABHA mobile."""
    sent = pins.request_reset(
        session,
        ctx,
        account=account,
        clock=p.clock,
        otp_service=p.otp_service,
        txn_ttl_seconds=p.txn_ttl_seconds,
    )
    return {"txnId": sent.txn_id, "message": sent.message}


@router.post("/pin/reset/resend", status_code=202)
def pin_reset_resend(
    body: PinResendBody, ctx: Patient, account: Holder, session: DbSession, p: Parts
) -> dict[str, Any]:
    sent = pins.resend_reset(
        session,
        ctx,
        account=account,
        txn_id=body.txn_id,
        clock=p.clock,
        otp_service=p.otp_service,
    )
    return {"txnId": sent.txn_id, "message": sent.message}


@router.post("/pin/reset")
def pin_reset(
    body: PinResetBody, ctx: Patient, account: Holder, session: DbSession, p: Parts
) -> dict[str, Any]:
    """The OTP from the SMS and a new PIN; a lock ends."""
    pins.reset_pin(
        session,
        ctx,
        account=account,
        txn_id=body.txn_id,
        otp=body.otp,
        pin=body.pin,
        clock=p.clock,
        hasher=p.hasher,
        otp_service=p.otp_service,
    )
    return _pin_view(session, account, p)


@router.post("/records", status_code=202)
def fetch_records(
    ctx: Patient,
    account: Holder,
    session: DbSession,
    runtime: RuntimeDep,
    body: FetchBody | None = None,
) -> dict[str, Any]:
    """Fetch your own records into the PHR (purpose PATRQT: granted at once for your
    linked facilities); poll the fetch for the records as they arrive."""
    body = body or FetchBody()
    rng = body.date_range
    row = own_records.ask(
        session,
        ctx,
        runtime=runtime,
        account=account,
        hi_types=body.hi_types,
        date_from=rng.from_ if rng else None,
        date_to=rng.to if rng else None,
        hip_id=body.hip_id,
    )
    return {"id": str(row.public_id), "status": row.status}


@router.get("/records")
def fetches(
    ctx: Patient, account: Holder, session: DbSession, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Your fetches, newest first."""
    return own_records.fetches(session, ctx, runtime=runtime)


@router.get("/records/{fetch_id}")
def fetch(
    fetch_id: str, ctx: Patient, account: Holder, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    """Where a fetch stands and the records it brought (while its consent holds)."""
    return own_records.fetch_view(session, ctx, runtime=runtime, public_id=fetch_id)


@router.get("/health-records/{record_id}")
def health_record(
    record_id: str, ctx: Patient, account: Holder, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    """One of your records: its FHIR document bundle as the facility sent it."""
    record, view = hiu.read_record(
        session,
        ctx,
        public_id=record_id,
        clock=runtime.clock,
        phr_hiu_id=runtime.settings.consent.phr_hiu_id,
    )
    return {
        "id": str(record.public_id),
        "hiType": record.hi_type,
        "title": view.title,
        "careContextReference": record.care_context_reference,
        "bundle": record.bundle,
    }
