"""Server-rendered compliance pages (thin: they call the services directly).

- ``/compliance/roster``: the HR roster in force (file, when, by whom, reconciliation
  counts), the upload form, and the campaigns (a registration deadline per cadre)
  with the form that opens or replaces one;
- ``/compliance/roster/imports/{id}``: the preview of an uploaded roster (counts,
  encoding, warnings, every broken row by its line, the first good rows) and its
  Confirm button; nothing changes until it is pressed;
- ``/compliance/roster/review``: uncertain roster ↔ HPR pairs, the roster's record
  beside its HPR candidates, settled one by one;
- ``/compliance/status``: each roster entry's status, and ``/compliance/status.csv``
  the same list as CSV (the same filters);
- ``/compliance/notices``: the facilities whose head gets a notice (staff at the
  notice rung), each with its PDF at ``/compliance/notices/{hfr_id}.pdf``;
- ``/compliance/show-cause``: the district show-cause lists, with their PDF and CSV
  (``/compliance/show-cause.pdf``, ``.csv``, ``?district_lgd=``);
- ``/compliance/people/{employee_id}``: one person's status, escalation history and
  exemptions, with the forms that grant and revoke one.

Like the facility pages: staff log in with the session cookie, each page checks the
same ``compliance.*`` action as its API route, a form posted from another site is
refused, and an error shown beside a form is absorbed (rolled back, failure audit
rows kept) because it never reaches the unit of work. The downloads are page routes
for the same reason the JSON API takes bearer tokens only: a cookie never opens the
API. They carry names, so they are never cached, and a request another site made the
browser send (``Sec-Fetch-Site``) is refused before anything is read.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts.models import StaffUser
from healthstack.kernel.clock import ist_date
from healthstack.kernel.context import Actor, Role
from healthstack.kernel.errors import DomainError
from healthstack.kernel.tabular_import import import_status
from healthstack.web.deps import OptionalStaff
from healthstack.web.pages import (
    Page,
    PageDep,
    download_headers,
    foreign_fetch,
    render,
    same_origin,
)
from healthstack.web.timefmt import local_time

from . import figures, notices, reconcile, roster, service
from .escalation import RUNGS
from .models import ComplianceCampaign, RosterImport
from .notices import district_name

router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PAGE_SIZE = 25
# Good rows shown on the preview: enough to see the columns were read right.
PREVIEW_ROWS = 10
# The header's flags: what the staff member may do (the tabs and forms).
_CAN = {a: f"compliance.{a}" for a in ("roster_import", "campaign", "review", "exempt", "read")}
_ROSTER_ACTIONS = ("compliance.roster_import", "compliance.campaign")


# --------------------------------------------------------------------------- plumbing


def _show(pg: Page, template: str, *, http_status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with what the staff member may do (``_gate``). The status is
    ``http_status``: these pages' ``status`` is the status filter of their lists."""
    return render(pg.request, template, status_code=http_status, **pg.base, **context)


def _gate(
    pg: Page, staff: Actor | None, action: str | tuple[str, ...], back: str
) -> Response | None:
    """None when ``staff`` may do ``action`` (any of them, for a tuple): the page is
    theirs, with the tabs and forms they may use; else the login redirect (back to
    ``back``) or the 403 page."""
    return pg.admit(staff, action, what="open this page", back=back, can=_CAN)


def _utc(value: datetime | None) -> str:
    # Named for history: a person reads the time in IST (web.timefmt), never UTC.
    return local_time(value)


