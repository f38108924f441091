"""The registration desk's ABHA API (search, profile, card, scan) and the holder's own
card on ABDM's profile routes. Thin: abha/search.py and abha/card.py do the work.

HealthStack's API (``/api/v1/abha/...``, Bearer staff token, strict shapes):

- ``POST /api/v1/abha/search``: number | address | mobile | name (+ gender, year, district)
- ``GET  /api/v1/abha/accounts/{id}`` the full profile
- ``GET  /api/v1/abha/accounts/{id}/card.pdf`` and ``card.png``
- ``POST /api/v1/abha/scan`` a card photo (multipart field ``image``) or ``{"qr_text"}``

ABDM-shaped (``X-token: Bearer <user token>``): ``GET /abha/api/v3/profile/account/abha-card``
(the card PNG) and ``GET /abha/api/v3/profile/account/qrCode`` (the QR alone).

ABHA is national, so staff of any facility may search; every access is audited with
the caller's facility.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from healthstack.accounts.permissions import allowed, require
from healthstack.kernel.audit import audited
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import AuthenticationRequired, ValidationFailed
from healthstack.network.abha import card as card_service
from healthstack.network.abha.auth import account_from_token, patient_context
from healthstack.network.abha.schemas_desk import (
    AbhaAccountSummary,
    AbhaProfileRead,
    AbhaScanResult,
    AbhaScanText,
    AbhaSearchPage,
    AbhaSearchQuery,
)
from healthstack.network.abha.search import (
    NO_MATCH_HINT,
    SearchCriteria,
    get_account,
    search_accounts,
)
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id

router = APIRouter(tags=["abha-desk"])

_MEDIA = {"pdf": "application/pdf", "png": "image/png"}


def _context(request: Request, actor: Actor, purpose: Purpose) -> RequestContext:
    return RequestContext(
        actor=actor,
        purpose=purpose,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


def _authorise(
    request: Request,
    session: Session,
    runtime: Runtime,
    staff: Actor | None,
    permission: str,
    *,
    action: str,
    resource_id: str | None = None,
) -> RequestContext:
    """The caller's context, or the refusal: a staff member refused is audited (the
    attempt on someone's record is worth knowing); an anonymous caller is just told to
    log in."""
    actor = require(staff, permission) if staff is None else staff
    ctx = _context(request, actor, Purpose.IDENTITY_VERIFICATION)
    if not allowed(actor, permission):
        with audited(
            session,
            ctx,
            action=action,
            resource_type="abha_account",
            resource_id=resource_id,
            clock=runtime.clock,
        ):
            require(actor, permission)
    return ctx


def _file(data: bytes, kind: str, abha_number: str) -> Response:
    # Only the last four digits in the file name: downloads folders are not private.
    name = f"abha-card-{abha_number[-4:]}.{kind}"
    return Response(
        data,
        media_type=_MEDIA[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- desk API


@router.post("/api/v1/abha/search", response_model=AbhaSearchPage)
def search(
    request: Request,
    query: AbhaSearchQuery,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> AbhaSearchPage:
    """Find ABHA accounts by number, address, mobile, or name with year and/or district.
    Entries are masked; open one with ``GET /api/v1/abha/accounts/{id}``. A POST with a
    JSON body, so that numbers and names never stand in a URL (and so in no proxy log)."""
    ctx = _authorise(request, session, runtime, staff, "abha.search", action="abha.search")
    result = search_accounts(
        session,
        ctx,
        criteria=SearchCriteria(**query.model_dump()),
        suffix=runtime.settings.abha_suffix,
        clock=runtime.clock,
    )
    items = [AbhaAccountSummary.from_account(h.account, h.score) for h in result.hits]
    return AbhaSearchPage(
        mode=result.mode,  # type: ignore[arg-type]
        count=len(items),
        total=result.total,
        offset=result.offset,
        items=items,
        hint=None if result.total else NO_MATCH_HINT[result.mode],
    )


@router.get("/api/v1/abha/accounts/{account_id}", response_model=AbhaProfileRead)
def account_profile(
    request: Request,
    account_id: uuid.UUID,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> AbhaProfileRead:
    """The full profile of the account picked from a search (audited)."""
    ctx = _authorise(
        request,
        session,
        runtime,
        staff,
        "abha.verify",
        action="abha.account.read",
        resource_id=str(account_id),
    )
    account = get_account(
        session,
        ctx,
        public_id=account_id,
        clock=runtime.clock,
    )
    return AbhaProfileRead.from_account(account, suffix=runtime.settings.abha_suffix)


def _staff_card(
    request: Request,
    account_id: uuid.UUID,
    kind: Literal["pdf", "png"],
    session: Session,
    runtime: Runtime,
    staff: Actor | None,
) -> Response:
    ctx = _authorise(
        request,
        session,
        runtime,
        staff,
        "abha.card",
        action="abha.card.download",
        resource_id=str(account_id),
    )
    account, data = card_service.card_file(
        session,
        ctx,
        public_id=account_id,
        kind=kind,
        suffix=runtime.settings.abha_suffix,
        clock=runtime.clock,
    )
    return _file(data, kind, account.abha_number)


@router.get(
    "/api/v1/abha/accounts/{account_id}/card.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def card_pdf(
    request: Request,
    account_id: uuid.UUID,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> Response:
    """The ABHA card as a card-sized one-page PDF, to print at the desk."""
    return _staff_card(request, account_id, "pdf", session, runtime, staff)


@router.get(
    "/api/v1/abha/accounts/{account_id}/card.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def card_png(
    request: Request,
    account_id: uuid.UUID,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> Response:
    """The ABHA card as a 1011 x 638 PNG."""
    return _staff_card(request, account_id, "png", session, runtime, staff)


_SCAN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {"image": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {"schema": AbhaScanText.model_json_schema()},
        },
    }
}


async def _scan_input(request: Request) -> tuple[bytes | None, str | None]:
    """The photo or the QR text from a form (multipart, or a plain HTML form) or JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=2)
        try:
            unknown = sorted(set(form.keys()) - {"image", "qr_text"})
            if unknown:
                raise ValidationFailed(
                    "Send the card photo in the 'image' field (or the QR text in 'qr_text'); "
                    f"remove {', '.join(unknown)}.",
                    field=unknown[0],
                    code="HS-1000",
                )
            upload, text = form.get("image"), form.get("qr_text")
            if isinstance(upload, UploadFile) and text:
                raise ValidationFailed(
                    "Send the card photo or the QR text, not both.", field="image", code="HS-1000"
                )
            if isinstance(upload, UploadFile):
                return await upload.read(), None
            if isinstance(text, str) and text.strip():
                return None, text
            raise ValidationFailed(
                "Attach the photo of the card as a file in the 'image' field, or paste the "
                "QR text in 'qr_text'.",
                field="image",
                code="HS-1000",
            )
        finally:
            await form.close()
    if media == "application/json" or media.endswith("+json"):
        try:
            body = AbhaScanText.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return None, body.qr_text
    raise HTTPException(
        415,
        "Send either a card photo as multipart/form-data (field 'image') or JSON "
        '{"qr_text": "..."} with the text a QR scanner read.',
    )


