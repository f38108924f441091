"""The ABHA holder's own pages. Thin: every step calls the services in ``network.abha``
directly (never HealthStack's HTTP API) and renders what they return.

- ``/patient/login``: mobile OTP then a pick among the masked ABHAs linked to it; or
  ABHA number/address, or Aadhaar, with OTP;
- ``/patient``: the profile and card, change of mobile or e-mail, deactivation;
  ``/patient/switch`` to another ABHA of the household; ``/patient/logout``.

Self-enrolment (``/patient/enrol``) walks the desk's enrolment steps:
``network.abha.enrol.pages``.

Decisions:

- No personal data in URLs: every form that carries any is posted. Flow state (txnId)
  rides in hidden fields.
- The login and profile services take RSA-OAEP ciphertext (ABDM's wire form). The
  pages are their own client and encrypt server-side with the published key
  (``Page.wire``).
- The user token lives in the HttpOnly, SameSite=Lax cookie ``hs_patient``
  (``patient.session``); the T-token of a mobile login waits in ``hs_patient_pick``
  (path ``/patient/login``) until an ABHA is picked. A mobile that holds several ABHAs
  leaves the household token in ``hs_household`` (``network.abha.household``):
  ``/patient/switch`` changes the active ABHA to another one that login proved, without
  another OTP.
- An error a page shows beside its form is absorbed (``web.pages.Page.problem``); a form
  posted from another site is refused (Origin check), on top of SameSite cookies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.kernel.audit import absorb
from healthstack.kernel.context import ANONYMOUS_ACTOR, Purpose
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.network.abha import card as card_service
from healthstack.network.abha import household, login, profile
from healthstack.network.abha.display import PageDep, card_download, gender_label
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.patient.session import (
    holder_context,
    household_choices,
    patient_cookie,
    signed_in,
    to_login,
)
from healthstack.web.deps import AFTER_LOGIN_COOKIE, PATIENT_COOKIE
from healthstack.web.forms import Number, OtpField, Text16, Text64
from healthstack.web.pages import Cookie, Page, Problem, same_origin

# The T-token of a mobile login, until the holder picks an ABHA.
PICK_COOKIE = "hs_patient_pick"
PICK_PATH = "/patient/login"


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


LOGIN_METHODS = ("mobile", "abha", "aadhaar")
REACTIVATE_HINTS = frozenset({"HS-1405", "HS-1411"})
_LOGIN_EMPTY = {
    "mobile": "Enter the mobile number linked to your ABHA (10 digits).",
    "abha": "Enter your 14-digit ABHA number or your ABHA address.",
    "aadhaar": "Enter your 12-digit Aadhaar number.",
}


@dataclass(frozen=True)
class LoginAsk:
    """One login form's request in the login service's terms."""

    scope: list[str]
    login_hint: str
    otp_system: str


def login_ask(method: str, value: str, *, reactivate: bool) -> LoginAsk:
    if method == "aadhaar":
        scope, hint, system = ["abha-login", "aadhaar-verify"], "aadhaar", "aadhaar"
    elif method == "abha":
        digits = re.sub(r"[\s-]", "", value)
        hint = "abha-number" if digits.isdigit() and len(digits) == 14 else "abha-address"
        scope, system = ["abha-login", "mobile-verify"], "abdm"
    else:
        scope, hint, system = ["abha-login", "mobile-verify"], "mobile", "abdm"
    return LoginAsk(scope + ["reactivate"] if reactivate else scope, hint, system)


@dataclass
class LoginState:
    txn_id: str = ""
    method: str = "mobile"
    reactivate: bool = False
    resend_at: int = 0
    resends: int = 0


def _login_state(
    txn_id: Text64 = "",
    method: Text16 = "mobile",
    reactivate: Text16 = "",
    resend_at: Number = 0,
    resends: Number = 0,
) -> LoginState:
    method = method if method in LOGIN_METHODS else "mobile"
    return LoginState(txn_id, method, reactivate == "1", resend_at, resends)


LoginStateForm = Annotated[LoginState, Depends(_login_state)]


def _login_page(
    pg: Page,
    *,
    method: str = "mobile",
    value: str = "",
    error: Problem = None,
    reactivate: bool = False,
    notice: str | None = None,
) -> Response:
    # A deactivated ABHA (or none active on a mobile) may need reactivating.
    offer = reactivate or (isinstance(error, DomainError) and error.code in REACTIVATE_HINTS)
    return pg.show(
        "patient/login.html",
        error=error,
        method=method,
        value=value,
        reactivate=reactivate,
        offer_reactivate=offer,
        notice=notice,
        suffix=pg.runtime.settings.abha_suffix,
    )


def _login_otp_page(
    pg: Page, state: LoginState, *, message: str | None = None, error: Problem = None
) -> Response:
    return pg.show(
        "patient/login_otp.html",
        error=error,
        state=state,
        message=message,
        **pg.countdown(state),
    )


# Where a login may return to: a PHR page of this site (path and query, nothing else).
_RETURN_TO = re.compile(r"/phr(/[A-Za-z0-9_./-]*)?(\?[A-Za-z0-9_=&.%-]*)?")


def _logged_in(pg: Page) -> RedirectResponse:
    """After the login: back to the PHR page that sent the holder here, else the profile."""
    back = pg.request.cookies.get(AFTER_LOGIN_COOKIE, "")
    target = back if _RETURN_TO.fullmatch(back) and "//" not in back else "/patient"
    response = pg.set_cookies(RedirectResponse(target, status_code=303))
    response.delete_cookie(AFTER_LOGIN_COOKIE, path=PICK_PATH)
    return response


@router.get("/patient/login", response_class=HTMLResponse, response_model=None)
def patient_login(pg: PageDep) -> Response:
    if signed_in(pg) is not None:
        return RedirectResponse("/patient", status_code=303)
    return _login_page(pg)


@posts.post("/patient/login/otp", response_class=HTMLResponse, response_model=None)
def patient_login_otp(
    pg: PageDep,
    method: Text16 = "mobile",
    value: Annotated[str, Form(max_length=80)] = "",
    reactivate: Text16 = "",
) -> Response:
    method = method if method in LOGIN_METHODS else "mobile"
    again, value = reactivate == "1", value.strip()
    if not value:
        return _login_page(pg, method=method, error=_LOGIN_EMPTY[method], reactivate=again)
    ask = login_ask(method, value, reactivate=again)
    try:
        sent = login.request_login_otp(
            pg.session,
            pg.ctx(ANONYMOUS_ACTOR, Purpose.IDENTITY_VERIFICATION),
            scope=ask.scope,
            login_hint=ask.login_hint,
            login_id=pg.wire(value),
            otp_system=ask.otp_system,
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _login_page(pg, method=method, value=value, error=exc, reactivate=again)
    state = LoginState(sent.txn_id, method, again, resend_at=pg.resend_at)
    return _login_otp_page(pg, state, message=sent.message)


@posts.post("/patient/login/resend", response_class=HTMLResponse, response_model=None)
def patient_login_resend(pg: PageDep, state: LoginStateForm) -> Response:
    ctx = pg.ctx(ANONYMOUS_ACTOR, Purpose.IDENTITY_VERIFICATION)
    try:
        sent = login.resend_login_otp(
            pg.session, ctx, txn_id=state.txn_id, parts=AbhaParts.of(pg.runtime)
        )
    except DomainError as exc:
        return _login_otp_page(pg, state, error=exc)
    return _login_otp_page(pg, state, message=pg.resent(state, sent.message))


@posts.post("/patient/login/verify", response_class=HTMLResponse, response_model=None)
def patient_login_verify(pg: PageDep, state: LoginStateForm, otp: OtpField = "") -> Response:
    ask = login_ask(state.method, "", reactivate=state.reactivate)
    try:
        result = login.verify_login(
            pg.session,
            pg.ctx(ANONYMOUS_ACTOR, Purpose.IDENTITY_VERIFICATION),
            scope=ask.scope,
            txn_id=state.txn_id,
            otp_value=pg.wire(otp.strip()),
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _login_otp_page(pg, state, error=exc)
    if result.user_tokens is not None:
        tokens = result.user_tokens
        pg.cookies.append(patient_cookie(tokens.token, tokens.expires_in))
        response = _logged_in(pg)
        # This login proved one ABHA only: an earlier mobile login's household ends.
        response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
        return response
    assert result.t_token is not None
    pg.cookies.append(Cookie(PICK_COOKIE, result.t_token, result.t_token_expires_in, PICK_PATH))
    return pg.show("patient/pick.html", txn_id=result.txn_id, accounts=result.accounts)


@posts.post("/patient/login/pick", response_class=HTMLResponse, response_model=None)
def patient_login_pick(pg: PageDep, txn_id: Text64 = "", account_ref: Text64 = "") -> Response:
    t_token = pg.request.cookies.get(PICK_COOKIE, "")
    ctx = pg.ctx(ANONYMOUS_ACTOR, Purpose.IDENTITY_VERIFICATION)
    try:
        if not account_ref:
            raise ValidationFailed("No ABHA was picked. Log in again and choose one of the list.")
        result = login.select_login_account(
            pg.session,
            ctx,
            t_token_header=f"Bearer {t_token}",
            txn_id=txn_id,
            abha_number=None,
            account_ref=account_ref,
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        response = _login_page(pg, error=exc)
        response.delete_cookie(PICK_COOKIE, path=PICK_PATH)
        return response
    assert result.user_tokens is not None and result.account is not None
    expires_in = result.user_tokens.expires_in
    pg.cookies.append(patient_cookie(result.user_tokens.token, expires_in))
    # The mobile proved every ABHA it lists: the holder may switch among them.
    family = login.linked_accounts(pg.session, mobile=result.account.mobile or "", status="ACTIVE")
    response = _logged_in(pg)
    if len(family) > 1:
        token = household.issue_household(
            mobile=result.account.mobile or "",
            accounts=family,
            ttl_seconds=expires_in,
            parts=AbhaParts.of(pg.runtime),
        )
        pg.cookies = [Cookie(HOUSEHOLD_COOKIE, token, expires_in, "/")]
        pg.set_cookies(response)
    else:
        response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
    response.delete_cookie(PICK_COOKIE, path=PICK_PATH)
    return response


def _profile_page(
    pg: Page,
    account: AbhaAccount,
    *,
    notice: str | None = None,
    error: Problem = None,
    section: str = "",
    value: str = "",
) -> Response:
    message, status = pg.problem(error)  # absorbed before the profile is read again
    view = profile.read_profile(
        pg.session,
        holder_context(pg, account),
        account=account,
        suffix=pg.runtime.settings.abha_suffix,
        clock=pg.runtime.clock,
    )
    return pg.show(
        "patient/profile.html",
        error=message,
        status=status,
        household=household_choices(pg, account),
        p=view,
        gender=gender_label(view.get("gender")),
        notice=notice,
        section=section,
        value=value,
    )


@router.get("/patient", response_class=HTMLResponse, response_model=None)
def patient_home(pg: PageDep) -> Response:
    account = signed_in(pg)
    return to_login() if account is None else _profile_page(pg, account)


def _own_card(pg: Page, kind: Literal["pdf", "png"]) -> Response:
    account = signed_in(pg)
    if account is None:
        return to_login()
    data = card_service.own_card_file(
        pg.session,
        holder_context(pg, account),
        account=account,
        kind=kind,
        suffix=pg.runtime.settings.abha_suffix,
        clock=pg.runtime.clock,
    )
    return card_download(data, kind, account.abha_number)


@router.get("/patient/card.pdf", response_model=None)
def patient_card_pdf(pg: PageDep) -> Response:
    return _own_card(pg, "pdf")


@router.get("/patient/card.png", response_model=None)
def patient_card_png(pg: PageDep) -> Response:
    return _own_card(pg, "png")


@posts.post("/patient/logout", response_model=None)
def patient_logout() -> Response:
    response = to_login()
    response.delete_cookie(PICK_COOKIE, path=PICK_PATH)
    response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
    return response


# Where a switch may return to: the patient's own pages.
_SWITCH_BACK = re.compile(r"/(patient|phr(/[a-z]+)?)")


@posts.post("/patient/switch", response_class=HTMLResponse, response_model=None)
def patient_switch(pg: PageDep, account: Text64 = "", back: Text64 = "") -> Response:
    current = signed_in(pg)
    if current is None:
        return to_login()
    try:
        chosen, user_tokens = household.switch(
            pg.session,
            holder_context(pg, current),
            token=pg.request.cookies.get(HOUSEHOLD_COOKIE),
            account_id=account.strip(),
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        absorb(pg.session, exc)
        return pg.show("error.html", status=exc.status_hint, code=exc.code, message=exc.message)
    pg.cookies.append(patient_cookie(user_tokens.token, user_tokens.expires_in))
    target = back if _SWITCH_BACK.fullmatch(back) else "/patient"
    return pg.set_cookies(RedirectResponse(target, status_code=303))


# Profile changes guarded by an OTP (PROF_ABHA_601, 603, 605): scope word, login hint.
CHANGES: dict[str, tuple[str, str | None]] = {
    "mobile": ("mobile-verify", "mobile"),
    "email": ("email-verify", "email"),
    "deactivate": ("deactivate", None),
}
_CHANGE_EMPTY = {
    "mobile": "Enter the new mobile number (10 digits).",
    "email": "Enter the e-mail address, for example name@example.com.",
    "deactivate": "Tick the box to confirm that you want to deactivate your ABHA.",
}


@dataclass
class ChangeState:
    txn_id: str = ""
    kind: str = ""
    resend_at: int = 0
    resends: int = 0


def _change_state(
    txn_id: Text64 = "", kind: Text16 = "", resend_at: Number = 0, resends: Number = 0
) -> ChangeState:
    return ChangeState(txn_id, kind if kind in CHANGES else "", resend_at, resends)


ChangeForm = Annotated[ChangeState, Depends(_change_state)]


def _change_otp_page(
    pg: Page, state: ChangeState, *, message: str | None = None, error: Problem = None
) -> Response:
    return pg.show(
        "patient/change_otp.html",
        error=error,
        state=state,
        message=message,
        **pg.countdown(state),
    )


@posts.post("/patient/change/otp", response_class=HTMLResponse, response_model=None)
def patient_change_otp(
    pg: PageDep,
    kind: Text16 = "",
    value: Annotated[str, Form(max_length=254)] = "",
    confirm: Text16 = "",
) -> Response:
    account = signed_in(pg)
    if account is None:
        return to_login()
    if kind not in CHANGES:
        return _profile_page(pg, account, error="Choose what to change: mobile or e-mail.")
    value = value.strip()
    if (kind == "deactivate" and confirm != "yes") or (kind != "deactivate" and not value):
        return _profile_page(pg, account, error=_CHANGE_EMPTY[kind], section=kind)
    scope_word, hint = CHANGES[kind]
    try:
        sent = profile.request_profile_otp(
            pg.session,
            holder_context(pg, account),
            account=account,
            scope=["abha-profile", scope_word],
            login_hint=hint,
            login_id=pg.wire(value) if hint else None,
            otp_system="abdm",
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _profile_page(pg, account, error=exc, section=kind, value=value)
    state = ChangeState(sent.txn_id, kind, resend_at=pg.resend_at)
    return _change_otp_page(pg, state, message=sent.message)


@posts.post("/patient/change/resend", response_class=HTMLResponse, response_model=None)
def patient_change_resend(pg: PageDep, state: ChangeForm) -> Response:
    account = signed_in(pg)
    if account is None:
        return to_login()
    try:
        sent = profile.resend_profile_otp(
            pg.session,
            holder_context(pg, account),
            account=account,
            txn_id=state.txn_id,
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _change_otp_page(pg, state, error=exc)
    return _change_otp_page(pg, state, message=pg.resent(state, sent.message))


@posts.post("/patient/change/verify", response_class=HTMLResponse, response_model=None)
def patient_change_verify(pg: PageDep, state: ChangeForm, otp: OtpField = "") -> Response:
    account = signed_in(pg)
    if account is None:
        return to_login()
    scope = ["abha-profile", CHANGES.get(state.kind, ("mobile-verify", None))[0]]
    try:
        changed = profile.verify_profile_otp(
            pg.session,
            holder_context(pg, account),
            account=account,
            scope=scope,
            txn_id=state.txn_id,
            otp_value=pg.wire(otp.strip()),
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _change_otp_page(pg, state, error=exc)
    if state.kind == "deactivate":
        pg.base = {}
        notice = "Your ABHA is deactivated. To use it again, log in and tick “Reactivate my ABHA”."
        response = _login_page(pg, notice=notice)
        response.delete_cookie(PATIENT_COOKIE, path="/")
        response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
        return response
    return _profile_page(pg, account, notice=changed.message)


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