def _staff_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Who did it, by the staff ids the tables keep (a full name, else the id)."""
    given = [str(raw) for raw in ids if raw]
    wanted: dict[uuid.UUID, str] = {}
    for raw in given:
        try:
            wanted[uuid.UUID(raw)] = raw
        except ValueError:
            continue  # "system": the scheduled job
    names = {raw: raw for raw in given}
    if wanted:
        for pid, full_name, username in session.execute(
            select(StaffUser.public_id, StaffUser.full_name, StaffUser.username).where(
                StaffUser.public_id.in_(wanted)
            )
        ):
            names[wanted[pid]] = f"{full_name} ({username})"
    return names


def _person_url(employee_id: str, done: str = "") -> str:
    url = f"/compliance/people/{quote(employee_id, safe='')}"
    return f"{url}?done={done}" if done else url


def _parse_date(raw: str) -> date | None:
    """A date typed as ``YYYY-MM-DD`` (what a date input sends); None when empty.
    Raises ValueError for anything else."""
    text = raw.strip()
    return date.fromisoformat(text) if text else None


def _foreign(request: Request, staff: Actor | None) -> Response | None:
    """The 403 page for a download another site asked for, else None."""
    return foreign_fetch(
        request,
        "This download was requested from another web site and was refused. Open "
        "HealthStack directly and download it from the compliance pages.",
        staff=staff,
    )


def _download_gate(pg: Page, staff: Actor | None, back: str) -> Response | None:
    """None when the staff member may read compliance, for a download (``_foreign``
    first); else the refusal."""
    return _foreign(pg.request, staff) or _gate(pg, staff, "compliance.read", back)


def _csv_download(lines: Iterable[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        iter(lines), media_type="text/csv; charset=utf-8", headers=download_headers(filename)
    )


def _pdf_download(data: bytes, filename: str) -> Response:
    return Response(data, media_type="application/pdf", headers=download_headers(filename))


# --------------------------------------------------------------------------- roster


def _roster_page(
    pg: Page,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    campaign_form: dict[str, str] | None = None,
    campaign_error: str | None = None,
) -> HTMLResponse:
    current = reconcile.current_roster(pg.session)
    counts = reconcile.link_counts(pg.session, current) if current is not None else None
    campaigns = list(
        pg.session.scalars(select(ComplianceCampaign).order_by(ComplianceCampaign.id.desc()))
    )
    open_now = service.open_campaigns(pg.session)
    names = _staff_names(
        pg.session,
        [current.created_by if current else None, current.confirmed_by if current else None]
        + [c.created_by for c in campaigns],
    )
    return _show(
        pg,
        "compliance/roster.html",
        http_status=status,
        current=current,
        counts=counts,
        open_campaigns=[open_now.get(c) for c in service.CADRES],
        campaigns=campaigns[:20],
        cadres=service.CADRES,
        campaign_form=campaign_form or {"cadre": "", "deadline": ""},
        campaign_error=campaign_error,
        names=names,
        notice=notice,
        error=error,
        required=roster.REQUIRED,
        optional=roster.OPTIONAL,
        cadre_words=sorted(roster.CADRES),
        max_kb=roster.MAX_FILE_BYTES // 1000,
        utc=_utc,
    )


@router.get("/compliance/roster", response_class=HTMLResponse, response_model=None)
def roster_page(pg: PageDep, staff: OptionalStaff, done: str = "") -> Response:
    gate = _gate(pg, staff, _ROSTER_ACTIONS, "/compliance/roster")
    if gate is not None:
        return gate
    notice = None
    if done == "imported":
        current = reconcile.current_roster(pg.session)
        if current is not None:
            c = reconcile.link_counts(pg.session, current)
            notice = (
                f"The roster is imported ({current.valid_rows} posts) and reconciled with "
                f"HPR: {c['matched']} matched, {c['uncertain']} to review, {c['none']} not "
                "found in HPR."
            )
    elif done == "campaign":
        notice = "The deadline is set. The escalation job uses it from its next run."
    return _roster_page(pg, notice=notice)


@posts.post("/compliance/roster/upload", response_class=HTMLResponse, response_model=None)
def roster_upload(
    pg: PageDep,
    staff: OptionalStaff,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    gate = _gate(pg, staff, "compliance.roster_import", "/compliance/roster")
    if gate is not None:
        return gate
    # One byte over the limit is enough for the service to refuse the size.
    data = file.file.read(roster.MAX_FILE_BYTES + 1) if file else b""
    try:
        preview = roster.create_preview(
            pg.session,
            ctx=pg.staff_ctx,
            clock=pg.runtime.clock,
            profile=pg.runtime.settings.profile,
            filename=(file.filename if file else "") or "roster.csv",
            data=data,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        return _roster_page(pg, error=message, status=status)
    return RedirectResponse(f"/compliance/roster/imports/{preview.public_id}", status_code=303)


def _preview_page(
    pg: Page,
    preview: RosterImport,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _show(
        pg,
        "compliance/roster_preview.html",
        http_status=status,
        p=preview,
        state=import_status(preview, now=pg.runtime.clock.now()),
        sample=(preview.rows or [])[:PREVIEW_ROWS],
        error=error,
        district_name=partial(district_name, pg.runtime.settings.profile),
        utc=_utc,
    )


@router.get(
    "/compliance/roster/imports/{import_id}", response_class=HTMLResponse, response_model=None
)
def roster_preview(pg: PageDep, staff: OptionalStaff, import_id: str) -> Response:
    gate = _gate(pg, staff, "compliance.roster_import", "/compliance/roster")
    if gate is not None:
        return gate
    try:
        preview = roster.get_import(pg.session, ctx=pg.staff_ctx, import_id=import_id[:40])
    except DomainError as exc:
        return pg.error_page(exc)
    return _preview_page(pg, preview)


@posts.post(
    "/compliance/roster/imports/{import_id}/confirm",
    response_class=HTMLResponse,
    response_model=None,
)
def roster_confirm(
    pg: PageDep,
    staff: OptionalStaff,
    import_id: str,
    sha256: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.roster_import", "/compliance/roster")
    if gate is not None:
        return gate
    ctx = pg.staff_ctx
    try:
        # The reconciliation with HPR runs inside the confirm, in the same transaction.
        roster.confirm_import(
            pg.session,
            ctx=ctx,
            clock=pg.runtime.clock,
            import_id=import_id[:40],
            sha256=sha256 or None,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        try:
            preview = roster.get_import(pg.session, ctx=ctx, import_id=import_id[:40])
        except DomainError as missing:
            return pg.error_page(missing)
        return _preview_page(pg, preview, error=message, status=status)
    return RedirectResponse("/compliance/roster?done=imported", status_code=303)


# --------------------------------------------------------------------------- campaigns


@posts.post("/compliance/campaigns", response_class=HTMLResponse, response_model=None)
def campaign_submit(
    pg: PageDep,
    staff: OptionalStaff,
    cadre: Annotated[str, Form(max_length=10)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.campaign", "/compliance/roster")
    if gate is not None:
        return gate
    typed = {"cadre": cadre, "deadline": deadline}

    def refuse(message: str, status: int = 400) -> HTMLResponse:
        return _roster_page(pg, campaign_error=message, status=status, campaign_form=typed)

    if cadre not in service.CADRES:
        return refuse("Choose the cadre (doctor or nurse) the deadline is for.")
    try:
        day = _parse_date(deadline)
    except ValueError:
        day = None
    if day is None:
        return refuse("Enter the deadline as a date, for example 2027-03-31.")
    try:
        service.open_campaign(
            pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, cadre=cadre, deadline=day
        )
    except DomainError as exc:
        return refuse(*pg.absorb(exc))
    return RedirectResponse("/compliance/roster?done=campaign", status_code=303)


# --------------------------------------------------------------------------- review


def _review(
    pg: Page,
    *,
    page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    items, total = reconcile.list_uncertain(
        pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, page=page, page_size=PAGE_SIZE
    )
    return _show(
        pg,
        "compliance/review.html",
        http_status=status,
        items=items,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        notice=notice,
        error=error,
        district_name=partial(district_name, pg.runtime.settings.profile),
    )


@router.get("/compliance/roster/review", response_class=HTMLResponse, response_model=None)
def review_page(
    pg: PageDep,
    staff: OptionalStaff,
    page: int = 1,
    done: str = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.review", "/compliance/roster/review")
    if gate is not None:
        return gate
    notice = {"matched": "Linked to the HPR record.", "none": "Marked as not in HPR."}.get(done)
    return _review(pg, page=max(1, min(page, 10_000)), notice=notice)


@posts.post(
    "/compliance/roster/review/{entry_id}/settle",
    response_class=HTMLResponse,
    response_model=None,
)
def settle_submit(
    pg: PageDep,
    staff: OptionalStaff,
    entry_id: str,
    choice: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.review", "/compliance/roster/review")
    if gate is not None:
        return gate
    if not choice:
        return _review(
            pg,
            error="Pick the HPR record that is the same person, or 'None of these', then "
            "press Settle.",
            status=400,
        )
    try:
        reconcile.settle_entry(
            pg.session,
            ctx=pg.staff_ctx,
            clock=pg.runtime.clock,
            entry_id=entry_id[:40],
            hpr_id=None if choice == "none" else choice,
        )
    except DomainError as exc:
        message, status = pg.absorb(exc)
        return _review(pg, error=message, status=status)
    done = "none" if choice == "none" else "matched"
    return RedirectResponse(f"/compliance/roster/review?done={done}", status_code=303)


# --------------------------------------------------------------------------- status


def _gaps(pg: Page, rows: list[service.ComplianceRow] | None) -> list[figures.HprGap]:
    """Each cadre's "not in HPR" over the caller's whole scope (``rows`` when they are
    already that: the unfiltered list)."""
    if rows is None:
        rows = service.compliance_rows(pg.session, actor=pg.who, today=_today(pg))
    staff = pg.who
    district = staff.district_lgd if staff.role is Role.DISTRICT_OFFICER else None
    facility = staff.facility_id if staff.role is Role.FACILITY_ADMIN else None
    return figures.hpr_gaps(pg.session, rows, district_lgd=district, hfr_id=facility)


def _status_filters(status: str, cadre: str) -> str:
    chosen = {k: v for k, v in (("status", status), ("cadre", cadre)) if v}
    return f"?{urlencode(chosen)}" if chosen else ""


@router.get("/compliance/status", response_class=HTMLResponse, response_model=None)
def status_page(
    pg: PageDep,
    staff: OptionalStaff,
    status: str = "",
    cadre: str = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.read", "/compliance/status")
    if gate is not None:
        return gate
    try:
        rows = service.list_status(
            pg.session,
            ctx=pg.staff_ctx,
            clock=pg.runtime.clock,
            status=status or None,
            cadre=cadre or None,
        )
    except DomainError as exc:
        return pg.error_page(exc)
    return _show(
        pg,
        "compliance/status.html",
        gaps=_gaps(pg, rows if not (status or cadre) else None),
        rows=rows[:500],
        total=len(rows),
        counts=service.summary_counts(rows),
        status=status,
        cadre=cadre,
        csv_url="/compliance/status.csv" + _status_filters(status, cadre),
        rungs=RUNGS,
        district_name=partial(district_name, pg.runtime.settings.profile),
        person_url=_person_url,
    )


@router.get("/compliance/status.csv", response_model=None)
def status_csv(
    pg: PageDep,
    staff: OptionalStaff,
    status: str = "",
    cadre: str = "",
) -> Response:
    back = "/compliance/status.csv" + _status_filters(status[:24], cadre[:10])
    gate = _download_gate(pg, staff, back)
    if gate is not None:
        return gate
    try:
        rows = service.list_status(
            pg.session,
            ctx=pg.staff_ctx,
            clock=pg.runtime.clock,
            status=status or None,
            cadre=cadre or None,
        )
    except DomainError as exc:
        return pg.error_page(exc)
    return _csv_download(notices.status_csv_lines(rows), "compliance-status.csv")


# --------------------------------------------------------------------------- notices


@router.get("/compliance/notices", response_class=HTMLResponse, response_model=None)
def notices_page(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _gate(pg, staff, "compliance.read", "/compliance/notices")
    if gate is not None:
        return gate
    try:
        found = service.facility_notices(pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock)
    except DomainError as exc:
        return pg.error_page(exc)
    return _show(
        pg,
        "compliance/notices.html",
        notices=found,
        people=sum(len(n.rows) for n in found),
        rung=RUNGS[service.NOTICE_STEP],
        district_name=partial(district_name, pg.runtime.settings.profile),
        person_url=_person_url,
    )


@router.get("/compliance/notices/{hfr_id}.pdf", response_model=None)
def notice_pdf(pg: PageDep, staff: OptionalStaff, hfr_id: str) -> Response:
    code = hfr_id.strip().upper()[:12]
    gate = _download_gate(pg, staff, f"/compliance/notices/{quote(code)}.pdf")
    if gate is not None:
        return gate
    try:
        notice = service.facility_notice(
            pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, hfr_id=code
        )
    except DomainError as exc:
        return pg.error_page(exc)
    data = notices.facility_notice_pdf(
        notice.rows,
        profile=pg.runtime.settings.profile,
        hfr_id=notice.hfr_id,
        facility_name=notice.name,
        today=_today(pg),
    )
    return _pdf_download(data, f"hpr-notice-{notice.hfr_id}.pdf")


# --------------------------------------------------------------------------- show-cause


def _today(pg: Page) -> date:
    return ist_date(pg.runtime.clock.now())


def _show_cause_rows(
    pg: Page, staff: Actor | None, district_lgd: int | None, kind: str = ""
) -> list[service.ComplianceRow] | Response:
    """The show-cause list (``kind``: "" the page, ".pdf" or ".csv" a download); else
    the login redirect, the 403 page or the error page."""
    back = _show_cause_back(kind, district_lgd)
    gate = _download_gate(pg, staff, back) if kind else _gate(pg, staff, "compliance.read", back)
    if gate is not None:
        return gate
    try:
        return service.show_cause_list(
            pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, district_lgd=district_lgd
        )
    except DomainError as exc:
        return pg.error_page(exc)


def _show_cause_back(kind: str, district_lgd: int | None) -> str:
    query = f"?district_lgd={district_lgd}" if district_lgd is not None else ""
    return f"/compliance/show-cause{kind}{query}"


@router.get("/compliance/show-cause", response_class=HTMLResponse, response_model=None)
def show_cause_page(
    pg: PageDep,
    staff: OptionalStaff,
    district_lgd: int | None = None,
) -> Response:
    rows = _show_cause_rows(pg, staff, district_lgd)
    if isinstance(rows, Response):
        return rows
    staff = pg.who
    by_district: dict[int, list[service.ComplianceRow]] = {}
    for r in rows:
        by_district.setdefault(r.entry.district_lgd, []).append(r)
    # A district officer's own list has its links even while it is empty.
    own = staff.district_lgd if staff.role is Role.DISTRICT_OFFICER else None
    if own is not None and district_lgd in (None, own):
        by_district.setdefault(own, [])
    return _show(
        pg,
        "compliance/show_cause_list.html",
        districts=sorted(
            by_district.items(), key=lambda kv: district_name(pg.runtime.settings.profile, kv[0])
        ),
        total=len(rows),
        district_lgd=district_lgd,
        rung=RUNGS[service.SHOW_CAUSE_STEP],
        district_name=partial(district_name, pg.runtime.settings.profile),
        person_url=_person_url,
    )


@router.get("/compliance/show-cause.pdf", response_model=None)
def show_cause_pdf(
    pg: PageDep,
    staff: OptionalStaff,
    district_lgd: int | None = None,
) -> Response:
    rows = _show_cause_rows(pg, staff, district_lgd, ".pdf")
    if isinstance(rows, Response):
        return rows
    district = district_lgd or pg.who.district_lgd
    data = notices.show_cause_pdf(
        rows, profile=pg.runtime.settings.profile, district_lgd=district, today=_today(pg)
    )
    suffix = f"-{district}" if district else ""
    return _pdf_download(data, f"show-cause{suffix}.pdf")


@router.get("/compliance/show-cause.csv", response_model=None)
def show_cause_csv(
    pg: PageDep,
    staff: OptionalStaff,
    district_lgd: int | None = None,
) -> Response:
    rows = _show_cause_rows(pg, staff, district_lgd, ".csv")
    if isinstance(rows, Response):
        return rows
    suffix = f"-{district_lgd}" if district_lgd is not None else ""
    return _csv_download(notices.status_csv_lines(rows), f"show-cause{suffix}.csv")


# --------------------------------------------------------------------------- people

_PERSON_DONE = {
    "granted": "Exemption granted: the reminders stop while it is in force.",
    "revoked": "Exemption revoked: the reminders resume on the escalation job's next run.",
}


def _person_page(
    pg: Page,
    employee_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    try:
        history = service.person_history(
            pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, employee_id=employee_id
        )
    except DomainError as exc:
        return pg.error_page(exc)
    today = ist_date(pg.runtime.clock.now())
    return _show(
        pg,
        "compliance/person.html",
        http_status=status,
        h=history,
        row=history.row,
        in_force=lambda e: e.revoked_at is None and (e.until is None or e.until >= today),
        today=today,
        kinds=service.EXEMPTION_KINDS,
        form=form or {"kind": "", "reason": "", "until": ""},
        rungs=RUNGS,
        district_name=partial(district_name, pg.runtime.settings.profile),
        notice=notice,
        error=error,
        utc=_utc,
    )


@router.get(
    "/compliance/people/{employee_id:path}", response_class=HTMLResponse, response_model=None
)
def person_page(
    pg: PageDep,
    staff: OptionalStaff,
    employee_id: str,
    done: str = "",
) -> Response:
    back = _person_url(employee_id[:40])
    gate = _gate(pg, staff, "compliance.read", back)
    if gate is not None:
        return gate
    return _person_page(pg, employee_id[:40], notice=_PERSON_DONE.get(done))


@posts.post("/compliance/exemptions", response_class=HTMLResponse, response_model=None)
def exemption_submit(
    pg: PageDep,
    staff: OptionalStaff,
    employee_id: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    until: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.exempt", "/compliance/status")
    if gate is not None:
        return gate
    typed = {"kind": kind, "reason": reason, "until": until}

    def refuse(message: str, status: int = 400) -> Response:
        return _person_page(pg, employee_id, error=message, status=status, form=typed)

    if not employee_id.strip():
        return _show(
            pg,
            "error.html",
            http_status=400,
            code="HS-1873",
            message="Open the person's page from the compliance status list and grant the "
            "exemption there.",
        )
    if kind not in service.EXEMPTION_KINDS:
        return refuse("Choose the kind of exemption: leave, deputation or vacancy.")
    try:
        last_day = _parse_date(until)
    except ValueError:
        return refuse(
            "Enter the last day the exemption covers as a date (for example 2027-03-31), "
            "or leave it empty for an exemption until revoked."
        )
    try:
        service.grant_exemption(
            pg.session,
            ctx=pg.staff_ctx,
            clock=pg.runtime.clock,
            employee_id=employee_id,
            kind=kind,
            reason=reason,
            until=last_day,
        )
    except DomainError as exc:
        return refuse(*pg.absorb(exc))
    return RedirectResponse(_person_url(employee_id, "granted"), status_code=303)


@posts.post(
    "/compliance/exemptions/{exemption_id}/revoke",
    response_class=HTMLResponse,
    response_model=None,
)
def exemption_revoke(
    pg: PageDep,
    staff: OptionalStaff,
    exemption_id: str,
    employee_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    gate = _gate(pg, staff, "compliance.exempt", "/compliance/status")
    if gate is not None:
        return gate
    try:
        exemption = service.revoke_exemption(
            pg.session, ctx=pg.staff_ctx, clock=pg.runtime.clock, exemption_id=exemption_id[:40]
        )
    except DomainError as exc:
        if not employee_id.strip():
            return pg.error_page(exc)
        message, status = pg.absorb(exc)
        return _person_page(pg, employee_id, error=message, status=status)
    return RedirectResponse(_person_url(exemption.employee_id, "revoked"), status_code=303)


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
