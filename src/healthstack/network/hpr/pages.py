"""Server-rendered HPR pages. Thin: every step calls the services directly.

- ``/hpr/register``: a professional registers themselves. Steps: consent and Aadhaar,
  the Aadhaar OTP (and the OTP of another mobile, when they give one), the professional
  details (type, council registration, qualifications, work places), the HPR address,
  done (HPR id, address, "waiting for verification"). The flow is anonymous but bound
  to the browser: the actor id is a keyed hash of a random HttpOnly cookie
  (``hs_hpr``, path ``/hpr/register``), so a txnId read off one screen is of no use
  in another browser. The details wait with the transaction (``save_details``).
- ``/registry/professionals``: the list (``professional.read``, scoped by the service),
  filters in the query string, paginated; ``/registry/professionals/{hpr_id}`` the
  record with its history and, for ``professional.verify``, the verify / reject forms
  (post, then redirect back with a notice).

No personal data in URLs: GET paths carry HPR ids (a professional's public registry
number) and filter codes only; everything typed is posted. A form posted from another
site is refused (Origin check), on top of SameSite cookies. An error a page shows
beside its form is absorbed (``Page.problem``): rolled back (a counted OTP try kept)
with its failure audit rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.accounts.permissions import allowed
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import DomainError, OtpError, ValidationFailed
from healthstack.kernel.ids import mask_mobile, parse_hfr_id
from healthstack.network.hpr import registration, verification
from healthstack.network.hpr.address import SUFFIX, HprAddressTaken, full_address
from healthstack.network.hpr.credentials import (
    DetailsInput,
    QualificationInput,
    WorkplaceInput,
)
from healthstack.network.hpr.enums import (
    COUNCILS,
    ROLES,
    SECTOR_LABELS,
    STATUS_LABELS,
    SUBCATEGORIES,
    Category,
    Status,
    council_name,
    role_label,
    subcategory_label,
)
from healthstack.network.hpr.numbers import format_hpr_id
from healthstack.network.hpr.parts import RegistrationParts
from healthstack.network.hpr.service import (
    ProfessionalFilter,
    get_professional,
    history,
    list_professionals,
)
from healthstack.settings import StateProfile
from healthstack.web.deps import OptionalStaff
from healthstack.web.forms import Number, OtpField, Text16, Text64, cut, too_long
from healthstack.web.pages import (
    Page,
    Problem,
    browser_flow,
    otp_flow_message,
    page_with,
    same_origin,
    staff_gate,
)

FLOW_COOKIE = "hs_hpr"
PREFIX = "/hpr/register"
REGISTRY = "/registry/professionals"
PAGE_SIZE = 25
# Rows the details form offers (more can be added later by an edit).
FORM_QUALIFICATIONS = 2
FORM_WORKPLACES = 2


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])

_LINE = re.compile(r"^(workplaces|qualifications)\[(\d+)\]")


def hpr_message(exc: DomainError) -> str:
    """The error as these pages tell it (the services also speak to API clients)."""
    if exc.code == "HS-1744":
        return "Verify the Aadhaar OTP first; this page was opened out of order. Start again."
    if exc.field == "txnId" and not isinstance(exc, OtpError):
        return "This form is out of date or was opened out of order. Start again."
    line = _LINE.match(exc.field or "")
    if line:  # the form has several lines of these: say which one
        what = "Work place" if line.group(1) == "workplaces" else "Qualification"
        return f"{what} {int(line.group(2)) + 1}: {otp_flow_message(exc)}"
    return otp_flow_message(exc)


# The page of every HPR page route.
PageDep = Annotated[Page, Depends(page_with(hpr_message))]


# --------------------------------------------------------------------------- choices


def _type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(group label, [(category:subcategory, label)]) for the one "type" select."""
    labels = {Category.DOCTOR: "Doctor", Category.NURSE: "Nurse", Category.OTHER: "Other"}
    return [
        (labels[cat], [(f"{cat.value}:{code}", label) for code, label in subs.items()])
        for cat, subs in SUBCATEGORIES.items()
    ]


def _role_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    labels = {Category.DOCTOR: "Doctors", Category.NURSE: "Nurses", Category.OTHER: "Others"}
    return [(labels[cat], list(roles.items())) for cat, roles in ROLES.items()]


CHOICES = {
    "types": _type_choices(),
    "councils": [(c.code, c.name) for c in COUNCILS.values()],
    "roles": _role_choices(),
    "sectors": [(s.value, label) for s, label in SECTOR_LABELS.items()],
}


