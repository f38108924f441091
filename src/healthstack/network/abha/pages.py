"""Server-rendered ABHA pages: the registration desk (``/desk``) and the patient's own
area (``/patient``). Thin: every step calls the services in ``abha/`` directly (never
HealthStack's HTTP API) and renders what they return.

Desk (staff login; the role is checked with ``accounts.permissions``):

- ``/desk/enrol``: create an ABHA by Aadhaar OTP (consent and Aadhaar, OTP, the
  communication mobile's OTP when it differs, ABHA address, the result with the card);
- ``/desk/demographic``: camp-mode enrolment (``abha.enrol_demographic`` only);
- ``/desk/search`` and ``/desk/scan``: find an existing ABHA (masked list, card QR);
  ``/desk/accounts/{id}`` the audited profile, ``.../card.pdf`` and ``.../card.png``.

Patient: ``/patient/enrol`` (self-enrolment, the same steps), ``/patient/login`` (mobile
OTP then a pick among the masked ABHAs linked to it; or ABHA number/address, or
Aadhaar, with OTP), ``/patient`` (profile, card, change of mobile or e-mail,
deactivation), ``/patient/logout``.

Decisions:

- No personal data in URLs: every form that carries any is posted; GET paths carry
  public UUIDs only. Flow state (txnId, consent version) rides in hidden fields.
- The enrolment service binds a transaction to the actor who opened it. At the desk
  that is the staff member; in self-enrolment it is a per-browser anonymous actor
  whose id comes from a random HttpOnly cookie, so a txnId read off one screen is of
  no use in another browser.
- The login and profile services take RSA-OAEP ciphertext (ABDM's wire form). The
  pages are their own client and encrypt server-side with the published key
  (``_wire``); the enrolment services take plain values.
- The user token lives in the HttpOnly, SameSite=Lax cookie ``hs_patient``; the
  T-token of a mobile login waits in ``hs_patient_pick`` (path ``/patient/login``)
  until an ABHA is picked. A mobile that holds several ABHAs leaves the household
  token in ``hs_household`` (``network.abha.household``): ``/patient/switch`` changes the
  active ABHA to another one that login proved, without another OTP.
- An error a page shows beside its form never reaches the unit of work, so ``_absorb``
  does what the unit of work would have done: roll back (or keep a counted OTP try)
  and keep the failure audit rows.
- A form posted from another site is refused (Origin check), on top of SameSite cookies.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed, require
from healthstack.kernel.audit import absorb, audited
from healthstack.kernel.clock import ist_date
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.crypto import encrypt_oaep
from healthstack.kernel.errors import DomainError, PermissionDenied, ValidationFailed
from healthstack.kernel.ids import AbhaNumber, format_abha_number, mask_mobile
from healthstack.network.abha import card as card_service
from healthstack.network.abha import enrolment, household, login, profile
from healthstack.network.abha.address import AddressTaken
from healthstack.network.abha.auth import patient_context
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.profile_view import preferred_address
from healthstack.network.abha.schemas_desk import AbhaAccountSummary, AbhaProfileRead
from healthstack.network.abha.search import (
    MAX_RESULTS,
    NO_MATCH_HINT,
    SearchCriteria,
    get_account,
    search_accounts,
)
from healthstack.runtime import Runtime
from healthstack.seed.jk import DISTRICTS, STATE_LGD, STATE_NAME
from healthstack.web.deps import (
    AFTER_LOGIN_COOKIE,
    PATIENT_COOKIE,
    DbSession,
    OptionalStaff,
    RuntimeDep,
    request_id,
)
from healthstack.web.forms import Limit, too_long
from healthstack.web.pages import render, same_origin
from healthstack.web.timefmt import today_ist

# The self-enrolment actor's id: one browser, one enrolment at a time.
FLOW_COOKIE = "hs_enrol"
# The T-token of a mobile login, until the holder picks an ABHA.
PICK_COOKIE = "hs_patient_pick"
PICK_PATH = "/patient/login"

GENDERS = (("M", "Male"), ("F", "Female"), ("O", "Other"))
DISTRICT_CHOICES = tuple(sorted(((d.lgd, d.name) for d in DISTRICTS), key=lambda d: d[1]))
_DISTRICT_CODES = frozenset(code for code, _ in DISTRICT_CHOICES)
_PINCODE = re.compile(r"^[1-9]\d{5}$")
# Room the multipart envelope takes beside the photo within settings.max_body_bytes.
_MULTIPART_ROOM = 50_000
# What the header's "can" flags are named after.
_DESK_ACTIONS = ("enrol", "enrol_demographic", "search", "verify", "card")

Problem = str | DomainError | None
R = TypeVar("R", bound=Response)


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


# --------------------------------------------------------------------------- messages


# Service messages written for API clients (they name fields, scopes or API paths),
# as these pages tell the same thing: (code, marker in the message, page text).
_PAGE_WORDING: tuple[tuple[str, str, str], ...] = (
    (
        "HS-1261",
        "consent.version",
        "The consent text changed while this enrolment was open. Start again and read the "
        "new consent to the patient.",
    ),
    (
        "HS-1411",
        "No ABHA",
        "No active ABHA is linked to this mobile number. Check the number, or log in with "
        "the ABHA number or address. If the ABHA was deactivated, tick “Reactivate my ABHA” "
        "below and send the OTP again.",
    ),
    (
        "HS-1411",
        "No deactivated",
        "No deactivated ABHA is linked to this mobile number. Check the number, or untick "
        "“Reactivate my ABHA” to log in to an active ABHA.",
    ),
    (
        "HS-1405",
        "",
        "This ABHA is deactivated. Tick “Reactivate my ABHA” below and ask for the OTP "
        "again to use it again.",
    ),
    (
        "HS-1245",
        "",
        "This ABHA has no verified mobile number. Log in with the Aadhaar number instead "
        "(the OTP goes to the mobile registered with Aadhaar).",
    ),
    ("HS-1413", "", "This ABHA is not one of those linked to the mobile. Log in again."),
    ("HS-1406", "", "This login has expired or was started elsewhere. Start the login again."),
    ("HS-1412", "", "This OTP request was not found or has expired. Start again."),
    (
        "HS-1109",
        "enrol/byAadhaar",
        "Verify the Aadhaar OTP first; this page was opened out of order. Start again.",
    ),
    (
        "HS-1255",
        "",
        "Your ABHA has no verified mobile to send the OTP to. Add and verify a mobile first "
        "(Change mobile number).",
    ),
)
_WAIT = re.compile(r"wait (\d+) more seconds", re.IGNORECASE)


def page_message(exc: DomainError) -> str:
    """The error as these pages tell it: the service's message, reworded where it was
    written for API clients."""
    for code, marker, text in _PAGE_WORDING:
        if exc.code == code and marker in exc.message:
            return text
    if "same txnId" in exc.message:
        # A new OTP request for someone who got one less than a minute ago.
        wait = _WAIT.search(exc.message)
        return (
            "An OTP was sent for this less than a minute ago. Enter that OTP, or wait "
            f"{wait.group(1) if wait else 60} more seconds and send the OTP again."
        )
    if "txnId" in exc.message:
        # The hidden fields were lost, tampered with or belong to another step.
        return "This form is out of date or was opened out of order. Start again."
    return exc.message


# --------------------------------------------------------------------------- page


@dataclass(frozen=True)
class PatientBadge:
    """What the page header shows of a logged-in holder."""

    masked: str


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    max_age: int | None
    path: str


@dataclass
class Page:
    """One request to a page: its parts, what every template gets (``base``: the
    staff member or the patient badge), and the cookies the response sets."""

    request: Request
    session: Session
    runtime: Runtime
    base: dict[str, Any] = field(default_factory=dict)
    cookies: list[Cookie] = field(default_factory=list)

    @property
    def now(self) -> int:
        return int(self.runtime.clock.now().timestamp())

    @property
    def resend_at(self) -> int:
        """When a just-sent OTP may be resent (for the countdown; the service decides)."""
        return self.now + self.runtime.settings.otp.resend_after_seconds

    def resends_left(self, resends: int) -> int:
        return max(0, self.runtime.settings.otp.max_resends - resends)

    def ctx(self, actor: Actor, purpose: Purpose) -> RequestContext:
        client = self.request.client
        return RequestContext(
            actor=actor,
            purpose=purpose,
            request_id=request_id(self.request),
            ip=client.host if client else None,
        )

    def problem(self, error: Problem) -> tuple[str | None, int]:
        if isinstance(error, DomainError):
            absorb(self.session, error)
            return page_message(error), error.status_hint
        return (error, 400) if error else (None, 200)

    def show(
        self, template: str, *, error: Problem = None, status: int | None = None, **context: Any
    ) -> HTMLResponse:
        """Render ``template``; an ``error`` goes in the alert beside the form and sets
        the status (a domain error is absorbed first, see ``_absorb``)."""
        message, code = self.problem(error)
        status = status or code
        context.setdefault("error_field", getattr(error, "field", None))
        response = render(
            self.request, template, status_code=status, error=message, **self.base, **context
        )
        return self.set_cookies(response)

    def set_cookies(self, response: R) -> R:
        secure = self.runtime.settings.base_url.startswith("https")
        for c in self.cookies:
            response.set_cookie(
                c.name,
                c.value,
                max_age=c.max_age,
                path=c.path,
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        return response

    def wire(self, value: str) -> str:
        """What an ABDM client sends: RSA-OAEP with the published enrolment key."""
        return encrypt_oaep(self.runtime.keyring.public_der_b64("enrolment"), value)


def _page(request: Request, session: DbSession, runtime: RuntimeDep) -> Page:
    return Page(request, session, runtime)


PageDep = Annotated[Page, Depends(_page)]


def _patient_cookie(token: str, expires_in: int) -> Cookie:
    return Cookie(PATIENT_COOKIE, token, expires_in, "/")


def _gender_label(code: str | None) -> str:
    return card_service.GENDER_LABELS.get(code or "", code or "")


def _district_label(code: int | None) -> str:
    return next((name for lgd, name in DISTRICT_CHOICES if lgd == code), "")


def _file(data: bytes, kind: str, abha_number: str) -> Response:
    # Only the last four digits in the file name: downloads folders are not private.
    name = f"abha-card-{abha_number[-4:]}.{kind}"
    return Response(
        data,
        media_type="application/pdf" if kind == "pdf" else "image/png",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Form fields. Hidden ones are all optional: a missing one is reported by the service.
Text16 = Annotated[str, Form(max_length=16)]
Text64 = Annotated[str, Form(max_length=64)]
Number = Annotated[int, Form(ge=0, le=2**40)]
OtpField = Annotated[str, Form(max_length=12)]


# --------------------------------------------------------------------------- staff gate


def _login_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def _forbidden(pg: Page, staff: Actor, what: str) -> HTMLResponse:
    role = staff.role.value.replace("_", " ") if staff.role else "staff"
    message = (
        f"Your role ({role}) may not {what}. Ask your facility admin or the state admin for "
        "the registration desk role, or log in with another account."
    )
    return render(
        pg.request,
        "error.html",
        status_code=403,
        staff=staff,
        status=403,
        code="HS-1003",
        message=message,
    )


def _desk(
    pg: Page, staff: Actor | None, permissions: tuple[str, ...], *, what: str, start: str
) -> Actor | Response:
    """The staff member when any of ``permissions`` is theirs (``pg`` then renders the
    desk header); else the login redirect back to ``start`` or the 403 page."""
    if staff is None:
        return _login_redirect(start)
    if not any(allowed(staff, p) for p in permissions):
        return _forbidden(pg, staff, what)
    pg.base = {"staff": staff, "can": {a: allowed(staff, f"abha.{a}") for a in _DESK_ACTIONS}}
    return staff


def _desk_error(pg: Page, exc: DomainError) -> HTMLResponse:
    message, status = pg.problem(exc)
    context = {"status": status, "code": exc.code, "message": message}
    return render(pg.request, "error.html", status_code=status, **pg.base, **context)


@router.get("/desk", response_class=HTMLResponse, response_model=None)
def desk_home(pg: PageDep, staff: OptionalStaff) -> Response:
    permissions = ("abha.enrol", "abha.search", "abha.verify")
    gate = _desk(pg, staff, permissions, what="use the registration desk", start="/desk")
    return gate if isinstance(gate, Response) else pg.show("desk/home.html")


# --------------------------------------------------------------------------- enrolment


@dataclass(frozen=True)
class Flow:
    """An enrolment flow: the desk's or the resident's own by Aadhaar OTP, or the desk's
    camp mode (demographic details, no OTP), which shares the address and result steps."""

    prefix: str
    self_service: bool
    camp: bool = False


DESK_FLOW = Flow(prefix="/desk/enrol", self_service=False)
SELF_FLOW = Flow(prefix="/patient/enrol", self_service=True)
CAMP_FLOW = Flow(prefix="/desk/demographic", self_service=False, camp=True)


@dataclass
class EnrolState:
    """The hidden fields an enrolment carries from step to step (nothing secret)."""

    txn_id: str = ""
    consent_version: str = ""
    resend_at: int = 0
    resends: int = 0
    mobile: str = ""
    mobile_txn_id: str = ""


def _state(
    txn_id: Text64 = "",
    consent_version: Text16 = "",
    resend_at: Number = 0,
    resends: Number = 0,
    mobile: Text16 = "",
    mobile_txn_id: Text64 = "",
) -> EnrolState:
    return EnrolState(txn_id, consent_version, resend_at, resends, mobile, mobile_txn_id)


StateForm = Annotated[EnrolState, Depends(_state)]


@dataclass
class Enrol:
    """The steps of an Aadhaar-OTP enrolment, for whoever ``ctx`` names."""

    pg: Page
    ctx: RequestContext
    flow: Flow

    def show(
        self, template: str, *, error: Problem = None, status: int | None = None, **context: Any
    ) -> HTMLResponse:
        return self.pg.show(template, error=error, status=status, flow=self.flow, **context)

    # ------------------------------------------------------------------ screens
    def start_page(self, *, error: Problem = None, aadhaar: str = "", ok: bool = False) -> Response:
        abha = self.pg.runtime.settings.abha
        consent = {"code": enrolment.CONSENT_CODE, "version": abha.consent_version}
        return self.show(
            "desk/enrol_start.html", error=error, consent=consent, aadhaar=aadhaar, consented=ok
        )

    def otp_page(
        self,
        state: EnrolState,
        *,
        message: str | None = None,
        error: Problem = None,
        mobile: str = "",
    ) -> Response:
        return self.show(
            "desk/enrol_otp.html",
            error=error,
            state=state,
            message=message,
            mobile=mobile,
            wait=max(0, state.resend_at - self.pg.now),
            resends_left=self.pg.resends_left(state.resends),
        )

    def mobile_page(
        self, state: EnrolState, *, message: str | None = None, error: Problem = None
    ) -> Response:
        masked = mask_mobile(state.mobile) if len(state.mobile) == 10 else ""
        return self.show(
            "desk/enrol_mobile.html",
            error=error,
            state=state,
            message=message,
            masked_mobile=masked,
            wait=max(0, state.resend_at - self.pg.now),
            resends_left=self.pg.resends_left(state.resends),
        )

    def address_page(
        self,
        state: EnrolState,
        *,
        error: Problem = None,
        notice: str | None = None,
        choice: str = "",
        custom: str = "",
        offered: list[str] | None = None,
    ) -> Response:
        message, status = self.pg.problem(error)  # absorbed before the next query
        if not offered:
            try:
                offered = enrolment.address_suggestions(
                    self.pg.session,
                    self.ctx,
                    txn_id=state.txn_id,
                    parts=AbhaParts.of(self.pg.runtime),
                )
            except DomainError as exc:
                return self.start_page(error=exc)
        return self.show(
            "desk/enrol_address.html",
            error=message,
            status=status,
            state=state,
            suggestions=offered,
            notice=notice,
            suffix=self.pg.runtime.settings.abha_suffix,
            choice=choice,
            custom=custom,
        )

    def result_page(
        self, account: AbhaAccount, *, notice: str | None = None, existing: bool = False
    ) -> Response:
        """``existing``: the enrolment found an ABHA made before (nothing was created)."""
        if self.flow.self_service:
            card = {"pdf": "/patient/card.pdf", "png": "/patient/card.png", "profile": "/patient"}
        else:
            base = f"/desk/accounts/{account.public_id}"
            card = {"pdf": f"{base}/card.pdf", "png": f"{base}/card.png", "profile": base}
        return self.show(
            "desk/enrol_result.html",
            abha_number=format_abha_number(account.abha_number),
            abha_address=preferred_address(account, self.pg.runtime.settings.abha_suffix),
            name=account.name,
            gender=_gender_label(account.gender),
            year_of_birth=account.year_of_birth,
            mobile_verified=account.mobile_verified,
            kyc_method=account.kyc_method,
            existing=existing,
            card=card,
            notice=notice,
        )

    # ------------------------------------------------------------------ steps
    def send_aadhaar_otp(self, consent: str, aadhaar: str) -> Response:
        current = self.pg.runtime.settings.abha.consent_version
        if consent != current:
            return self.start_page(
                aadhaar=aadhaar,
                error="Tick the consent box after reading the consent to the patient. No ABHA "
                "can be created without it."
                if not consent
                else "The consent text has changed since this page was opened. Read the new "
                "text below and tick the box again.",
            )
        try:
            sent = enrolment.request_aadhaar_otp(
                self.pg.session, self.ctx, aadhaar=aadhaar, parts=AbhaParts.of(self.pg.runtime)
            )
        except DomainError as exc:
            return self.start_page(error=exc, aadhaar=aadhaar, ok=True)
        state = EnrolState(sent.txn_id, current, resend_at=self.pg.resend_at)
        return self.otp_page(state, message=sent.message)

    def resend_aadhaar_otp(self, state: EnrolState, mobile: str) -> Response:
        try:
            sent = enrolment.request_aadhaar_otp(
                self.pg.session,
                self.ctx,
                aadhaar=None,
                txn_id=state.txn_id,
                parts=AbhaParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.otp_page(state, error=exc, mobile=mobile)
        state.resends += 1
        state.resend_at = self.pg.resend_at
        return self.otp_page(state, message=f"A new OTP was sent. {sent.message}.", mobile=mobile)

    def verify_aadhaar_otp(self, state: EnrolState, otp: str, mobile: str) -> Response:
        pg = self.pg
        try:
            result = enrolment.enrol_by_aadhaar(
                pg.session,
                self.ctx,
                txn_id=state.txn_id,
                otp=otp,
                mobile=mobile.strip() or None,
                consent_code=enrolment.CONSENT_CODE,
                consent_version=state.consent_version,
                parts=AbhaParts.of(pg.runtime),
            )
        except DomainError as exc:
            return self.otp_page(state, error=exc, mobile=mobile)
        # The ABHA exists from here on, whatever the next steps do.
        pg.session.commit()
        if self.flow.self_service:
            pg.cookies.append(_patient_cookie(result.tokens.token, result.tokens.expires_in))
        if not result.is_new:
            notice = "An ABHA already exists for this Aadhaar, so no second one was made."
            return self.result_page(result.account, notice=notice)
        if result.mobile_verification_needed:
            state.mobile = result.account.mobile or ""
            return self.send_mobile_otp(state)
        return self.address_page(state, notice="The ABHA is created. Now choose its address.")

    def send_mobile_otp(self, state: EnrolState) -> Response:
        """Send (or, with the mobile's txnId, resend) the communication-mobile OTP."""
        resend = bool(state.mobile_txn_id)
        try:
            sent = enrolment.request_mobile_otp(
                self.pg.session,
                self.ctx,
                txn_id=state.mobile_txn_id or state.txn_id,
                mobile=None if resend else state.mobile,
                parts=AbhaParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.mobile_page(state, error=exc)
        state.mobile_txn_id = sent.txn_id
        state.resends = state.resends + 1 if resend else 0
        state.resend_at = self.pg.resend_at
        return self.mobile_page(state, message=sent.message)

    def verify_mobile_otp(self, state: EnrolState, otp: str) -> Response:
        try:
            done = enrolment.verify_mobile_otp(
                self.pg.session,
                self.ctx,
                txn_id=state.mobile_txn_id,
                otp=otp,
                parts=AbhaParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.mobile_page(state, error=exc)
        return self.address_page(state, notice=f"{done.message} Now choose the ABHA address.")

    def choose_address(self, state: EnrolState, choice: str, custom: str) -> Response:
        # A typed address with no radio button picked is the typed one (no JavaScript
        # ticks the radio for the operator).
        own = choice == "custom" or (not choice and custom.strip() != "")
        wanted = (custom if own else choice).strip()
        if not wanted:
            message = (
                "Type the ABHA address you want in the box, or pick one of the suggestions."
                if choice == "custom"
                else "Choose one of the suggested ABHA addresses, or type your own."
            )
            return self.address_page(state, error=message, choice=choice, custom=custom)
        choice = "custom" if own else choice
        try:
            chosen = enrolment.create_abha_address(
                self.pg.session,
                self.ctx,
                txn_id=state.txn_id,
                abha_address=wanted,
                preferred=True,
                parts=AbhaParts.of(self.pg.runtime),
            )
        except AddressTaken as exc:
            # The suggestions may include the one just refused: offer fresh ones.
            again = "custom" if choice == "custom" else ""
            return self.address_page(
                state, error=exc, choice=again, custom=custom, offered=exc.suggestions
            )
        except DomainError as exc:
            return self.address_page(state, error=exc, choice=choice, custom=custom)
        return self.result_page(chosen.account)


def _desk_enrol(pg: Page, staff: Actor | None, starting: bool) -> Enrol | Response:
    gate = _desk(pg, staff, ("abha.enrol",), what="create ABHAs", start=DESK_FLOW.prefix)
    if isinstance(gate, Response):
        return gate
    return Enrol(pg, pg.ctx(gate, Purpose.ENROLMENT), DESK_FLOW)


def _self_enrol(pg: Page, staff: Actor | None, starting: bool) -> Enrol | Response:
    """The resident enrolling themselves: anonymous, but bound to one browser."""
    nonce = pg.request.cookies.get(FLOW_COOKIE, "")
    lost = not re.fullmatch(r"[0-9a-f]{32}", nonce)
    if lost:
        nonce = secrets.token_hex(16)
        pg.cookies.append(Cookie(FLOW_COOKIE, nonce, 3600, SELF_FLOW.prefix))
    actor = Actor(kind=ActorKind.ANONYMOUS, id=f"anonymous:{nonce}", display="self")
    flow = Enrol(pg, pg.ctx(actor, Purpose.ENROLMENT), SELF_FLOW)
    if lost and not starting:
        return flow.start_page(
            error="This browser did not keep the enrolment's cookie, so it cannot go on. "
            "Allow cookies for this site and start again."
        )
    return flow


EnrolActor = Callable[[Page, Actor | None, bool], "Enrol | Response"]


def _add_enrol_routes(flow: Flow, who: EnrolActor) -> None:
    """The same steps at the desk and in self-service; ``who`` says who acts."""
    p = flow.prefix

    @router.get(p, response_class=HTMLResponse, response_model=None)
    def enrol_start(pg: PageDep, staff: OptionalStaff) -> Response:
        e = who(pg, staff, True)
        return e if isinstance(e, Response) else e.start_page()

    @posts.post(f"{p}/otp", response_class=HTMLResponse, response_model=None)
    def enrol_otp(
        pg: PageDep,
        staff: OptionalStaff,
        consent: Text16 = "",
        aadhaar: Annotated[str, Form(max_length=32)] = "",
    ) -> Response:
        e = who(pg, staff, True)
        return e if isinstance(e, Response) else e.send_aadhaar_otp(consent, aadhaar)

    @posts.post(f"{p}/resend", response_class=HTMLResponse, response_model=None)
    def enrol_resend(
        pg: PageDep, staff: OptionalStaff, state: StateForm, comm_mobile: Text16 = ""
    ) -> Response:
        e = who(pg, staff, False)
        return e if isinstance(e, Response) else e.resend_aadhaar_otp(state, comm_mobile)

    @posts.post(f"{p}/verify", response_class=HTMLResponse, response_model=None)
    def enrol_verify(
        pg: PageDep,
        staff: OptionalStaff,
        state: StateForm,
        otp: OtpField = "",
        comm_mobile: Text16 = "",
    ) -> Response:
        e = who(pg, staff, False)
        return e if isinstance(e, Response) else e.verify_aadhaar_otp(state, otp, comm_mobile)

    @posts.post(f"{p}/mobile/resend", response_class=HTMLResponse, response_model=None)
    def enrol_mobile_resend(pg: PageDep, staff: OptionalStaff, state: StateForm) -> Response:
        e = who(pg, staff, False)
        return e if isinstance(e, Response) else e.send_mobile_otp(state)

    @posts.post(f"{p}/mobile/verify", response_class=HTMLResponse, response_model=None)
    def enrol_mobile_verify(
        pg: PageDep, staff: OptionalStaff, state: StateForm, otp: OtpField = ""
    ) -> Response:
        e = who(pg, staff, False)
        return e if isinstance(e, Response) else e.verify_mobile_otp(state, otp)

    @posts.post(f"{p}/mobile/later", response_class=HTMLResponse, response_model=None)
    def enrol_mobile_later(pg: PageDep, staff: OptionalStaff, state: StateForm) -> Response:
        e = who(pg, staff, False)
        notice = (
            "The communication mobile stays unverified; the holder can verify it later from "
            "the ABHA profile. Now choose the ABHA address."
        )
        return e if isinstance(e, Response) else e.address_page(state, notice=notice)

    @posts.post(f"{p}/address", response_class=HTMLResponse, response_model=None)
    def enrol_address(
        pg: PageDep,
        staff: OptionalStaff,
        state: StateForm,
        choice: Text64 = "",
        custom: Text64 = "",
    ) -> Response:
        e = who(pg, staff, False)
        return e if isinstance(e, Response) else e.choose_address(state, choice, custom)


_add_enrol_routes(DESK_FLOW, _desk_enrol)
_add_enrol_routes(SELF_FLOW, _self_enrol)


# --------------------------------------------------------------------------- camp mode


@dataclass
class DemographicForm:
    aadhaar: str = ""
    name: str = ""
    gender: str = ""
    birth_date: str = ""
    year_of_birth: str = ""
    mobile: str = ""
    address_line: str = ""
    district_lgd: str = ""
    pincode: str = ""
    consent: str = ""


def _demographic_form(
    aadhaar: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=128)] = "",
    gender: Annotated[str, Form(max_length=2)] = "",
    birth_date: Text16 = "",
    year_of_birth: Text16 = "",
    mobile: Text16 = "",
    address_line: Annotated[str, Form(max_length=256)] = "",
    district_lgd: Text16 = "",
    pincode: Text16 = "",
    consent: Text16 = "",
) -> DemographicForm:
    return DemographicForm(
        aadhaar=aadhaar.strip(),
        name=name.strip(),
        gender=gender.strip().upper(),
        birth_date=birth_date.strip(),
        year_of_birth=year_of_birth.strip(),
        mobile=mobile.strip(),
        address_line=address_line.strip(),
        district_lgd=district_lgd.strip(),
        pincode=pincode.strip(),
        consent=consent,
    )


def parse_form_date(raw: str) -> date | None:
    """``2024-01-31`` (what a date input sends), or ``31-01-2024`` / ``31/01/2024``
    typed where the browser shows a plain text box. None when it is neither."""
    value = raw.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        found = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", value)
        if found:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class DemographicChecked:
    birth_date: date | None
    year_of_birth: int | None
    district_lgd: int


def check_demographic_form(
    form: DemographicForm, *, consent_version: str, today: date
) -> tuple[list[str], DemographicChecked | None]:
    """Every problem with the form at once (each says what to do), or the parsed values.
    The Aadhaar and mobile formats are the service's to check."""
    errors: list[str] = []
    if form.consent != consent_version:
        errors.append(
            "Read the consent to the person and tick the box; no ABHA can be created without it."
        )
    if not form.aadhaar:
        errors.append("Enter the 12-digit Aadhaar number from the Aadhaar card.")
    if not form.name:
        errors.append("Enter the name exactly as it is printed on the Aadhaar card.")
    if form.gender not in {g for g, _ in GENDERS}:
        errors.append("Choose the gender as it is printed on the Aadhaar card.")
    born = parse_form_date(form.birth_date) if form.birth_date else None
    year = None
    if form.birth_date and born is None:
        errors.append("The date of birth is not a date. Enter the day, month and year.")
    elif born and (born.year < 1900 or born > today):
        errors.append("The date of birth cannot be in the future or before 1900. Check it.")
    elif born and form.year_of_birth and form.year_of_birth != str(born.year):
        errors.append("The date of birth and the year of birth disagree. Fill in only one.")
    elif not form.birth_date and form.year_of_birth:
        year = int(form.year_of_birth) if re.fullmatch(r"\d{4}", form.year_of_birth) else 0
        if not 1900 <= year <= today.year:
            year = None
            errors.append(f"The year of birth has 4 digits, between 1900 and {today.year}.")
    elif not form.birth_date:
        errors.append(
            "Enter the date of birth, or only the year of birth when the Aadhaar card shows "
            "just the year."
        )
    if not form.mobile:
        errors.append("Enter a mobile number (10 digits) for ABHA messages.")
    if not form.address_line:
        errors.append("Enter the address: house, street, village or town.")
    district = int(form.district_lgd) if form.district_lgd.isdigit() else 0
    if district not in _DISTRICT_CODES:
        errors.append("Choose the district from the list.")
    if not _PINCODE.match(form.pincode):
        errors.append("A PIN code has 6 digits and does not start with 0. Check it.")
    if errors:
        return errors, None
    return [], DemographicChecked(born, year, district)


def _demographic_page(
    pg: Page, form: DemographicForm, errors: list[str], *, status: int | None = None
) -> Response:
    abha = pg.runtime.settings.abha
    return pg.show(
        "desk/demographic.html",
        error=" ".join(errors) or None,
        status=status,
        errors=errors,
        form=form,
        consent={"code": enrolment.CONSENT_CODE, "version": abha.consent_version},
        genders=GENDERS,
        districts=DISTRICT_CHOICES,
        state_name=STATE_NAME,
        today=today_ist(pg.runtime.clock.now()).isoformat(),
    )


def _camp(pg: Page, staff: Actor | None) -> Actor | Response:
    what = "enrol by demographic details (camp mode)"
    return _desk(pg, staff, ("abha.enrol_demographic",), what=what, start="/desk/demographic")


@router.get("/desk/demographic", response_class=HTMLResponse, response_model=None)
def demographic_start(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _camp(pg, staff)
    return gate if isinstance(gate, Response) else _demographic_page(pg, DemographicForm(), [])


@posts.post("/desk/demographic", response_class=HTMLResponse, response_model=None)
def demographic_submit(
    pg: PageDep,
    staff: OptionalStaff,
    form: Annotated[DemographicForm, Depends(_demographic_form)],
) -> Response:
    gate = _camp(pg, staff)
    if isinstance(gate, Response):
        return gate
    version = pg.runtime.settings.abha.consent_version
    today = ist_date(pg.runtime.clock.now())
    errors, checked = check_demographic_form(form, consent_version=version, today=today)
    if checked is None:
        return _demographic_page(pg, form, errors)
    ctx = pg.ctx(gate, Purpose.ENROLMENT)
    try:
        result = enrolment.enrol_by_demographics(
            pg.session,
            ctx,
            aadhaar=form.aadhaar,
            name=form.name,
            gender=form.gender,
            birth_date=checked.birth_date,
            year_of_birth=checked.year_of_birth,
            mobile=form.mobile,
            address_line=form.address_line,
            district_lgd=checked.district_lgd,
            state_lgd=STATE_LGD,
            pincode=form.pincode,
            consent_code=enrolment.CONSENT_CODE,
            consent_version=version,
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        message, status = pg.problem(exc)
        return _demographic_page(pg, form, [message or ""], status=status)
    camp = Enrol(pg, ctx, CAMP_FLOW)
    if not result.is_new or result.txn_id is None:
        notice = "An ABHA already exists for this Aadhaar, so no second one was made."
        return camp.result_page(result.account, notice=notice, existing=True)
    # As after an Aadhaar OTP: the person chooses their ABHA address.
    state = EnrolState(txn_id=result.txn_id, consent_version=version)
    notice = (
        "ABHA created from the demographic details (they match the Aadhaar records). "
        "Now choose the ABHA address with the person."
    )
    return camp.address_page(state, notice=notice)


@posts.post("/desk/demographic/address", response_class=HTMLResponse, response_model=None)
def demographic_address(
    pg: PageDep,
    staff: OptionalStaff,
    state: StateForm,
    choice: Text64 = "",
    custom: Text64 = "",
) -> Response:
    """The camp-mode enrolment's ABHA address (its transaction is the operator's own)."""
    gate = _camp(pg, staff)
    if isinstance(gate, Response):
        return gate
    return Enrol(pg, pg.ctx(gate, Purpose.ENROLMENT), CAMP_FLOW).choose_address(
        state, choice, custom
    )


# --------------------------------------------------------------------------- verify


SEARCH_MODES = ("number", "address", "mobile", "name")


@dataclass
class SearchForm:
    mode: str = "number"
    number: str = ""
    address: str = ""
    mobile: str = ""
    name: str = ""
    gender: str = ""
    year_of_birth: str = ""
    year_tolerance: str = "2"
    district_lgd: str = ""
    offset: str = ""  # paging: the matches before this page
    # over-long input, shown on the form (web.forms); never searched for
    problem: ValidationFailed | None = None


def _search_form(
    mode: Text16 = "number",
    number: Annotated[str, Form(), Limit(24)] = "",
    address: Annotated[str, Form(), Limit(80)] = "",
    mobile: Annotated[str, Form(), Limit(16)] = "",
    name: Annotated[str, Form(), Limit(120)] = "",
    gender: Annotated[str, Form(max_length=2)] = "",
    year_of_birth: Annotated[str, Form(), Limit(16)] = "",
    year_tolerance: Annotated[str, Form(max_length=2)] = "2",
    district_lgd: Text16 = "",
    offset: Text16 = "",
) -> SearchForm:
    typed = {"number": number, "address": address, "mobile": mobile, "name": name}
    labels = {"number": "The ABHA Number", "address": "The ABHA address", "name": "The name"}
    return SearchForm(
        problem=too_long({**typed, "year_of_birth": year_of_birth}, labels),
        mode=mode.strip(),
        number=number.strip(),
        address=address.strip(),
        mobile=mobile.strip(),
        name=name.strip(),
        gender=gender.strip().upper(),
        year_of_birth=year_of_birth.strip(),
        year_tolerance=year_tolerance.strip(),
        district_lgd=district_lgd.strip(),
        offset=offset.strip(),
    )


def search_criteria(form: SearchForm) -> SearchCriteria:
    """The criteria of the one search the form's ``mode`` names; other boxes are ignored."""
    if form.problem is not None:
        raise form.problem
    if form.mode == "number":
        return SearchCriteria(number=form.number or None)
    if form.mode == "address":
        return SearchCriteria(address=form.address or None)
    if form.offset and not form.offset.isdigit():
        raise ValidationFailed("That page of results does not exist. Search again.")
    offset = int(form.offset or 0)
    if form.mode == "mobile":
        return SearchCriteria(mobile=form.mobile or None, offset=offset)
    if form.mode != "name":
        raise ValidationFailed("Choose how to search: ABHA number, address, mobile or name.")
    if form.year_of_birth and not re.fullmatch(r"\d{4}", form.year_of_birth):
        raise ValidationFailed("The year of birth has 4 digits, for example 1985.")
    return SearchCriteria(
        name=form.name or None,
        gender=form.gender if form.gender in {g for g, _ in GENDERS} else None,
        year_of_birth=int(form.year_of_birth) if form.year_of_birth else None,
        year_tolerance=int(form.year_tolerance) if form.year_tolerance.isdigit() else 2,
        district_lgd=int(form.district_lgd) if form.district_lgd.isdigit() else None,
        offset=offset,
    )


def _search_page(
    pg: Page,
    form: SearchForm,
    *,
    results: list[AbhaAccountSummary] | None = None,
    total: int = 0,
    offset: int = 0,
    hint: str | None = None,
    error: Problem = None,
) -> Response:
    return pg.show(
        "desk/search.html",
        error=error,
        form=form,
        results=results,
        total=total,
        offset=offset,
        page_size=MAX_RESULTS,
        hint=hint,
        genders=GENDERS,
        districts=DISTRICT_CHOICES,
        district_label=_district_label,
    )


def _finder(pg: Page, staff: Actor | None) -> Actor | Response:
    return _desk(pg, staff, ("abha.search",), what="search ABHA accounts", start="/desk/search")


@router.get("/desk/search", response_class=HTMLResponse, response_model=None)
def search_start(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _finder(pg, staff)
    return gate if isinstance(gate, Response) else _search_page(pg, SearchForm())


@posts.post("/desk/search", response_class=HTMLResponse, response_model=None)
def search_submit(
    pg: PageDep, staff: OptionalStaff, form: Annotated[SearchForm, Depends(_search_form)]
) -> Response:
    gate = _finder(pg, staff)
    if isinstance(gate, Response):
        return gate
    form.mode = form.mode if form.mode in SEARCH_MODES else "number"
    try:
        result = search_accounts(
            pg.session,
            pg.ctx(gate, Purpose.IDENTITY_VERIFICATION),
            criteria=search_criteria(form),
            suffix=pg.runtime.settings.abha_suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return _search_page(pg, form, error=exc)
    items = [AbhaAccountSummary.from_account(h.account, h.score) for h in result.hits]
    hint = None if result.total else NO_MATCH_HINT[result.mode]
    return _search_page(
        pg, form, results=items, total=result.total, offset=result.offset, hint=hint
    )


def _account_gate(
    pg: Page,
    staff: Actor | None,
    permission: str,
    *,
    action: str,
    account_id: uuid.UUID,
    what: str,
) -> RequestContext | Response:
    """``_desk`` for one account's pages; a refused staff member is also audited (an
    attempt on someone's record is worth knowing)."""
    gate = _desk(pg, staff, (permission,), what=what, start=f"/desk/accounts/{account_id}")
    if isinstance(gate, Actor):
        return pg.ctx(gate, Purpose.IDENTITY_VERIFICATION)
    if staff is not None:
        ctx = pg.ctx(staff, Purpose.IDENTITY_VERIFICATION)
        try:
            with audited(
                pg.session,
                ctx,
                action=action,
                resource_type="abha_account",
                resource_id=str(account_id),
                clock=pg.runtime.clock,
            ):
                require(staff, permission)
        except PermissionDenied as exc:
            absorb(pg.session, exc)
    return gate


@router.get("/desk/accounts/{account_id}", response_class=HTMLResponse, response_model=None)
def account_page(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    """The full profile of one ABHA (an audited read), with its card."""
    ctx = _account_gate(
        pg,
        staff,
        "abha.verify",
        action="abha.account.read",
        account_id=account_id,
        what="open ABHA profiles",
    )
    if isinstance(ctx, Response):
        return ctx
    try:
        account = get_account(pg.session, ctx, public_id=account_id, clock=pg.runtime.clock)
    except DomainError as exc:
        return _desk_error(pg, exc)
    view = AbhaProfileRead.from_account(account, suffix=pg.runtime.settings.abha_suffix)
    base = f"/desk/accounts/{account_id}"
    return pg.show("desk/profile.html", p=view, gender=_gender_label(view.gender), base=base)


def _staff_card(
    account_id: uuid.UUID, kind: Literal["pdf", "png"], pg: Page, staff: Actor | None
) -> Response:
    ctx = _account_gate(
        pg,
        staff,
        "abha.card",
        action="abha.card.download",
        account_id=account_id,
        what="print ABHA cards",
    )
    if isinstance(ctx, Response):
        return ctx
    try:
        account, data = card_service.card_file(
            pg.session,
            ctx,
            public_id=account_id,
            kind=kind,
            suffix=pg.runtime.settings.abha_suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return _desk_error(pg, exc)
    return _file(data, kind, account.abha_number)


@router.get("/desk/accounts/{account_id}/card.pdf", response_model=None)
def account_card_pdf(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    """The ABHA card as a card-sized PDF, to print at the desk."""
    return _staff_card(account_id, "pdf", pg, staff)


@router.get("/desk/accounts/{account_id}/card.png", response_model=None)
def account_card_png(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    return _staff_card(account_id, "png", pg, staff)


_DIFF_LABELS = {"hidn": "ABHA Number", "name": "name", "gender": "gender", "dob": "year of birth"}


def _scanner(pg: Page, staff: Actor | None) -> Actor | Response:
    return _desk(pg, staff, ("abha.verify",), what="scan ABHA cards", start="/desk/scan")


def scan_limit(runtime: Runtime) -> int:
    """The largest card photo that fits in a request (settings.max_body_bytes)."""
    return runtime.settings.max_body_bytes - _MULTIPART_ROOM


def _scan_page(
    pg: Page,
    *,
    qr_text: str = "",
    error: Problem = None,
    found: AbhaAccountSummary | None = None,
    differs: list[str] | None = None,
) -> Response:
    return pg.show(
        "desk/scan.html",
        error=error,
        qr_text=qr_text,
        found=found,
        differs=differs or [],
        max_mb=f"{scan_limit(pg.runtime) / 1e6:.1f}",
        max_bytes=scan_limit(pg.runtime),
        district_label=_district_label,
    )


@router.get("/desk/scan", response_class=HTMLResponse, response_model=None)
def scan_start(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _scanner(pg, staff)
    return gate if isinstance(gate, Response) else _scan_page(pg)


@posts.post("/desk/scan", response_class=HTMLResponse, response_model=None)
def scan_submit(
    pg: PageDep,
    staff: OptionalStaff,
    image: Annotated[UploadFile | None, File()] = None,
    qr_text: Annotated[str, Form(max_length=card_service.MAX_QR_TEXT)] = "",
) -> Response:
    """Find the ABHA on a card (VRFY_ABHA_501): a photo of its QR code, or the QR text."""
    gate = _scanner(pg, staff)
    if isinstance(gate, Response):
        return gate
    # A browser sends an empty file part when no file was chosen.
    limit = scan_limit(pg.runtime)
    data = image.file.read(limit + 1) if image is not None and image.filename else b""
    text = qr_text.strip()
    if data and text:
        return _scan_page(
            pg, qr_text=qr_text, error="Upload the photo or paste the QR text, not both."
        )
    if not data and not text:
        return _scan_page(
            pg, error="Choose a photo of the ABHA card's QR code, or paste the QR text."
        )
    if len(data) > limit:
        return _scan_page(
            pg,
            error=f"The photo is larger than {limit / 1e6:.1f} MB. Take it again at a lower "
            "resolution, or crop it to the QR code.",
        )
    suffix = pg.runtime.settings.abha_suffix
    try:
        account, payload = card_service.scan_card(
            pg.session,
            pg.ctx(gate, Purpose.IDENTITY_VERIFICATION),
            image=data or None,
            text=text or None,
            suffix=suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return _scan_page(pg, qr_text=qr_text, error=exc)
    differs = card_service.card_differences(account, payload, suffix=suffix)
    return _scan_page(
        pg,
        qr_text=qr_text,
        found=AbhaAccountSummary.from_account(account),
        differs=[_DIFF_LABELS.get(k, k) for k in differs],
    )


# --------------------------------------------------------------------------- patient

_ANONYMOUS = Actor(kind=ActorKind.ANONYMOUS, id="anonymous", display="anonymous")


def signed_in(pg: Page) -> AbhaAccount | None:
    """The ABHA whose user token the ``hs_patient`` cookie holds (ACTIVE only); the
    header then shows it."""
    token = pg.request.cookies.get(PATIENT_COOKIE)
    if not token:
        return None
    ctx = pg.ctx(_ANONYMOUS, Purpose.SELF_SERVICE)
    try:
        account = profile.authenticate(
            pg.session,
            ctx,
            x_token=f"Bearer {token}",
            keyring=pg.runtime.keyring,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        absorb(pg.session, exc)
        return None
    pg.base = {"patient": PatientBadge(AbhaNumber(account.abha_number).masked)}
    return account


def holder_context(pg: Page, account: AbhaAccount) -> RequestContext:
    client = pg.request.client
    return patient_context(
        account, request_id=request_id(pg.request), ip=client.host if client else None
    )


def _to_login() -> RedirectResponse:
    response = RedirectResponse("/patient/login", status_code=303)
    response.delete_cookie(PATIENT_COOKIE, path="/")
    return response


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
        wait=max(0, state.resend_at - pg.now),
        resends_left=pg.resends_left(state.resends),
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
            pg.ctx(_ANONYMOUS, Purpose.IDENTITY_VERIFICATION),
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
    ctx = pg.ctx(_ANONYMOUS, Purpose.IDENTITY_VERIFICATION)
    try:
        sent = login.resend_login_otp(
            pg.session, ctx, txn_id=state.txn_id, parts=AbhaParts.of(pg.runtime)
        )
    except DomainError as exc:
        return _login_otp_page(pg, state, error=exc)
    state.resends += 1
    state.resend_at = pg.resend_at
    return _login_otp_page(pg, state, message=f"A new OTP was sent. {sent.message}.")


@posts.post("/patient/login/verify", response_class=HTMLResponse, response_model=None)
def patient_login_verify(pg: PageDep, state: LoginStateForm, otp: OtpField = "") -> Response:
    ask = login_ask(state.method, "", reactivate=state.reactivate)
    try:
        result = login.verify_login(
            pg.session,
            pg.ctx(_ANONYMOUS, Purpose.IDENTITY_VERIFICATION),
            scope=ask.scope,
            txn_id=state.txn_id,
            otp_value=pg.wire(otp.strip()),
            parts=AbhaParts.of(pg.runtime),
        )
    except DomainError as exc:
        return _login_otp_page(pg, state, error=exc)
    if result.user_tokens is not None:
        tokens = result.user_tokens
        pg.cookies.append(_patient_cookie(tokens.token, tokens.expires_in))
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
    ctx = pg.ctx(_ANONYMOUS, Purpose.IDENTITY_VERIFICATION)
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
    pg.cookies.append(_patient_cookie(result.user_tokens.token, expires_in))
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
        gender=_gender_label(view.get("gender")),
        notice=notice,
        section=section,
        value=value,
    )


@router.get("/patient", response_class=HTMLResponse, response_model=None)
def patient_home(pg: PageDep) -> Response:
    account = signed_in(pg)
    return _to_login() if account is None else _profile_page(pg, account)


def _own_card(pg: Page, kind: Literal["pdf", "png"]) -> Response:
    account = signed_in(pg)
    if account is None:
        return _to_login()
    data = card_service.own_card_file(
        pg.session,
        holder_context(pg, account),
        account=account,
        kind=kind,
        suffix=pg.runtime.settings.abha_suffix,
        clock=pg.runtime.clock,
    )
    return _file(data, kind, account.abha_number)


@router.get("/patient/card.pdf", response_model=None)
def patient_card_pdf(pg: PageDep) -> Response:
    return _own_card(pg, "pdf")


@router.get("/patient/card.png", response_model=None)
def patient_card_png(pg: PageDep) -> Response:
    return _own_card(pg, "png")


@posts.post("/patient/logout", response_model=None)
def patient_logout() -> Response:
    response = _to_login()
    response.delete_cookie(PICK_COOKIE, path=PICK_PATH)
    response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
    return response


def household_choices(pg: Page, account: AbhaAccount) -> list[dict[str, Any]]:
    """The other ABHAs the holder's mobile login proved, masked as the login's pick
    list shows them (``accountRef``: the public id the switch form posts)."""
    token = pg.request.cookies.get(HOUSEHOLD_COOKIE)
    suffix = pg.runtime.settings.abha_suffix
    return [
        login.masked_choice(a, suffix, str(a.public_id))
        for a in household.members(pg.session, token=token, parts=AbhaParts.of(pg.runtime))
        if a.id != account.id
    ]


# Where a switch may return to: the patient's own pages.
_SWITCH_BACK = re.compile(r"/(patient|phr(/[a-z]+)?)")


@posts.post("/patient/switch", response_class=HTMLResponse, response_model=None)
def patient_switch(pg: PageDep, account: Text64 = "", back: Text64 = "") -> Response:
    current = signed_in(pg)
    if current is None:
        return _to_login()
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
    pg.cookies.append(_patient_cookie(user_tokens.token, user_tokens.expires_in))
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
        wait=max(0, state.resend_at - pg.now),
        resends_left=pg.resends_left(state.resends),
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
        return _to_login()
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
        return _to_login()
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
    state.resends += 1
    state.resend_at = pg.resend_at
    return _change_otp_page(pg, state, message=f"A new OTP was sent. {sent.message}.")


@posts.post("/patient/change/verify", response_class=HTMLResponse, response_model=None)
def patient_change_verify(pg: PageDep, state: ChangeForm, otp: OtpField = "") -> Response:
    account = signed_in(pg)
    if account is None:
        return _to_login()
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
