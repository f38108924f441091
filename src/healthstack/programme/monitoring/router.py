"""The monitoring JSON API (``/api/v1/monitoring/...``): every figure of the dashboard,
from the same service functions the pages call, with the same filters and scope.

- ``GET /indicators``: the registry (what each indicator counts and which events move it)
- ``GET /summary?district_lgd=&facility_id=``: each indicator's value, target, percentage
- ``GET /trend?indicator=&district_lgd=&facility_id=&days=``: daily counts and totals
- ``GET /districts?indicator=``: the districts table
- ``GET /facilities?district_lgd=&indicator=``: a district's facilities table
- ``GET /targets``, ``POST /targets``: targets per district (``programme.monitoring.targets``)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from healthstack.accounts.permissions import require
from healthstack.kernel.clock import ist_date
from healthstack.programme.monitoring import service, targets
from healthstack.programme.monitoring.indicators import INDICATORS
from healthstack.programme.monitoring.models import Target
from healthstack.programme.monitoring.schemas import (
    DistrictRowRead,
    DistrictsQuery,
    DistrictsRead,
    FacilitiesQuery,
    FacilitiesRead,
    FacilityRowRead,
    FigureRead,
    IndicatorRead,
    ScopeRead,
    SummaryQuery,
    SummaryRead,
    TargetList,
    TargetRead,
    TargetSet,
    TargetsQuery,
    TrendPointRead,
    TrendQuery,
    TrendRead,
)
from healthstack.settings import StateProfile
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, StateProfileDep

router = APIRouter(prefix="/api/v1/monitoring", tags=["monitoring"])


def _only(indicator: str | None) -> list[str] | None:
    return [indicator] if indicator else None


@router.get("/indicators", response_model=list[IndicatorRead])
def list_indicators(staff: OptionalStaff) -> list[IndicatorRead]:
    require(staff, "monitoring.read")
    return [IndicatorRead.of(i) for i in INDICATORS]


@router.get("/summary", response_model=SummaryRead)
def get_summary(
    q: Annotated[SummaryQuery, Query()],
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> SummaryRead:
    scope = service.scope_for(
        session, staff, profile=profile, district_lgd=q.district_lgd, facility_id=q.facility_id
    )
    on = ist_date(runtime.clock.now())
    figures = service.summary(session, scope, profile=profile, on=on)
    return SummaryRead(
        as_of=on,
        scope=ScopeRead.of(scope, profile),
        figures=[FigureRead.of(f) for f in figures],
    )


@router.get("/trend", response_model=TrendRead)
def get_trend(
    q: Annotated[TrendQuery, Query()],
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> TrendRead:
    scope = service.scope_for(
        session, staff, profile=profile, district_lgd=q.district_lgd, facility_id=q.facility_id
    )
    on = ist_date(runtime.clock.now())
    points = service.trend(session, scope, indicator=q.indicator, days=q.days, on=on)
    return TrendRead(
        as_of=on,
        scope=ScopeRead.of(scope, profile),
        indicator=q.indicator,
        days=q.days,
        points=[TrendPointRead(day=p.day, count=p.count, total=p.total) for p in points],
    )


@router.get("/districts", response_model=DistrictsRead)
def get_districts(
    q: Annotated[DistrictsQuery, Query()],
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> DistrictsRead:
    on = ist_date(runtime.clock.now())
    scope = service.districts_scope_for(session, staff, profile=profile)
    rows = service.districts(
        session,
        profile=profile,
        on=on,
        only=_only(q.indicator),
        district_lgd=scope.district_lgd,
    )
    return DistrictsRead(
        as_of=on,
        rows=[
            DistrictRowRead(
                district_lgd=r.district_lgd,
                name=r.name,
                figures=[FigureRead.of(f) for f in r.figures],
            )
            for r in rows
        ],
    )


@router.get("/facilities", response_model=FacilitiesRead)
def get_facilities(
    q: Annotated[FacilitiesQuery, Query()],
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> FacilitiesRead:
    scope = service.district_scope_for(session, staff, profile=profile, district_lgd=q.district_lgd)
    lgd = scope.district_lgd
    assert lgd is not None
    chosen = service.chosen_indicators(_only(q.indicator))
    rows = service.facilities(session, district_lgd=lgd, only=_only(q.indicator))
    return FacilitiesRead(
        as_of=ist_date(runtime.clock.now()),
        district_lgd=lgd,
        district_name=service.district_name(profile, lgd),
        rows=[
            FacilityRowRead(
                facility_id=r.info.hfr_id,
                name=r.info.name,
                facility_type=r.info.facility_type,
                ownership=r.info.ownership,
                in_registry=r.info.in_registry,
                figures=[FigureRead.of(f) for f in r.figures(chosen)],
            )
            for r in rows
        ],
    )


def target_read(t: Target, profile: StateProfile) -> TargetRead:
    return TargetRead(
        indicator=t.indicator,
        district_lgd=t.district_lgd,
        district_name=service.district_name(profile, t.district_lgd),
        value=t.value,
        valid_from=t.valid_from,
        set_by=t.set_by,
    )


@router.get("/targets", response_model=TargetList)
def list_targets(
    q: Annotated[TargetsQuery, Query()],
    session: DbSession,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> TargetList:
    """Every target row (history included), for the state admin."""
    require(staff, "monitoring.targets")
    if q.indicator is not None:
        service.check_indicator_key(q.indicator)
    rows = targets.target_history(session, indicator=q.indicator, district_lgd=q.district_lgd)
    return TargetList(items=[target_read(t, profile) for t in rows])


@router.post("/targets", response_model=TargetRead)
def set_target(
    body: TargetSet,
    session: DbSession,
    runtime: RuntimeDep,
    profile: StateProfileDep,
    staff: OptionalStaff,
) -> TargetRead:
    """Set a district's target for an indicator from ``valid_from`` (default today)."""
    actor = require(staff, "monitoring.targets")
    target = targets.set_target(
        session,
        profile=profile,
        indicator=body.indicator,
        district_lgd=body.district_lgd,
        value=body.value,
        valid_from=body.valid_from,
        set_by=actor.id,
        clock=runtime.clock,
    )
    return target_read(target, profile)