# --------------------------------------------------------------------------- self-registration


@dataclass
class FlowState:
    """The hidden fields a registration carries from step to step (nothing secret)."""

    txn_id: str = ""
    resend_at: int = 0
    resends: int = 0
    mobile_txn_id: str = ""


def _state(
    txn_id: Text64 = "", resend_at: Number = 0, resends: Number = 0, mobile_txn_id: Text64 = ""
) -> FlowState:
    return FlowState(txn_id, resend_at, resends, mobile_txn_id)


StateForm = Annotated[FlowState, Depends(_state)]


@dataclass
class DetailsForm:
    """The details step as typed (kept on error)."""

    kind: str = ""  # "category:subcategory"
    council: str = ""
    registration_number: str = ""
    registration_year: str = ""
    qualifications: list[dict[str, str]] = field(default_factory=list)
    workplaces: list[dict[str, str]] = field(default_factory=list)
    # over-long input, shown on the form (web.forms); never saved
    problem: ValidationFailed | None = field(default=None, repr=False, compare=False)

    def padded(self) -> DetailsForm:
        quals = self.qualifications + [{"degree": "", "university": "", "year": ""}] * (
            FORM_QUALIFICATIONS - len(self.qualifications)
        )
        places = self.workplaces + [{"hfr_id": "", "role": "", "sector": ""}] * (
            FORM_WORKPLACES - len(self.workplaces)
        )
        return DetailsForm(
            self.kind,
            self.council,
            self.registration_number,
            self.registration_year,
            quals[:FORM_QUALIFICATIONS],
            places[:FORM_WORKPLACES],
            self.problem,
        )


# What the details form calls the fields that can be typed too long.
DETAIL_LABELS = {
    "registration_number": "The registration number",
    **{f"q{i}_degree": f"Degree {i + 1}" for i in range(FORM_QUALIFICATIONS)},
    **{f"q{i}_university": f"University {i + 1}" for i in range(FORM_QUALIFICATIONS)},
    **{f"w{i}_hfr_id": f"Work place {i + 1}" for i in range(FORM_WORKPLACES)},
}


async def _details_form(request: Request) -> DetailsForm:
    form = await request.form()
    typed: dict[str, str] = {}

    def get(name: str, limit: int = 128) -> str:
        # Kept as typed, over-long or not (web.forms): the form shows it again.
        value = form.get(name, "")
        typed[name] = cut(value.strip(), limit) if isinstance(value, str) else ""
        return typed[name]

    quals = [
        {k: get(f"q{i}_{k}") for k in ("degree", "university", "year")}
        for i in range(FORM_QUALIFICATIONS)
    ]
    places = [
        {k: get(f"w{i}_{k}", 32) for k in ("hfr_id", "role", "sector")}
        for i in range(FORM_WORKPLACES)
    ]
    return DetailsForm(
        kind=get("kind", 48),
        council=get("council", 8),
        registration_number=get("registration_number", 40),
        registration_year=get("registration_year", 8),
        qualifications=[q for q in quals if any(q.values())],
        workplaces=[w for w in places if any(w.values())],
        problem=too_long(typed, DETAIL_LABELS),
    )


DetailsFormDep = Annotated[DetailsForm, Depends(_details_form)]


def _year(raw: str, field_name: str) -> int:
    if not re.fullmatch(r"\d{4}", raw or ""):
        raise ValidationFailed(
            "Enter the year with four digits, for example 2012.", field=field_name, code="HS-1706"
        )
    return int(raw)


def details_input(form: DetailsForm) -> DetailsInput:
    """What the service checks, from the form (the form's own rules first)."""
    if form.problem is not None:
        raise form.problem
    category, _, subcategory = form.kind.partition(":")
    if not subcategory:
        raise ValidationFailed(
            "Choose what kind of professional you are (doctor, nurse or other, and the "
            "branch or cadre).",
            field="subcategory",
            code="HS-1702",
        )
    return DetailsInput(
        category=category,
        subcategory=subcategory,
        council=form.council,
        registration_number=form.registration_number,
        registration_year=_year(form.registration_year, "registration_year"),
        qualifications=tuple(
            QualificationInput(
                q["degree"], q["university"], _year(q["year"], f"qualifications[{i}].year")
            )
            for i, q in enumerate(form.qualifications)
        ),
        workplaces=tuple(
            WorkplaceInput(w["hfr_id"], w["role"], w["sector"]) for w in form.workplaces
        ),
    )


