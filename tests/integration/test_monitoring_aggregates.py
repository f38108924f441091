"""The dashboard's aggregates: events applied once, registry membership, the rebuild
from source (equal to what the events built), and freshness through the worker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.outbox import OutboxMessage, OutboxStatus
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.enrolment import enrol_by_demographics
from healthstack.network.abha.parts import AbhaParts
from healthstack.programme.monitoring import service
from healthstack.programme.monitoring.aggregates import apply_event, rebuild, reconcile_if_due
from healthstack.programme.monitoring.models import AppliedEvent, IndicatorTotal
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import make_resident, new_aadhaar
from tests.factories_monitoring import (
    ANANTNAG,
    BUDGAM,
    SRINAGAR,
    accounts,
    add_account,
    delete_account,
    emit_event,
    facility_row,
    load_facilities,
    load_professionals,
    one_worker_pass,
    snapshot,
    total,
)


def _messages(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.topic.like("event.%"))
                .order_by(OutboxMessage.id)
            )
        )


def _rebuild(runtime, **kwargs):
    with unit_of_work(runtime.session_factory) as s:
        return rebuild(s, clock=runtime.clock, **kwargs)


# --------------------------------------------------------------------------- events


def test_events_count_in_their_cells_and_days(runtime, relay, clock):
    today = clock.now().date()
    accounts(
        runtime,
        [
            {"district_lgd": SRINAGAR, "facility_id": FACILITY_A},
            {"district_lgd": SRINAGAR, "facility_id": FACILITY_A},
            {"district_lgd": SRINAGAR},
            {"district_lgd": BUDGAM, "facility_id": FACILITY_A},
            {"district_lgd": None},
            {"district_lgd": ANANTNAG, "at": clock.now() - timedelta(days=3)},
        ],
    )
    assert relay() == 6
    snap = snapshot(runtime)
    assert snap["totals"] == {
        ("abha.accounts", SRINAGAR, FACILITY_A): 2,
        ("abha.accounts", SRINAGAR, ""): 1,
        ("abha.accounts", BUDGAM, FACILITY_A): 1,
        ("abha.accounts", 0, ""): 1,
        ("abha.accounts", ANANTNAG, ""): 1,
    }
    assert snap["daily"][("abha.accounts", today, SRINAGAR, FACILITY_A)] == 2
    assert snap["daily"][("abha.accounts", today - timedelta(days=3), ANANTNAG, "")] == 1
    assert all(m.status == OutboxStatus.SENT.value for m in _messages(runtime))


def test_an_event_delivered_twice_counts_once(runtime, relay):
    accounts(runtime, [{"district_lgd": SRINAGAR, "facility_id": FACILITY_A}])
    relay()
    [msg] = _messages(runtime)
    assert msg.payload["event_id"] == str(msg.public_id)
    assert msg.payload["event"] == "abha.account.created"
    # A redelivery (a worker crashed after applying, before marking it sent).
    with unit_of_work(runtime.session_factory) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == msg.id)
            .values(status=OutboxStatus.PENDING.value)
        )
    assert relay() == 1
    # And the consumer called directly with the same event.
    with unit_of_work(runtime.session_factory) as s:
        again = apply_event(
            s,
            event_id=msg.public_id,
            name="abha.account.created",
            payload=msg.payload,
            clock=runtime.clock,
        )
    assert again is False
    assert total(runtime, "abha.accounts") == 1
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(AppliedEvent.name)) == "abha.account.created"


def test_a_deleted_account_no_longer_counts(runtime, relay, clock):
    [kept, gone] = accounts(
        runtime,
        [
            {"district_lgd": SRINAGAR, "facility_id": FACILITY_A},
            {"district_lgd": SRINAGAR, "facility_id": FACILITY_A},
        ],
    )
    clock.advance(days=2)
    with unit_of_work(runtime.session_factory) as s:
        delete_account(s, runtime, gone)
    relay()
    assert total(runtime, "abha.accounts") == 1
    daily = snapshot(runtime)["daily"]
    assert daily[("abha.accounts", clock.now().date(), SRINAGAR, FACILITY_A)] == -1
    assert (
        daily[("abha.accounts", clock.now().date() - timedelta(days=2), SRINAGAR, FACILITY_A)] == 2
    )


def test_an_event_no_indicator_counts_is_consumed(runtime, relay):
    emit_event(runtime, "facility.registered", {"hfr_id": FACILITY_A, "district_lgd": 13})
    emit_event(runtime, "something.new", {"district_lgd": 13})
    assert relay() == 2
    assert snapshot(runtime)["totals"] == {}
    assert {m.status for m in _messages(runtime)} == {OutboxStatus.SENT.value}


def test_a_malformed_event_changes_nothing_and_is_retried(runtime, relay):
    emit_event(runtime, "abha.account.created", {"district_lgd": "Srinagar", "facility_id": None})
    relay()
    [msg] = _messages(runtime)
    assert msg.status == OutboxStatus.PENDING.value
    assert msg.last_error.startswith("ValueError: event district_lgd")
    assert snapshot(runtime)["totals"] == {}
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(AppliedEvent.event_id)) is None  # rolled back with it


def _facility_event(runtime, name, hfr_id, district, ownership="public"):
    emit_event(
        runtime,
        name,
        {
            "hfr_id": hfr_id,
            "district_lgd": district,
            "ownership": ownership,
            "facility_type": "phc",
        },
    )


def test_a_registry_entity_counts_once_moves_and_leaves(runtime, relay, clock):
    fac = "IN0110000042"
    _facility_event(runtime, "facility.verified", fac, SRINAGAR)
    _facility_event(runtime, "facility.verified", fac, SRINAGAR)  # verified again after an edit
    relay()
    assert total(runtime, "hfr.public_facilities") == 1
    assert snapshot(runtime)["members"] == {("hfr.public_facilities", fac): (SRINAGAR, fac)}
    # An edit moved it to Budgam and it was verified again: the count moves.
    clock.advance(days=1)
    _facility_event(runtime, "facility.verified", fac, BUDGAM)
    relay()
    assert total(runtime, "hfr.public_facilities", district_lgd=SRINAGAR) == 0
    assert total(runtime, "hfr.public_facilities", district_lgd=BUDGAM) == 1
    daily = snapshot(runtime)["daily"]
    assert daily[("hfr.public_facilities", clock.now().date(), SRINAGAR, fac)] == -1
    assert daily[("hfr.public_facilities", clock.now().date(), BUDGAM, fac)] == 1
    # Now private: it no longer qualifies.
    _facility_event(runtime, "facility.verified", fac, BUDGAM, ownership="private")
    relay()
    assert total(runtime, "hfr.public_facilities") == 0
    assert snapshot(runtime)["members"] == {}
    # Public again, then rejected.
    _facility_event(runtime, "facility.verified", fac, BUDGAM)
    _facility_event(runtime, "facility.rejected", fac, BUDGAM)
    _facility_event(runtime, "facility.rejected", "IN0110000099", BUDGAM)  # never counted
    relay()
    assert total(runtime, "hfr.public_facilities") == 0


def test_professionals_count_by_category_and_sector(runtime, relay):
    def verified(hpr, category, sector, hfr_ids, district=SRINAGAR):
        emit_event(
            runtime,
            "professional.verified",
            {
                "hpr_id": hpr,
                "category": category,
                "sector": sector,
                "district_lgd": district,
                "hfr_ids": hfr_ids,
            },
        )

    verified("91000000000001", "doctor", "public", [FACILITY_A, FACILITY_B])
    verified("91000000000002", "doctor", "both", [FACILITY_B], BUDGAM)
    verified("91000000000003", "doctor", "private", [FACILITY_A])
    verified("91000000000004", "nurse", "public", [FACILITY_A])
    verified("91000000000005", "other", "public", [FACILITY_A])
    verified("91000000000006", "nurse", "public", [], None)
    relay()
    assert total(runtime, "hpr.doctors") == 2
    # Counted at the first work place only, so facility cells add up to districts.
    assert total(runtime, "hpr.doctors", facility_id=FACILITY_A) == 1
    assert total(runtime, "hpr.doctors", facility_id=FACILITY_B) == 1
    assert total(runtime, "hpr.nurses") == 2
    assert total(runtime, "hpr.nurses", district_lgd=0, facility_id="") == 1
    emit_event(
        runtime,
        "professional.rejected",
        {"hpr_id": "91000000000001", "category": "doctor", "sector": "public", "hfr_ids": []},
    )
    relay()
    assert total(runtime, "hpr.doctors") == 1


# --------------------------------------------------------------------------- rebuild


def test_rebuild_equals_what_the_events_built(runtime, relay, clock):
    start = clock.now()
    made = []
    for day in range(5):
        clock.set(start - timedelta(days=10 - day, hours=day))
        made += accounts(
            runtime,
            [
                {"district_lgd": SRINAGAR, "facility_id": FACILITY_A},
                {"district_lgd": BUDGAM},
                {"district_lgd": None, "facility_id": FACILITY_B},
            ][: 1 + day % 3],
        )
    clock.set(start - timedelta(days=2))
    with unit_of_work(runtime.session_factory) as s:
        delete_account(s, runtime, made[0])
        delete_account(s, runtime, made[4])
    clock.set(start)
    clinic = load_facilities(
        runtime,
        [
            facility_row("PHC Rainawari", SRINAGAR),
            facility_row("CHC Chadoora", BUDGAM, kind="chc"),
            facility_row("Dal View Clinic", SRINAGAR, ownership="private", kind="clinic"),
        ],
    )[2]
    professionals = load_professionals(
        runtime,
        [
            {"hfr_id": FACILITY_A},
            {"hfr_id": FACILITY_B},
            {"hfr_id": clinic, "sector": "private"},
            {"hfr_id": FACILITY_A, "status": "SUBMITTED"},
            {"hfr_id": FACILITY_B, "category": "nurse"},
        ],
    )
    assert len(professionals) == 5
    relay()
    incremental = snapshot(runtime)
    assert total(runtime, "abha.accounts") == len(made) - 2
    assert total(runtime, "hfr.public_facilities") == 2
    assert total(runtime, "hpr.doctors") == 2
    assert total(runtime, "hpr.nurses", facility_id=FACILITY_B) == 1
    report = _rebuild(runtime)
    assert report.skipped == []
    assert report.absorbed_events == 0
    assert snapshot(runtime) == incremental


def test_rebuild_absorbs_events_it_already_counted(runtime, relay):
    accounts(runtime, [{"district_lgd": SRINAGAR}] * 3)
    report = _rebuild(runtime)  # before the worker saw the events
    assert report.absorbed_events == 3
    assert total(runtime, "abha.accounts") == 3
    assert relay() == 3  # delivered, and each found already applied
    assert total(runtime, "abha.accounts") == 3
    assert {m.status for m in _messages(runtime)} == {OutboxStatus.SENT.value}
    # Events committed after the rebuild still count.
    accounts(runtime, [{"district_lgd": SRINAGAR}])
    relay()
    assert total(runtime, "abha.accounts") == 4


def test_rebuild_repairs_drift_and_checks_its_arguments(runtime, relay):
    accounts(runtime, [{"district_lgd": SRINAGAR, "facility_id": FACILITY_A}] * 2)
    relay()
    good = snapshot(runtime)
    with unit_of_work(runtime.session_factory) as s:
        s.execute(update(IndicatorTotal).values(value=IndicatorTotal.value + 40))
        s.add(IndicatorTotal(indicator="abha.accounts", district_lgd=5, facility_id="", value=7))
    report = _rebuild(runtime, only=["abha.accounts"])
    assert report.rebuilt == ["abha.accounts"]
    assert snapshot(runtime) == good
    with pytest.raises(ValueError, match="unknown indicators: nope"):
        _rebuild(runtime, only=["nope"])
    with unit_of_work(runtime.session_factory) as s:
        s.execute(select(IndicatorTotal.value)).all()
        with pytest.raises(RuntimeError, match="first thing"):
            rebuild(s, clock=runtime.clock)


def test_reconciliation_runs_nightly(runtime, relay, clock):
    accounts(runtime, [{"district_lgd": SRINAGAR}])
    relay()

    def due() -> int:
        with unit_of_work(runtime.session_factory) as s:
            return reconcile_if_due(s, clock=clock)

    assert due() == 1  # never rebuilt: one cell written
    assert due() == 0
    clock.advance(hours=23)
    assert due() == 0
    clock.advance(hours=2)
    assert due() == 1


# --------------------------------------------------------------------------- targets


def test_seeded_targets_and_percentages(runtime, relay, clock):
    from healthstack.programme.monitoring.targets import targets_in_force
    from healthstack.seed.dashboard import seed_targets

    with unit_of_work(runtime.session_factory) as s:
        assert seed_targets(s, scale=0.002, now=clock.now()) == 20
        seed_targets(s, scale=0.002, now=clock.now())  # idempotent
    with unit_of_work(runtime.session_factory) as s:
        in_force = targets_in_force(s, on=clock.now().date())
    assert len(in_force) == 20
    assert sum(in_force.values()) == 27_120  # round(1,35,60,000 x 0.002)
    accounts(runtime, [{"district_lgd": SRINAGAR}] * 3)
    relay()
    with unit_of_work(runtime.session_factory) as s:
        jk = runtime.settings.profile
        on = clock.now().date()
        [state] = service.summary(s, service.Scope(), profile=jk, on=on, only=["abha.accounts"])
        [district] = service.summary(
            s, service.Scope(SRINAGAR), profile=jk, on=on, only=["abha.accounts"]
        )
    assert (state.value, state.target, state.percent) == (3, 27_120, 0.0)
    assert district.target == in_force[("abha.accounts", SRINAGAR)]
    assert district.percent == round(300 / district.target, 1)


def test_targets_keep_their_history(runtime, clock):
    from healthstack.kernel.errors import ValidationFailed
    from healthstack.programme.monitoring.targets import (
        set_target,
        target_history,
        targets_in_force,
    )

    def put(value, valid_from, indicator="hpr.doctors", district=SRINAGAR):
        with unit_of_work(runtime.session_factory) as s:
            return set_target(
                s,
                profile=runtime.settings.profile,
                indicator=indicator,
                district_lgd=district,
                value=value,
                valid_from=valid_from,
                set_by="tests",
                clock=clock,
            )

    put(400, date(2026, 1, 1))
    put(420, date(2026, 6, 1))
    put(430, date(2026, 6, 1))  # the same day again replaces that day's value
    t = put(9, None, indicator="hfr.public_facilities", district=BUDGAM)
    assert t.valid_from == clock.now().date()
    with unit_of_work(runtime.session_factory) as s:
        assert targets_in_force(s, on=date(2026, 3, 1))[("hpr.doctors", SRINAGAR)] == 400
        assert targets_in_force(s, on=date(2026, 7, 1))[("hpr.doctors", SRINAGAR)] == 430
        assert ("hpr.doctors", SRINAGAR) not in targets_in_force(s, on=date(2025, 12, 31))
        assert [x.value for x in target_history(s, indicator="hpr.doctors")] == [400, 430]
    for kwargs, field in (
        ({"indicator": "nope"}, "indicator"),
        ({"indicator": "hpr.overdue"}, "indicator"),
        ({"district": 999}, "district_lgd"),
        ({"value": -1}, "value"),
        ({"value": 10**11}, "value"),
    ):
        args = {"value": 5, "valid_from": None} | kwargs
        with pytest.raises(ValidationFailed) as err:
            put(**args)
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        put(5, date(1999, 1, 1))
    assert err.value.field == "valid_from"


# --------------------------------------------------------------------------- freshness


def _desk() -> RequestContext:
    actor = Actor(
        kind=ActorKind.STAFF,
        id=str(uuid.uuid4()),
        role=Role.REGISTRATION_DESK,
        facility_id=FACILITY_A,
        display="desk",
    )
    return RequestContext(actor=actor, purpose=Purpose.ENROLMENT)


def test_an_enrolment_reaches_the_dashboard_through_the_worker(runtime, clock):
    aadhaar = new_aadhaar()
    with unit_of_work(runtime.session_factory) as s:
        make_resident(s, aadhaar=aadhaar, district_lgd=SRINAGAR)
    on = clock.now().date()

    def figures(scope):
        with unit_of_work(runtime.session_factory) as s:
            figures = service.summary(
                s, scope, profile=runtime.settings.profile, on=on, only=["abha.accounts"]
            )
            return figures[0].value

    before = (figures(service.Scope(SRINAGAR)), figures(service.Scope(None, FACILITY_A)))
    enrolment = dict(
        ctx=_desk(),
        aadhaar=aadhaar,
        name="Ravi Kumar Sharma",
        gender="M",
        birth_date=date(1990, 4, 12),
        year_of_birth=None,
        mobile="9876500001",
        address_line="House 12, Rajbagh",
        district_lgd=SRINAGAR,
        state_lgd=1,
        pincode="190008",
        consent_code="abha-enrollment",
        consent_version=runtime.settings.abha.consent_version,
        parts=AbhaParts.of(runtime),
    )
    with unit_of_work(runtime.session_factory) as s:
        assert enrol_by_demographics(s, **enrolment).is_new
    # One pass of the worker's loop (the embedded worker runs it every second).
    assert Worker(runtime).run_once() == 1
    assert (figures(service.Scope(SRINAGAR)), figures(service.Scope(None, FACILITY_A))) == (
        before[0] + 1,
        before[1] + 1,
    )
    # The same person again: the existing account is returned, nothing is counted.
    with unit_of_work(runtime.session_factory) as s:
        assert not enrol_by_demographics(s, **enrolment).is_new
    assert Worker(runtime).run_once() == 0
    assert figures(service.Scope(SRINAGAR)) == before[0] + 1


def test_one_pass_of_the_embedded_worker_moves_the_dashboard(runtime):
    with unit_of_work(runtime.session_factory) as s:
        add_account(s, runtime, district_lgd=SRINAGAR, facility_id=FACILITY_A)
    assert total(runtime, "abha.accounts") == 0  # nothing applied before the worker runs
    one_worker_pass(Worker(runtime))
    assert total(runtime, "abha.accounts") == 1
    assert total(runtime, "abha.accounts", facility_id=FACILITY_A) == 1


def test_aadhaar_otp_enrolment_emits_one_event_per_new_account(runtime, relay, clock):
    import re

    from healthstack.network.abha import enrolment
    from tests.factories_abha import outbox

    aadhaar = new_aadhaar()
    with unit_of_work(runtime.session_factory) as s:
        make_resident(s, aadhaar=aadhaar, district_lgd=BUDGAM, mobile="9876500077")
    ctx = _desk()

    def enrol() -> bool:
        with unit_of_work(runtime.session_factory) as s:
            txn = enrolment.request_aadhaar_otp(
                s, ctx, aadhaar=aadhaar, parts=AbhaParts.of(runtime)
            )
        code = re.match(r"(\d{6}) ", outbox(runtime)[-1].payload["text"]).group(1)
        with unit_of_work(runtime.session_factory) as s:
            return enrolment.enrol_by_aadhaar(
                s,
                ctx,
                txn_id=txn.txn_id,
                otp=code,
                mobile=None,
                consent_code="abha-enrollment",
                consent_version=runtime.settings.abha.consent_version,
                parts=AbhaParts.of(runtime),
            ).is_new

    assert enrol() is True
    [event] = _messages(runtime)
    assert event.topic == "event.abha.account.created"
    assert {k: event.payload[k] for k in ("district_lgd", "facility_id", "day")} == {
        "district_lgd": BUDGAM,
        "facility_id": FACILITY_A,
        "day": clock.now().date().isoformat(),
    }
    clock.advance(seconds=61)
    assert enrol() is False  # found, not created: no event
    assert len(_messages(runtime)) == 1
    relay()
    assert total(runtime, "abha.accounts", district_lgd=BUDGAM, facility_id=FACILITY_A) == 1
