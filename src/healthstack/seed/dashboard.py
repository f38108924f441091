"""What a seed run leaves for the dashboard: each district's ABHA target at the seed's
scale (its share of the residents the seed made, the shares the generator gives the
districts), then every figure rebuilt from the freshly loaded tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from healthstack.kernel.clock import Clock
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.monitoring.aggregates import RebuildReport, rebuild
from healthstack.programme.monitoring.targets import set_population_targets
from healthstack.seed.generator import PROFILES, make_plan


def seed_targets(session: Session, *, scale: float, profile: str = "jk", now: datetime) -> int:
    """The ABHA targets of a seeded state at ``scale``. Idempotent; returns the number
    of targets written."""
    plan = make_plan(profile, scale)
    return set_population_targets(
        session,
        profile=PROFILES[plan.profile].PROFILE,
        population=plan.residents,
        set_by="seed",
        now=now,
    )


def after_seed(
    factory: sessionmaker[Session], *, clock: Clock, profile: str, scale: float
) -> RebuildReport:
    """The districts' ABHA targets at the seed's scale, then a rebuild of every figure."""
    with unit_of_work(factory) as session:
        seed_targets(session, scale=scale, profile=profile, now=clock.now())
    with unit_of_work(factory) as session:
        return rebuild(session, clock=clock)
