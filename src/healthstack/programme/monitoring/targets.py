"""Targets: the denominator of each indicator, per district, with history.

A target is in force from its ``valid_from`` day until the next target of the same
(indicator, district of the deployment's state); the state's target is the sum of its
districts' targets. The ABHA target is the district's target population: its share of
the state profile's target population (``set_population_targets``; the demo seed sets
it at the seed's scale). Facilities, doctors and nurses take the state master's and
the HR roster's counts as targets until those imports feed the dashboard directly.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock, ist_date
from healthstack.kernel.db import is_postgres
from healthstack.kernel.errors import ValidationFailed
from healthstack.programme.monitoring import indicators
from healthstack.programme.monitoring.models import Target
from healthstack.settings import StateProfile

# Targets from the state profile hold from the day ABDM was launched (27 September
# 2021), before any account, so every day of the trends has the target that applied.
ABDM_LAUNCH = date(2021, 9, 27)
# The largest target accepted: the national population with room to spare.
MAX_TARGET = 10**10


def check_indicator(key: str) -> indicators.Indicator:
    ind = indicators.indicator(key)
    if ind is None:
        raise ValidationFailed(
            f"There is no indicator {key!r}. Known indicators: {', '.join(indicators.keys())}.",
            field="indicator",
            code="HS-1701",
        )
    return ind


def check_district(lgd: int, profile: StateProfile) -> int:
    if lgd not in profile.district_codes:
        raise ValidationFailed(
            "There is no district with this LGD code in the state. Pick one of the "
            "districts listed on the dashboard.",
            field="district_lgd",
            code="HS-1702",
        )
    return lgd


def _check_target(ind: indicators.Indicator, value: int, valid_from: date) -> None:
    if ind.denominator_label is None:
        raise ValidationFailed(
            f"{ind.label} has no target: it is not compared with a denominator.",
            field="indicator",
            code="HS-1703",
        )
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TARGET:
        raise ValidationFailed(
            f"The target must be a whole number from 0 to {MAX_TARGET:,}.",
            field="value",
            code="HS-1704",
        )
    if not date(2000, 1, 1) <= valid_from <= date(2100, 12, 31):
        raise ValidationFailed(
            "valid_from must be a date between 2000 and 2100 (YYYY-MM-DD).",
            field="valid_from",
            code="HS-1705",
        )


def _upsert(session: Session, row: dict[str, Any]) -> None:
    insert = pg_insert if is_postgres(session) else sqlite_insert
    stmt = insert(Target).values(row)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["indicator", "district_lgd", "valid_from"],
            set_={
                "value": stmt.excluded.value,
                "set_by": stmt.excluded.set_by,
                "set_at": stmt.excluded.set_at,
            },
        )
    )


def set_target(
    session: Session,
    *,
    profile: StateProfile,
    indicator: str,
    district_lgd: int,
    value: int,
    valid_from: date | None = None,
    set_by: str,
    clock: Clock,
) -> Target:
    """Set the district's target for ``indicator`` from ``valid_from`` (default today)."""
    ind = check_indicator(indicator)
    check_district(district_lgd, profile)
    now = clock.now()
    start = valid_from or ist_date(now)
    _check_target(ind, value, start)
    _upsert(
        session,
        {
            "indicator": ind.key,
            "district_lgd": district_lgd,
            "value": value,
            "valid_from": start,
            "set_by": set_by[:64],
            "set_at": now,
        },
    )
    session.flush()
    target = session.scalar(
        select(Target).where(
            Target.indicator == ind.key,
            Target.district_lgd == district_lgd,
            Target.valid_from == start,
        )
    )
    assert target is not None
    session.refresh(target)
    return target


def targets_in_force(session: Session, *, on: date) -> dict[tuple[str, int], int]:
    """(indicator, district) -> the target in force on ``on``."""
    best: dict[tuple[str, int], tuple[date, int]] = {}
    rows = session.execute(
        select(Target.indicator, Target.district_lgd, Target.valid_from, Target.value).where(
            Target.valid_from <= on
        )
    )
    for ind, district, start, value in rows:
        key = (ind, district)
        if key not in best or start > best[key][0]:
            best[key] = (start, int(value))
    return {k: v for k, (_, v) in best.items()}


def target_history(
    session: Session, *, indicator: str | None = None, district_lgd: int | None = None
) -> list[Target]:
    query = select(Target).order_by(Target.indicator, Target.district_lgd, Target.valid_from)
    if indicator is not None:
        query = query.where(Target.indicator == indicator)
    if district_lgd is not None:
        query = query.where(Target.district_lgd == district_lgd)
    return list(session.scalars(query))


def set_population_targets(
    session: Session,
    *,
    profile: StateProfile,
    population: int | None = None,
    valid_from: date = ABDM_LAUNCH,
    set_by: str,
    now: datetime,
) -> int:
    """The ABHA targets of every district: its share of ``population`` (default the
    profile's target population) by census population, the shares the demo generator
    gives its residents. Idempotent; returns the number of targets written."""
    shares = profile.district_populations(population)
    for district, value in zip(profile.districts, shares, strict=True):
        _upsert(
            session,
            {
                "indicator": "abha.accounts",
                "district_lgd": district.lgd,
                "value": value,
                "valid_from": valid_from,
                "set_by": set_by[:64],
                "set_at": now,
            },
        )
    session.flush()
    return len(shares)
