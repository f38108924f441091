"""Server-rendered facility registry pages (thin: they call the services directly).

- ``/registry/facilities``: the facilities the staff member may see (filters, pages)
  and, for those who may register, the registration form;
- ``/registry/facilities/{hfr_id}``: the registration, its history, what it said at
  a chosen time, verify / reject for verifiers, and ``.../edit``;
- ``/registry/master``: the state master list: upload, the preview naming each broken
  row, confirm; the reconciliation figures and a new run;
- ``/registry/master/review``: ambiguous entries beside their candidate facilities,
  settled one by one.

Like the desk pages: staff log in with the session cookie, the role is checked with
``accounts.permissions``, a form posted from another site is refused, and an error
shown beside a form is absorbed (rolled back, failure audit rows kept) because it
never reaches the unit of work.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.accounts.permissions import allowed
from healthstack.kernel.context import Actor
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.kernel.tabular_import import import_status
from healthstack.network.hfr import master as master_service
from healthstack.network.hfr import reconcile, service
from healthstack.network.hfr.enums import (
    FACILITY_TYPE_LABELS,
    SERVICE_LABELS,
    SYSTEM_OF_MEDICINE_LABELS,
    FacilityStatus,
    FacilityType,
    MatchStatus,
    Ownership,
    Service,
    SystemOfMedicine,
)
from healthstack.network.hfr.schemas import district_name
from healthstack.settings import StateProfile
from healthstack.web.deps import OptionalStaff
from healthstack.web.forms import Limit, too_long
from healthstack.web.pages import Page, PageDep, same_origin
from healthstack.web.timefmt import IST, local_time

PAGE_SIZE = 25
# The header's flags: what the staff member may do in the registry.
_CAN = {a: f"facility.{a}" for a in ("register", "edit", "verify", "master_import", "reconcile")}


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


# --------------------------------------------------------------------------- the gate


def _gate(pg: Page, staff: Actor | None, action: str, what: str) -> Response | None:
    """None when ``staff`` may do ``action``; else the login redirect or the 403 page."""
    request = pg.request
    # After a form post, the login brings the browser back to the registry's list.
    back = request.url.path if request.method == "GET" else "/registry/facilities"
    return pg.admit(staff, f"facility.{action}", what=what, back=back, can=_CAN)


def _utc(value: datetime | None) -> str:
    # Named for history: a person reads the time in IST (web.timefmt), never UTC.
    return local_time(value)


def _choices(profile: StateProfile) -> dict[str, Any]:
    return {
        "types": [(t.value, FACILITY_TYPE_LABELS[t]) for t in FacilityType],
        "systems": [(s.value, SYSTEM_OF_MEDICINE_LABELS[s]) for s in SystemOfMedicine],
        "services": [(s.value, SERVICE_LABELS[s]) for s in Service],
        "districts": profile.district_choices(),
        "state_name": profile.state_name,
        "type_label": lambda v: FACILITY_TYPE_LABELS.get(FacilityType(v), v) if v else "",
        "district_label": lambda lgd, state=profile.state_lgd: (
            district_name(profile, state, lgd) or str(lgd)
        ),
        "utc": _utc,
    }


# --------------------------------------------------------------------------- the form


@dataclass
class FacilityForm:
    """The registration form as typed (kept on an error, so nothing is retyped)."""

    name: str = ""
    facility_type: str = ""
    ownership: str = ""
    department: str = ""
    system_of_medicine: str = SystemOfMedicine.MODERN_MEDICINE.value
    district_lgd: str = ""
    sub_district_lgd: str = ""
    address_line: str = ""
    pincode: str = ""
    latitude: str = ""
    longitude: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    services: list[str] = field(default_factory=list)
    beds: str = "0"
    hmis: str = ""
    master_code: str = ""
    # over-long input, shown on the form (web.forms); never registered
    problem: ValidationFailed | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, facility: Any) -> FacilityForm:
        def text(value: Any) -> str:
            return "" if value is None else str(value)

        texts: dict[str, Any] = {
            k: text(getattr(facility, k))
            for k in cls.__dataclass_fields__
            if k not in ("services", "problem")
        }
        return cls(**texts, services=list(facility.services or []))


Text = Annotated[str, Form(), Limit(300)]
Short = Annotated[str, Form(), Limit(40)]
# What the form calls the fields that can be typed too long.
LABELS = {
    "name": "The facility name",
    "department": "The department",
    "address_line": "The address",
    "contact_phone": "The phone number",
    "contact_email": "The e-mail address",
    "hmis": "The HMIS name",
    "master_code": "The state master code",
}


def _facility_form(
    name: Text = "",
    facility_type: Short = "",
    ownership: Short = "",
    department: Text = "",
    system_of_medicine: Short = "",
    district_lgd: Short = "",
    sub_district_lgd: Short = "",
    address_line: Text = "",
    pincode: Short = "",
    latitude: Short = "",
    longitude: Short = "",
    contact_phone: Short = "",
    contact_email: Text = "",
    services: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006 - FastAPI copies it
    beds: Short = "",
    hmis: Text = "",
    master_code: Annotated[str, Form(), Limit(60)] = "",
) -> FacilityForm:
    typed = {k: v for k, v in locals().items() if isinstance(v, str)}
    return FacilityForm(
        problem=too_long(typed, LABELS),
        name=name,
        facility_type=facility_type,
        ownership=ownership,
        department=department,
        system_of_medicine=system_of_medicine,
        district_lgd=district_lgd.strip(),
        sub_district_lgd=sub_district_lgd.strip(),
        address_line=address_line,
        pincode=pincode.strip(),
        latitude=latitude.strip(),
        longitude=longitude.strip(),
        contact_phone=contact_phone,
        contact_email=contact_email,
        services=[s for s in services if s],
        beds=beds.strip(),
        hmis=hmis,
        master_code=master_code,
    )


FormDep = Annotated[FacilityForm, Depends(_facility_form)]


def parse_form(
    form: FacilityForm, *, state_lgd: int
) -> tuple[service.FacilityDetails | None, list[str]]:
    """The details, or what a person must fix in the form (the service's rules come
    after: they need a well-typed form)."""
    if form.problem is not None:
        return None, [form.problem.message]
    errors: list[str] = []

    def choice(enum: Any, value: str, message: str) -> Any:
        try:
            return enum(value)
        except ValueError:
            errors.append(message)
            return None

    def number(value: str, kind: type, message: str) -> Any:
        if not value:
            return None
        try:
            parsed = kind(value)
        except ValueError:
            errors.append(message)
            return None
        if kind is float and not math.isfinite(parsed):
            errors.append(message)
            return None
        return parsed

    kind = choice(FacilityType, form.facility_type, "Choose the facility type.")
    owner = choice(Ownership, form.ownership, "Choose public or private ownership.")
    system = choice(SystemOfMedicine, form.system_of_medicine, "Choose the system of medicine.")
    district = number(form.district_lgd, int, "Choose the district from the list.")
    if district is None and not form.district_lgd:
        errors.append("Choose the district from the list.")
    sub = number(form.sub_district_lgd, int, "The sub-district LGD code is a number.")
    lat = number(form.latitude, float, "The latitude is a number such as 34.0837.")
    lon = number(form.longitude, float, "The longitude is a number such as 74.7973.")
    beds = number(form.beds or "0", int, "Beds are a whole number (0 if none).")
    services = [
        s for s in (choice(Service, v, "Tick services from the list.") for v in form.services) if s
    ]
    if errors:
        return None, errors
    return (
        service.FacilityDetails(
            name=form.name,
            facility_type=kind,
            ownership=owner,
            department=form.department,
            system_of_medicine=system,
            state_lgd=state_lgd,
            district_lgd=district,
            sub_district_lgd=sub,
            address_line=form.address_line,
            pincode=form.pincode,
            latitude=lat,
            longitude=lon,
            contact_phone=form.contact_phone,
            contact_email=form.contact_email,
            services=services,
            beds=beds if beds is not None else 0,
            hmis=form.hmis,
            master_code=form.master_code,
        ),
        [],
    )


# --------------------------------------------------------------------------- list + register


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.strip().isdigit() else None


def _enum_or_none(enum: Any, raw: str | None) -> Any:
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


def _list_page(
    pg: Page,
    *,
    filters: dict[str, str],
    page: int,
    form: FacilityForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    where = service.FacilityFilter(
        district_lgd=_int_or_none(filters.get("district_lgd")),
        facility_type=_enum_or_none(FacilityType, filters.get("facility_type")),
        status=_enum_or_none(FacilityStatus, filters.get("status")),
        ownership=_enum_or_none(Ownership, filters.get("ownership")),
        q=(filters.get("q") or "").strip()[:100] or None,
    )
    items, total = service.list_facilities(
        pg.session, pg.staff_ctx, where=where, page=page, page_size=PAGE_SIZE
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    keep = {k: v for k, v in filters.items() if v}
    return pg.show(
        "facilities/list.html",
        status=status,
        items=items,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        link=lambda p: "/registry/facilities?" + urlencode(keep | {"page": p}),
        form=form or FacilityForm(),
        errors=errors or [],
        **_choices(pg.runtime.settings.profile),
    )


@router.get("/registry/facilities", response_class=HTMLResponse, response_model=None)
def facilities_page(
    pg: PageDep,
    staff: OptionalStaff,
    district_lgd: str = "",
    facility_type: str = "",
    status: str = "",
    ownership: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    gate = _gate(pg, staff, "read", "see the facility registry")
    if gate is not None:
        return gate
    filters = {
        "district_lgd": district_lgd[:8],
        "facility_type": facility_type[:32],
        "status": status[:12],
        "ownership": ownership[:8],
        "q": q[:100],
    }
    return _list_page(pg, filters=filters, page=max(1, min(page, 10_000)))


def _details_or_errors(
    pg: Page, form: FacilityForm, current: Any = None
) -> tuple[service.FacilityDetails | None, list[str]]:
    profile = pg.runtime.settings.profile
    details, errors = parse_form(form, state_lgd=profile.state_lgd)
    if details is None:
        return None, errors
    review = service.review_details(pg.session, details, profile=profile, current=current)
    return (None, [p.message for p in review.problems]) if review.problems else (details, [])


@posts.post("/registry/facilities", response_class=HTMLResponse, response_model=None)
def register_submit(pg: PageDep, staff: OptionalStaff, form: FormDep) -> Response:
    gate = _gate(pg, staff, "register", "register facilities")
    if gate is not None:
        return gate
    details, errors = _details_or_errors(pg, form)
    if details is not None:
        try:
            outcome = service.register_facility(
                pg.session,
                pg.staff_ctx,
                clock=pg.runtime.clock,
                profile=pg.runtime.settings.profile,
                details=details,
            )
        except DomainError as exc:
            errors = [pg.absorb(exc)[0]]
        else:
            query = urlencode({"done": "registered", "warn": len(outcome.warnings)})
            return RedirectResponse(
                f"/registry/facilities/{outcome.facility.hfr_id}?{query}", status_code=303
            )
    return _list_page(pg, filters={}, page=1, form=form, errors=errors, status=400)


# --------------------------------------------------------------------------- one facility

_DONE = {
    "registered": "Facility registered. It now waits for a registry verifier.",
    "edited": "Changes saved.",
    "reverify": "Changes saved. A key field changed, so the facility goes back to a registry "
    "verifier.",
    "verified": "Facility verified.",
    "rejected": "Facility rejected; its admin sees the reason.",
}


def _detail_page(
    pg: Page,
    facility: Any,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    as_of: str = "",
    reason: str = "",
) -> HTMLResponse:
    then = None
    as_of_error = None
    if as_of:
        try:
            moment = datetime.fromisoformat(as_of)
            # The form's datetime-local has no zone: the person means IST.
            moment = moment if moment.tzinfo else moment.replace(tzinfo=IST)
            then = service.facility_as_of(pg.session, facility.hfr_id, moment)
        except ValueError:
            as_of_error = "Enter the date and time to look at (IST)."
        except DomainError as exc:
            as_of_error = exc.message
    warnings = []
    if pg.request.query_params.get("warn", "0") != "0":
        warnings = service.review_details(
            None, service.details_of(facility), profile=pg.runtime.settings.profile
        ).warnings
    staff = pg.who
    return pg.show(
        "facilities/detail.html",
        status=status,
        f=facility,
        history=service.facility_history(pg.session, facility),
        notice=notice,
        warnings=warnings,
        error=error,
        as_of=as_of,
        then=then,
        as_of_error=as_of_error,
        reason=reason,
        may_edit=allowed(staff, "facility.edit"),
        may_decide=allowed(staff, "facility.verify")
        and facility.status == FacilityStatus.SUBMITTED.value
        and facility.registered_by != staff.id,
        own_registration=facility.registered_by == staff.id,
        service_labels={s.value: label for s, label in SERVICE_LABELS.items()},
        system_label=lambda v: SYSTEM_OF_MEDICINE_LABELS.get(SystemOfMedicine(v), v),
        **_choices(pg.runtime.settings.profile),
    )


@router.get("/registry/facilities/{hfr_id}", response_class=HTMLResponse, response_model=None)
def facility_page(
    pg: PageDep, staff: OptionalStaff, hfr_id: str, done: str = "", as_of: str = ""
) -> Response:
    gate = _gate(pg, staff, "read", "see the facility registry")
    if gate is not None:
        return gate
    try:
        facility = service.get_facility(pg.session, pg.staff_ctx, hfr_id=hfr_id[:20])
    except DomainError as exc:
        return pg.error_page(exc)
    return _detail_page(pg, facility, notice=_DONE.get(done), as_of=as_of[:32])


def _decision(pg: Page, staff: Actor | None, hfr_id: str, *, reject: bool, text: str) -> Response:
    gate = _gate(pg, staff, "verify", "verify facilities")
    if gate is not None:
        return gate
    try:
        if reject:
            service.reject_facility(
                pg.session, pg.staff_ctx, clock=pg.runtime.clock, hfr_id=hfr_id, reason=text
            )
        else:
            service.verify_facility(
                pg.session, pg.staff_ctx, clock=pg.runtime.clock, hfr_id=hfr_id, note=text
            )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        try:
            facility = service.get_facility(pg.session, pg.staff_ctx, hfr_id=hfr_id)
        except DomainError as hidden:
            return pg.error_page(hidden)
        return _detail_page(pg, facility, error=message, status=status, reason=text)
    done = "rejected" if reject else "verified"
    return RedirectResponse(f"/registry/facilities/{hfr_id}?done={done}", status_code=303)


@posts.post(
    "/registry/facilities/{hfr_id}/verify", response_class=HTMLResponse, response_model=None
)
def verify_submit(
    pg: PageDep, staff: OptionalStaff, hfr_id: str, note: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    return _decision(pg, staff, hfr_id[:20], reject=False, text=note)


@posts.post(
    "/registry/facilities/{hfr_id}/reject", response_class=HTMLResponse, response_model=None
)
def reject_submit(
    pg: PageDep,
    staff: OptionalStaff,
    hfr_id: str,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _decision(pg, staff, hfr_id[:20], reject=True, text=reason)


def _edit_page(
    pg: Page,
    facility: Any,
    form: FacilityForm,
    *,
    errors: list[str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    return pg.show(
        "facilities/edit.html",
        status=status,
        f=facility,
        form=form,
        errors=errors or [],
        reason=reason,
        key_fields=service.KEY_FIELDS,
        **_choices(pg.runtime.settings.profile),
    )


@router.get("/registry/facilities/{hfr_id}/edit", response_class=HTMLResponse, response_model=None)
def edit_page(pg: PageDep, staff: OptionalStaff, hfr_id: str) -> Response:
    gate = _gate(pg, staff, "edit", "edit facility registrations")
    if gate is not None:
        return gate
    try:
        facility = service.get_facility(pg.session, pg.staff_ctx, hfr_id=hfr_id[:20])
    except DomainError as exc:
        return pg.error_page(exc)
    return _edit_page(pg, facility, FacilityForm.of(facility))


@posts.post("/registry/facilities/{hfr_id}/edit", response_class=HTMLResponse, response_model=None)
def edit_submit(
    pg: PageDep,
    staff: OptionalStaff,
    hfr_id: str,
    form: FormDep,
    change_reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    gate = _gate(pg, staff, "edit", "edit facility registrations")
    if gate is not None:
        return gate
    try:
        facility = service.get_facility(pg.session, pg.staff_ctx, hfr_id=hfr_id[:20])
    except DomainError as exc:
        return pg.error_page(exc)
    details, errors = _details_or_errors(pg, form, current=facility)
    if details is not None:
        before = asdict(service.details_of(facility))
        changes = {k: v for k, v in asdict(details).items() if before.get(k) != v}
        changes.pop("state_lgd", None)
        try:
            outcome = service.update_facility(
                pg.session,
                pg.staff_ctx,
                clock=pg.runtime.clock,
                profile=pg.runtime.settings.profile,
                hfr_id=facility.hfr_id,
                changes=changes,
                reason=change_reason,
            )
        except DomainError as exc:
            errors = [pg.absorb(exc)[0]]
            facility = service.get_facility(pg.session, pg.staff_ctx, hfr_id=hfr_id[:20])
        else:
            done = "reverify" if outcome.reverification else "edited"
            return RedirectResponse(
                f"/registry/facilities/{facility.hfr_id}?done={done}", status_code=303
            )
    return _edit_page(pg, facility, form, errors=errors, reason=change_reason, status=400)


# --------------------------------------------------------------------------- master list


def _master_page(
    pg: Page, *, notice: str | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    current = reconcile.current_import(pg.session, pg.runtime.settings.profile.state_lgd)
    summary = reconcile.summarise(pg.session, current) if current else None
    return pg.show(
        "facilities/master.html",
        status=status,
        current=current,
        summary=summary,
        notice=notice,
        error=error,
        max_kb=master_service.MAX_FILE_BYTES // 1000,
        **_choices(pg.runtime.settings.profile),
    )


def _master_gate(pg: Page, staff: Actor | None) -> Response | None:
    """The master page serves importers and reconcilers alike."""
    if staff is not None and allowed(staff, "facility.master_import"):
        pg.let_in(staff, _CAN)
        return None
    return _gate(pg, staff, "reconcile", "work on the state master list")


@router.get("/registry/master", response_class=HTMLResponse, response_model=None)
def master_page(pg: PageDep, staff: OptionalStaff, done: str = "") -> Response:
    gate = _master_gate(pg, staff)
    if gate is not None:
        return gate
    notices = {
        "imported": "The master list is imported and reconciled with HFR.",
        "reconciled": "Reconciliation done.",
    }
    return _master_page(pg, notice=notices.get(done))


@posts.post("/registry/master/upload", response_class=HTMLResponse, response_model=None)
def master_upload(
    pg: PageDep, staff: OptionalStaff, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    gate = _gate(pg, staff, "master_import", "import the state master list")
    if gate is not None:
        return gate
    # One byte over the limit is enough for the service to refuse the size.
    data = file.file.read(master_service.MAX_FILE_BYTES + 1) if file else b""
    try:
        preview = master_service.create_preview(
            pg.session,
            pg.staff_ctx,
            clock=pg.runtime.clock,
            profile=pg.runtime.settings.profile,
            state_lgd=pg.runtime.settings.profile.state_lgd,
            filename=(file.filename if file else "") or "upload.csv",
            data=data,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        return _master_page(pg, error=message, status=status)
    return RedirectResponse(f"/registry/master/imports/{preview.public_id}", status_code=303)


def _preview_page(
    pg: Page, preview: Any, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return pg.show(
        "facilities/master_preview.html",
        status=status,
        p=preview,
        state=import_status(preview, now=pg.runtime.clock.now()),
        error=error,
        **_choices(pg.runtime.settings.profile),
    )


@router.get(
    "/registry/master/imports/{import_id}", response_class=HTMLResponse, response_model=None
)
def preview_page(pg: PageDep, staff: OptionalStaff, import_id: str) -> Response:
    gate = _gate(pg, staff, "master_import", "import the state master list")
    if gate is not None:
        return gate
    try:
        preview = master_service.get_import(pg.session, pg.staff_ctx, import_id=import_id[:40])
    except DomainError as exc:
        return pg.error_page(exc)
    return _preview_page(pg, preview)


@posts.post(
    "/registry/master/imports/{import_id}/confirm",
    response_class=HTMLResponse,
    response_model=None,
)
def confirm_submit(
    pg: PageDep,
    staff: OptionalStaff,
    import_id: str,
    sha256: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    gate = _gate(pg, staff, "master_import", "import the state master list")
    if gate is not None:
        return gate
    try:
        master_service.confirm_import(
            pg.session,
            pg.staff_ctx,
            clock=pg.runtime.clock,
            import_id=import_id[:40],
            sha256=sha256 or None,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        try:
            preview = master_service.get_import(pg.session, pg.staff_ctx, import_id=import_id[:40])
        except DomainError as missing:
            return pg.error_page(missing)
        return _preview_page(pg, preview, error=message, status=status)
    return RedirectResponse("/registry/master?done=imported", status_code=303)


@posts.post("/registry/master/reconcile", response_class=HTMLResponse, response_model=None)
def reconcile_submit(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _gate(pg, staff, "reconcile", "run the reconciliation")
    if gate is not None:
        return gate
    try:
        reconcile.reconcile_master(
            pg.session,
            pg.staff_ctx,
            clock=pg.runtime.clock,
            state_lgd=pg.runtime.settings.profile.state_lgd,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        return _master_page(pg, error=message, status=status)
    return RedirectResponse("/registry/master?done=reconciled", status_code=303)


# --------------------------------------------------------------------------- review


def _review_page(
    pg: Page,
    *,
    page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    views, total = reconcile.list_matches(
        pg.session,
        pg.staff_ctx,
        state_lgd=pg.runtime.settings.profile.state_lgd,
        status=MatchStatus.AMBIGUOUS,
        page=page,
        page_size=PAGE_SIZE,
    )
    return pg.show(
        "facilities/review.html",
        status=status,
        views=views,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        notice=notice,
        error=error,
        **_choices(pg.runtime.settings.profile),
    )


@router.get("/registry/master/review", response_class=HTMLResponse, response_model=None)
def review_page(pg: PageDep, staff: OptionalStaff, page: int = 1, done: str = "") -> Response:
    gate = _gate(pg, staff, "reconcile", "review the reconciliation")
    if gate is not None:
        return gate
    notice = {"matched": "Matched.", "none": "Marked as not in HFR."}.get(done)
    return _review_page(pg, page=max(1, min(page, 10_000)), notice=notice)


@posts.post(
    "/registry/master/review/{entry_id}/settle",
    response_class=HTMLResponse,
    response_model=None,
)
def settle_submit(
    pg: PageDep,
    staff: OptionalStaff,
    entry_id: str,
    choice: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    gate = _gate(pg, staff, "reconcile", "review the reconciliation")
    if gate is not None:
        return gate
    if not choice:
        return _review_page(
            pg,
            error="Pick the HFR facility that is the same as the master entry, or 'None of "
            "these', then press Settle.",
            status=400,
        )
    try:
        reconcile.settle_match(
            pg.session,
            pg.staff_ctx,
            clock=pg.runtime.clock,
            entry_id=entry_id[:40],
            hfr_id=None if choice == "none" else choice,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        return _review_page(pg, error=message, status=status)
    done = "none" if choice == "none" else "matched"
    return RedirectResponse(f"/registry/master/review?done={done}", status_code=303)


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
