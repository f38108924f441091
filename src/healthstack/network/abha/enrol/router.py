"""ABHA enrolment over HTTP (thin: ``network.abha.enrolment`` does the work).

- ABDM-shaped v3 routes under ``/abha/api`` (the public key, and the enrolment API of
  ``abha_enrollment_api.yml``). Like ABDM they need the headers ``REQUEST-ID`` (a UUID)
  and ``TIMESTAMP`` (ISO-8601) and ``Authorization: Bearer <token>``; here the token is
  a staff or HMIS API token (``hst_...``) whose role may enrol (``abha.enrol``).
  Unknown body fields are ignored. The Aadhaar number, mobile and OTP arrive
  RSA-OAEP-encrypted with the key from ``/v3/profile/public/certificate``.
- HealthStack's own API under ``/api/v1/abha``: camp-mode demographic enrolment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed, require
from healthstack.kernel.audit import audited, persist_failed
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import format_abha_number
from healthstack.network.abha import enrolment
from healthstack.network.abha.address import AddressTaken, default_address
from healthstack.network.abha.enrol.schemas import (
    AbhaAddressRequest,
    AbhaAddressResponse,
    AuthByAbdmRequest,
    AuthByAbdmResponse,
    AuthData,
    DemographicEnrolCreate,
    DemographicEnrolRead,
    EnrolByAadhaarRequest,
    EnrolByAadhaarResponse,
    LinkedAccount,
    OtpRequest,
    OtpResponse,
    SuggestionResponse,
)
from healthstack.network.abha.parts import AbhaParts
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

router = APIRouter()
v3 = APIRouter(prefix="/abha/api", tags=["abha-v3"])
api = APIRouter(prefix="/api/v1/abha", tags=["abha"])

_HEADER_CODE = "HS-1020"


@v3.get("/v3/profile/public/certificate")
def public_certificate(runtime: RuntimeDep) -> dict[str, str]:
    """The RSA public key (4096-bit) clients use to encrypt Aadhaar numbers and OTPs."""
    return {
        "publicKey": runtime.keyring.public_der_b64("enrolment"),
        "encryptionAlgorithm": "RSA/ECB/OAEPWithSHA-1AndMGF1Padding",
    }


@v3.get("/v1/auth/cert", response_class=PlainTextResponse)
def public_certificate_pem(runtime: RuntimeDep) -> str:
    """The same key as PEM, at the path the v3 enrolment spec lists."""
    return runtime.keyring.public_pem("enrolment")


# --------------------------------------------------------------------------- v3 plumbing


def _header_error(message: str, name: str) -> ValidationFailed:
    return ValidationFailed(message, field=name, code=_HEADER_CODE)


def bearer_staff(request: Request, staff: OptionalStaff) -> Actor | None:
    """The staff member behind an ``Authorization: Bearer`` API token, else None.

    A browser session cookie is not enough on these JSON APIs: a cookie would be sent
    by a forged cross-site request too. The desk pages call the service directly.
    """
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    return staff


BearerStaff = Annotated[Actor | None, Depends(bearer_staff)]


def demographic_operator(
    request: Request, staff: BearerStaff, session: DbSession, runtime: RuntimeDep
) -> Actor:
    """401/403 before the body is read: an anonymous or unauthorised caller learns
    nothing about the request's shape. A refused role is audited like the service would."""
    if staff is None:
        require(None, "abha.enrol_demographic")
    assert staff is not None
    if not allowed(staff, "abha.enrol_demographic"):
        ctx = RequestContext(actor=staff, purpose=Purpose.ENROLMENT, request_id=request_id(request))
        with audited(
            session,
            ctx,
            action="abha.enrol.demographic",
            resource_type="abha_account",
            clock=runtime.clock,
        ):
            require(staff, "abha.enrol_demographic")
    return staff


DemographicOperator = Annotated[Actor, Depends(demographic_operator)]


