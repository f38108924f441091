"""The dashboard's figures: one function per figure, shared by the pages and the JSON
API (so both always show the same numbers for the same filters), and the caller's
scope.

Every figure is read from the aggregates (``indicator_total``, ``indicator_daily``)
and the targets: a few hundred rows at most, whatever the size of the registries.
Figures are counts, never personal data, so reads are not audited; who may see which
district or facility is decided here (``scope_for``):

- state admin and registry verifier: the whole state (the deployment's, its state
  profile's districts);
- district officer: their district and the facilities in it (another: not found);
- facility roles: their own facility (another, or any district: not found).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.context import FACILITY_ROLES, Actor, Role
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import parse_hfr_id
from healthstack.programme.monitoring import indicators
from healthstack.programme.monitoring.indicators import INDICATORS, Indicator, tables_exist
from healthstack.programme.monitoring.models import (
    NO_FACILITY,
    UNKNOWN_DISTRICT,
    IndicatorDaily,
    IndicatorRebuild,
    IndicatorTotal,
)
from healthstack.programme.monitoring.targets import targets_in_force
from healthstack.settings import StateProfile

DEFAULT_TREND_DAYS = 90
MAX_TREND_DAYS = 366
STATE_WIDE_ROLES = frozenset({Role.STATE_ADMIN, Role.REGISTRY_VERIFIER})
_IN_CHUNK = 1000

_NOT_YOURS_DISTRICT = (
    "This district is not on your dashboard. Open the dashboard from the menu to see "
    "the figures you may see."
)
_NOT_YOURS_FACILITY = (
    "This facility is not on your dashboard. Open the dashboard from the menu to see "
    "the figures you may see."
)


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class FacilityInfo:
    hfr_id: str
    name: str | None = None
    facility_type: str | None = None
    ownership: str | None = None
    # The registry's district; None when the registry does not know the facility.
    district_lgd: int | None = None
    # Districts the facility has figures in (an ABHA counts in its holder's district).
    figure_districts: frozenset[int] = frozenset()

    @property
    def in_registry(self) -> bool:
        return self.district_lgd is not None

    @property
    def districts(self) -> frozenset[int]:
        """Where the facility is: the registry's district, else where its figures are."""
        if self.district_lgd is not None:
            return frozenset({self.district_lgd})
        return self.figure_districts

    @property
    def home_district(self) -> int | None:
        if self.district_lgd is not None:
            return self.district_lgd
        return min(self.figure_districts) if len(self.figure_districts) == 1 else None


@dataclass(frozen=True)
class Scope:
    """What a figure covers: the state, a district, a facility (or a facility's
    enrolments from one district)."""

    district_lgd: int | None = None
    facility_id: str | None = None
    facility: FacilityInfo | None = None

    @property
    def level(self) -> Literal["state", "district", "facility"]:
        if self.facility_id is not None:
            return "facility"
        return "district" if self.district_lgd is not None else "state"


def _registry_ready(session: Session) -> Any:
    """The facility registry's model when it is installed with its table, else None."""
    try:
        from healthstack.network.hfr.models import Facility
    except ImportError:  # the facility registry is not installed
        return None
    return Facility if tables_exist(session, Facility.__tablename__) else None


def find_facility_info(session: Session, hfr_id: str) -> FacilityInfo | None:
    """What the registry and the aggregates know of a facility; None: nothing."""
    figure_districts = frozenset(
        int(d)
        for d in session.scalars(
            select(IndicatorTotal.district_lgd)
            .where(IndicatorTotal.facility_id == hfr_id)
            .distinct()
        )
    )
    model = _registry_ready(session)
    if model is not None:
        row = session.execute(
            select(
                model.name,
                model.facility_type,
                model.ownership,
                model.district_lgd,
            ).where(model.hfr_id == hfr_id)
        ).first()
        if row is not None:
            return FacilityInfo(hfr_id, row[0], row[1], row[2], int(row[3]), figure_districts)
    if figure_districts:
        return FacilityInfo(hfr_id, figure_districts=figure_districts)
    return None


def _check_facility_id(raw: str) -> str:
    try:
        return parse_hfr_id(raw)
    except ValidationFailed as exc:
        exc.field = "facility_id"
        raise


