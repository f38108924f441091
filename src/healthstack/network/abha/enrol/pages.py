"""ABHA enrolment pages: the registration desk's and the resident's own. Thin: every
step calls ``network.abha.enrolment`` directly (never HealthStack's HTTP API) and renders
what it returns.

- ``/desk/enrol`` (staff with ``abha.enrol``) and ``/patient/enrol`` (self-enrolment):
  create an ABHA by Aadhaar OTP, in the same steps (consent and Aadhaar, OTP, the
  communication mobile's OTP when it differs, ABHA address, the result with the card);
- ``/desk/demographic``: camp-mode enrolment (``abha.enrol_demographic`` only), which
  shares the address and result steps.

Decisions:

- No personal data in URLs: every form that carries any is posted. Flow state (txnId,
  consent version) rides in hidden fields.
- The enrolment service binds a transaction to the actor who opened it. At the desk
  that is the staff member; in self-enrolment it is a per-browser anonymous actor
  whose id comes from a random HttpOnly cookie (``web.pages.browser_flow``), so a txnId
  read off one screen is of no use in another browser.
- An error a page shows beside its form is absorbed (``web.pages.Page.problem``); a form
  posted from another site is refused (Origin check), on top of SameSite cookies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, Response

from healthstack.kernel.clock import ist_date
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.errors import DomainError
from healthstack.kernel.ids import format_abha_number, mask_mobile
from healthstack.network.abha import enrolment
from healthstack.network.abha.address import AddressTaken
from healthstack.network.abha.desk.dependencies import desk_gate
from healthstack.network.abha.display import GENDERS, PageDep, gender_label
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.patient.session import patient_cookie
from healthstack.network.abha.profile_view import preferred_address
from healthstack.settings import StateProfile
from healthstack.web.deps import OptionalStaff
from healthstack.web.forms import Number, OtpField, Text16, Text64
from healthstack.web.pages import Page, Problem, browser_flow, same_origin
from healthstack.web.timefmt import today_ist

# The self-enrolment actor's id: one browser, one enrolment at a time.
FLOW_COOKIE = "hs_enrol"

_PINCODE = re.compile(r"^[1-9]\d{5}$")


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


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
            **self.pg.countdown(state),
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
            **self.pg.countdown(state),
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
            gender=gender_label(account.gender),
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
        return self.otp_page(state, message=self.pg.resent(state, sent.message), mobile=mobile)

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
            pg.cookies.append(patient_cookie(result.tokens.token, result.tokens.expires_in))
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
    gate = desk_gate(pg, staff, ("abha.enrol",), what="create ABHAs", start=DESK_FLOW.prefix)
    if isinstance(gate, Response):
        return gate
    return Enrol(pg, pg.ctx(gate, Purpose.ENROLMENT), DESK_FLOW)


def _self_enrol(pg: Page, staff: Actor | None, starting: bool) -> Enrol | Response:
    """The resident enrolling themselves: anonymous, but bound to one browser."""
    nonce, lost = browser_flow(pg, FLOW_COOKIE, SELF_FLOW.prefix)
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
    form: DemographicForm, *, profile: StateProfile, consent_version: str, today: date
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
    if district not in profile.district_codes:
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
        districts=pg.runtime.settings.profile.district_choices(),
        state_name=pg.runtime.settings.profile.state_name,
        today=today_ist(pg.runtime.clock.now()).isoformat(),
    )


def _camp(pg: Page, staff: Actor | None) -> Actor | Response:
    what = "enrol by demographic details (camp mode)"
    return desk_gate(pg, staff, ("abha.enrol_demographic",), what=what, start="/desk/demographic")


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
    errors, checked = check_demographic_form(
        form, profile=pg.runtime.settings.profile, consent_version=version, today=today
    )
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
            state_lgd=pg.runtime.settings.profile.state_lgd,
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


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