@router.post("/api/v1/abha/scan", response_model=AbhaScanResult, openapi_extra=_SCAN_BODY)
async def scan(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> AbhaScanResult:
    """Find the account on an ABHA card or app QR (VRFY_ABHA_501): upload a photo of the
    card, or post the text a QR scanner typed. Returns the masked summary."""
    ctx = _authorise(request, session, runtime, staff, "abha.verify", action="abha.scan")
    image, text = await _scan_input(request)
    suffix = runtime.settings.abha_suffix

    def work() -> AbhaScanResult:
        # Decoding a photo takes tens of milliseconds of CPU: off the event loop.
        account, payload = card_service.scan_card(
            session, ctx, image=image, text=text, suffix=suffix, clock=runtime.clock
        )
        return AbhaScanResult(
            source="image" if text is None else "text",
            matched_by="number" if payload.get("hidn") else "address",
            account=AbhaAccountSummary.from_account(account),
            differs=card_service.card_differences(account, payload, suffix=suffix),
        )

    return await run_in_threadpool(work)


# --------------------------------------------------------------------------- ABDM-shaped


def _holder(
    request: Request, session: Session, runtime: Runtime, x_token: str | None
) -> tuple[Any, RequestContext]:
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


@router.get(
    "/abha/api/v3/profile/account/abha-card",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    tags=["abha-v3"],
)
def own_abha_card(
    request: Request, session: DbSession, runtime: RuntimeDep, x_token: XToken = None
) -> Response:
    """The holder's ABHA card as PNG (ABDM profile API)."""
    account, ctx = _holder(request, session, runtime, x_token)
    data = card_service.own_card_file(
        session,
        ctx,
        account=account,
        kind="png",
        suffix=runtime.settings.abha_suffix,
        clock=runtime.clock,
    )
    return Response(data, media_type="image/png")


@router.get(
    "/abha/api/v3/profile/account/qrCode",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    tags=["abha-v3"],
)
def own_qr_code(
    request: Request, session: DbSession, runtime: RuntimeDep, x_token: XToken = None
) -> Response:
    """The holder's ABHA QR code alone, as PNG (ABDM profile API)."""
    account, ctx = _holder(request, session, runtime, x_token)
    data = card_service.own_card_file(
        session,
        ctx,
        account=account,
        kind="qr",
        suffix=runtime.settings.abha_suffix,
        clock=runtime.clock,
    )
    return Response(data, media_type="image/png")