def scope_for(
    session: Session,
    actor: Actor | None,
    *,
    profile: StateProfile,
    district_lgd: int | None = None,
    facility_id: str | None = None,
) -> Scope:
    """The caller's scope for these filters; filters left out default to the caller's
    own district or facility. Out of scope and unknown look the same (not found)."""
    staff = require(actor, "monitoring.read")
    role = staff.role
    if facility_id is not None:
        facility_id = _check_facility_id(facility_id)
    if district_lgd is not None:
        if district_lgd == UNKNOWN_DISTRICT and role in STATE_WIDE_ROLES:
            pass  # accounts whose district is not recorded: the state's own bucket
        else:
            if district_lgd not in profile.district_codes:
                raise NotFound(_NOT_YOURS_DISTRICT, field="district_lgd", code="HS-1712")
    if role in FACILITY_ROLES:
        own = staff.facility_id
        if own is None:
            raise NotFound(
                "Your account is not tied to a facility, so there is no dashboard to show. "
                "Ask your facility admin to set your facility.",
                code="HS-1710",
            )
        if facility_id is None:
            facility_id = own
        if facility_id != own:
            raise NotFound(_NOT_YOURS_FACILITY, field="facility_id", code="HS-1711")
        own_info = find_facility_info(session, own) or FacilityInfo(own)
        return Scope(district_lgd, facility_id, own_info)
    if role is Role.DISTRICT_OFFICER:
        own_district = staff.district_lgd
        if district_lgd is None and facility_id is None:
            district_lgd = own_district
        if district_lgd is not None and district_lgd != own_district:
            raise NotFound(_NOT_YOURS_DISTRICT, field="district_lgd", code="HS-1712")
    if facility_id is None:
        return Scope(district_lgd)
    info = find_facility_info(session, facility_id)
    if info is None:
        raise NotFound(_NOT_YOURS_FACILITY, field="facility_id", code="HS-1711")
    if role is Role.DISTRICT_OFFICER and staff.district_lgd not in info.districts:
        raise NotFound(_NOT_YOURS_FACILITY, field="facility_id", code="HS-1711")
    return Scope(district_lgd, facility_id, info)


def district_scope_for(
    session: Session, actor: Actor | None, *, profile: StateProfile, district_lgd: int | None
) -> Scope:
    """A district's scope (its page, its facilities table); facility roles have none."""
    scope = scope_for(session, actor, profile=profile, district_lgd=district_lgd)
    if scope.level == "facility":
        raise NotFound(_NOT_YOURS_DISTRICT, field="district_lgd", code="HS-1712")
    if scope.district_lgd is None:
        raise ValidationFailed(
            "Give district_lgd: this table lists one district's facilities.",
            field="district_lgd",
            code="HS-1715",
        )
    return scope


def districts_scope_for(session: Session, actor: Actor | None, *, profile: StateProfile) -> Scope:
    """Whose districts table: the state's (every district) or a district officer's own
    row; facility roles have none."""
    scope = scope_for(session, actor, profile=profile)
    if scope.level == "facility":
        raise NotFound(
            "The districts table is part of the state and district dashboards; your "
            "dashboard shows your facility.",
            code="HS-1714",
        )
    return scope


def state_wide(actor: Actor | None) -> bool:
    return actor is not None and actor.role in STATE_WIDE_ROLES


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    indicator: str
    label: str
    unit: str
    value: int
    target: int | None
    percent: float | None
    denominator_label: str | None
    wired: bool
    higher_is_better: bool


def percent_of(value: int, target: int | None) -> float | None:
    if not target:
        return None
    return round(value * 100 / target, 1)


def _figure(ind: Indicator, value: int, target: int | None) -> Figure:
    if ind.denominator_label is None:
        target = None
    return Figure(
        indicator=ind.key,
        label=ind.label,
        unit=ind.unit,
        value=value,
        target=target,
        percent=percent_of(value, target),
        denominator_label=ind.denominator_label,
        wired=ind.wired,
        higher_is_better=ind.higher_is_better,
    )


def _chosen(keys: Sequence[str] | None) -> list[Indicator]:
    if not keys:
        return list(INDICATORS)
    out = []
    for key in keys:
        ind = indicators.indicator(key)
        if ind is None:
            raise ValidationFailed(
                f"There is no indicator {key!r}. Known indicators: {', '.join(indicators.keys())}.",
                field="indicator",
                code="HS-1701",
            )
        out.append(ind)
    return out


def check_indicator_key(key: str) -> Indicator:
    return _chosen([key])[0]


