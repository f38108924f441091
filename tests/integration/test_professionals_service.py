"""The professional registry's services against the database: the bulk loader the
seed uses, the look-ups roster reconciliation builds on, the HPR id counter, and the
facility registry check on work places."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, ActorKind, Role, system_context
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr.models import Facility
from healthstack.network.hpr.bulk import ProfessionalSeed, bulk_load_professionals
from healthstack.network.hpr.models import (
    Professional,
    ProfessionalQualification,
    ProfessionalVersion,
    ProfessionalWorkplace,
)
from healthstack.network.hpr.numbers import HprIdPermutation, allocated_count, reserve
from healthstack.network.hpr.service import (
    find_by_council_number,
    find_by_mobile,
    search_by_name_and_birth_year,
    version_at,
    visible_to,
)
from tests.conftest import FACILITY_A, FACILITY_B, TEST_SECRET
from tests.factories_abha import new_aadhaar
from tests.factories_professionals import (
    details_input,
    doctor_details,
    seed_professional,
)


def seed(n: int, **overrides) -> ProfessionalSeed:
    details = details_input(doctor_details(number=f"JKMC/2015/{n:05d}", year=2015))
    values = {
        "aadhaar": new_aadhaar(),
        "name": f"Doctor Number {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}",
        "gender": "F" if n % 2 else "M",
        "birth_date": date(1980 + n % 10, 1 + n % 12, 1 + n % 28),
        "mobile": f"9{n:09d}",
        "details": details,
    }
    values.update(overrides)
    return ProfessionalSeed(**values)


def count(runtime, model) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- bulk load


def test_bulk_load_writes_records_history_audit_and_events(runtime, facilities):
    registered = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    decided = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    rows = [seed(i, registered_at=registered, decided_at=decided) for i in range(250)]
    rows[3] = dataclasses.replace(rows[3], status="SUBMITTED", decided_at=None)
    rows[4] = dataclasses.replace(
        rows[4], status="REJECTED", rejection_reason="Council register lists another name"
    )
    with unit_of_work(runtime.session_factory) as s:
        result = bulk_load_professionals(
            s,
            rows=rows,
            emit_events=True,
            clock=runtime.clock,
            hasher=runtime.hasher,
            secret_key=runtime.settings.secret_key,
        )
    assert result.count == 250 and len(set(result.hpr_ids)) == 250
    perm = HprIdPermutation(TEST_SECRET)
    assert result.hpr_ids[:3] == [perm.number_for(i) for i in range(3)]
    with unit_of_work(runtime.session_factory) as s:
        assert allocated_count(s) == 250
        statuses = dict(
            s.execute(select(Professional.status, func.count()).group_by(Professional.status)).all()
        )
        assert statuses == {"VERIFIED": 248, "SUBMITTED": 1, "REJECTED": 1}
        assert s.scalar(select(func.count()).select_from(ProfessionalQualification)) == 250
        places = s.scalars(select(ProfessionalWorkplace.district_lgd).distinct()).all()
        assert places == [13]  # from the facility registry
        versions = s.scalar(select(func.count()).select_from(ProfessionalVersion))
        assert versions == 249 * 2 + 1
        first = s.scalar(select(Professional).where(Professional.hpr_id == result.hpr_ids[0]))
        assert first.aadhaar_hash == runtime.hasher.hash("aadhaar", rows[0].aadhaar)
        assert first.status_changed_at == decided and first.created_at == registered
        history = list(
            s.scalars(
                select(ProfessionalVersion)
                .where(ProfessionalVersion.professional_id == first.id)
                .order_by(ProfessionalVersion.version)
            )
        )
        assert (
            version_at(history, datetime(2026, 3, 5, tzinfo=UTC)).snapshot["status"] == "SUBMITTED"
        )
        assert version_at(history, decided).snapshot["status"] == "VERIFIED"
        assert version_at(history, datetime(2026, 2, 1, tzinfo=UTC)) is None
        audits = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "professional.create")
        )
        assert audits == 250
        topics = dict(
            s.execute(
                select(OutboxMessage.topic, func.count())
                .where(OutboxMessage.topic.like("event.professional.%"))
                .group_by(OutboxMessage.topic)
            ).all()
        )
    assert topics == {
        "event.professional.registered": 250,
        "event.professional.verified": 248,
        "event.professional.rejected": 1,
    }


def test_bulk_load_refuses_the_whole_batch_naming_the_row(runtime, facilities):
    good = [seed(i) for i in range(5)]
    cases = [
        (dataclasses.replace(good[2], aadhaar="123456789012"), "Row 3:", "aadhaar"),
        (dataclasses.replace(good[2], aadhaar=good[0].aadhaar), "Row 3:", "aadhaar"),
        (dataclasses.replace(good[2], details=good[0].details), "Row 3:", "registration_number"),
        (dataclasses.replace(good[2], mobile="12345"), "Row 3:", "mobile"),
        (dataclasses.replace(good[2], gender="X"), "Row 3:", "gender"),
        (dataclasses.replace(good[2], hpr_address="hpr.doctor"), "Row 3:", "hpr_address"),
        (
            dataclasses.replace(
                good[2],
                details=dataclasses.replace(
                    good[2].details,
                    workplaces=(
                        dataclasses.replace(good[2].details.workplaces[0], hfr_id="IN0199999999"),
                    ),
                ),
            ),
            "Row 3:",
            "workplaces[0].hfr_id",
        ),
        (dataclasses.replace(good[2], status="REJECTED"), "Row 3:", "reason"),
    ]
    for bad, prefix, field in cases:
        rows = [*good[:2], bad, *good[3:]]
        with pytest.raises(ValidationFailed) as caught, unit_of_work(runtime.session_factory) as s:
            bulk_load_professionals(
                s,
                rows=rows,
                clock=runtime.clock,
                hasher=runtime.hasher,
                secret_key=runtime.settings.secret_key,
            )
        assert caught.value.message.startswith(prefix), caught.value.message
        assert caught.value.field == field
        assert count(runtime, Professional) == 0
    # Against the registry too: a row whose council number is already in HPR.
    seed_professional(runtime, number=good[1].details.registration_number)
    with (
        pytest.raises(ValidationFailed, match="Row 2:"),
        unit_of_work(runtime.session_factory) as s,
    ):
        bulk_load_professionals(
            s,
            rows=good,
            clock=runtime.clock,
            hasher=runtime.hasher,
            secret_key=runtime.settings.secret_key,
        )


def test_bulk_load_takes_mappings_and_picks_free_addresses(runtime, facilities):
    body = doctor_details(number="JKMC/2001/1", year=2001)
    row = {
        "aadhaar": new_aadhaar(),
        "name": "Ravi Kumar Sharma",
        "gender": "M",
        "birth_date": "1975-05-05",
        "mobile": "9419000001",
        **body,
    }
    twin = dict(row, aadhaar=new_aadhaar(), registration_number="JKMC/2001/2")
    with unit_of_work(runtime.session_factory) as s:
        ids = bulk_load_professionals(
            s,
            rows=[row, twin],
            clock=runtime.clock,
            hasher=runtime.hasher,
            secret_key=runtime.settings.secret_key,
        ).hpr_ids
        handles = s.scalars(select(Professional.hpr_handle).order_by(Professional.id)).all()
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert len(ids) == 2 and handles == ["ravi.sharma", "ravisharma"]
    for broken, message in (
        ({k: v for k, v in row.items() if k != "mobile"}, "Row 1: mobile is missing."),
        (dict(row, birth_date="05/05/1975"), "Row 1: a value has the wrong form"),
        (dict(row, registered_at="yesterday"), "Row 1: a value has the wrong form"),
    ):
        with pytest.raises(ValidationFailed) as caught, unit_of_work(runtime.session_factory) as s:
            bulk_load_professionals(
                s,
                rows=[broken],
                clock=runtime.clock,
                hasher=runtime.hasher,
                secret_key=runtime.settings.secret_key,
            )
        assert caught.value.message.startswith(message)


# --------------------------------------------------------------------------- look-ups


def test_lookups_for_roster_reconciliation(runtime, facilities):
    ctx = system_context()
    a = seed_professional(
        runtime,
        name="Mohammad Yousuf Dar",
        birth_date=date(1979, 4, 2),
        mobile="9419011111",
        number="JKMC/2005/123",
    )
    b = seed_professional(
        runtime, name="Yousuf Dar", birth_date=date(1980, 1, 1), mobile="9419011111"
    )
    seed_professional(runtime, name="Shabnam Yousuf", birth_date=date(1979, 1, 1))
    with unit_of_work(runtime.session_factory) as s:
        clock = runtime.clock
        found = find_by_council_number(
            s, ctx, clock=clock, council="jkmc", registration_number="jkmc-2005-123"
        )
        assert found is not None and found.hpr_id == a
        assert (
            find_by_council_number(
                s, ctx, clock=clock, council="NMC", registration_number="JKMC/2005/123"
            )
            is None
        )
        shared = find_by_mobile(s, ctx, clock=clock, mobile="+91 94190 11111")
        assert {p.hpr_id for p in shared} == {a, b}
        same_year = search_by_name_and_birth_year(
            s, ctx, clock=clock, name="Mohd Yousuf Dar", birth_year=1979
        )
        assert [c.professional.hpr_id for c in same_year] == [a]
        assert 0.8 <= same_year[0].score < 1
        exact = search_by_name_and_birth_year(
            s, ctx, clock=clock, name="DAR, Mohammad Yousuf", birth_year=1979
        )
        assert exact[0].score == 0.99  # word order ignored
        # Born 1980: found only when the year may be one off.
        strict = search_by_name_and_birth_year(
            s, ctx, clock=clock, name="Yousuf Dar", birth_year=1979
        )
        assert strict == []
        near = search_by_name_and_birth_year(
            s, ctx, clock=clock, name="Yousuf Dar", birth_year=1979, year_tolerance=1
        )
        assert [(c.professional.hpr_id, c.score) for c in near] == [(b, 1.0)]
        with pytest.raises(ValidationFailed):
            search_by_name_and_birth_year(s, ctx, clock=clock, name="123", birth_year=1979)
        with pytest.raises(ValidationFailed):
            find_by_mobile(s, ctx, clock=clock, mobile="12345")
    with unit_of_work(runtime.session_factory) as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("professional.lookup.%"))
        ).all()
    assert (
        sorted(actions)
        == ["professional.lookup.council"] * 2
        + ["professional.lookup.mobile"]
        + ["professional.lookup.name"] * 4
    )


def test_scope_rules(runtime, facilities):
    hpr_id = seed_professional(runtime)  # at FACILITY_A, Srinagar (13)
    with unit_of_work(runtime.session_factory) as s:
        p = s.scalar(select(Professional).where(Professional.hpr_id == hpr_id))
        s.refresh(p, ["workplaces"])

        def actor(role, **kw):
            return Actor(kind=ActorKind.STAFF, id="x", role=role, **kw)

        assert visible_to(actor(Role.STATE_ADMIN), p)
        assert visible_to(actor(Role.REGISTRY_VERIFIER), p)
        assert visible_to(actor(Role.DISTRICT_OFFICER, district_lgd=13), p)
        assert not visible_to(actor(Role.DISTRICT_OFFICER, district_lgd=2), p)
        assert visible_to(actor(Role.FACILITY_ADMIN, facility_id=FACILITY_A), p)
        assert not visible_to(actor(Role.FACILITY_ADMIN, facility_id=FACILITY_B), p)


def test_a_rejected_facility_hosts_no_work_place(runtime, facilities):
    with unit_of_work(runtime.session_factory) as s:
        s.execute(update(Facility).where(Facility.hfr_id == FACILITY_B).values(status="rejected"))
    with pytest.raises(ValidationFailed, match="No facility with this HFR id is in the facility"):
        seed_professional(runtime, hfr_id=FACILITY_B)


# --------------------------------------------------------------------------- ids


def test_the_counter_hands_out_disjoint_blocks(runtime):
    with unit_of_work(runtime.session_factory) as s:
        first = reserve(s, 10)
        second = reserve(s, 5)
        third = reserve(s)
    assert (first, second, third) == (0, 10, 15)
    with unit_of_work(runtime.session_factory) as s:
        assert allocated_count(s) == 16
        with pytest.raises(ValueError):
            reserve(s, 0)
