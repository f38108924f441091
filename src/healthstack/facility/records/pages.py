"""The doctor's pages: ask for a patient's records from other facilities, follow the
request, read what arrived.

- ``/records``: the facility's record requests (newest first) and, for a doctor, the
  form that asks (ABHA address, record types, period, consent expiry; purpose care
  management);
- ``/records/requests/{id}``: the request's status, each artefact the patient granted
  (facility, types, period, expiry) and the records received under it while the consent
  is valid: patient (as the record names them), facility (registry name and HFR id),
  date and type of each, the warnings a kept record came with, and why a refused one
  was refused; a button asks the consent manager for the status again;
- ``/records/received/{id}``: one record, rendered readably by
  ``records/_record.html`` (attachments served by ``.../attachments/{key}``).

Staff log in with the session cookie; ``records.read`` opens the pages and
``records.request`` the form. Consent is checked in the service (``facility.records.hiu``), which
also audits each read with the doctor's context; a request of another facility is 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed
from healthstack.accounts.service import find_staff
from healthstack.facility.records import hiu
from healthstack.facility.records.care_contexts import facility_name
from healthstack.facility.records.dependencies import FacilityNamesDep
from healthstack.facility.records.models import HiuConsentRequest
from healthstack.kernel.audit import absorb
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.documents.view import attachment_content
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id
from healthstack.web.pages import attachment_file, error_page, render, same_origin, staff_gate
from healthstack.web.timefmt import local_date, local_time, today_ist

router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
IST = timedelta(hours=5, minutes=30)
HI_TYPE_LABELS = {
    "OPConsultation": "OP consultation",
    "Prescription": "Prescription",
    "DiagnosticReport": "Diagnostic report (lab, imaging)",
    "DischargeSummary": "Discharge summary",
    "ImmunizationRecord": "Immunization record",
    "HealthDocumentRecord": "Health document (scanned records)",
    "WellnessRecord": "Wellness record",
    "Invoice": "Invoice",
}
STATUS_LABELS = {
    "REQUESTED": "waiting for the patient",
    "GRANTED": "granted",
    "DENIED": "denied by the patient",
    "REVOKED": "revoked by the patient",
    "EXPIRED": "expired",
    "ERRORED": "refused",
    "DELETED": "ABHA closed",
}


def _ctx(request: Request, staff: Actor) -> RequestContext:
    return RequestContext(
        actor=staff,
        purpose=Purpose.CARE_MANAGEMENT,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


def _ist(value: datetime | None) -> str:
    return local_time(value)


def _day(value: datetime | None) -> str:
    return local_date(value)


def _show(
    request: Request, template: str, staff: Actor, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    can = {
        "request": allowed(staff, "records.request"),
        "read": allowed(staff, "records.read"),
    }
    return render(
        request,
        template,
        status_code=status_code,
        staff=staff,
        can=can,
        ist=_ist,
        day=_day,
        hi_labels=HI_TYPE_LABELS,
        status_label=lambda s: STATUS_LABELS.get(s, s.lower()),
        **context,
    )


def _gate(request: Request, staff: Actor | None, action: str) -> Response | None:
    what, ask = "open the records pages", "Doctors and nurses at a facility may."
    gate = staff_gate(request, staff, action, what=what, back=request.url.path, ask=ask)
    return gate if isinstance(gate, Response) else None


def _error_page(request: Request, session: Session, staff: Actor, exc: DomainError) -> Response:
    return error_page(request, session, exc, staff=staff)


def _defaults(now: datetime) -> dict[str, str]:
    today = today_ist(now)
    return {
        "abha_address": "",
        "date_from": (today - timedelta(days=5 * 365)).isoformat(),
        "date_to": today.isoformat(),
        "expiry": (today + timedelta(days=30)).isoformat(),
    }


def _list_page(
    request: Request,
    session: Session,
    runtime: Runtime,
    staff: Actor,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = hiu.list_requests(
        session, _ctx(request, staff), phr_hiu_id=runtime.settings.consent.phr_hiu_id
    )
    values = form or {**_defaults(runtime.clock.now()), "hi_types": list(HI_TYPE_LABELS)}
    return _show(
        request,
        "records/requests.html",
        staff,
        status_code=status_code,
        rows=rows,
        form=values,
        error=error,
        facility=staff.facility_id,
    )


@router.get("/records", response_class=HTMLResponse)
def records_home(
    request: Request, session: DbSession, runtime: RuntimeDep, staff: OptionalStaff
) -> Response:
    gate = _gate(request, staff, "records.read")
    if gate is not None:
        return gate
    assert staff is not None
    return _list_page(request, session, runtime, staff)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"Give the {field} as a date (YYYY-MM-DD).", field=field) from None


def _ist_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC) - IST


def _ist_end(d: date) -> datetime:
    return datetime.combine(d, time.max.replace(microsecond=0), tzinfo=UTC) - IST


@posts.post("/records/requests")
def create_request(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    abha_address: Annotated[str, Form()] = "",
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
    expiry: Annotated[str, Form()] = "",
    hi_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    gate = _gate(request, staff, "records.request")
    if gate is not None:
        return gate
    assert staff is not None
    form = {
        "abha_address": abha_address,
        "date_from": date_from,
        "date_to": date_to,
        "expiry": expiry,
        "hi_types": hi_types or [],
    }
    user = find_staff(session, public_id=staff.id)
    try:
        row = hiu.request_records(
            session,
            _ctx(request, staff),
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
            hiu_id=str(staff.facility_id),
            patient_abha_address=abha_address,
            hi_types=hi_types or [],
            date_from=_ist_start(_date(date_from, "date_from")),
            date_to=_ist_end(_date(date_to, "date_to")),
            data_erase_at=_ist_end(_date(expiry, "expiry")),
            requester_name=user.full_name if user else staff.display,
            purpose=m.PurposeCode.CAREMGT.value,
        )
    except DomainError as exc:
        absorb(session, exc)
        return _list_page(
            request, session, runtime, staff, form=form, error=exc.message, status_code=400
        )
    return RedirectResponse(f"/records/requests/{row.public_id}", status_code=303)


@router.get("/records/requests/{public_id}", response_class=HTMLResponse)
def request_page(
    request: Request,
    public_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    names: FacilityNamesDep,
    notice: str | None = None,
) -> Response:
    gate = _gate(request, staff, "records.read")
    if gate is not None:
        return gate
    assert staff is not None
    try:
        row, artefacts = hiu.request_detail(
            session,
            _ctx(request, staff),
            public_id=public_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    except DomainError as exc:
        return _error_page(request, session, staff, exc)
    return _show(
        request,
        "records/request.html",
        staff,
        row=row,
        artefacts=artefacts,
        facility_names={
            a.artefact.hip_id: facility_name(session, hfr_id=a.artefact.hip_id, names=names)
            for a in artefacts
            if a.artefact.hip_id
        },
        notice=notice,
        now=runtime.clock.now(),
    )


@posts.post("/records/requests/{public_id}/refresh")
def refresh_request(
    request: Request,
    public_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> Response:
    gate = _gate(request, staff, "records.request")
    if gate is not None:
        return gate
    assert staff is not None
    try:
        row: HiuConsentRequest = hiu.get_request(
            session,
            _ctx(request, staff),
            public_id=public_id,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    except DomainError as exc:
        return _error_page(request, session, staff, exc)
    sent = hiu.refresh_status(session, request=row, outbox=runtime.abdm_outbox())
    note = "Asked the consent manager for the status." if sent else "Not sent to the CM yet."
    return RedirectResponse(
        f"/records/requests/{row.public_id}?notice={quote(note)}", status_code=303
    )


@router.get("/records/received/{public_id}", response_class=HTMLResponse)
def record_page(
    request: Request,
    public_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    names: FacilityNamesDep,
) -> Response:
    gate = _gate(request, staff, "records.read")
    if gate is not None:
        return gate
    assert staff is not None
    try:
        record, view = hiu.read_record(
            session,
            _ctx(request, staff),
            public_id=public_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    except DomainError as exc:
        return _error_page(request, session, staff, exc)
    base = f"/records/received/{record.public_id}/attachments/"
    return _show(
        request,
        "records/record.html",
        staff,
        record=record,
        view=view,
        request_row=record.data_request.artefact.request,
        hip_id=record.data_request.artefact.hip_id,
        hip_name=facility_name(
            session, hfr_id=str(record.data_request.artefact.hip_id), names=names
        ),
        attachment_url=lambda key: base + quote(key, safe=""),
    )


@router.get("/records/received/{public_id}/attachments/{key}")
def record_attachment(
    request: Request,
    public_id: str,
    key: str,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
) -> Response:
    gate = _gate(request, staff, "records.read")
    if gate is not None:
        return gate
    assert staff is not None
    try:
        record, _ = hiu.read_record(
            session,
            _ctx(request, staff),
            public_id=public_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        content_type, data, title = attachment_content(record.bundle, key)
    except DomainError as exc:
        return _error_page(request, session, staff, exc)
    return attachment_file(data, content_type, title)


router.include_router(posts)