def _cell_filter(scope: Scope, model: type[IndicatorTotal] | type[IndicatorDaily]) -> list:
    clauses = []
    if scope.district_lgd is not None:
        clauses.append(model.district_lgd == scope.district_lgd)
    if scope.facility_id is not None:
        clauses.append(model.facility_id == scope.facility_id)
    return clauses


def denominators(
    session: Session, *, profile: StateProfile, on: date
) -> dict[tuple[str, int], int]:
    """(indicator, district) -> the denominator in force: the targets, except where an
    indicator's registry supplies its own (the state master, once imported)."""
    out = targets_in_force(session, on=on)
    for ind in INDICATORS:
        counts = ind.denominator(session, profile) if ind.denominator is not None else None
        if counts is not None:
            out = {k: v for k, v in out.items() if k[0] != ind.key}
            out.update({(ind.key, district): n for district, n in counts.items()})
    return out


def summary(
    session: Session,
    scope: Scope,
    *,
    profile: StateProfile,
    on: date,
    only: Sequence[str] | None = None,
) -> list[Figure]:
    """Each indicator's value in ``scope``, with its target and percentage.

    Targets are per district: the state's is the sum of its districts'; a facility
    has none."""
    chosen = _chosen(only)
    values = dict(
        session.execute(
            select(IndicatorTotal.indicator, func.sum(IndicatorTotal.value))
            .where(*_cell_filter(scope, IndicatorTotal))
            .group_by(IndicatorTotal.indicator)
        ).all()
    )
    targets: dict[str, int] = defaultdict(int)
    has_target: set[str] = set()
    if scope.level != "facility":
        for (ind, district), value in denominators(session, profile=profile, on=on).items():
            if scope.district_lgd is None or district == scope.district_lgd:
                targets[ind] += value
                has_target.add(ind)
    return [
        _figure(i, int(values.get(i.key) or 0), targets[i.key] if i.key in has_target else None)
        for i in chosen
    ]


@dataclass(frozen=True)
class DistrictRow:
    district_lgd: int
    name: str
    figures: list[Figure]


def districts(
    session: Session,
    *,
    profile: StateProfile,
    on: date,
    only: Sequence[str] | None = None,
    district_lgd: int | None = None,
) -> list[DistrictRow]:
    """The districts table: every district of the state (and the accounts whose
    district is not recorded, when there are any), each indicator with its target."""
    chosen = _chosen(only)
    query = select(
        IndicatorTotal.district_lgd, IndicatorTotal.indicator, func.sum(IndicatorTotal.value)
    ).group_by(IndicatorTotal.district_lgd, IndicatorTotal.indicator)
    if district_lgd is not None:
        query = query.where(IndicatorTotal.district_lgd == district_lgd)
    values: dict[tuple[int, str], int] = {
        (int(d), ind): int(v or 0) for d, ind, v in session.execute(query)
    }
    targets = denominators(session, profile=profile, on=on)
    lgds = [lgd for lgd, _ in profile.district_choices()]
    if district_lgd is not None:
        lgds = [district_lgd] if district_lgd in profile.district_codes else []
    elif any(d == UNKNOWN_DISTRICT and v for (d, _), v in values.items()):
        lgds.append(UNKNOWN_DISTRICT)
    return [
        DistrictRow(
            district_lgd=lgd,
            name=district_name(profile, lgd),
            figures=[
                _figure(i, values.get((lgd, i.key), 0), targets.get((i.key, lgd))) for i in chosen
            ],
        )
        for lgd in lgds
    ]


def district_name(profile: StateProfile, lgd: int | None) -> str:
    """The name a figure's scope goes by: the state's (``None``), a district's."""
    if lgd is None:
        return profile.state_name
    if lgd == UNKNOWN_DISTRICT:
        return "District not recorded"
    return profile.district_name(lgd) or f"District {lgd}"


@dataclass(frozen=True)
class TrendPoint:
    day: date
    count: int  # the net change that day
    total: int  # the value at the end of that day