def abdm_context(request: Request, staff: BearerStaff) -> RequestContext:
    """Who calls (staff/HMIS token allowed to enrol) and ABDM's REQUEST-ID/TIMESTAMP."""
    actor = require(staff, "abha.enrol")
    rid = request.headers.get("REQUEST-ID")
    if not rid:
        raise _header_error(
            "The REQUEST-ID header is missing. Send a new random UUID in REQUEST-ID with "
            "every request.",
            "REQUEST-ID",
        )
    try:
        rid = str(uuid.UUID(rid))
    except ValueError:
        raise _header_error(
            "The REQUEST-ID header must be a UUID (for example "
            "839ede87-6bad-48df-a0d5-e93305c88e75).",
            "REQUEST-ID",
        ) from None
    stamp = request.headers.get("TIMESTAMP")
    if not stamp:
        raise _header_error(
            "The TIMESTAMP header is missing. Send the current time in ISO-8601, for "
            "example 2026-11-26T09:00:00.000Z.",
            "TIMESTAMP",
        )
    try:
        # The spec's own example quotes the T and the offset ('T', '+05:30'); tolerate it.
        datetime.fromisoformat(stamp.replace("'", "").strip())
    except ValueError:
        raise _header_error(
            "The TIMESTAMP header must be an ISO-8601 time, for example 2026-11-26T09:00:00.000Z.",
            "TIMESTAMP",
        ) from None
    return RequestContext(
        actor=actor,
        purpose=Purpose.ENROLMENT,
        request_id=rid,
        ip=request.client.host if request.client else None,
    )


AbdmContext = Annotated[RequestContext, Depends(abdm_context)]


def _decrypt(runtime: Runtime, value: str | None, field: str) -> str | None:
    if value is None:
        return None
    return runtime.keyring.decrypt_oaep("enrolment", value, field=field)


def _otp_from(runtime: Runtime, auth: AuthData) -> tuple[str, str]:
    if "otp" not in {m.strip().lower() for m in auth.authMethods}:
        raise ValidationFailed(
            'authData.authMethods must be ["otp"]: only OTP authentication is offered.',
            field="authData.authMethods",
            code="HS-1114",
        )
    otp = _decrypt(runtime, auth.otp.otpValue, "authData.otp.otpValue")
    return auth.otp.txnId, otp or ""


def _plain_or_encrypted_mobile(runtime: Runtime, value: str | None) -> str | None:
    """``authData.otp.mobile`` is plain in the spec; accept it encrypted as well."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    if len(raw) <= 16:
        return raw
    return _decrypt(runtime, raw, "authData.otp.mobile")


# --------------------------------------------------------------------------- v3 enrolment


@v3.post("/v3/enrollment/request/otp", response_model=OtpResponse)
def request_otp(
    body: OtpRequest, ctx: AbdmContext, session: DbSession, runtime: RuntimeDep
) -> OtpResponse:
    """Send (or, with ``txnId``, resend) the Aadhaar OTP or the communication-mobile OTP."""
    kind = enrolment.classify_otp_request(
        body.scope, login_hint=body.loginHint, otp_system=body.otpSystem
    )
    login_id = _decrypt(runtime, body.loginId, "loginId")
    if kind == "aadhaar":
        started = enrolment.request_aadhaar_otp(
            session, ctx, aadhaar=login_id, txn_id=body.txnId, parts=AbhaParts.of(runtime)
        )
    else:
        if not body.txnId:
            raise ValidationFailed(
                "txnId is required: send the txnId of the enrolment whose communication "
                "mobile is to be verified.",
                field="txnId",
            )
        started = enrolment.request_mobile_otp(
            session, ctx, txn_id=body.txnId, mobile=login_id, parts=AbhaParts.of(runtime)
        )
    return OtpResponse(txnId=started.txn_id, message=started.message)


@v3.post("/v3/enrollment/enrol/byAadhaar", response_model=EnrolByAadhaarResponse)
def enrol_by_aadhaar(
    body: EnrolByAadhaarRequest, ctx: AbdmContext, session: DbSession, runtime: RuntimeDep
) -> dict[str, object]:
    """Verify the Aadhaar OTP and create the ABHA (or return the existing one, isNew false)."""
    txn_id, otp = _otp_from(runtime, body.authData)
    result = enrolment.enrol_by_aadhaar(
        session,
        ctx,
        txn_id=txn_id,
        otp=otp,
        mobile=_plain_or_encrypted_mobile(runtime, body.authData.otp.mobile),
        consent_code=body.consent.code,
        consent_version=body.consent.version,
        parts=AbhaParts.of(runtime),
    )
    return {
        "txnId": result.txn_id,
        "message": result.message,
        "tokens": enrolment.tokens_dict(result.tokens),
        "ABHAProfile": enrolment.profile_dict(result.account, runtime.settings.abha_suffix),
        "isNew": result.is_new,
    }


@v3.post("/v3/enrollment/auth/byAbdm", response_model=AuthByAbdmResponse)
def auth_by_abdm(
    body: AuthByAbdmRequest, ctx: AbdmContext, session: DbSession, runtime: RuntimeDep
) -> AuthByAbdmResponse:
    """Verify the communication-mobile OTP; the mobile becomes the ABHA's, verified."""
    enrolment.check_mobile_verify_scope(body.scope)
    txn_id, otp = _otp_from(runtime, body.authData)
    done = enrolment.verify_mobile_otp(
        session, ctx, txn_id=txn_id, otp=otp, parts=AbhaParts.of(runtime)
    )
    return AuthByAbdmResponse(
        txnId=done.txn_id,
        authResult="success",
        message=done.message,
        accounts=[LinkedAccount(ABHANumber=format_abha_number(done.account.abha_number))],
    )


