"""The coverage dashboard pages: state → district → facility, and the targets form.

- ``/dashboard``: the state (each indicator's value, target and percentage; the
  districts table; coverage by district and the daily trend as charts);
- ``/dashboard/district/{lgd}``: one district (its figures, trend and facilities);
- ``/dashboard/facility/{hfr_id}``: one facility (its figures and trend);
- ``/dashboard/targets``: targets per district and indicator (``programme.monitoring.targets``).

Plain and fast: server-rendered from the same service functions as the JSON API, so
the numbers match it. Every table downloads as CSV (``?format=csv``, ``&table=`` to
pick one). Charts are plotly.js from the installed wheel (``web/vendor.py``) drawn
by ``/static/monitoring.js`` from the JSON in each chart's ``data-series`` attribute
(never an inline script, so a strict Content-Security-Policy holds); the same data is
a plain table underneath, so the page works without JavaScript.

A district officer who opens ``/dashboard`` lands on their district, a facility
role on their facility; anything outside their scope is "not found".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed
from healthstack.kernel.clock import ist_date
from healthstack.kernel.context import FACILITY_ROLES, Actor, Role
from healthstack.kernel.errors import DomainError, NotFound, ValidationFailed
from healthstack.programme.monitoring import service, targets
from healthstack.programme.monitoring.indicators import INDICATORS
from healthstack.programme.monitoring.models import UNKNOWN_DISTRICT
from healthstack.settings import StateProfile
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep
from healthstack.web.pages import forbidden, here, login_redirect, render, same_origin
from healthstack.web.vendor import plotly_tag

TREND_CHOICES = (30, 90, 180, 365)


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


# --------------------------------------------------------------------------- helpers


def indian(value: int | None) -> str:
    """Indian digit grouping (1,35,60,000), as the state's reports write figures."""
    if value is None:
        return "—"
    sign, digits = ("-", str(-value)) if value < 0 else ("", str(value))
    if len(digits) <= 3:
        return sign + digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join(groups) + "," + tail


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _login(request: Request) -> RedirectResponse:
    return login_redirect(here(request))


def _check_format(format: str, table: str | None, tables: Sequence[str]) -> str | None:
    if format not in ("html", "csv"):
        raise ValidationFailed("format must be html or csv.", field="format", code="HS-1716")
    if format == "html":
        return None
    chosen = table or tables[0]
    if chosen not in tables:
        raise ValidationFailed(
            f"This page's tables are: {', '.join(tables)}.", field="table", code="HS-1717"
        )
    return chosen