def _form_from(details: DetailsInput | None) -> DetailsForm:
    if details is None:
        return DetailsForm()
    return DetailsForm(
        kind=f"{details.category}:{details.subcategory}",
        council=details.council,
        registration_number=details.registration_number,
        registration_year=str(details.registration_year),
        qualifications=[
            {"degree": q.degree, "university": q.university, "year": str(q.year)}
            for q in details.qualifications
        ],
        workplaces=[
            {"hfr_id": w.hfr_id, "role": w.role, "sector": w.sector} for w in details.workplaces
        ],
    )


@dataclass
class SelfRegistration:
    """The steps of a self-registration, for the browser's anonymous actor."""

    pg: Page
    ctx: RequestContext

    def show(
        self, template: str, *, error: Problem = None, status: int | None = None, **ctx: Any
    ) -> Response:
        return self.pg.show(template, error=error, status=status, prefix=PREFIX, **ctx)

    # ------------------------------------------------------------------ screens
    def start_page(self, *, error: Problem = None, aadhaar: str = "") -> Response:
        return self.show("professionals/register_start.html", error=error, aadhaar=aadhaar)

    def otp_page(
        self,
        state: FlowState,
        *,
        message: str | None = None,
        error: Problem = None,
        mobile: str = "",
    ) -> Response:
        return self.show(
            "professionals/register_otp.html",
            error=error,
            state=state,
            message=message,
            mobile=mobile,
            **self.pg.countdown(state),
        )

    def mobile_page(
        self,
        state: FlowState,
        *,
        message: str | None = None,
        error: Problem = None,
    ) -> Response:
        return self.show(
            "professionals/register_mobile.html",
            error=error,
            state=state,
            message=message,
            **self.pg.countdown(state),
        )

    def details_page(
        self,
        state: FlowState,
        *,
        form: DetailsForm | None = None,
        notice: str | None = None,
        error: Problem = None,
    ) -> Response:
        if form is None:
            try:
                kept = registration.saved_details(
                    self.pg.session,
                    self.ctx,
                    txn_id=state.txn_id,
                    parts=RegistrationParts.of(self.pg.runtime),
                )
            except DomainError as exc:
                return self.start_page(error=exc)
            form = _form_from(kept)
        return self.show(
            "professionals/register_details.html",
            error=error,
            state=state,
            form=form.padded(),
            notice=notice,
            choices=CHOICES,
            this_year=self.pg.runtime.clock.now().year,
        )

    def address_page(
        self,
        state: FlowState,
        *,
        error: Problem = None,
        choice: str = "",
        custom: str = "",
        offered: list[str] | None = None,
    ) -> Response:
        message, status = self.pg.problem(error)  # absorbed before the next query
        if not offered:
            try:
                offered = registration.address_suggestions(
                    self.pg.session,
                    self.ctx,
                    txn_id=state.txn_id,
                    parts=RegistrationParts.of(self.pg.runtime),
                )
            except DomainError as exc:
                return self.start_page(error=exc)
        return self.show(
            "professionals/register_address.html",
            error=message,
            status=status,
            state=state,
            suggestions=offered,
            suffix=SUFFIX,
            choice=choice,
            custom=custom,
        )

    # ------------------------------------------------------------------ steps
    def send_otp(self, consent: str, aadhaar: str) -> Response:
        if consent != "yes":
            return self.start_page(
                aadhaar=aadhaar,
                error="Tick the consent box: HPR uses your Aadhaar only to confirm who you are, "
                "and needs your agreement for it.",
            )
        try:
            sent = registration.request_otp(
                self.pg.session,
                self.ctx,
                aadhaar=aadhaar,
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.start_page(error=exc, aadhaar=aadhaar)
        return self.otp_page(FlowState(sent.txn_id, self.pg.resend_at), message=sent.message)

    def resend_otp(self, state: FlowState, mobile: str) -> Response:
        try:
            sent = registration.request_otp(
                self.pg.session,
                self.ctx,
                aadhaar=None,
                txn_id=state.txn_id,
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.otp_page(state, error=exc, mobile=mobile)
        return self.otp_page(state, message=self.pg.resent(state, sent.message), mobile=mobile)

    def verify_otp(self, state: FlowState, otp: str, mobile: str) -> Response:
        pg = self.pg
        try:
            done = registration.verify_otp(
                pg.session,
                self.ctx,
                txn_id=state.txn_id,
                otp=otp,
                parts=RegistrationParts.of(pg.runtime),
            )
        except DomainError as exc:
            return self.otp_page(state, error=exc, mobile=mobile)
        notice = f"Welcome, {done.name}. Your Aadhaar is verified."
        if mobile.strip():
            pg.session.commit()  # the identity step stands whatever the mobile step says
            return self.send_mobile_otp(state, mobile.strip())
        return self.details_page(state, notice=notice)

    def send_mobile_otp(self, state: FlowState, mobile: str | None) -> Response:
        resend = bool(state.mobile_txn_id)
        try:
            sent = registration.request_mobile_otp(
                self.pg.session,
                self.ctx,
                txn_id=state.mobile_txn_id or state.txn_id,
                mobile=None if resend else mobile,
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            if resend:
                return self.mobile_page(state, error=exc)
            if exc.code == "HS-1746":  # the Aadhaar mobile itself: already verified
                self.pg.problem(exc)
                return self.details_page(state, notice="Your Aadhaar is verified.")
            return self.details_page(
                state,
                error=f"{hpr_message(exc)} The mobile registered with Aadhaar is used instead; "
                "it can be changed later.",
            )
        state.mobile_txn_id = sent.txn_id
        state.resends = state.resends + 1 if resend else 0
        state.resend_at = self.pg.resend_at
        return self.mobile_page(state, message=sent.message)

    def verify_mobile(self, state: FlowState, otp: str) -> Response:
        try:
            done = registration.verify_mobile_otp(
                self.pg.session,
                self.ctx,
                txn_id=state.mobile_txn_id,
                otp=otp,
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.mobile_page(state, error=exc)
        return self.details_page(state, notice=done.message)

    def save_details(self, state: FlowState, form: DetailsForm) -> Response:
        try:
            registration.save_details(
                self.pg.session,
                self.ctx,
                txn_id=state.txn_id,
                details=details_input(form),
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except DomainError as exc:
            return self.details_page(state, form=form, error=exc)
        return self.address_page(state)

    def choose_address(self, state: FlowState, choice: str, custom: str) -> Response:
        own = choice == "custom" or (not choice and custom.strip() != "")
        wanted = (custom if own else choice).strip()
        if not wanted:
            return self.address_page(
                state,
                error="Choose one of the suggested HPR addresses, or type your own.",
                choice=choice,
                custom=custom,
            )
        try:
            professional = registration.complete_registration(
                self.pg.session,
                self.ctx,
                txn_id=state.txn_id,
                hpr_address=wanted,
                parts=RegistrationParts.of(self.pg.runtime),
            )
        except HprAddressTaken as exc:
            return self.address_page(
                state,
                error=exc,
                choice="custom" if own else "",
                custom=custom,
                offered=exc.suggestions,
            )
        except DomainError as exc:
            if exc.field in ("hpr_address", None):
                return self.address_page(state, error=exc, choice=choice, custom=custom)
            return self.details_page(state, error=exc)
        return self.show(
            "professionals/register_done.html",
            hpr_id=format_hpr_id(professional.hpr_id),
            hpr_address=full_address(professional.hpr_handle),
            name=professional.name,
            kind=subcategory_label(professional.category, professional.subcategory),
            council=council_name(professional.council),
            mobile=mask_mobile(professional.mobile),
        )


def _self(pg: Page, starting: bool) -> SelfRegistration | Response:
    nonce, lost = browser_flow(pg, FLOW_COOKIE, PREFIX, registration.new_flow_token)
    flow = SelfRegistration(
        pg, pg.ctx(registration.flow_actor(nonce, hasher=pg.runtime.hasher), Purpose.ENROLMENT)
    )
    if lost and not starting:
        return flow.start_page(
            error="This browser did not keep the registration's cookie, so it cannot go on. "
            "Allow cookies for this site and start again."
        )
    return flow


@router.get(PREFIX, response_class=HTMLResponse, response_model=None)
def register_start(pg: PageDep) -> Response:
    flow = _self(pg, True)
    return flow if isinstance(flow, Response) else flow.start_page()


@posts.post(f"{PREFIX}/otp", response_class=HTMLResponse, response_model=None)
def register_otp(
    pg: PageDep, consent: Text16 = "", aadhaar: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    flow = _self(pg, True)
    return flow if isinstance(flow, Response) else flow.send_otp(consent, aadhaar)


@posts.post(f"{PREFIX}/resend", response_class=HTMLResponse, response_model=None)
def register_resend(pg: PageDep, state: StateForm, comm_mobile: Text16 = "") -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.resend_otp(state, comm_mobile)


@posts.post(f"{PREFIX}/verify", response_class=HTMLResponse, response_model=None)
def register_verify(
    pg: PageDep, state: StateForm, otp: OtpField = "", comm_mobile: Text16 = ""
) -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.verify_otp(state, otp, comm_mobile)


@posts.post(f"{PREFIX}/mobile/resend", response_class=HTMLResponse, response_model=None)
def register_mobile_resend(pg: PageDep, state: StateForm) -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.send_mobile_otp(state, None)


@posts.post(f"{PREFIX}/mobile/verify", response_class=HTMLResponse, response_model=None)
def register_mobile_verify(pg: PageDep, state: StateForm, otp: OtpField = "") -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.verify_mobile(state, otp)


@posts.post(f"{PREFIX}/mobile/later", response_class=HTMLResponse, response_model=None)
def register_mobile_later(pg: PageDep, state: StateForm) -> Response:
    flow = _self(pg, False)
    notice = "The mobile registered with Aadhaar is used for HPR messages."
    return flow if isinstance(flow, Response) else flow.details_page(state, notice=notice)


@posts.post(f"{PREFIX}/details", response_class=HTMLResponse, response_model=None)
def register_details(pg: PageDep, state: StateForm, form: DetailsFormDep) -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.save_details(state, form)


@posts.post(f"{PREFIX}/address", response_class=HTMLResponse, response_model=None)
def register_address(
    pg: PageDep, state: StateForm, choice: Text64 = "", custom: Text64 = ""
) -> Response:
    flow = _self(pg, False)
    return flow if isinstance(flow, Response) else flow.choose_address(state, choice, custom)


# --------------------------------------------------------------------------- registry


_ASK = "Ask the state admin for the registry verifier role, or log in with another account."


def _gate(pg: Page, staff: Actor | None, permission: str, start: str) -> Actor | Response:
    """The staff member when ``permission`` is theirs; else the login redirect or 403."""
    what = "open the professional registry"
    gate = staff_gate(pg.request, staff, permission, what=what, back=start, ask=_ASK)
    if isinstance(gate, Actor):
        pg.base = {"staff": gate, "can_verify": allowed(gate, "professional.verify")}
    return gate


def _list_url(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return REGISTRY + (f"?{urlencode(clean)}" if clean else "")


@router.get(REGISTRY, response_class=HTMLResponse, response_model=None)
def registry_list(
    pg: PageDep,
    staff: OptionalStaff,
    category: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    district: Annotated[str, Query(max_length=8)] = "",
    facility: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    gate = _gate(pg, staff, "professional.read", REGISTRY)
    if isinstance(gate, Response):
        return gate
    filters = {"category": category, "status": status, "district": district, "facility": facility}
    try:
        district_lgd = int(district) if district else None
        if district and not district.isdigit():
            raise ValueError
        hfr_id = parse_hfr_id(facility) if facility else None
        found = list_professionals(
            pg.session,
            pg.ctx(gate, Purpose.ADMINISTRATION),
            clock=pg.runtime.clock,
            filters=ProfessionalFilter(
                category=category or None,
                status=status or None,
                district_lgd=district_lgd,
                hfr_id=hfr_id,
            ),
            page=page,
            page_size=PAGE_SIZE,
        )
    except ValueError:
        return pg.show(
            "professionals/list.html",
            error="Choose a district from the list.",
            **_list_context(pg.runtime.settings.profile, filters, None, page),
        )
    except DomainError as exc:
        return pg.show(
            "professionals/list.html",
            error=exc,
            **_list_context(pg.runtime.settings.profile, filters, None, page),
        )
    return pg.show(
        "professionals/list.html",
        **_list_context(pg.runtime.settings.profile, filters, found, page),
    )


def _list_context(
    profile: StateProfile, filters: dict[str, str], found: Any, page: int
) -> dict[str, Any]:
    rows = []
    pages = 1
    total = 0
    if found is not None:
        total = found.total
        pages = max(1, -(-found.total // found.page_size))
        for p in found.items:
            first = p.workplaces[0] if p.workplaces else None
            rows.append(
                {
                    "hpr_id": p.hpr_id,
                    "hpr_id_display": format_hpr_id(p.hpr_id),
                    "name": p.name,
                    "kind": subcategory_label(p.category, p.subcategory),
                    "category": p.category,
                    "council": p.council,
                    "registration_number": p.registration_number,
                    "status": p.status,
                    "facility": first.hfr_id if first else "",
                    "district": (profile.district_name(first.district_lgd) or "") if first else "",
                }
            )
    return {
        "filters": filters,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "prev_url": _list_url(**filters, page=page - 1) if page > 1 else None,
        "next_url": _list_url(**filters, page=page + 1) if page < pages else None,
        "districts": profile.district_choices(),
        "categories": [c.value for c in Category],
        "statuses": [(s.value, STATUS_LABELS[s]) for s in Status],
        "status_labels": {s.value: STATUS_LABELS[s] for s in Status},
    }


def _detail(
    pg: Page,
    ctx: RequestContext,
    hpr_id: str,
    *,
    notice: str | None = None,
    error: Problem = None,
    reason: str = "",
) -> Response:
    message, status = pg.problem(error)
    try:
        professional = get_professional(pg.session, ctx, hpr_id=hpr_id, clock=pg.runtime.clock)
        _, versions = history(pg.session, ctx=ctx, hpr_id=hpr_id, clock=pg.runtime.clock)
    except DomainError as exc:
        return pg.error_page(exc)
    p = professional
    return pg.show(
        "professionals/detail.html",
        error=message,
        status=status,
        notice=notice,
        reason=reason,
        p=p,
        hpr_id_display=format_hpr_id(p.hpr_id),
        hpr_address=full_address(p.hpr_handle),
        mobile=mask_mobile(p.mobile),
        kind=subcategory_label(p.category, p.subcategory),
        council=council_name(p.council),
        status_label=STATUS_LABELS[Status(p.status)],
        workplaces=[
            {
                "hfr_id": w.hfr_id,
                "role": role_label(p.category, w.role),
                "sector": SECTOR_LABELS.get(w.sector, w.sector),  # type: ignore[call-overload]
                "district": pg.runtime.settings.profile.district_name(w.district_lgd) or "",
            }
            for w in p.workplaces
        ],
        versions=list(reversed(versions)),
        decidable=p.status == Status.SUBMITTED.value,
    )


_NOTICES = {
    "verified": "The professional is verified.",
    "rejected": "The registration is rejected; the professional sees the reason.",
}


@router.get(f"{REGISTRY}/{{hpr_id}}", response_class=HTMLResponse, response_model=None)
def registry_detail(
    hpr_id: str,
    pg: PageDep,
    staff: OptionalStaff,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    gate = _gate(pg, staff, "professional.read", f"{REGISTRY}/{hpr_id}")
    if isinstance(gate, Response):
        return gate
    return _detail(pg, pg.ctx(gate, Purpose.ADMINISTRATION), hpr_id, notice=_NOTICES.get(done))


@posts.post(f"{REGISTRY}/{{hpr_id}}/verify", response_class=HTMLResponse, response_model=None)
def registry_verify(hpr_id: str, pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _gate(pg, staff, "professional.verify", f"{REGISTRY}/{hpr_id}")
    if isinstance(gate, Response):
        return gate
    ctx = pg.ctx(gate, Purpose.ADMINISTRATION)
    try:
        professional = verification.verify_professional(
            pg.session, ctx, hpr_id=hpr_id, clock=pg.runtime.clock
        )
    except DomainError as exc:
        return _detail(pg, ctx, hpr_id, error=exc)
    return RedirectResponse(f"{REGISTRY}/{professional.hpr_id}?done=verified", status_code=303)


@posts.post(f"{REGISTRY}/{{hpr_id}}/reject", response_class=HTMLResponse, response_model=None)
def registry_reject(
    hpr_id: str,
    pg: PageDep,
    staff: OptionalStaff,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    gate = _gate(pg, staff, "professional.verify", f"{REGISTRY}/{hpr_id}")
    if isinstance(gate, Response):
        return gate
    ctx = pg.ctx(gate, Purpose.ADMINISTRATION)
    try:
        professional = verification.reject_professional(
            pg.session, ctx, hpr_id=hpr_id, reason=reason, clock=pg.runtime.clock
        )
    except DomainError as exc:
        return _detail(pg, ctx, hpr_id, error=exc, reason=reason)
    return RedirectResponse(f"{REGISTRY}/{professional.hpr_id}?done=rejected", status_code=303)


router.include_router(posts)
