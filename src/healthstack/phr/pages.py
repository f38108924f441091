"""The PHR pages: what an ABHA holder uses in the browser, at ``/phr`` (the consent
manager's SMS deep link points here). Server-rendered; a small script of our own
(``/static/phr.js``) filters the facility list and polls while a facility answers, and
every page works without it.

- ``/phr``: linked facilities and their records (display text only), how many consent
  requests wait, and the way to link more;
- ``/phr/link`` → ``/phr/link/{transaction}``: choose a facility (search by name, an
  optional hospital record number) → wait for its answer → tick the records found →
  the facility sends a code by SMS → enter it → linked;
- ``/phr/consents`` (tabs: waiting, granted, denied, revoked or expired) and
  ``/phr/consents/{id}``: who asks, why, for what and for how long; approve (narrowing
  facilities, record types, dates and expiry), deny, and revoke what was granted, each
  after a confirmation page.

Thin: every read and write goes through ``phr.service`` with the holder's own
``RequestContext`` (those services audit and keep each patient to their own: another
patient's id is 'not found' and gets the 404 page). The holder is the ABHA whose user
token the ``hs_patient`` cookie carries (set by the patient login); without it a page
sends the browser to ``/patient/login``. Every form post is refused from another site
(``same_origin``). URLs carry opaque ids only (transaction and consent UUIDs, HFR ids);
a hospital record number or an OTP is always posted.

Dates: ABDM's are UTC instants; the pages show and take calendar days in IST. A date
left as shown means "as asked" (the request's own instant); a changed start is the
start of that day, a changed end or expiry the end of it, so a narrowed day never
widens by the hours between UTC and IST. Widening is the service's to refuse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.facility.records import hiu
from healthstack.kernel.audit import absorb
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import DomainError, NotFound, ValidationFailed
from healthstack.kernel.ids import mask_mobile
from healthstack.network.abha import profile
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.patient.session import (
    holder_context,
    household_choices,
    signed_in,
)
from healthstack.network.consent import exceptions as cx
from healthstack.network.consent import pin as pins
from healthstack.network.consent.enums import OPEN_STEPS, LinkStep
from healthstack.network.consent.protocol import hip_name
from healthstack.phr import own_records
from healthstack.phr import service as phr
from healthstack.phr.dependencies import PhrParts
from healthstack.protocol.fhir.documents.view import attachment_content
from healthstack.runtime import Runtime
from healthstack.web.deps import AFTER_LOGIN_COOKIE, PATIENT_COOKIE
from healthstack.web.forms import Text16, Text64
from healthstack.web.pages import Page, PageDep, attachment_file, render, resent_notice, same_origin
from healthstack.web.timefmt import local_date, local_time, today_ist

router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])

LOGIN = "/patient/login"
IST = timedelta(hours=5, minutes=30)
# Without a search, the facility list shows this many (a state has thousands).
FACILITY_PAGE = 100
# The HIP's code when its link request is gone (expired, used, or locked after wrong
# codes): HealthStack's own HIP sends it (records.exceptions); another HIP may not.
HIP_LINK_CLOSED = "ABDM-1312"

HI_TYPE_LABELS = {
    "OPConsultation": "OP consultation notes",
    "Prescription": "Prescriptions",
    "DiagnosticReport": "Lab and imaging reports",
    "DischargeSummary": "Discharge summaries",
    "ImmunizationRecord": "Vaccinations",
    "HealthDocumentRecord": "Scanned health documents",
    "WellnessRecord": "Wellness records (vitals, lifestyle)",
    "Invoice": "Bills and invoices",
}
# ABDM's purpose codes as a patient would say them.
PURPOSE_WORDS = {
    "CAREMGT": "To treat you (care management)",
    "BTG": "Emergency access (break the glass)",
    "PUBHLTH": "Public health",
    "HPAYMT": "Payment for your care (insurance or a health scheme)",
    "DSRCH": "Research on a disease",
    "PATRQT": "Your own request",
}
STATUS_WORDS = {
    "REQUESTED": "waiting for you",
    "GRANTED": "granted",
    "DENIED": "denied",
    "REVOKED": "revoked",
    "EXPIRED": "expired",
}
# A fetch of one's own records (the PHR's HIU request), by its status.
FETCH_WORDS = {
    **STATUS_WORDS,
    "REQUESTED": "asking",
    "GRANTED": "fetched",
    "ERRORED": "not possible",
}
# The consent tabs: (key, label, the statuses it lists).
TABS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pending", "Waiting for you", ("REQUESTED",)),
    ("granted", "Granted", ("GRANTED",)),
    ("denied", "Denied", ("DENIED",)),
    ("ended", "Revoked or expired", ("REVOKED", "EXPIRED")),
)
LINK_STEPS = ("Choose the facility", "Find your records", "Choose records", "Enter the code")
_STEP_NUMBER = {
    LinkStep.DISCOVERING: 2,
    LinkStep.NOT_FOUND: 2,
    LinkStep.FOUND: 3,
    LinkStep.INITIATING: 3,
    LinkStep.OTP_SENT: 4,
    LinkStep.CONFIRMING: 4,
    LinkStep.FAILED: 4,
    LinkStep.LINKED: 5,
}


# --------------------------------------------------------------------------- dates


def _instant(value: str | None) -> datetime | None:
    """An ABDM timestamp from a ``phr.service`` view (``...000Z``) as a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _ist_date(value: datetime) -> date:
    return today_ist(value)