def trend(
    session: Session,
    scope: Scope,
    *,
    indicator: str,
    days: int = DEFAULT_TREND_DAYS,
    on: date,
) -> list[TrendPoint]:
    """Daily counts over the ``days`` days ending ``on``, with the running total."""
    ind = check_indicator_key(indicator)
    if isinstance(days, bool) or not 1 <= days <= MAX_TREND_DAYS:
        raise ValidationFailed(
            f"days must be from 1 to {MAX_TREND_DAYS}.", field="days", code="HS-1713"
        )
    start = on - timedelta(days=days - 1)
    deltas: dict[date, int] = defaultdict(int)
    for day, delta in session.execute(
        select(IndicatorDaily.day, func.sum(IndicatorDaily.delta))
        .where(
            IndicatorDaily.indicator == ind.key,
            IndicatorDaily.day >= start,
            *_cell_filter(scope, IndicatorDaily),
        )
        .group_by(IndicatorDaily.day)
    ):
        deltas[day] += int(delta or 0)
    now_total = int(
        session.scalar(
            select(func.coalesce(func.sum(IndicatorTotal.value), 0)).where(
                IndicatorTotal.indicator == ind.key, *_cell_filter(scope, IndicatorTotal)
            )
        )
        or 0
    )
    # Walk back from today's value: the total at the end of a day is today's minus
    # everything that changed after it.
    running = now_total - sum(v for d, v in deltas.items() if d > on)
    points = []
    for offset in range(days):
        day = on - timedelta(days=offset)
        points.append(TrendPoint(day, deltas.get(day, 0), running))
        running -= deltas.get(day, 0)
    points.reverse()
    return points


@dataclass(frozen=True)
class FacilityRow:
    """One facility of a district's table: each chosen indicator's value there (a
    facility has no targets, so plain values; a district has hundreds of rows)."""

    info: FacilityInfo
    values: list[int] = field(default_factory=list)

    def figures(self, chosen: Sequence[Indicator]) -> list[Figure]:
        return [_figure(i, v, None) for i, v in zip(chosen, self.values, strict=True)]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def chosen_indicators(only: Sequence[str] | None = None) -> list[Indicator]:
    """The indicators a figure or table covers: all, or ``only`` these (checked)."""
    return _chosen(only)


def facilities(
    session: Session, *, district_lgd: int, only: Sequence[str] | None = None
) -> list[FacilityRow]:
    """The facilities of a district with each indicator's value there (no targets).

    Which facilities: those the registry places in the district (rejected ones
    excluded), and facilities the registry does not know that have figures in the
    district. A facility's figures are all of its own, whichever district the
    people it enrolled live in."""
    chosen = _chosen(only)
    infos: dict[str, FacilityInfo] = {}
    model = _registry_ready(session)
    if model is not None:
        m = model
        for hfr, name, ftype, own, d in session.execute(
            select(m.hfr_id, m.name, m.facility_type, m.ownership, m.district_lgd).where(
                m.district_lgd == district_lgd,
                m.status != "rejected",
            )
        ):
            infos[hfr] = FacilityInfo(hfr, name, ftype, own, int(d))
    with_figures = list(
        session.scalars(
            select(IndicatorTotal.facility_id)
            .where(
                IndicatorTotal.district_lgd == district_lgd,
                IndicatorTotal.facility_id != NO_FACILITY,
            )
            .distinct()
        )
    )
    unknown = [f for f in with_figures if f not in infos]
    if unknown and model is not None:
        for chunk in _chunks(unknown):
            known_elsewhere = set(
                session.scalars(select(model.hfr_id).where(model.hfr_id.in_(chunk)))
            )
            unknown = [f for f in unknown if f not in known_elsewhere]
    for hfr in unknown:
        infos[hfr] = FacilityInfo(hfr, figure_districts=frozenset({district_lgd}))
    values: dict[tuple[str, str], int] = {}
    ids = sorted(infos)
    for chunk in _chunks(ids):
        for hfr, ind, total in session.execute(
            select(
                IndicatorTotal.facility_id,
                IndicatorTotal.indicator,
                func.sum(IndicatorTotal.value),
            )
            .where(IndicatorTotal.facility_id.in_(chunk))
            .group_by(IndicatorTotal.facility_id, IndicatorTotal.indicator)
        ):
            values[(hfr, ind)] = int(total or 0)
    keys = [i.key for i in chosen]
    rows = [FacilityRow(infos[hfr], [values.get((hfr, k), 0) for k in keys]) for hfr in ids]
    rows.sort(key=lambda r: ((r.info.name or "~").lower(), r.info.hfr_id))
    return rows


def last_rebuilt(session: Session) -> dict[str, object]:
    return {
        ind: at
        for ind, at in session.execute(
            select(IndicatorRebuild.indicator, IndicatorRebuild.rebuilt_at)
        )
    }
