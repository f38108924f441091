"""Factories for dashboard tests: ABHA accounts inserted directly with the event
enrolment emits, facilities and professionals through their registries' own bulk
loaders, a small standard data set, readers of the aggregate tables, and one pass of
the embedded worker's loop run deterministically in the test's own thread."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.jobs.worker import Worker
from healthstack.kernel.events import abha_account_event, emit
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.numbers import NumberPermutation, reserve
from healthstack.network.hfr.bulk import bulk_load_facilities
from healthstack.network.hpr.bulk import ProfessionalSeed, bulk_load_professionals
from healthstack.network.hpr.credentials import DetailsInput, QualificationInput, WorkplaceInput
from healthstack.programme.monitoring.models import IndicatorDaily, IndicatorMember, IndicatorTotal
from healthstack.runtime import Runtime
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_facilities import facility_row

SRINAGAR = 13
BUDGAM = 2
ANANTNAG = 1
_seq = itertools.count(1)


def add_account(
    session: Session,
    runtime: Runtime,
    *,
    district_lgd: int | None,
    facility_id: str | None = None,
    at: datetime | None = None,
    events: bool = True,
) -> AbhaAccount:
    """An ABHA account as enrolment leaves it (dimensions only matter here), and the
    ``abha.account.created`` event enrolment emits with it."""
    now = at or runtime.clock.now()
    n = next(_seq)
    number = NumberPermutation(runtime.settings.secret_key.get_secret_value()).number_for(
        reserve(session)
    )
    account = AbhaAccount(
        public_id=uuid.uuid4(),
        abha_number=number,
        aadhaar_hash=f"{uuid.uuid4().hex}{uuid.uuid4().hex}",
        first_name="Test",
        name=f"Test Person {n}",
        name_key=f"test person {n}",
        gender="F" if n % 2 else "M",
        year_of_birth=1990,
        district_lgd=district_lgd,
        state_lgd=1,
        kyc_method="aadhaar_otp",
        kyc_verified=True,
        status="ACTIVE",
        enrolled_by="tests",
        enrolled_at_facility=facility_id,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    if events:
        abha_account_event(session, "abha.account.created", account, at=now, clock=runtime.clock)
    return account


def delete_account(
    session: Session, runtime: Runtime, account: AbhaAccount, *, at: datetime | None = None
) -> None:
    """What the holder's delete leaves (the counted dimensions stay) and its event."""
    account = session.merge(account)
    account.status = "DELETED"
    account.deleted_at = at or runtime.clock.now()
    abha_account_event(
        session, "abha.account.deleted", account, at=account.deleted_at, clock=runtime.clock
    )


def accounts(runtime: Runtime, specs: list[dict[str, Any]]) -> list[AbhaAccount]:
    with unit_of_work(runtime.session_factory) as session:
        return [add_account(session, runtime, **spec) for spec in specs]


def emit_event(runtime: Runtime, name: str, payload: dict[str, Any]) -> uuid.UUID:
    with unit_of_work(runtime.session_factory) as session:
        return emit(session, name, payload, clock=runtime.clock)


def load_facilities(runtime: Runtime, rows: list[dict[str, Any]]) -> list[str]:
    """Facilities loaded verified by the registry's bulk loader, with its events."""
    with unit_of_work(runtime.session_factory) as session:
        return bulk_load_facilities(
            session, rows, clock=runtime.clock, profile=runtime.settings.profile, emit_events=True
        )