def day(value: str | datetime | None) -> str:
    at = _instant(value) if isinstance(value, str) or value is None else value
    return local_date(at)


def when(value: str | datetime | None) -> str:
    at = _instant(value) if isinstance(value, str) or value is None else value
    return local_time(at)


def _form_day(value: str | None) -> str:
    """An instant as an ``<input type=date>`` value (the IST day)."""
    at = _instant(value)
    return _ist_date(at).isoformat() if at else ""


def _start_of(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC) - IST


def _end_of(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59), tzinfo=UTC) - IST


def _picked(raw: str, asked: str | None, label: str, field: str) -> date | None:
    """The day typed in a date field, or None when it is the day shown (as asked)."""
    raw = raw.strip()
    if not raw or raw == _form_day(asked):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"Give the {label} as a date (day, month and year), or leave it as it was.",
            field=field,
        ) from None


# --------------------------------------------------------------------------- the holder


@dataclass
class Holder:
    """The logged-in ABHA holder on one request, and how their pages render."""

    pg: Page
    account: AbhaAccount

    @property
    def session(self) -> Session:
        return self.pg.session

    @property
    def runtime(self) -> Runtime:
        return self.pg.runtime

    @cached_property
    def ctx(self) -> RequestContext:
        """One context per request: its audit rows share the request id."""
        return holder_context(self.pg, self.account)

    def show(
        self,
        template: str,
        *,
        error: DomainError | str | None = None,
        status: int | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render ``template``; an ``error`` goes in the page's alert and sets the status
        (a domain error should have been ``absorb``-ed before the page's data was read)."""
        if isinstance(error, DomainError):
            message: str | None = page_message(error)
            status = status or error.status_hint
        else:
            message = error
            status = status or (400 if error else 200)
        return render(
            self.pg.request,
            template,
            status_code=status,
            error=message,
            day=day,
            when=when,
            hi_labels=HI_TYPE_LABELS,
            purpose_words=PURPOSE_WORDS,
            status_words=STATUS_WORDS,
            **self.pg.base,
            **context,
        )

    def otp_page(
        self,
        template: str,
        *,
        txn_id: str = "",
        message: str | None = None,
        error: DomainError | str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page of a change the holder confirms with an OTP sent to their verified
        mobile (shown masked): asking for it, then entering it (``txn_id``)."""
        mobile = self.account.mobile if self.account.mobile_verified else None
        return self.show(
            template,
            error=error,
            notice=message,
            txn_id=txn_id,
            mobile=mask_mobile(mobile) if mobile else None,
            **context,
        )

    def not_found(self, exc: DomainError) -> HTMLResponse:
        """The error page (404 for another patient's id: its existence is not told)."""
        return self.show(
            "error.html", status=exc.status_hint, code=exc.code, message=page_message(exc)
        )


def _holder(pg: Page) -> Holder | None:
    """The holder the ``hs_patient`` cookie names (ACTIVE), as the ABHA pages see them."""
    account = signed_in(pg)
    return Holder(pg, account) if account is not None else None


def _to_login(pg: Page) -> RedirectResponse:
    """To the patient login, which brings the holder back to this page (a GET)."""
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(PATIENT_COOKIE, path="/")
    url = pg.request.url
    back = url.path + (f"?{url.query}" if url.query else "")
    if pg.request.method == "GET" and len(back) <= 200:
        response.set_cookie(
            AFTER_LOGIN_COOKIE,
            back,
            max_age=900,
            path=LOGIN,
            httponly=True,
            samesite="lax",
            secure=pg.runtime.settings.base_url.startswith("https"),
        )
    return response


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# Service messages reworded for the person at the screen: (code, page text).
_WORDING: dict[str, str] = {
    cx.NOT_PENDING: "This request is no longer waiting for you: it was already answered or "
    "has expired. Its status is shown below.",
    cx.NOT_REVOCABLE: "There is nothing left to revoke here: this consent was denied, already "
    "revoked, or has expired.",
    "HS-1255": "Your ABHA has no verified mobile to send the OTP to. Add and verify a "
    "mobile on “My ABHA” first.",
    cx.WRONG_STEP: "This step is already over. Look at where the linking stands below, or "
    "start again from “Link records from a facility”.",
}


def page_message(exc: DomainError) -> str:
    if exc.code in _WORDING:
        return _WORDING[exc.code]
    if isinstance(exc, NotFound) and exc.field == "consentRequestId":
        return (
            "There is no such consent request among yours. Open “Consents” to see the "
            "requests made to you."
        )
    if isinstance(exc, NotFound) and exc.field == "consentIds":
        return "That consent is not part of this request. Open the request again and choose one."
    return exc.message


# Form fields.
Ids = Annotated[list[str] | None, Form(max_length=64)]


# --------------------------------------------------------------------------- home


@router.get("/phr", response_class=HTMLResponse, response_model=None)
def phr_home(pg: PageDep) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    clock = me.runtime.clock
    linked = phr.linked_facilities(me.session, me.ctx, account=me.account, clock=clock)
    pending = phr.consent_list(
        me.session, me.ctx, account=me.account, status="REQUESTED", clock=clock
    )
    return me.show(
        "phr/home.html",
        linked=linked,
        pending=pending,
        household=household_choices(me.pg, me.account),
    )


# --------------------------------------------------------------------------- discover and link


def _facility_page(
    me: Holder,
    *,
    q: str = "",
    hip: str = "",
    record_number: str = "",
    error: DomainError | str | None = None,
) -> HTMLResponse:
    everything = phr.list_facilities(me.session)
    needle = " ".join(q.split()).casefold()
    found = [f for f in everything if needle in (f["name"] or "").casefold()]
    shown = found if needle else found[:FACILITY_PAGE]
    chosen = next((f for f in everything if f["id"] == hip), None)
    if chosen is not None and chosen not in shown:
        shown = [chosen, *shown]
    return me.show(
        "phr/link.html",
        error=error,
        facilities=shown,
        total=len(everything),
        matched=len(found),
        q=q,
        hip=hip,
        record_number=record_number,
        steps=LINK_STEPS,
    )


@router.get("/phr/link", response_class=HTMLResponse, response_model=None)
def link_start(pg: PageDep, q: str = "", hip: str = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _facility_page(me, q=q[:80], hip=hip[:32])


@posts.post("/phr/link", response_class=HTMLResponse, response_model=None)
def link_discover(
    pg: PageDep,
    hip: Annotated[str, Form(max_length=32)] = "",
    record_number: Text64 = "",
    q: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    if not hip.strip():
        return _facility_page(
            me,
            q=q,
            record_number=record_number,
            error="Choose the facility where you were treated, then press “Find my records”.",
        )
    try:
        p = PhrParts.of(me.runtime)
        view = phr.discover(
            me.session,
            me.ctx,
            account=me.account,
            hip_id=hip,
            record_number=record_number or None,
            clock=p.clock,
            sender=p.sender,
            cm_id=p.cm_id,
            settings=p.consent,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _facility_page(me, q=q, hip=hip, record_number=record_number, error=exc)
    return _see(f"/phr/link/{view['transactionId']}")


def _waiting(view: dict[str, Any]) -> bool:
    return view["status"] in OPEN_STEPS and view["error"] is None


def _chosen_refs(view: dict[str, Any]) -> list[str]:
    return [c["referenceNumber"] for e in view["chosen"] for c in e["careContexts"]]


def _problem(view: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """What went wrong in a link transaction, as (kind, text for the patient)."""
    hip = view["hip"]["name"] or "The facility"
    error = view["error"]
    step = view["status"]
    if error is None:
        expires = _instant(view["otpExpiresAt"])
        if step == LinkStep.OTP_SENT and expires is not None and expires <= now:
            return "expired", "The code has expired. Ask for a new code below."
        return None
    code = error["code"]
    if code == cx.HIP_SILENT:
        return "silent", (
            f"{hip} has not answered yet. Wait a minute and refresh this page, or try again "
            "later; facilities sometimes take a while."
        )
    if code == cx.INCORRECT_OTP:
        return "wrong-otp", "The code is wrong; check the SMS and try again."
    if step == LinkStep.NOT_FOUND or code == cx.PATIENT_NOT_FOUND:
        return "not-found", (
            f"{hip} found no records for you. Check that your name, gender and year of birth "
            "on your ABHA are the ones the facility has, or search again with your hospital "
            "record number (it is on your OPD card or discharge papers)."
        )
    if code == HIP_LINK_CLOSED:
        return "expired", (
            "The code has expired, or a wrong code was entered too many times. Search the "
            "facility again to get a new code."
        )
    return "failed", (
        f"{hip} could not link these records (code {code}). Search again, or ask at the "
        "facility's registration desk."
    )


def _transaction_page(
    me: Holder,
    view: dict[str, Any],
    *,
    error: DomainError | str | None = None,
    status: int | None = None,
) -> HTMLResponse:
    problem = _problem(view, me.runtime.clock.now())
    return me.show(
        "phr/transaction.html",
        error=error,
        status=status,
        t=view,
        step=view["status"],
        number=_STEP_NUMBER.get(LinkStep(view["status"]), 2),
        steps=LINK_STEPS,
        waiting=_waiting(view),
        problem=problem,
        chosen_refs=_chosen_refs(view),
    )


def _status(me: Holder, transaction_id: str) -> dict[str, Any]:
    return phr.link_status(
        me.session,
        me.ctx,
        account=me.account,
        transaction_id=transaction_id,
        clock=me.runtime.clock,
        settings=me.runtime.settings.consent,
    )


@router.get("/phr/link/{transaction_id}", response_class=HTMLResponse, response_model=None)
def link_page(pg: PageDep, transaction_id: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        view = _status(me, transaction_id)
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    return _transaction_page(me, view)


@router.get("/phr/link/{transaction_id}/status.json", response_model=None)
def link_poll(pg: PageDep, transaction_id: str) -> Response:
    """What the waiting page's script asks every few seconds: has the step moved on?"""
    me = _holder(pg)
    if me is None:
        return JSONResponse({"status": None, "waiting": False}, status_code=401)
    try:
        view = _status(me, transaction_id)
    except DomainError as exc:
        absorb(me.session, exc)
        return JSONResponse({"status": None, "waiting": False}, status_code=exc.status_hint)
    return JSONResponse({"status": view["status"], "waiting": _waiting(view)})


def _after_error(me: Holder, transaction_id: str, exc: DomainError) -> Response:
    absorb(me.session, exc)
    try:
        view = _status(me, transaction_id)
    except DomainError as missing:
        absorb(me.session, missing)
        return me.not_found(missing)
    return _transaction_page(me, view, error=exc)


@posts.post("/phr/link/{transaction_id}/link", response_class=HTMLResponse, response_model=None)
def link_records(pg: PageDep, transaction_id: str, care_contexts: Ids = None) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        # None would mean "all found": from a form, nothing ticked is nothing chosen.
        p = PhrParts.of(me.runtime)
        phr.link(
            me.session,
            me.ctx,
            account=me.account,
            transaction_id=transaction_id,
            references=list(care_contexts or []),
            clock=p.clock,
            sender=p.sender,
            cm_id=p.cm_id,
            settings=p.consent,
        )
    except DomainError as exc:
        return _after_error(me, transaction_id, exc)
    return _see(f"/phr/link/{transaction_id}")


@posts.post("/phr/link/{transaction_id}/confirm", response_class=HTMLResponse, response_model=None)
def link_confirm(pg: PageDep, transaction_id: str, otp: Text16 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        phr.confirm(
            me.session,
            me.ctx,
            account=me.account,
            transaction_id=transaction_id,
            otp=otp,
            clock=p.clock,
            sender=p.sender,
            settings=p.consent,
        )
    except DomainError as exc:
        return _after_error(me, transaction_id, exc)
    return _see(f"/phr/link/{transaction_id}")


# --------------------------------------------------------------------------- consents


@router.get("/phr/consents", response_class=HTMLResponse, response_model=None)
def consents_page(pg: PageDep, tab: str = "pending") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    tab = tab if tab in {t[0] for t in TABS} else "pending"
    every = phr.consent_list(me.session, me.ctx, account=me.account, clock=me.runtime.clock)
    counts = {key: sum(1 for c in every if c["status"] in kinds) for key, _, kinds in TABS}
    kinds = next(k for key, _, k in TABS if key == tab)
    return me.show(
        "phr/consents.html",
        tabs=TABS,
        tab=tab,
        counts=counts,
        rows=[c for c in every if c["status"] in kinds],
    )


def _offered(detail: dict[str, Any], linked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The linked facilities this request may be granted for, each with the records
    that would be shared (the request's own facility and records, when it names them)."""
    asked_hip = detail["hip"]["id"] if detail["hip"] else None
    asked = (
        {(c["patientReference"], c["careContextReference"]) for c in detail["careContexts"]}
        if detail["careContexts"]
        else None
    )
    offered = []
    for facility in linked:
        if asked_hip and facility["hip"]["id"] != asked_hip:
            continue
        records = [
            cc
            for patient in facility["patients"]
            for cc in patient["careContexts"]
            if asked is None or (patient["referenceNumber"], cc["referenceNumber"]) in asked
        ]
        if records:
            offered.append({"id": facility["hip"]["id"], "name": facility["hip"]["name"]})
            offered[-1]["records"] = records
    return offered


def _default_form(detail: dict[str, Any], offered: list[dict[str, Any]]) -> dict[str, Any]:
    permission = detail["permission"]
    return {
        "hips": [f["id"] for f in offered],
        "hi_types": list(detail["hiTypes"]),
        "date_from": _form_day(permission["dateRange"]["from"]),
        "date_to": _form_day(permission["dateRange"]["to"]),
        "expiry": _form_day(permission["dataEraseAt"]),
    }


DONE = {
    "approved": "You approved the request. The facilities you chose are being told; the "
    "doctor can see those records until the date shown. You can revoke this at any time.",
    "denied": "You denied the request. The facility that asked has been told; nothing was shared.",
    "revoked": "You revoked the consent. The facilities are being told to stop sharing, and "
    "the facility that asked must erase what it received.",
    "pin": "Your consent PIN is set. Enter it below to approve the request.",
}


def _consent_page(
    me: Holder,
    consent_request_id: str,
    *,
    form: dict[str, Any] | None = None,
    error: DomainError | str | None = None,
    status: int | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    clock = me.runtime.clock
    try:
        detail = phr.consent_detail(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            clock=clock,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    offered: list[dict[str, Any]] = []
    pin = None
    if detail["status"] == "REQUESTED":
        linked = phr.linked_facilities(me.session, me.ctx, account=me.account, clock=clock)
        offered = _offered(detail, linked)
        pin = pins.status(me.session, account=me.account, now=clock.now())
    permission = detail["permission"]
    return me.show(
        "phr/consent.html",
        error=error,
        status=status,
        notice=notice,
        c=detail,
        offered=offered,
        pin=pin,
        form=form or _default_form(detail, offered),
        limits={
            "from": _form_day(permission["dateRange"]["from"]),
            "to": _form_day(permission["dateRange"]["to"]),
            "expiry": _form_day(permission["dataEraseAt"]),
            "today": _ist_date(me.runtime.clock.now()).isoformat(),
        },
    )


@router.get("/phr/consents/{consent_request_id}", response_class=HTMLResponse, response_model=None)
def consent_page(pg: PageDep, consent_request_id: str, done: str = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _consent_page(me, consent_request_id, notice=DONE.get(done))


def _choices(
    detail: dict[str, Any],
    hips: Sequence[str],
    hi_types: Sequence[str],
    date_from: str,
    date_to: str,
    expiry: str,
) -> list[phr.GrantChoice]:
    """The approve form as the service's choices (one per facility ticked)."""
    if not hi_types:
        # The service reads "no types" as "what was asked"; unticking them all is not that.
        raise ValidationFailed(
            "Choose at least one type of record to share, or deny the request.",
            code=cx.NOTHING_CHOSEN,
            field="hiTypes",
        )
    permission = detail["permission"]
    start = _picked(date_from, permission["dateRange"]["from"], "start date", "dateRange")
    end = _picked(date_to, permission["dateRange"]["to"], "end date", "dateRange")
    ends = _picked(expiry, permission["dataEraseAt"], "expiry date", "dataEraseAt")
    return [
        phr.GrantChoice(
            hip_id=hip,
            hi_types=list(dict.fromkeys(hi_types)),
            date_from=_start_of(start) if start else None,
            date_to=_end_of(end) if end else None,
            expires_at=_end_of(ends) if ends else None,
        )
        for hip in dict.fromkeys(hips)
    ]


@posts.post(
    "/phr/consents/{consent_request_id}/approve",
    response_class=HTMLResponse,
    response_model=None,
)
def consent_approve(
    pg: PageDep,
    consent_request_id: str,
    hips: Ids = None,
    hi_types: Ids = None,
    date_from: Text16 = "",
    date_to: Text16 = "",
    expiry: Text16 = "",
    pin: Text16 = "",
) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    form = {
        "hips": hips or [],
        "hi_types": hi_types or [],
        "date_from": date_from,
        "date_to": date_to,
        "expiry": expiry,
    }
    p = PhrParts.of(me.runtime)
    try:
        detail = phr.consent_detail(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            clock=p.clock,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    try:
        choices = _choices(detail, hips or [], hi_types or [], date_from, date_to, expiry)
        phr.approve(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            choices=choices,
            pin=pin,
            clock=p.clock,
            hasher=p.hasher,
            sender=p.sender,
            keyring=p.keyring,
            cm_id=p.cm_id,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _consent_page(me, consent_request_id, form=form, error=exc)
    return _see(f"/phr/consents/{consent_request_id}?done=approved")


def _confirm_page(me: Holder, consent_request_id: str, *, action: str, artefact: str) -> Response:
    try:
        detail = phr.consent_detail(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            clock=me.runtime.clock,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    here = f"/phr/consents/{consent_request_id}"
    if action == "deny":
        if detail["status"] != "REQUESTED":
            return _see(here)
        return me.show("phr/confirm.html", c=detail, action="deny", artefacts=[])
    live = [a for a in detail["consentArtefacts"] if a["status"] == "GRANTED"]
    if artefact:
        live = [a for a in live if a["id"] == artefact]
    if not live:
        return _consent_page(me, consent_request_id, error=_WORDING[cx.NOT_REVOCABLE], status=409)
    return me.show(
        "phr/confirm.html",
        c=detail,
        action="revoke",
        artefacts=live,
        artefact=artefact,
    )


@router.get(
    "/phr/consents/{consent_request_id}/deny", response_class=HTMLResponse, response_model=None
)
def consent_deny_confirm(pg: PageDep, consent_request_id: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _confirm_page(me, consent_request_id, action="deny", artefact="")


@posts.post(
    "/phr/consents/{consent_request_id}/deny", response_class=HTMLResponse, response_model=None
)
def consent_deny(pg: PageDep, consent_request_id: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        phr.deny(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            clock=p.clock,
            sender=p.sender,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _consent_page(me, consent_request_id, error=exc)
    return _see(f"/phr/consents/{consent_request_id}?done=denied")


@router.get(
    "/phr/consents/{consent_request_id}/revoke", response_class=HTMLResponse, response_model=None
)
def consent_revoke_confirm(pg: PageDep, consent_request_id: str, consent: str = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _confirm_page(me, consent_request_id, action="revoke", artefact=consent[:64])


@posts.post(
    "/phr/consents/{consent_request_id}/revoke", response_class=HTMLResponse, response_model=None
)
def consent_revoke(pg: PageDep, consent_request_id: str, consent: Text64 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        phr.revoke(
            me.session,
            me.ctx,
            account=me.account,
            consent_request_id=consent_request_id,
            # One granted artefact (a facility), or none named: all of them.
            artefact_ids=[consent] if consent.strip() else None,
            clock=p.clock,
            sender=p.sender,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _consent_page(me, consent_request_id, error=exc)
    return _see(f"/phr/consents/{consent_request_id}?done=revoked")


# --------------------------------------------------------------------------- consent PIN

# Where the PIN page may send the holder back to: a consent request waiting for the PIN.
_PIN_BACK = re.compile(r"/phr/consents/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
PIN_DONE = {
    "set": "Your consent PIN is set. You enter it whenever you approve a consent request.",
    "changed": "Your consent PIN is changed.",
    "reset": "Your consent PIN is reset. Use the new PIN from now on.",
}


def _back(raw: str) -> str:
    return raw if _PIN_BACK.fullmatch(raw or "") else ""


def _pin_page(
    me: Holder,
    *,
    back: str = "",
    error: DomainError | str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    return me.show(
        "phr/pin.html",
        error=error,
        notice=notice,
        pin=pins.status(me.session, account=me.account, now=me.runtime.clock.now()),
        back=_back(back),
    )


def _same_pin(pin: str, again: str) -> None:
    if pin.strip() != again.strip():
        raise ValidationFailed(
            "The two new PINs are not the same. Enter the new PIN twice.",
            code=pins.PIN_INVALID,
            field="pin_again",
        )


@router.get("/phr/pin", response_class=HTMLResponse, response_model=None)
def pin_page(pg: PageDep, back: str = "", done: str = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _pin_page(me, back=back[:80], notice=PIN_DONE.get(done))


@posts.post("/phr/pin", response_class=HTMLResponse, response_model=None)
def pin_set(
    pg: PageDep,
    pin: Text16 = "",
    pin_again: Text16 = "",
    current_pin: Text16 = "",
    back: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    p = PhrParts.of(me.runtime)
    had = pins.status(me.session, account=me.account, now=p.clock.now()).set
    try:
        _same_pin(pin, pin_again)
        pins.set_pin(
            me.session,
            me.ctx,
            account=me.account,
            pin=pin,
            current_pin=current_pin or None,
            clock=p.clock,
            hasher=p.hasher,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _pin_page(me, back=back, error=exc)
    if _back(back):
        return _see(f"{back}?done=pin")
    return _see(f"/phr/pin?done={'changed' if had else 'set'}")


def _reset_page(
    me: Holder,
    *,
    txn_id: str = "",
    message: str | None = None,
    error: DomainError | str | None = None,
) -> HTMLResponse:
    return me.otp_page("phr/pin_reset.html", txn_id=txn_id, message=message, error=error)


@router.get("/phr/pin/reset", response_class=HTMLResponse, response_model=None)
def pin_reset_page(pg: PageDep) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _reset_page(me)


@posts.post("/phr/pin/reset", response_class=HTMLResponse, response_model=None)
def pin_reset_otp(pg: PageDep) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        sent = pins.request_reset(
            me.session,
            me.ctx,
            account=me.account,
            clock=p.clock,
            otp_service=p.otp_service,
            txn_ttl_seconds=p.txn_ttl_seconds,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _reset_page(me, error=exc)
    return _reset_page(me, txn_id=sent.txn_id, message=sent.message)


@posts.post("/phr/pin/reset/resend", response_class=HTMLResponse, response_model=None)
def pin_reset_resend(pg: PageDep, txn_id: Text64 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        sent = pins.resend_reset(
            me.session,
            me.ctx,
            account=me.account,
            txn_id=txn_id,
            clock=p.clock,
            otp_service=p.otp_service,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _reset_page(me, txn_id=txn_id, error=exc)
    return _reset_page(me, txn_id=txn_id, message=resent_notice(sent.message))


@posts.post("/phr/pin/reset/confirm", response_class=HTMLResponse, response_model=None)
def pin_reset_confirm(
    pg: PageDep,
    txn_id: Text64 = "",
    otp: Text16 = "",
    pin: Text16 = "",
    pin_again: Text16 = "",
) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        _same_pin(pin, pin_again)
        p = PhrParts.of(me.runtime)
        pins.reset_pin(
            me.session,
            me.ctx,
            account=me.account,
            txn_id=txn_id,
            otp=otp,
            pin=pin,
            clock=p.clock,
            hasher=p.hasher,
            otp_service=p.otp_service,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _reset_page(me, txn_id=txn_id, error=exc)
    return _see("/phr/pin?done=reset")


# --------------------------------------------------------------------------- deleting the ABHA

DELETE_SCOPE = ["abha-profile", "delete"]


def _delete_page(
    me: Holder,
    *,
    txn_id: str = "",
    message: str | None = None,
    error: DomainError | str | None = None,
) -> HTMLResponse:
    return me.otp_page(
        "phr/delete.html",
        txn_id=txn_id,
        message=message,
        error=error,
        granted=len(
            phr.consent_list(
                me.session, me.ctx, account=me.account, status="GRANTED", clock=me.runtime.clock
            )
        ),
    )


@router.get("/phr/account/delete", response_class=HTMLResponse, response_model=None)
def delete_page(pg: PageDep) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _delete_page(me)


@posts.post("/phr/account/delete", response_class=HTMLResponse, response_model=None)
def delete_otp(pg: PageDep, confirm: Text16 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    if confirm != "yes":
        return _delete_page(
            me, error="Tick the box to confirm that you want to delete your ABHA for good."
        )
    try:
        sent = profile.request_profile_otp(
            me.session,
            me.ctx,
            account=me.account,
            scope=DELETE_SCOPE,
            login_hint=None,
            login_id=None,
            otp_system="abdm",
            parts=AbhaParts.of(me.runtime),
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _delete_page(me, error=exc)
    return _delete_page(me, txn_id=sent.txn_id, message=sent.message)


@posts.post("/phr/account/delete/resend", response_class=HTMLResponse, response_model=None)
def delete_resend(pg: PageDep, txn_id: Text64 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        sent = profile.resend_profile_otp(
            me.session, me.ctx, account=me.account, txn_id=txn_id, parts=AbhaParts.of(me.runtime)
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _delete_page(me, txn_id=txn_id, error=exc)
    return _delete_page(me, txn_id=txn_id, message=resent_notice(sent.message))


@posts.post("/phr/account/delete/confirm", response_class=HTMLResponse, response_model=None)
def delete_confirm(pg: PageDep, txn_id: Text64 = "", otp: Text16 = "") -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        p = PhrParts.of(me.runtime)
        message = phr.delete_account(
            me.session,
            me.ctx,
            account=me.account,
            txn_id=txn_id,
            otp_value=me.pg.wire(otp.strip()),
            clock=p.clock,
            sender=p.sender,
            abha=AbhaParts.of(me.runtime),
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _delete_page(me, txn_id=txn_id, error=exc)
    # Logged out: the deleted ABHA's session, and the mobile's other ABHAs with it.
    me.pg.base = {}
    response = me.show("phr/deleted.html", notice=message)
    response.delete_cookie(PATIENT_COOKIE, path="/")
    response.delete_cookie(HOUSEHOLD_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- own records


def _records_page(
    me: Holder,
    *,
    form: dict[str, Any] | None = None,
    error: DomainError | str | None = None,
) -> HTMLResponse:
    linked = phr.linked_facilities(me.session, me.ctx, account=me.account, clock=me.runtime.clock)
    return me.show(
        "phr/records.html",
        error=error,
        linked=linked,
        fetches=hiu.list_requests(
            me.session, me.ctx, phr_hiu_id=me.runtime.settings.consent.phr_hiu_id, limit=20
        ),
        form=form or {"hip": "", "hi_types": list(HI_TYPE_LABELS), "date_from": "", "date_to": ""},
        fetch_words=FETCH_WORDS,
        keep_days=me.runtime.settings.consent.phr_keep_days,
    )


@router.get("/phr/records", response_class=HTMLResponse, response_model=None)
def records_page(pg: PageDep) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    return _records_page(me)


@posts.post("/phr/records", response_class=HTMLResponse, response_model=None)
def records_fetch(
    pg: PageDep,
    hip: Text16 = "",
    hi_types: Ids = None,
    date_from: Text16 = "",
    date_to: Text16 = "",
) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    form = {"hip": hip, "hi_types": hi_types or [], "date_from": date_from, "date_to": date_to}
    try:
        start = _picked(date_from, None, "start date", "date_from")
        end = _picked(date_to, None, "end date", "date_to")
        row = own_records.ask(
            me.session,
            me.ctx,
            runtime=me.runtime,
            account=me.account,
            # From a form, nothing ticked is nothing chosen (the service says so).
            hi_types=list(hi_types or []),
            date_from=_start_of(start) if start else None,
            date_to=min(_end_of(end), me.runtime.clock.now()) if end else None,
            hip_id=hip.strip() or None,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return _records_page(me, form=form, error=exc)
    return _see(f"/phr/records/{row.public_id}")


@router.get("/phr/records/{fetch_id}", response_class=HTMLResponse, response_model=None)
def records_fetched(pg: PageDep, fetch_id: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        view = own_records.fetch_view(me.session, me.ctx, runtime=me.runtime, public_id=fetch_id)
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    names = {f["hipId"]: hip_name(me.session, hip_id=f["hipId"]) for f in view["facilities"]}
    # Each record under its visit, as the facility named it when linking.
    visits = {
        (f["hip"]["id"], cc["referenceNumber"]): cc["display"]
        for f in phr.linked_facilities(
            me.session, me.ctx, account=me.account, clock=me.runtime.clock
        )
        for pt in f["patients"]
        for cc in pt["careContexts"]
    }
    return me.show("phr/fetch.html", f=view, names=names, visits=visits)


@router.get("/phr/records/{fetch_id}/status.json", response_model=None)
def records_poll(pg: PageDep, fetch_id: str) -> Response:
    """The waiting page's question every few seconds: has the fetch moved on?"""
    me = _holder(pg)
    if me is None:
        return JSONResponse({"status": None, "waiting": False}, status_code=401)
    try:
        view = own_records.fetch_view(me.session, me.ctx, runtime=me.runtime, public_id=fetch_id)
    except DomainError as exc:
        absorb(me.session, exc)
        return JSONResponse({"status": None, "waiting": False}, status_code=exc.status_hint)
    return JSONResponse({"status": view["step"], "waiting": view["waiting"]})


@router.get("/phr/health-records/{record_id}", response_class=HTMLResponse, response_model=None)
def health_record_page(pg: PageDep, record_id: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        record, view = hiu.read_record(
            me.session,
            me.ctx,
            public_id=record_id,
            clock=me.runtime.clock,
            phr_hiu_id=me.runtime.settings.consent.phr_hiu_id,
        )
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    artefact = record.data_request.artefact
    base = f"/phr/health-records/{record.public_id}/attachments/"
    return me.show(
        "phr/record.html",
        record=record,
        view=view,
        fetch_id=str(artefact.request.public_id),
        hip=hip_name(me.session, hip_id=str(artefact.hip_id)) or artefact.hip_id,
        attachment_url=lambda key: base + quote(key, safe=""),
    )


@router.get("/phr/health-records/{record_id}/attachments/{key}", response_model=None)
def health_record_attachment(pg: PageDep, record_id: str, key: str) -> Response:
    me = _holder(pg)
    if me is None:
        return _to_login(pg)
    try:
        record, _ = hiu.read_record(
            me.session,
            me.ctx,
            public_id=record_id,
            clock=me.runtime.clock,
            phr_hiu_id=me.runtime.settings.consent.phr_hiu_id,
        )
        content_type, data, title = attachment_content(record.bundle, key)
    except DomainError as exc:
        absorb(me.session, exc)
        return me.not_found(exc)
    return attachment_file(data, content_type, title)


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
