"""The HPR API under ``/api/v1/professionals`` (thin: the services do the work).

Registration (``/registration/...``) is open to the professional themselves and to
staff allowed ``professional.register`` (an ``Authorization: Bearer hst_...`` token).
An anonymous self-registrant gets a ``flow_token`` with the first OTP and sends it as
``X-Flow-Token`` on every later step: the transaction is bound to it, so a txnId seen
elsewhere is of no use. Everything else needs a staff token: ``professional.read``
(list, lookup, record, history), ``professional.edit`` (PATCH), ``professional.verify``
(verify, reject). A staff member outside the record's scope gets 404.

A conflict that points at an existing record (the same Aadhaar, the same council
number) carries its HPR id in ``hpr_id`` beside the message; a taken HPR address
carries free ``hpr_address_suggestions``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed, require
from healthstack.kernel.audit import audited, persist_failed
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import (
    AuthenticationRequired,
    DomainError,
    NotFound,
    ValidationFailed,
)
from healthstack.kernel.ids import parse_hfr_id
from healthstack.network.hpr import registration, verification
from healthstack.network.hpr.address import HprAddressTaken
from healthstack.network.hpr.credentials import DetailsInput, QualificationInput, WorkplaceInput
from healthstack.network.hpr.editing import ProfessionalChanges, update_professional
from healthstack.network.hpr.parts import RegistrationParts
from healthstack.network.hpr.schemas import (
    MobileOtpRequest,
    MobileVerifyRead,
    OtpSentRead,
    OtpVerify,
    ProfessionalHistoryRead,
    ProfessionalPage,
    ProfessionalRead,
    ProfessionalReject,
    ProfessionalSummary,
    ProfessionalUpdate,
    ProfessionalVerify,
    ProfessionalVersionRead,
    QualificationIn,
    RegistrationComplete,
    RegistrationOtpRead,
    RegistrationOtpRequest,
    RegistrationVerifyRead,
    WorkplaceIn,
)
from healthstack.network.hpr.service import (
    AlreadyRegistered,
    DuplicateCouncilNumber,
    ProfessionalFilter,
    find_by_council_number,
    get_professional,
    history,
    list_professionals,
    version_at,
    visible_to,
)
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

router = APIRouter(prefix="/api/v1/professionals", tags=["professionals"])

FLOW_HEADER = "X-Flow-Token"
_FLOW_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _ctx(request: Request, actor: Actor, purpose: Purpose) -> RequestContext:
    return RequestContext(
        actor=actor,
        purpose=purpose,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


def bearer_staff(request: Request, staff: OptionalStaff) -> Actor | None:
    """Staff only by ``Authorization: Bearer``: a browser cookie would be sent by a
    forged cross-site request too (the pages call the services themselves)."""
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    return staff


BearerStaff = Annotated[Actor | None, Depends(bearer_staff)]


def _staff_for(action: str, audit_action: str) -> Callable[..., Actor]:
    """401/403 before the body is read; a refused role is audited like the service would."""

    def dependency(
        request: Request, staff: BearerStaff, session: DbSession, runtime: RuntimeDep
    ) -> Actor:
        # Anonymous: require raises 401 (log in first).
        actor = staff if staff is not None else require(None, action)
        if not allowed(actor, action):
            ctx = _ctx(request, actor, Purpose.ADMINISTRATION)
            with audited(
                session, ctx, action=audit_action, resource_type="professional", clock=runtime.clock
            ):
                require(actor, action)
        return actor

    return dependency


Reader = Annotated[Actor, Depends(_staff_for("professional.read", "professional.read"))]
Editor = Annotated[Actor, Depends(_staff_for("professional.edit", "professional.update"))]
Verifier = Annotated[Actor, Depends(_staff_for("professional.verify", "professional.verify"))]
Rejecter = Annotated[Actor, Depends(_staff_for("professional.verify", "professional.reject"))]
FlowToken = Annotated[str | None, Header(alias=FLOW_HEADER, max_length=64)]


def _registrant(
    request: Request, runtime: Runtime, staff: Actor | None, token: str | None
) -> RequestContext:
    if staff is not None:
        return _ctx(request, staff, Purpose.ENROLMENT)
    if not token:
        raise AuthenticationRequired(
            f"Send the {FLOW_HEADER} header the OTP request returned (flow_token) with every "
            "step of a self-registration, or a staff token in Authorization.",
            code="HS-1749",
        )
    if not _FLOW_TOKEN.match(token):
        raise AuthenticationRequired(
            f"The {FLOW_HEADER} header is not a flow token. Send the flow_token the OTP "
            "request returned.",
            code="HS-1749",
        )
    return _ctx(request, registration.flow_actor(token, hasher=runtime.hasher), Purpose.ENROLMENT)


def _pointer_response(
    session: Session, runtime: Runtime, exc: DomainError, **extra: Any
) -> JSONResponse:
    """The problem body plus a pointer (an HPR id, suggestions). The unit of work would
    commit a handled error, so undo this request's changes and keep the failure audit
    rows, as the edge does for a raised one."""
    session.rollback()
    persist_failed(runtime.session_factory, exc)
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": exc.status_hint,
        "detail": exc.message,
        "code": exc.code,
        "field": exc.field,
        **extra,
    }
    return JSONResponse(body, status_code=exc.status_hint)


def _details(body: RegistrationComplete) -> DetailsInput:
    return DetailsInput(
        category=body.category,
        subcategory=body.subcategory,
        council=body.council,
        registration_number=body.registration_number,
        registration_year=body.registration_year,
        qualifications=_quals(body.qualifications),
        workplaces=_places(body.workplaces),
    )


def _quals(items: list[QualificationIn]) -> tuple[QualificationInput, ...]:
    return tuple(QualificationInput(q.degree, q.university, q.year) for q in items)


def _places(items: list[WorkplaceIn]) -> tuple[WorkplaceInput, ...]:
    return tuple(WorkplaceInput(w.hfr_id, w.role, w.sector) for w in items)


# --------------------------------------------------------------------------- registration


@router.post("/registration/otp", response_model=RegistrationOtpRead)
def registration_otp(
    body: RegistrationOtpRequest,
    request: Request,
    staff: BearerStaff,
    session: DbSession,
    runtime: RuntimeDep,
    flow_token: FlowToken = None,
) -> RegistrationOtpRead:
    """Send the Aadhaar OTP for a new registration, or resend it (``txnId``)."""
    issued = None
    if staff is None and not flow_token and not body.txnId:
        issued = flow_token = registration.new_flow_token()
    ctx = _registrant(request, runtime, staff, flow_token)
    sent = registration.request_otp(
        session, ctx, aadhaar=body.aadhaar, txn_id=body.txnId, parts=RegistrationParts.of(runtime)
    )
    return RegistrationOtpRead(txnId=sent.txn_id, message=sent.message, flow_token=issued)


@router.post(
    "/registration/verify",
    response_model=RegistrationVerifyRead,
    responses={409: {"description": "Already in HPR; hpr_id points at the record"}},
)
def registration_verify(
    body: OtpVerify,
    request: Request,
    staff: BearerStaff,
    session: DbSession,
    runtime: RuntimeDep,
    flow_token: FlowToken = None,
) -> RegistrationVerifyRead | JSONResponse:
    """Verify the Aadhaar OTP: the e-KYC identity and HPR address suggestions."""
    ctx = _registrant(request, runtime, staff, flow_token)
    try:
        done = registration.verify_otp(
            session, ctx, txn_id=body.txnId, otp=body.otp, parts=RegistrationParts.of(runtime)
        )
    except AlreadyRegistered as exc:
        return _pointer_response(session, runtime, exc, hpr_id=exc.hpr_id)
    return RegistrationVerifyRead(
        txnId=done.txn_id,
        name=done.name,
        gender=done.gender,
        year_of_birth=done.year_of_birth,
        mobile=done.mobile_masked,
        hpr_address_suggestions=done.suggestions,
        message=done.message,
    )


@router.post("/registration/mobile/otp", response_model=OtpSentRead)
def registration_mobile_otp(
    body: MobileOtpRequest,
    request: Request,
    staff: BearerStaff,
    session: DbSession,
    runtime: RuntimeDep,
    flow_token: FlowToken = None,
) -> OtpSentRead:
    """Verify another mobile than the Aadhaar one: send (or resend) its OTP."""
    ctx = _registrant(request, runtime, staff, flow_token)
    sent = registration.request_mobile_otp(
        session, ctx, txn_id=body.txnId, mobile=body.mobile, parts=RegistrationParts.of(runtime)
    )
    return OtpSentRead(txnId=sent.txn_id, message=sent.message)


@router.post("/registration/mobile/verify", response_model=MobileVerifyRead)
def registration_mobile_verify(
    body: OtpVerify,
    request: Request,
    staff: BearerStaff,
    session: DbSession,
    runtime: RuntimeDep,
    flow_token: FlowToken = None,
) -> MobileVerifyRead:
    ctx = _registrant(request, runtime, staff, flow_token)
    done = registration.verify_mobile_otp(
        session, ctx, txn_id=body.txnId, otp=body.otp, parts=RegistrationParts.of(runtime)
    )
    return MobileVerifyRead(txnId=done.txn_id, mobile=done.mobile_masked, message=done.message)


@router.post(
    "/registration/complete",
    response_model=ProfessionalRead,
    status_code=201,
    responses={
        409: {
            "description": "Already in HPR or the council number is registered (hpr_id "
            "points at that record), or the HPR address is taken (hpr_address_suggestions)"
        }
    },
)
def registration_complete(
    body: RegistrationComplete,
    request: Request,
    staff: BearerStaff,
    session: DbSession,
    runtime: RuntimeDep,
    flow_token: FlowToken = None,
) -> ProfessionalRead | JSONResponse:
    """Create the HPR record (SUBMITTED, waiting for the council / state verifier)."""
    ctx = _registrant(request, runtime, staff, flow_token)
    try:
        professional = registration.complete_registration(
            session,
            ctx,
            txn_id=body.txnId,
            hpr_address=body.hpr_address,
            details=_details(body),
            parts=RegistrationParts.of(runtime),
        )
    except (AlreadyRegistered, DuplicateCouncilNumber) as exc:
        return _pointer_response(session, runtime, exc, hpr_id=exc.hpr_id)
    except HprAddressTaken as exc:
        return _pointer_response(session, runtime, exc, hpr_address_suggestions=exc.suggestions)
    return ProfessionalRead.of(professional)


# --------------------------------------------------------------------------- records


@router.get("", response_model=ProfessionalPage)
def list_route(
    request: Request,
    staff: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    category: Annotated[str | None, Query(max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    district: Annotated[int | None, Query(ge=1, le=99999)] = None,
    facility: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProfessionalPage:
    """The records the caller may see, newest first, filtered and paginated."""
    hfr_id = None
    if facility:
        try:
            hfr_id = parse_hfr_id(facility)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="facility", code=exc.code) from None
    found = list_professionals(
        session,
        _ctx(request, staff, Purpose.ADMINISTRATION),
        clock=runtime.clock,
        filters=ProfessionalFilter(
            category=category.lower() if category else None,
            status=status.upper() if status else None,
            district_lgd=district,
            hfr_id=hfr_id,
        ),
        page=page,
        page_size=page_size,
    )
    return ProfessionalPage(
        items=[ProfessionalSummary.of(p) for p in found.items],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


@router.get("/lookup", response_model=ProfessionalSummary)
def lookup_route(
    request: Request,
    staff: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    council: Annotated[str, Query(max_length=8)],
    registration_number: Annotated[str, Query(max_length=40)],
) -> ProfessionalSummary:
    """The record holding a council registration number (roster reconciliation)."""
    found = find_by_council_number(
        session,
        _ctx(request, staff, Purpose.ADMINISTRATION),
        clock=runtime.clock,
        council=council,
        registration_number=registration_number,
    )
    if found is None or not visible_to(staff, found):
        raise NotFound(
            "No professional in HPR holds this council registration number (or the record "
            "is outside your area). Check the council and the number.",
            field="registration_number",
            code="HS-1732",
        )
    return ProfessionalSummary.of(found)


@router.get("/{hpr_id}", response_model=ProfessionalRead)
def get_route(
    hpr_id: str, request: Request, staff: Reader, session: DbSession, runtime: RuntimeDep
) -> ProfessionalRead:
    professional = get_professional(
        session, _ctx(request, staff, Purpose.ADMINISTRATION), hpr_id=hpr_id, clock=runtime.clock
    )
    return ProfessionalRead.of(professional)


@router.get("/{hpr_id}/history", response_model=ProfessionalHistoryRead)
def history_route(
    hpr_id: str,
    request: Request,
    staff: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    as_of: Annotated[datetime | None, Query()] = None,
) -> ProfessionalHistoryRead:
    """Every version (oldest first), or with ``as_of`` the one in force at that time."""
    professional, versions = history(
        session,
        ctx=_ctx(request, staff, Purpose.ADMINISTRATION),
        hpr_id=hpr_id,
        clock=runtime.clock,
    )
    if as_of is not None:
        if as_of.tzinfo is None:
            raise ValidationFailed(
                "as_of needs a time zone, for example 2026-11-26T09:00:00Z.",
                field="as_of",
                code="HS-1733",
            )
        at = version_at(versions, as_of)
        if at is None:
            raise NotFound(
                "The professional was not in the registry yet at that time.",
                field="as_of",
                code="HS-1734",
            )
        versions = [at]
    return ProfessionalHistoryRead(
        hpr_id=professional.hpr_id, versions=[ProfessionalVersionRead.of(v) for v in versions]
    )


@router.patch(
    "/{hpr_id}",
    response_model=ProfessionalRead,
    responses={409: {"description": "The council number is another record's (hpr_id)"}},
)
def update_route(
    hpr_id: str,
    body: ProfessionalUpdate,
    request: Request,
    staff: Editor,
    session: DbSession,
    runtime: RuntimeDep,
) -> ProfessionalRead | JSONResponse:
    """Change the professional details; credentials changed on a verified record (or any
    change to a rejected one) send it back for verification."""
    changes = ProfessionalChanges(
        category=body.category,
        subcategory=body.subcategory,
        council=body.council,
        registration_number=body.registration_number,
        registration_year=body.registration_year,
        qualifications=_quals(body.qualifications) if body.qualifications is not None else None,
        workplaces=_places(body.workplaces) if body.workplaces is not None else None,
    )
    try:
        outcome = update_professional(
            session,
            _ctx(request, staff, Purpose.ADMINISTRATION),
            hpr_id=hpr_id,
            changes=changes,
            clock=runtime.clock,
        )
    except DuplicateCouncilNumber as exc:
        return _pointer_response(session, runtime, exc, hpr_id=exc.hpr_id)
    return ProfessionalRead.of(outcome.professional)


@router.post("/{hpr_id}/verify", response_model=ProfessionalRead)
def verify_route(
    hpr_id: str,
    request: Request,
    staff: Verifier,
    session: DbSession,
    runtime: RuntimeDep,
    body: ProfessionalVerify | None = None,
) -> ProfessionalRead:
    """SUBMITTED → VERIFIED (the council registration was confirmed)."""
    professional = verification.verify_professional(
        session, _ctx(request, staff, Purpose.ADMINISTRATION), hpr_id=hpr_id, clock=runtime.clock
    )
    return ProfessionalRead.of(professional)


@router.post("/{hpr_id}/reject", response_model=ProfessionalRead)
def reject_route(
    hpr_id: str,
    body: ProfessionalReject,
    request: Request,
    staff: Rejecter,
    session: DbSession,
    runtime: RuntimeDep,
) -> ProfessionalRead:
    """SUBMITTED → REJECTED with the reason the professional will see."""
    professional = verification.reject_professional(
        session,
        _ctx(request, staff, Purpose.ADMINISTRATION),
        hpr_id=hpr_id,
        reason=body.reason,
        clock=runtime.clock,
    )
    return ProfessionalRead.of(professional)