def standard_data(runtime: Runtime, relay: Any, *, facilities: bool = False) -> dict[str, Any]:
    """A small state: Srinagar (5 ABHA, 3 at FACILITY_A), Budgam (2, 1 at FACILITY_B),
    Anantnag (1), the seeded ABHA targets at scale 0.002; with ``facilities``, the
    registry's FACILITY_A (public PHC, Srinagar), FACILITY_B (public CHC, Budgam) and
    a private clinic in Srinagar. The events are applied (the relay drained)."""
    from healthstack.seed.dashboard import seed_targets

    ids: list[str] = []
    if facilities:
        ids = load_facilities(
            runtime,
            [
                facility_row("PHC Rainawari", SRINAGAR),
                facility_row("CHC Chadoora", BUDGAM, kind="chc"),
                facility_row("Dal View Clinic", SRINAGAR, ownership="private", kind="clinic"),
            ],
        )
        assert ids[:2] == [FACILITY_A, FACILITY_B], ids
    accounts(
        runtime,
        [
            *[{"district_lgd": SRINAGAR, "facility_id": FACILITY_A}] * 3,
            *[{"district_lgd": SRINAGAR}] * 2,
            {"district_lgd": BUDGAM, "facility_id": FACILITY_B},
            {"district_lgd": BUDGAM},
            {"district_lgd": ANANTNAG},
        ],
    )
    with unit_of_work(runtime.session_factory) as session:
        seed_targets(session, scale=0.002, now=runtime.clock.now())
    relay()
    return {"facilities": ids}


def snapshot(runtime: Runtime) -> dict[str, Any]:
    """Every aggregate row (zero rows left out: a rebuild does not write them)."""
    with unit_of_work(runtime.session_factory) as session:
        totals = {
            (t.indicator, t.district_lgd, t.facility_id): t.value
            for t in session.scalars(select(IndicatorTotal))
            if t.value
        }
        daily = {
            (d.indicator, d.day, d.district_lgd, d.facility_id): d.delta
            for d in session.scalars(select(IndicatorDaily))
            if d.delta
        }
        members = {
            (m.indicator, m.member_key): (m.district_lgd, m.facility_id)
            for m in session.scalars(select(IndicatorMember))
        }
    return {"totals": totals, "daily": daily, "members": members}


def total(runtime: Runtime, indicator: str, **cell: Any) -> int:
    snap = snapshot(runtime)["totals"]
    return sum(
        v
        for (ind, d, f), v in snap.items()
        if ind == indicator
        and ("district_lgd" not in cell or d == cell["district_lgd"])
        and ("facility_id" not in cell or f == cell["facility_id"])
    )


def load_professionals(runtime: Runtime, specs: list[dict[str, Any]]) -> list[str]:
    """Professionals loaded by the registry's bulk loader, with its events. A spec:
    ``category`` (doctor | nurse), ``hfr_id``, ``sector``, ``status`` (VERIFIED ...)."""
    from tests.factories_abha import new_aadhaar

    seeds = []
    for spec in specs:
        n = next(_seq)
        doctor = spec.get("category", "doctor") == "doctor"
        details = DetailsInput(
            category="doctor" if doctor else "nurse",
            subcategory="modern_medicine" if doctor else "gnm",
            council="JKMC" if doctor else "JKNC",
            registration_number=f"{'JKMC' if doctor else 'JKNC'}/2012/{n:05d}",
            registration_year=2012,
            qualifications=(
                QualificationInput("MBBS" if doctor else "GNM", "University of Kashmir", 2011),
            ),
            workplaces=(
                WorkplaceInput(
                    spec["hfr_id"],
                    "medical_officer" if doctor else "staff_nurse",
                    spec.get("sector", "public"),
                ),
            ),
        )
        seeds.append(
            ProfessionalSeed(
                aadhaar=new_aadhaar(),
                name=f"Test Professional {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}",
                gender="F",
                birth_date=datetime(1988, 2, 3).date(),
                mobile=f"97{n:08d}",
                details=details,
                status=spec.get("status", "VERIFIED"),
            )
        )
    with unit_of_work(runtime.session_factory) as session:
        result = bulk_load_professionals(
            session,
            rows=seeds,
            emit_events=True,
            clock=runtime.clock,
            hasher=runtime.hasher,
            secret_key=runtime.settings.secret_key,
        )
    return list(result.hpr_ids)


def one_worker_pass(worker: Worker) -> None:
    """One pass of the embedded worker's loop (``Worker.run_forever``), here in the test's
    thread: the relay once, then the scheduled jobs that are due, and the loop ends (its
    stop is asked for as the pass's last step), with no thread and nothing to wait for."""
    due = worker.run_due_jobs

    def due_then_stop(*, now: float | None = None) -> dict[str, int]:
        try:
            return due(now=now)
        finally:
            worker.stop()

    worker.run_due_jobs = due_then_stop  # type: ignore[method-assign]
    worker.run_forever()
