"""ABHA v3 login and profile routes under ``/abha/api/v3/profile`` (thin), and the
holder's own card there (``/account/abha-card``, the card PNG; ``/account/qrCode``, the
QR alone).

Login (``/login/...``) needs no token; the profile (``/account...``) needs the user
token in ``X-token: Bearer <token>``; the pick after a mobile login needs the
T-token in ``T-token: Bearer <token>``. The services in ``network.abha.login`` and
``network.abha.profile`` do the work and the auditing; docs/domains/abha-profile-api.md
describes each route.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from healthstack.kernel.context import ANONYMOUS_ACTOR, Purpose, RequestContext
from healthstack.kernel.errors import AuthenticationRequired
from healthstack.kernel.ids import AbhaNumber
from healthstack.network.abha import card as card_service
from healthstack.network.abha import login, profile
from healthstack.network.abha.auth import account_from_token, patient_context
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.patient.dependencies import Holder, Patient
from healthstack.network.abha.patient.schemas import (
    AbhaProfileRead,
    AccountRef,
    LoginOtpRequest,
    LoginUserRequest,
    LoginVerifyRead,
    OtpSentRead,
    OtpVerifyRequest,
    ProfileChangeRead,
    ProfileOtpRequest,
    ResendOtpRequest,
)
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

router = APIRouter(prefix="/abha/api", tags=["abha-v3-profile"])


def _caller(request: Request, staff: OptionalStaff) -> RequestContext:
    """Before login the caller is anonymous, or the desk's HMIS with its API token."""
    return RequestContext(
        actor=staff or ANONYMOUS_ACTOR,
        purpose=Purpose.IDENTITY_VERIFICATION,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


Caller = Annotated[RequestContext, Depends(_caller)]


def _login_read(result: login.LoginResult) -> LoginVerifyRead:
    if result.user_tokens is not None:
        t = result.user_tokens
        return LoginVerifyRead.model_validate(
            {
                "txnId": result.txn_id,
                "message": result.message,
                "token": t.token,
                "expiresIn": t.expires_in,
                "refreshToken": t.refresh_token,
                "refreshExpiresIn": t.refresh_expires_in,
                "accounts": result.accounts,
            }
        )
    assert result.t_token is not None and result.t_token_expires_in is not None
    return LoginVerifyRead.model_validate(
        {
            "txnId": result.txn_id,
            "message": result.message,
            "token": result.t_token,
            "expiresIn": result.t_token_expires_in,
            "accounts": result.accounts,
        }
    )


# --------------------------------------------------------------------------- login


@router.post("/v3/profile/login/request/otp", response_model=OtpSentRead)
def login_request_otp(
    body: LoginOtpRequest, session: DbSession, runtime: RuntimeDep, ctx: Caller
) -> OtpSentRead:
    """Send a login OTP (VRFY_ABHA_101 Aadhaar OTP, 201 ABHA mobile OTP, 401 by mobile)."""
    sent = login.request_login_otp(
        session,
        ctx,
        scope=body.scope,
        login_hint=body.loginHint,
        login_id=body.loginId,
        otp_system=body.otpSystem,
        parts=AbhaParts.of(runtime),
    )
    return OtpSentRead(txnId=sent.txn_id, message=sent.message)


@router.post("/v3/profile/login/resend-otp", response_model=OtpSentRead)
def login_resend_otp(
    body: ResendOtpRequest, session: DbSession, runtime: RuntimeDep, ctx: Caller
) -> OtpSentRead:
    """Send the login OTP again: after 60 seconds, at most twice per transaction."""
    sent = login.resend_login_otp(session, ctx, txn_id=body.txnId, parts=AbhaParts.of(runtime))
    return OtpSentRead(txnId=sent.txn_id, message=sent.message)


@router.post("/v3/profile/login/verify", response_model=LoginVerifyRead)
def login_verify(
    body: OtpVerifyRequest, session: DbSession, runtime: RuntimeDep, ctx: Caller
) -> LoginVerifyRead:
    """Verify the login OTP: the user token for one ABHA, or a mobile's ABHAs to pick from."""
    result = login.verify_login(
        session,
        ctx,
        scope=body.scope,
        txn_id=body.authData.otp.txnId,
        otp_value=body.authData.otp.otpValue,
        parts=AbhaParts.of(runtime),
    )
    return _login_read(result)


@router.post("/v3/profile/login/verify/user", response_model=LoginVerifyRead)
def login_verify_user(
    body: LoginUserRequest,
    session: DbSession,
    runtime: RuntimeDep,
    ctx: Caller,
    t_token: Annotated[str | None, Header(alias="T-token")] = None,
) -> LoginVerifyRead:
    """After a mobile login, pick one of the listed ABHAs and get its user token."""
    result = login.select_login_account(
        session,
        ctx,
        t_token_header=t_token,
        txn_id=body.txnId,
        abha_number=body.ABHANumber,
        account_ref=body.accountRef,
        parts=AbhaParts.of(runtime),
    )
    return _login_read(result)


# --------------------------------------------------------------------------- profile


@router.get("/v3/profile/account", response_model=AbhaProfileRead)
def profile_account(
    account: Holder, ctx: Patient, session: DbSession, runtime: RuntimeDep
) -> AbhaProfileRead:
    """The holder's own profile."""
    view = profile.read_profile(
        session, ctx, account=account, suffix=runtime.settings.abha_suffix, clock=runtime.clock
    )
    return AbhaProfileRead.model_validate(view)


@router.post("/v3/profile/account/request/otp", response_model=OtpSentRead)
def profile_request_otp(
    body: ProfileOtpRequest,
    account: Holder,
    ctx: Patient,
    session: DbSession,
    runtime: RuntimeDep,
) -> OtpSentRead:
    """Send the OTP guarding a change: mobile, e-mail, deactivate, delete or re-KYC."""
    sent = profile.request_profile_otp(
        session,
        ctx,
        account=account,
        scope=body.scope,
        login_hint=body.loginHint,
        login_id=body.loginId,
        otp_system=body.otpSystem,
        parts=AbhaParts.of(runtime),
    )
    return OtpSentRead(txnId=sent.txn_id, message=sent.message)


@router.post("/v3/profile/account/resend-otp", response_model=OtpSentRead)
def profile_resend_otp(
    body: ResendOtpRequest,
    account: Holder,
    ctx: Patient,
    session: DbSession,
    runtime: RuntimeDep,
) -> OtpSentRead:
    """Send a profile OTP again: after 60 seconds, at most twice per transaction."""
    sent = profile.resend_profile_otp(
        session, ctx, account=account, txn_id=body.txnId, parts=AbhaParts.of(runtime)
    )
    return OtpSentRead(txnId=sent.txn_id, message=sent.message)


@router.post("/v3/profile/account/verify", response_model=ProfileChangeRead)
def profile_verify(
    body: OtpVerifyRequest,
    account: Holder,
    ctx: Patient,
    session: DbSession,
    runtime: RuntimeDep,
) -> ProfileChangeRead:
    """Verify the OTP and make the change it guards."""
    changed = profile.verify_profile_otp(
        session,
        ctx,
        account=account,
        scope=body.scope,
        txn_id=body.authData.otp.txnId,
        otp_value=body.authData.otp.otpValue,
        parts=AbhaParts.of(runtime),
    )
    return ProfileChangeRead(
        txnId=changed.txn_id,
        message=changed.message,
        accounts=[
            AccountRef(
                ABHANumber=AbhaNumber(changed.account.abha_number).formatted,
                status=changed.account.status,
            )
        ],
    )


# --------------------------------------------------------------------------- the holder's card


def _card_holder(
    request: Request, session: Session, runtime: Runtime, x_token: str | None
) -> tuple[AbhaAccount, RequestContext]:
    token = (x_token or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise AuthenticationRequired(
            "Send the ABHA user token in the X-token header as 'Bearer <token>'. Log in "
            "again to get one.",
            code="HS-1401",
        )
    account = account_from_token(session, token=token, keyring=runtime.keyring, clock=runtime.clock)
    return account, patient_context(
        account,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


XToken = Annotated[str | None, Header(alias="X-token")]
_PNG: dict[int | str, dict[str, object]] = {200: {"content": {"image/png": {}}}}


def _own_png(
    request: Request,
    session: Session,
    runtime: Runtime,
    x_token: str | None,
    kind: Literal["png", "qr"],
) -> Response:
    account, ctx = _card_holder(request, session, runtime, x_token)
    data = card_service.own_card_file(
        session,
        ctx,
        account=account,
        kind=kind,
        suffix=runtime.settings.abha_suffix,
        clock=runtime.clock,
    )
    return Response(data, media_type="image/png")


@router.get(
    "/v3/profile/account/abha-card", response_class=Response, responses=_PNG, tags=["abha-v3"]
)
def own_abha_card(
    request: Request, session: DbSession, runtime: RuntimeDep, x_token: XToken = None
) -> Response:
    """The holder's ABHA card as PNG (ABDM profile API)."""
    return _own_png(request, session, runtime, x_token, "png")


@router.get("/v3/profile/account/qrCode", response_class=Response, responses=_PNG, tags=["abha-v3"])
def own_qr_code(
    request: Request, session: DbSession, runtime: RuntimeDep, x_token: XToken = None
) -> Response:
    """The holder's ABHA QR code alone, as PNG (ABDM profile API)."""
    return _own_png(request, session, runtime, x_token, "qr")