@v3.get("/v3/enrollment/enrol/suggestion", response_model=SuggestionResponse)
def enrol_suggestion(
    request: Request, ctx: AbdmContext, session: DbSession, runtime: RuntimeDep
) -> SuggestionResponse:
    """At least three free ABHA addresses built from the name and date of birth."""
    txn_id = request.headers.get("TRANSACTION_ID") or request.headers.get("TRANSACTION-ID")
    if not txn_id:
        raise _header_error(
            "The TRANSACTION_ID header is missing. Send the txnId of the enrolment.",
            "TRANSACTION_ID",
        )
    handles = enrolment.address_suggestions(
        session, ctx, txn_id=txn_id, parts=AbhaParts.of(runtime)
    )
    return SuggestionResponse(txnId=txn_id, abhaAddressList=handles)


def _taken_response(session: Session, runtime: Runtime, exc: AddressTaken) -> JSONResponse:
    # The free alternatives travel beside the error, not in its message (they are
    # built from the person's name). The unit of work would commit a handled error, so
    # undo this request's changes and write the failure audit row as the edge does.
    session.rollback()
    persist_failed(runtime.session_factory, exc)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}, "abhaAddressList": exc.suggestions},
        status_code=409,
    )


@v3.post(
    "/v3/enrollment/enrol/abha-address",
    response_model=AbhaAddressResponse,
    responses={409: {"description": "Taken; abhaAddressList offers free ones"}},
)
def enrol_abha_address(
    body: AbhaAddressRequest, ctx: AbdmContext, session: DbSession, runtime: RuntimeDep
) -> AbhaAddressResponse | JSONResponse:
    """Give the new ABHA a chosen address; ``preferred: 1`` makes it the preferred one."""
    try:
        chosen = enrolment.create_abha_address(
            session,
            ctx,
            txn_id=body.txnId,
            abha_address=body.abhaAddress,
            preferred=body.preferred == 1,
            parts=AbhaParts.of(runtime),
        )
    except AddressTaken as exc:
        return _taken_response(session, runtime, exc)
    return AbhaAddressResponse(
        txnId=chosen.txn_id,
        healthIdNumber=format_abha_number(chosen.account.abha_number),
        preferredAbhaAddress=chosen.preferred_address,
    )


# --------------------------------------------------------------------------- own API


@api.post(
    "/enrol/demographic",
    response_model=DemographicEnrolRead,
    status_code=201,
    responses={200: {"description": "An ABHA already existed for this Aadhaar"}},
)
def enrol_demographic(
    body: DemographicEnrolCreate,
    request: Request,
    response: Response,
    staff: DemographicOperator,
    session: DbSession,
    runtime: RuntimeDep,
) -> DemographicEnrolRead:
    """Camp-mode enrolment by an authorised operator (``abha.enrol_demographic``);
    the service audits a refused role itself."""
    ctx = RequestContext(
        actor=staff,
        purpose=Purpose.ENROLMENT,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )
    result = enrolment.enrol_by_demographics(
        session,
        ctx,
        aadhaar=body.aadhaar,
        name=body.name,
        gender=body.gender,
        birth_date=body.birth_date,
        year_of_birth=body.year_of_birth,
        mobile=body.mobile,
        address_line=body.address_line,
        district_lgd=body.district_lgd,
        state_lgd=body.state_lgd,
        pincode=body.pincode,
        consent_code=body.consent.code if body.consent else None,
        consent_version=body.consent.version if body.consent else None,
        parts=AbhaParts.of(runtime),
    )
    account = result.account
    if not result.is_new:
        response.status_code = 200
    return DemographicEnrolRead(
        id=str(account.public_id),
        abha_number=account.abha_number,
        abha_number_display=format_abha_number(account.abha_number),
        abha_address=default_address(account.abha_number, runtime.settings.abha_suffix),
        is_new=result.is_new,
        kyc_method=account.kyc_method,
        mobile_verified=account.mobile_verified,
        message=result.message,
    )


router.include_router(v3)
router.include_router(api)
