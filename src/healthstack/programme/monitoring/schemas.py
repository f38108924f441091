"""Request and response shapes of the monitoring API. Query filters are models too,
with ``extra="forbid"``: a misspelt filter is refused rather than silently ignored
(which would return the state's figures under a district's name)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from healthstack.programme.monitoring import service
from healthstack.programme.monitoring.indicators import Count, Enter, Indicator, Leave
from healthstack.settings import StateProfile


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- filters


class SummaryQuery(Strict):
    district_lgd: int | None = Field(default=None, ge=0, le=99999)
    facility_id: str | None = Field(default=None, max_length=16)


class TrendQuery(SummaryQuery):
    indicator: str = Field(default="abha.accounts", max_length=64)
    days: int = Field(default=service.DEFAULT_TREND_DAYS, ge=1, le=service.MAX_TREND_DAYS)


class DistrictsQuery(Strict):
    indicator: str | None = Field(default=None, max_length=64)


class FacilitiesQuery(Strict):
    district_lgd: int | None = Field(default=None, ge=0, le=99999)
    indicator: str | None = Field(default=None, max_length=64)


class TargetsQuery(Strict):
    indicator: str | None = Field(default=None, max_length=64)
    district_lgd: int | None = Field(default=None, ge=0, le=99999)


# --------------------------------------------------------------------------- bodies


class TargetSet(Strict):
    indicator: str = Field(min_length=1, max_length=64)
    district_lgd: int = Field(ge=1, le=99999)
    value: int = Field(ge=0, le=10**10)
    # Default: today. A target holds until the next one of the same district.
    valid_from: date | None = None


# --------------------------------------------------------------------------- reads


class EventEffect(BaseModel):
    event: str
    effect: str


class IndicatorRead(BaseModel):
    key: str
    label: str
    unit: str
    description: str
    denominator: str | None
    higher_is_better: bool
    wired: bool
    kind: str
    dimensions: list[str]
    events: list[EventEffect]

    @classmethod
    def of(cls, ind: Indicator) -> IndicatorRead:
        effects = []
        for rule in ind.rules:
            if isinstance(rule, Count):
                effect = f"{rule.delta:+d} in {rule.where}"
            elif isinstance(rule, Enter):
                effect = f"counts the {rule.key} once (when it qualifies; else it leaves)"
            else:
                assert isinstance(rule, Leave)
                effect = f"the {rule.key} is no longer counted"
            effects.append(EventEffect(event=rule.event, effect=effect))
        return cls(
            key=ind.key,
            label=ind.label,
            unit=ind.unit,
            description=ind.description,
            denominator=ind.denominator_label,
            higher_is_better=ind.higher_is_better,
            wired=ind.wired,
            kind=ind.kind,
            dimensions=list(ind.dimensions),
            events=effects,
        )


class FigureRead(BaseModel):
    indicator: str
    label: str
    unit: str
    value: int
    target: int | None
    percent: float | None
    denominator: str | None
    wired: bool

    @classmethod
    def of(cls, f: service.Figure) -> FigureRead:
        return cls(
            indicator=f.indicator,
            label=f.label,
            unit=f.unit,
            value=f.value,
            target=f.target,
            percent=f.percent,
            denominator=f.denominator_label,
            wired=f.wired,
        )


class ScopeRead(BaseModel):
    level: str
    district_lgd: int | None
    district_name: str | None
    facility_id: str | None
    facility_name: str | None

    @classmethod
    def of(cls, scope: service.Scope, profile: StateProfile) -> ScopeRead:
        return cls(
            level=scope.level,
            district_lgd=scope.district_lgd,
            district_name=(
                service.district_name(profile, scope.district_lgd)
                if scope.district_lgd is not None
                else None
            ),
            facility_id=scope.facility_id,
            facility_name=scope.facility.name if scope.facility else None,
        )


class SummaryRead(BaseModel):
    as_of: date
    scope: ScopeRead
    figures: list[FigureRead]


class TrendPointRead(BaseModel):
    day: date
    count: int
    total: int


class TrendRead(BaseModel):
    as_of: date
    scope: ScopeRead
    indicator: str
    days: int
    points: list[TrendPointRead]


class DistrictRowRead(BaseModel):
    district_lgd: int
    name: str
    figures: list[FigureRead]


class DistrictsRead(BaseModel):
    as_of: date
    rows: list[DistrictRowRead]


class FacilityRowRead(BaseModel):
    facility_id: str
    name: str | None
    facility_type: str | None
    ownership: str | None
    in_registry: bool
    figures: list[FigureRead]


class FacilitiesRead(BaseModel):
    as_of: date
    district_lgd: int
    district_name: str
    rows: list[FacilityRowRead]


class TargetRead(BaseModel):
    indicator: str
    district_lgd: int
    district_name: str
    value: int
    valid_from: date
    set_by: str


class TargetList(BaseModel):
    items: list[TargetRead]
