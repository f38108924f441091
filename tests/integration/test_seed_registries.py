"""The ``jk`` seed's registries: facilities, the state master, professionals, targets
and the dashboard they produce (SQLite and PostgreSQL).

One seed per test (the runtime fixture empties the database after each), so one test
checks everything the seeded state must show.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.hfr.models import (
    Facility,
    FacilityMasterEntry,
    FacilityMasterImport,
    FacilityMasterMatch,
)
from healthstack.network.hfr.names import name_key
from healthstack.network.hfr.reconcile import public_facility_coverage
from healthstack.network.hpr.models import Professional, ProfessionalWorkplace
from healthstack.programme.compliance.models import RosterEntry
from healthstack.programme.compliance.service import open_campaigns
from healthstack.programme.monitoring.service import Scope, summary
from healthstack.programme.monitoring.targets import targets_in_force
from healthstack.seed import jk
from healthstack.seed.dashboard import after_seed
from healthstack.seed.generator import make_plan
from healthstack.seed.loader import seed_state
from healthstack.seed.registries import (
    DOCTOR_POSTS,
    DOCTORS_IN_HPR,
    HMIS_FACILITIES,
    NURSE_POSTS,
    PUBLIC_FACILITIES,
    facility_plans,
    master_csv,
    posts_by_district,
    professional_seeds,
    roster_csv,
)

SCALE = 0.0002  # 2,712 residents; the registries are seeded in full at every scale


def test_plans_are_deterministic_and_consistent():
    first, second = facility_plans(), facility_plans()
    assert [(p.details, p.doctors, p.nurses) for p in first] == [
        (p.details, p.doctors, p.nurses) for p in second
    ]
    assert master_csv(first) == master_csv(second)
    public = [p for p in first if p.details.ownership.value == "public"]
    assert len(public) == PUBLIC_FACILITIES
    assert len({name_key(p.details.name) for p in first}) == len(first)  # unique after folding
    assert len({p.details.master_code for p in public}) == PUBLIC_FACILITIES
    kinds = Counter(p.details.facility_type.value for p in public)
    assert kinds["district_hospital"] == len(jk.DISTRICTS) == kinds["laboratory"]
    assert kinds["medical_college_hospital"] == 7
    assert kinds["sub_centre"] > kinds["phc"] > kinds["chc"] > kinds["sub_district_hospital"]
    assert {p.district.lgd for p in public} == {d.lgd for d in jk.DISTRICTS}
    hmis = [p for p in public if p.details.hmis]
    assert len(hmis) == HMIS_FACILITIES
    assert all(p.details.facility_type.value != "sub_centre" for p in hmis)
    for p in first:
        d = p.details
        assert ("ipd" in d.services) == (d.beds > 0), d.name
    doctors, nurses = posts_by_district(public)
    assert sum(doctors.values()) == DOCTOR_POSTS and sum(nurses.values()) == NURSE_POSTS
    # No doctor posts at sub-centres; every GMC has hundreds.
    assert all(p.doctors == 0 for p in public if p.details.facility_type.value == "sub_centre")
    assert all(
        p.doctors > 100 for p in public if p.details.facility_type.value.startswith("medical")
    )
    for i, p in enumerate(first):
        p.hfr_id = f"IN01{10_000_001 + i:08d}"
    at = datetime(2026, 11, 26, tzinfo=UTC)
    people = professional_seeds(first, now=at)
    assert people == professional_seeds(first, now=at)
    everyone = people.seeds + people.unregistered
    assert len(people.unregistered) == DOCTOR_POSTS - DOCTORS_IN_HPR
    ra = people.residents
    assert len({r["aadhaar"] for r in ra}) == len(ra) == len(everyone)
    assert len({(s.details.council, s.details.registration_number) for s in everyone}) == len(
        everyone
    )
    assert roster_csv(first, people) == roster_csv(first, people)


def test_seed_builds_the_registries_and_the_dashboard_reads_the_review_figures(runtime):
    plan = make_plan("jk", SCALE)
    result = seed_state(runtime, profile="jk", scale=SCALE, batch_size=1000, registries=True)
    reg = result.registries
    assert reg is not None and not result.skipped
    assert (reg.public_facilities, reg.master_entries, reg.master_matched) == (3607, 3607, 3607)
    assert (reg.doctors, reg.doctor_posts, reg.nurses) == (6713, 7730, 5149)
    # The HR roster lists every public post; reconciliation links nearly every holder
    # who is in HPR, and the doctors who are not stay unlinked (a few for review).
    assert sum(reg.roster.values()) == DOCTOR_POSTS + NURSE_POSTS
    assert reg.roster["matched"] >= 0.99 * (DOCTORS_IN_HPR + NURSE_POSTS)
    assert reg.roster["none"] >= 0.75 * (DOCTOR_POSTS - DOCTORS_IN_HPR)
    assert 0 < reg.roster["uncertain"] <= 0.02 * (DOCTOR_POSTS + NURSE_POSTS)
    after_seed(runtime.session_factory, clock=runtime.clock, profile="jk", scale=SCALE)

    with unit_of_work(runtime.session_factory) as s:
        count = lambda q: int(s.scalar(q) or 0)  # noqa: E731
        public = count(
            select(func.count()).where(
                Facility.ownership == "public", Facility.status == "verified"
            )
        )
        private = count(select(func.count()).where(Facility.ownership == "private"))
        assert public == 3607 and 200 <= private <= 600
        assert count(select(func.count()).where(Facility.status != "verified")) == 0
        assert count(select(func.count()).where(Facility.hmis.is_not(None))) == HMIS_FACILITIES
        # The demo logins' facility (the first HFR id) is a real, large facility.
        first = s.scalar(select(Facility).where(Facility.hfr_id == "IN0110000001"))
        assert first is not None and first.name == "GMC Srinagar"

        imports = s.scalars(select(FacilityMasterImport)).all()
        assert [i.status for i in imports] == ["confirmed"]
        assert count(select(func.count()).select_from(FacilityMasterEntry)) == 3607
        matched = Counter(
            (m.status, m.method) for m in s.scalars(select(FacilityMasterMatch)).all()
        )
        assert matched == {("matched", "code"): 3607}
        assert public_facility_coverage(s, state_lgd=1) == (3607, 3607)

        def public_verified(category: str) -> int:
            return count(
                select(func.count(func.distinct(Professional.id)))
                .join(
                    ProfessionalWorkplace, ProfessionalWorkplace.professional_id == Professional.id
                )
                .where(
                    Professional.category == category,
                    Professional.status == "VERIFIED",
                    ProfessionalWorkplace.sector == "public",
                )
            )

        assert public_verified("doctor") == DOCTORS_IN_HPR == 6713
        assert public_verified("nurse") == NURSE_POSTS == 5149
        private_pros = count(
            select(func.count(func.distinct(Professional.id)))
            .join(ProfessionalWorkplace, ProfessionalWorkplace.professional_id == Professional.id)
            .where(ProfessionalWorkplace.sector == "private")
        )
        assert private_pros == reg.private_professionals > 0
        assert count(select(func.count()).where(Professional.status == "SUBMITTED")) > 0
        # Every professional is a sandbox resident too (their Aadhaar exists for OTP).
        assert count(select(func.count()).select_from(KycResident)) == (
            plan.residents + reg.residents
        )
        resident_hashes = {
            runtime.hasher.hash("aadhaar", a)
            for a in s.scalars(
                select(KycResident.aadhaar).order_by(KycResident.id.desc()).limit(reg.residents)
            )
        }
        # ... and so is every doctor on the roster who is not in HPR yet: they can
        # register with their Aadhaar OTP.
        in_hpr = set(s.scalars(select(Professional.aadhaar_hash)))
        assert in_hpr < resident_hashes
        assert len(resident_hashes - in_hpr) == DOCTOR_POSTS - DOCTORS_IN_HPR

        on = runtime.clock.now().date()
        targets = targets_in_force(s, on=on)
        by = lambda key: {d: v for (k, d), v in targets.items() if k == key}  # noqa: E731
        doctors_target, nurses_target = by("hpr.doctors"), by("hpr.nurses")
        assert sum(doctors_target.values()) == 7730 and sum(nurses_target.values()) == 5149
        assert set(doctors_target) == {d.lgd for d in jk.DISTRICTS}
        assert sum(by("abha.accounts").values()) == plan.residents

        figures = {f.indicator: f for f in summary(s, Scope(), profile=jk.PROFILE, on=on)}
        assert (
            figures["hfr.public_facilities"].value,
            figures["hfr.public_facilities"].target,
        ) == (
            3607,
            3607,
        )
        doctors = figures["hpr.doctors"]
        assert (doctors.value, doctors.target, doctors.percent) == (6713, 7730, 86.8)
        nurses = figures["hpr.nurses"]
        assert (nurses.value, nurses.target, nurses.percent) == (5149, 5149, 100.0)
        abha = figures["abha.accounts"]
        assert (abha.value, abha.target) == (plan.accounts, plan.residents)
        # District by district: verified doctors never exceed the district's posts,
        # and the gap is spread (no district has it all).
        for d in jk.DISTRICTS:
            row = {
                f.indicator: f
                for f in summary(s, Scope(district_lgd=d.lgd), profile=jk.PROFILE, on=on)
            }
            assert row["hpr.doctors"].target == doctors_target[d.lgd]
            assert 0.7 * doctors_target[d.lgd] <= row["hpr.doctors"].value <= doctors_target[d.lgd]
            assert row["hpr.nurses"].value == row["hpr.nurses"].target == nurses_target[d.lgd]
        # Every automatic link is right: the roster entry and the HPR record are the
        # same person (the seed gave both the same Aadhaar-backed mobile or council
        # number, or the same name and birth year).
        wrong = count(
            select(func.count())
            .select_from(RosterEntry)
            .join(Professional, Professional.id == RosterEntry.professional_id)
            .where(
                RosterEntry.link == "matched", Professional.year_of_birth != RosterEntry.birth_year
            )
        )
        assert wrong == 0
        # ABHA coverage is spread over the districts, and the facilities that made the
        # ABHAs show them: the drill-down has something to act on.
        coverage = [
            {
                f.indicator: f
                for f in summary(s, Scope(district_lgd=d.lgd), profile=jk.PROFILE, on=on)
            }["abha.accounts"].percent
            for d in jk.DISTRICTS
        ]
        assert min(coverage) < 52 and max(coverage) > 85, coverage
        made = dict(
            s.execute(
                select(AbhaAccount.enrolled_at_facility, func.count())
                .where(AbhaAccount.enrolled_at_facility.is_not(None))
                .group_by(AbhaAccount.enrolled_at_facility)
            ).all()
        )
        assert 0.7 * plan.accounts < sum(made.values()) < 0.85 * plan.accounts
        kinds = dict(s.execute(select(Facility.hfr_id, Facility.facility_type)).all())
        homes = dict(s.execute(select(Facility.hfr_id, Facility.district_lgd)).all())
        assert {kinds[h] for h in made} <= {
            "medical_college_hospital",
            "district_hospital",
            "sub_district_hospital",
            "chc",
            "phc",
            "dispensary",
            "sub_centre",
        }
        wrong_district = count(
            select(func.count())
            .select_from(AbhaAccount)
            .join(Facility, Facility.hfr_id == AbhaAccount.enrolled_at_facility)
            .where(Facility.district_lgd != AbhaAccount.district_lgd)
        )
        assert wrong_district == 0
        gmc = {
            f.indicator: f
            for f in summary(s, Scope(facility_id="IN0110000001"), profile=jk.PROFILE, on=on)
        }
        assert gmc["abha.accounts"].value == made["IN0110000001"] > 0
        assert homes["IN0110000001"] == 13
        # Both cadres have a deadline, a month after the seed: nobody is overdue yet.
        assert set(open_campaigns(s)) == {"doctor", "nurse"}
        assert figures["hpr.overdue"].value == 0
        facility_names = list(s.scalars(select(Facility.name).order_by(Facility.id)))

    # Deterministic: the stored registry is the plan, in order.
    assert facility_names == [p.details.name for p in facility_plans()]

    # --if-empty still skips, and writes nothing more.
    again = seed_state(runtime, profile="jk", scale=SCALE, if_empty=True, registries=True)
    assert again.skipped and again.registries is None
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Facility)) == public + private