def _cell(value: Any) -> Any:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _csv(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    # A BOM so spreadsheet programs read UTF-8 (district and facility names).
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _figure_columns(figures: Sequence[service.Figure], *, targets_too: bool) -> list[str]:
    cols = []
    for f in figures:
        cols.append(f"{f.label} ({f.indicator})")
        if targets_too and f.denominator_label:
            cols += [f"{f.denominator_label} ({f.indicator})", f"% ({f.indicator})"]
    return cols


def _figure_values(figures: Sequence[service.Figure], *, targets_too: bool) -> list[Any]:
    out: list[Any] = []
    for f in figures:
        out.append(f.value)
        if targets_too and f.denominator_label:
            out += [
                f.target if f.target is not None else "",
                f.percent if f.percent is not None else "",
            ]
    return out


def _summary_csv(name: str, figures: Sequence[service.Figure]) -> Response:
    return _csv(
        name,
        ["indicator", "label", "value", "target", "denominator", "percent"],
        (
            [
                f.indicator,
                f.label,
                f.value,
                f.target if f.target is not None else "",
                f.denominator_label or "",
                f.percent if f.percent is not None else "",
            ]
            for f in figures
        ),
    )


def _trend_csv(name: str, indicator: str, points: Sequence[service.TrendPoint]) -> Response:
    return _csv(
        name,
        ["day", "indicator", "count", "total"],
        ([p.day.isoformat(), indicator, p.count, p.total] for p in points),
    )


def _trend_data(points: Sequence[service.TrendPoint], label: str) -> dict[str, Any]:
    return {
        "label": label,
        "days": [p.day.isoformat() for p in points],
        "counts": [p.count for p in points],
        "totals": [p.total for p in points],
    }


def _trend_args(indicator: str, days: int) -> tuple[str, int]:
    service.check_indicator_key(indicator)
    if not 1 <= days <= service.MAX_TREND_DAYS:
        raise ValidationFailed(
            f"days must be from 1 to {service.MAX_TREND_DAYS}.", field="days", code="HS-1713"
        )
    return indicator, days


def _gap_definitions() -> dict[str, str]:
    """The dashboard's figures that have a "not in HPR" (target − value), with the one
    definition the compliance pages state too."""
    try:
        from healthstack.programme.compliance.figures import definition
    except ImportError:  # compliance is not installed
        return {}
    return {f"hpr.{cadre}s": definition(cadre) for cadre in ("doctor", "nurse")}


def _base(staff: Actor, profile: StateProfile) -> dict[str, Any]:
    return {
        "staff": staff,
        "gaps": _gap_definitions(),
        "can_compliance": allowed(staff, "compliance.read"),
        "fmt": indian,
        "pct": pct,
        "plotly": plotly_tag(),
        "can_targets": allowed(staff, "monitoring.targets"),
        "state_wide": service.state_wide(staff),
        "state_name": profile.state_name,
        "indicators": INDICATORS,
        "trend_choices": TREND_CHOICES,
    }


def _stamp(on: date) -> str:
    return on.isoformat()


def _facility_not_found(exc: ValidationFailed) -> NotFound:
    return NotFound(
        "There is no facility at this address. Check the HFR id in the link.",
        code="HS-1711",
    )


# --------------------------------------------------------------------------- state


@router.get("/dashboard", response_class=HTMLResponse, response_model=None)
def state_dashboard(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    indicator: str = "abha.accounts",
    days: int = service.DEFAULT_TREND_DAYS,
    format: str = "html",
    table: str | None = None,
) -> Response:
    if staff is None:
        return _login(request)
    profile = runtime.settings.profile
    scope = service.scope_for(session, staff, profile=profile)  # checks monitoring.read
    query = f"?{request.url.query}" if request.url.query else ""
    if scope.level == "facility":
        return RedirectResponse(f"/dashboard/facility/{scope.facility_id}{query}", 303)
    if scope.level == "district":
        return RedirectResponse(f"/dashboard/district/{scope.district_lgd}{query}", 303)
    csv_table = _check_format(format, table, ("districts", "summary", "trend"))
    indicator, days = _trend_args(indicator, days)
    on = ist_date(runtime.clock.now())
    if csv_table == "summary":
        return _summary_csv(
            f"dashboard-state-summary-{_stamp(on)}",
            service.summary(session, scope, profile=profile, on=on),
        )
    if csv_table == "trend":
        points = service.trend(session, scope, indicator=indicator, days=days, on=on)
        return _trend_csv(f"dashboard-state-trend-{indicator}-{_stamp(on)}", indicator, points)
    rows = service.districts(session, profile=profile, on=on)
    if csv_table == "districts":
        header = ["district_lgd", "district", *_figure_columns(rows[0].figures, targets_too=True)]
        return _csv(
            f"dashboard-districts-{_stamp(on)}",
            header,
            ([r.district_lgd, r.name, *_figure_values(r.figures, targets_too=True)] for r in rows),
        )
    figures = service.summary(session, scope, profile=profile, on=on)
    points = service.trend(session, scope, indicator=indicator, days=days, on=on)
    chosen = next(f for f in figures if f.indicator == indicator)
    picked = [next(f for f in r.figures if f.indicator == indicator) for r in rows]
    # Percent of target where targets exist; the plain values where none is set yet.
    as_percent = any(f.percent is not None for f in picked)
    # The chart puts the districts that most need action first (the table keeps the
    # alphabetical order).
    bars = sorted(
        zip(rows, picked, strict=True),
        key=lambda rf: (rf[1].percent if as_percent else rf[1].value) or 0,
        reverse=not chosen.higher_is_better,
    )
    coverage = {
        "label": chosen.label,
        "percent": as_percent,
        "districts": [r.name for r, _ in bars],
        "values": [f.percent if as_percent else f.value for _, f in bars],
        # The state's own share, marked on the chart beside the target.
        "overall": chosen.percent if as_percent else None,
        "overall_label": profile.state_name,
    }
    return render(
        request,
        "monitoring/state.html",
        **_base(staff, profile),
        on=on,
        figures=figures,
        rows=rows,
        points=points,
        trend=_trend_data(points, chosen.label),
        coverage=coverage,
        indicator=indicator,
        days=days,
        unknown_district=UNKNOWN_DISTRICT,
        rebuilt=service.last_rebuilt(session),
        query=lambda **kw: "?" + urlencode({"indicator": indicator, "days": days, **kw}),
    )


# --------------------------------------------------------------------------- district


@router.get("/dashboard/district/{lgd}", response_class=HTMLResponse, response_model=None)
def district_dashboard(
    request: Request,
    lgd: int,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    indicator: str = "abha.accounts",
    days: int = service.DEFAULT_TREND_DAYS,
    format: str = "html",
    table: str | None = None,
) -> Response:
    if staff is None:
        return _login(request)
    profile = runtime.settings.profile
    scope = service.district_scope_for(session, staff, profile=profile, district_lgd=lgd)
    csv_table = _check_format(format, table, ("facilities", "summary", "trend"))
    indicator, days = _trend_args(indicator, days)
    on = ist_date(runtime.clock.now())
    slug = f"district-{lgd}"
    if csv_table == "summary":
        figures = service.summary(session, scope, profile=profile, on=on)
        return _summary_csv(f"dashboard-{slug}-summary-{_stamp(on)}", figures)
    if csv_table == "trend":
        points = service.trend(session, scope, indicator=indicator, days=days, on=on)
        return _trend_csv(f"dashboard-{slug}-trend-{indicator}-{_stamp(on)}", indicator, points)
    rows = service.facilities(session, district_lgd=lgd)
    if csv_table == "facilities":
        cols = _figure_columns(
            service.summary(session, scope, profile=profile, on=on), targets_too=False
        )
        return _csv(
            f"dashboard-{slug}-facilities-{_stamp(on)}",
            ["facility_id", "name", "facility_type", "ownership", *cols],
            (
                [
                    r.info.hfr_id,
                    r.info.name or "",
                    r.info.facility_type or "",
                    r.info.ownership or "",
                    *r.values,
                ]
                for r in rows
            ),
        )
    figures = service.summary(session, scope, profile=profile, on=on)
    points = service.trend(session, scope, indicator=indicator, days=days, on=on)
    chosen = next(f for f in figures if f.indicator == indicator)
    return render(
        request,
        "monitoring/district.html",
        **_base(staff, profile),
        on=on,
        lgd=lgd,
        district_name=service.district_name(profile, lgd),
        figures=figures,
        facilities=rows,
        points=points,
        trend=_trend_data(points, chosen.label),
        indicator=indicator,
        days=days,
        query=lambda **kw: "?" + urlencode({"indicator": indicator, "days": days, **kw}),
    )


# --------------------------------------------------------------------------- facility


@router.get("/dashboard/facility/{hfr_id}", response_class=HTMLResponse, response_model=None)
def facility_dashboard(
    request: Request,
    hfr_id: str,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    indicator: str = "abha.accounts",
    days: int = service.DEFAULT_TREND_DAYS,
    format: str = "html",
    table: str | None = None,
) -> Response:
    if staff is None:
        return _login(request)
    profile = runtime.settings.profile
    try:
        scope = service.scope_for(session, staff, profile=profile, facility_id=hfr_id)
    except ValidationFailed as exc:  # a malformed id in the address: nothing there
        raise _facility_not_found(exc) from exc
    csv_table = _check_format(format, table, ("summary", "trend"))
    indicator, days = _trend_args(indicator, days)
    on = ist_date(runtime.clock.now())
    figures = service.summary(session, scope, profile=profile, on=on)
    slug = f"facility-{scope.facility_id}"
    if csv_table == "summary":
        return _summary_csv(f"dashboard-{slug}-summary-{_stamp(on)}", figures)
    points = service.trend(session, scope, indicator=indicator, days=days, on=on)
    if csv_table == "trend":
        return _trend_csv(f"dashboard-{slug}-trend-{indicator}-{_stamp(on)}", indicator, points)
    info = scope.facility or service.FacilityInfo(str(scope.facility_id))
    home = info.home_district
    # The district crumb links only where the caller may follow it.
    district_link = home is not None and (
        service.state_wide(staff)
        or (staff.role is Role.DISTRICT_OFFICER and staff.district_lgd == home)
    )
    chosen = next(f for f in figures if f.indicator == indicator)
    return render(
        request,
        "monitoring/facility.html",
        **_base(staff, profile),
        on=on,
        info=info,
        home=home,
        home_name=service.district_name(profile, home) if home is not None else None,
        district_link=district_link,
        facility_role=staff.role in FACILITY_ROLES,
        figures=figures,
        points=points,
        trend=_trend_data(points, chosen.label),
        indicator=indicator,
        days=days,
        query=lambda **kw: "?" + urlencode({"indicator": indicator, "days": days, **kw}),
    )


# --------------------------------------------------------------------------- targets


def _targets_page(
    request: Request,
    session: Session,
    staff: Actor,
    profile: StateProfile,
    on: date,
    *,
    error: str | None = None,
    saved: bool = False,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    in_force = targets.targets_in_force(session, on=on)
    with_targets = [i for i in INDICATORS if i.denominator_label]
    grid = [
        (lgd, name, [in_force.get((i.key, lgd)) for i in with_targets])
        for lgd, name in profile.district_choices()
    ]
    history = targets.target_history(session)
    history.sort(key=lambda t: t.set_at, reverse=True)
    return render(
        request,
        "monitoring/targets.html",
        status_code=status,
        **_base(staff, profile),
        on=on,
        with_targets=with_targets,
        grid=grid,
        history=history[:50],
        districts=profile.district_choices(),
        district_name=partial(service.district_name, profile),
        error=error,
        saved=saved,
        form=form or {},
    )


def _forbidden_targets(request: Request, staff: Actor) -> HTMLResponse:
    message = "Only the state admin sets targets. Ask the state admin to change one."
    return forbidden(request, message, staff=staff)


@router.get("/dashboard/targets", response_class=HTMLResponse, response_model=None)
def targets_form(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    saved: int = 0,
) -> Response:
    if staff is None:
        return _login(request)
    if not allowed(staff, "monitoring.targets"):
        return _forbidden_targets(request, staff)
    return _targets_page(
        request,
        session,
        staff,
        runtime.settings.profile,
        ist_date(runtime.clock.now()),
        saved=bool(saved),
    )


def _whole_number(raw: str, field: str, what: str) -> int:
    cleaned = raw.replace(",", "").replace(" ", "").strip()
    if not cleaned.isdigit():
        raise ValidationFailed(f"{what} must be a whole number (digits only).", field=field)
    return int(cleaned)


@posts.post("/dashboard/targets", response_class=HTMLResponse, response_model=None)
def targets_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    indicator: Annotated[str, Form(max_length=64)] = "",
    district_lgd: Annotated[str, Form(max_length=8)] = "",
    value: Annotated[str, Form(max_length=24)] = "",
    valid_from: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if staff is None:
        return _login(request)
    if not allowed(staff, "monitoring.targets"):
        return _forbidden_targets(request, staff)
    on = ist_date(runtime.clock.now())
    form = {
        "indicator": indicator,
        "district_lgd": district_lgd,
        "value": value,
        "valid_from": valid_from,
    }
    try:
        start = None
        if valid_from.strip():
            try:
                start = date.fromisoformat(valid_from.strip())
            except ValueError as exc:
                raise ValidationFailed(
                    "Valid from must be a date (YYYY-MM-DD), or empty for today.",
                    field="valid_from",
                ) from exc
        targets.set_target(
            session,
            profile=runtime.settings.profile,
            indicator=indicator.strip(),
            district_lgd=_whole_number(district_lgd, "district_lgd", "The district"),
            value=_whole_number(value, "value", "The target"),
            valid_from=start,
            set_by=staff.id,
            clock=runtime.clock,
        )
    except DomainError as exc:
        session.rollback()
        return _targets_page(
            request,
            session,
            staff,
            runtime.settings.profile,
            on,
            error=exc.message,
            form=form,
            status=exc.status_hint,
        )
    return RedirectResponse("/dashboard/targets?saved=1", status_code=303)


router.include_router(posts)
