"""The facility registry's services on a real database: registration rules, HFR ids,
the verification workflow, history and "as of", and the bulk load."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr import hfr_ids, service
from healthstack.network.hfr.bulk import bulk_load_facilities
from healthstack.network.hfr.enums import Service
from healthstack.network.hfr.models import Facility, FacilityVersion
from tests.factories_facilities import ADMIN, STATE, VERIFIER, ctx, details, register, run


def failure(runtime, fn, **kwargs):
    with pytest.raises((ValidationFailed, Conflict, PermissionDenied, NotFound)) as caught:
        run(runtime, fn, **kwargs)
    return caught.value


def test_registration_writes_facility_version_event_and_audit(runtime, db):
    outcome = register(runtime, name="PHC Khag")
    f = outcome.facility
    assert f.hfr_id == "IN0110000001" and f.status == "submitted" and f.version == 1
    assert outcome.warnings == []
    versions = list(db.scalars(select(FacilityVersion)))
    assert len(versions) == 1
    v = versions[0]
    assert v.change_kind == "registered" and v.valid_to is None
    assert v.snapshot["name"] == "PHC Khag" and v.snapshot["status"] == "submitted"
    assert v.changed_by == ADMIN.actor.id and v.changed_by_role == "facility_admin"
    event = db.scalar(
        select(OutboxMessage).where(OutboxMessage.topic == "event.facility.registered")
    )
    assert event.payload | {"event_id": None} == {
        "event": "facility.registered",
        "event_id": None,
        "hfr_id": "IN0110000001",
        "district_lgd": 2,
        "ownership": "public",
        "facility_type": "phc",
        "day": "2026-11-26",
    }
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "facility.register"))
    assert audit.outcome == "success" and audit.resource_id == "IN0110000001"


def test_hfr_ids_are_sequential_per_state_and_never_reused(runtime, db):
    first = register(runtime).facility.hfr_id
    second = register(runtime).facility.hfr_id
    punjab = register(runtime, state_lgd=3, district_lgd=27).facility.hfr_id
    assert (first, second, punjab) == ("IN0110000001", "IN0110000002", "IN0310000001")
    run(runtime, service.reject_facility, ctx=VERIFIER, hfr_id=second, reason="duplicate entry")
    third = register(runtime).facility.hfr_id
    assert third == "IN0110000003"  # the rejected facility's id stays its own
    assert hfr_ids.issued_count(db, 1) == 3
    # A failed registration rolls its reservation back with it: no gap, no reuse.
    failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        details=details(pincode="0"),
    )
    assert register(runtime).facility.hfr_id == "IN0110000004"


def test_bulk_reservation_is_one_block(runtime, db):
    assert hfr_ids.allocate(db, 5, 3) == ["IN0510000001", "IN0510000002", "IN0510000003"]
    assert hfr_ids.allocate(db, 5, 1) == ["IN0510000004"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": "1 PHC"}, "name", "HS-1303"),
        ({"name": "PHC #1 Khag"}, "name", "HS-1304"),
        ({"name": "PH"}, "name", "HS-1302"),
        ({"department": None}, "department", "HS-1311"),
        ({"ownership": "private"}, "department", "HS-1312"),
        ({"state_lgd": 0}, "state_lgd", "HS-1310"),
        ({"district_lgd": 620_000}, "district_lgd", "HS-1313"),
        ({"district_lgd": 9}, "district_lgd", "HS-1313"),  # Leh went to Ladakh
        ({"sub_district_lgd": -4}, "sub_district_lgd", "HS-1314"),
        ({"pincode": "19341"}, "pincode", "HS-1315"),
        ({"pincode": "093411"}, "pincode", "HS-1315"),
        ({"latitude": None}, "latitude", "HS-1316"),
        ({"latitude": 74.58, "longitude": 34.02}, "latitude", "HS-1317"),
        ({"contact_phone": "12345"}, "contact_phone", "HS-1318"),
        ({"contact_email": "phc.example.org"}, "contact_email", "HS-1319"),
        ({"services": []}, "services", "HS-1320"),
        ({"beds": -1}, "beds", "HS-1321"),
        ({"beds": 0}, "beds", "HS-1322"),  # IPD without beds
        ({"master_code": "JK 01!"}, "master_code", "HS-1323"),
    ],
)
def test_each_field_rule(runtime, db, overrides, field, code):
    error = failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        details=details(**overrides),
    )
    assert (error.field, error.code) == (field, code)
    assert db.scalar(select(func.count()).select_from(Facility)) == 0


def test_contact_phone_accepts_mobile_and_landline(runtime):
    assert register(runtime, contact_phone="+91 94190 00001").facility.contact_phone == "9419000001"
    assert register(runtime, contact_phone="0194-2452052").facility.contact_phone == "01942452052"


def test_a_name_another_facility_holds_is_refused_until_it_is_rejected(runtime):
    held = register(runtime, name="PHC Khag").facility.hfr_id
    error = failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=STATE,
        details=details(name="p.h.c.  KHAG"),
    )
    assert isinstance(error, Conflict) and error.code == "HS-1305"
    assert held in error.message and "ABDM refuses a name another HIP uses" in error.message
    run(runtime, service.reject_facility, ctx=VERIFIER, hfr_id=held, reason="wrong district")
    assert register(runtime, c=STATE, name="PHC Khag").facility.status == "submitted"


def test_master_code_is_held_by_one_facility(runtime):
    register(runtime, master_code="JK-PHC-001")
    error = failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=STATE,
        details=details(master_code="JK-PHC-001"),
    )
    assert error.code == "HS-1324"


def test_warnings_do_not_stop_registration(runtime):
    outcome = register(runtime, latitude=31.6, longitude=74.9, services=["opd"], beds=4)
    assert outcome.facility.status == "submitted"
    assert any("outside Jammu and Kashmir" in w for w in outcome.warnings)
    assert any("IPD is not among the services" in w for w in outcome.warnings)


def test_who_may_register(runtime):
    officer = ctx(Role.DISTRICT_OFFICER, district=2)
    assert register(runtime, c=officer).facility.district_lgd == 2
    error = failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=officer,
        details=details(district_lgd=13),
    )
    assert isinstance(error, PermissionDenied) and error.code == "HS-1333"
    error = failure(
        runtime,
        service.register_facility,
        profile=runtime.settings.profile,
        ctx=VERIFIER,
        details=details(),
    )  # verifiers verify; they do not register
    assert isinstance(error, PermissionDenied)


def test_verification_workflow(runtime, db):
    hfr = register(runtime).facility.hfr_id
    error = failure(runtime, service.reject_facility, ctx=VERIFIER, hfr_id=hfr, reason="  no ")
    assert (error.code, error.field) == ("HS-1340", "reason")
    verified = run(runtime, service.verify_facility, ctx=VERIFIER, hfr_id=hfr, note="site visit")
    assert verified.status == "verified" and verified.verified_at == runtime.clock.now()
    again = failure(runtime, service.verify_facility, ctx=VERIFIER, hfr_id=hfr)
    assert isinstance(again, Conflict) and "already verified" in again.message
    late = failure(
        runtime, service.reject_facility, ctx=VERIFIER, hfr_id=hfr, reason="too late now"
    )
    assert isinstance(late, Conflict)
    topics = list(db.scalars(select(OutboxMessage.topic).order_by(OutboxMessage.id)))
    assert topics == ["event.facility.registered", "event.facility.verified"]
    denied = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "failed")
    )
    assert denied == 3  # the refused reason and the two conflicts are on record


def test_wrong_role_and_maker_checker(runtime):
    hfr = register(runtime, c=STATE).facility.hfr_id
    error = failure(runtime, service.verify_facility, ctx=ADMIN, hfr_id=hfr)
    assert isinstance(error, PermissionDenied)
    own = failure(runtime, service.verify_facility, ctx=STATE, hfr_id=hfr)
    assert isinstance(own, PermissionDenied) and own.code == "HS-1339"
    assert run(runtime, service.verify_facility, ctx=VERIFIER, hfr_id=hfr).status == "verified"


def test_rejection_keeps_reason_and_an_edit_resubmits(runtime):
    hfr = register(runtime).facility.hfr_id
    rejected = run(
        runtime, service.reject_facility, ctx=VERIFIER, hfr_id=hfr, reason="PIN does not match"
    )
    assert rejected.status == "rejected" and rejected.rejection_reason == "PIN does not match"
    outcome = run(
        runtime,
        service.update_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        hfr_id=hfr,
        changes={"pincode": "193401"},
        reason="corrected the PIN",
    )
    assert outcome.facility.status == "submitted" and outcome.facility.rejection_reason is None


def test_editing_a_verified_facility(runtime):
    hfr = register(runtime).facility.hfr_id
    run(runtime, service.verify_facility, ctx=VERIFIER, hfr_id=hfr)
    calm = run(
        runtime,
        service.update_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        hfr_id=hfr,
        changes={"beds": 10, "contact_phone": "9419000002", "services": [Service.OPD, Service.IPD]},
        reason="added a ward",
    )
    assert calm.facility.status == "verified" and not calm.reverification
    key = run(
        runtime,
        service.update_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        hfr_id=hfr,
        changes={"district_lgd": 13, "pincode": "190001"},
        reason="moved to Srinagar",
    )
    assert key.facility.status == "submitted" and key.reverification


@pytest.mark.parametrize(
    ("changes", "reason", "code"),
    [
        ({"state_lgd": 3}, "moved state", "HS-1335"),
        ({"beds": 7}, "  ", "HS-1336"),
        ({"beds": 6}, "no real change", "HS-1337"),
        ({"name": None}, "clear the name", "HS-1334"),
        ({"hfr_id": "IN0110009999"}, "new id please", "HS-1334"),
        ({"facility_type": None}, "clear the type", "HS-1334"),
    ],
)
def test_bad_edits(runtime, changes, reason, code):
    hfr = register(runtime).facility.hfr_id
    error = failure(
        runtime,
        service.update_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        hfr_id=hfr,
        changes=changes,
        reason=reason,
    )
    assert error.code == code


def test_scope_hides_other_facilities(runtime):
    hfr = register(runtime).facility.hfr_id  # registered by ADMIN (attached to FACILITY_A)
    other_admin = ctx(Role.FACILITY_ADMIN, facility_id="IN0110000777")
    other_district = ctx(Role.DISTRICT_OFFICER, district=13)
    for c in (other_admin, other_district):
        error = failure(
            runtime,
            service.update_facility,
            profile=runtime.settings.profile,
            ctx=c,
            hfr_id=hfr,
            changes={"beds": 8},
            reason="x" * 6,
        )
        assert isinstance(error, NotFound) and hfr not in error.message
    # The account attached to the facility's HFR id sees it, registered or not by them.
    attached = ctx(Role.REGISTRATION_DESK, facility_id=hfr)
    with unit_of_work(runtime.session_factory) as s:
        assert service.get_facility(s, attached, hfr_id=hfr).hfr_id == hfr
        assert service.get_facility(s, ctx(Role.DISTRICT_OFFICER, district=2), hfr_id=hfr)


def test_history_and_as_of(runtime, clock):
    t0 = clock.now()
    hfr = register(runtime, name="PHC Khag").facility.hfr_id
    clock.advance(days=1)
    run(runtime, service.verify_facility, ctx=VERIFIER, hfr_id=hfr)
    clock.advance(days=1)
    run(
        runtime,
        service.update_facility,
        profile=runtime.settings.profile,
        ctx=ADMIN,
        hfr_id=hfr,
        changes={"name": "PHC Khag Town"},
        reason="renamed by order",
    )
    with unit_of_work(runtime.session_factory) as s:
        facility = service.find_facility(s, hfr)
        history = service.facility_history(s, facility)
        assert [(v.version, v.change_kind, v.status) for v in history] == [
            (3, "edited", "submitted"),
            (2, "verified", "verified"),
            (1, "registered", "submitted"),
        ]
        assert (
            history[0].changed_fields == ["name"] and history[0].change_reason == "renamed by order"
        )
        assert history[1].valid_to == history[0].valid_from == t0 + timedelta(days=2)

        def said(at):
            v = service.facility_as_of(s, hfr, at)
            return v.snapshot["name"], v.snapshot["status"]

        assert said(t0) == ("PHC Khag", "submitted")
        assert said(t0 + timedelta(hours=30)) == ("PHC Khag", "verified")
        assert said(t0 + timedelta(days=2)) == ("PHC Khag Town", "submitted")
        assert said(t0 + timedelta(days=400)) == ("PHC Khag Town", "submitted")
        with pytest.raises(NotFound) as before:
            service.facility_as_of(s, hfr, t0 - timedelta(seconds=1))
        assert before.value.code == "HS-1332"
        with pytest.raises(ValidationFailed):
            service.facility_as_of(s, hfr, (t0 + timedelta(days=1)).replace(tzinfo=None))


def test_list_is_scoped_filtered_and_paged(runtime):
    for i in range(3):
        register(
            runtime, name=f"SC Wagoora {i}", facility_type="sub_centre", services=["opd"], beds=0
        )
    register(runtime, c=STATE, district_lgd=13, pincode="190001")
    with unit_of_work(runtime.session_factory) as s:
        everything = service.FacilityFilter()
        items, total = service.list_facilities(s, STATE, where=everything, page=1, page_size=2)
        assert total == 4 and len(items) == 2
        mine, total = service.list_facilities(s, ADMIN, where=everything)
        assert total == 3  # the one the state admin registered is not theirs
        _, total = service.list_facilities(s, STATE, where=service.FacilityFilter(district_lgd=13))
        assert total == 1
        found, total = service.list_facilities(
            s, STATE, where=service.FacilityFilter(q="wagoora 2")
        )
        assert total == 1 and found[0].name == "SC Wagoora 2"


def test_bulk_load(runtime, db):
    rows = [
        details(
            name=f"SC Bulk {i}",
            facility_type="sub_centre",
            services=["opd"],
            beds=0,
            master_code=f"JK-SC-{i:04d}",
        )
        for i in range(1, 1201)
    ]
    rows.append(
        {
            "name": "PHC Mapped",
            "facility_type": "phc",
            "ownership": "private",
            "state_lgd": 1,
            "district_lgd": 13,
            "pincode": "190001",
        }
    )
    hfr = bulk_load_facilities(
        db, rows, clock=runtime.clock, profile=runtime.settings.profile, emit_events=True
    )
    assert len(hfr) == 1201 and len(set(hfr)) == 1201 and hfr[0] == "IN0110000001"
    db.flush()
    assert db.scalar(select(func.count()).select_from(FacilityVersion)) == 1201
    f = service.find_facility(db, hfr[-1])
    assert f.status == "verified" and f.services == ["opd"]
    assert (
        service.facility_as_of(db, hfr[0], runtime.clock.now()).snapshot["master_code"]
        == "JK-SC-0001"
    )
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.topic == "event.facility.verified")
        )
        == 1201
    )
    # The next registration continues the same counter.
    assert hfr_ids.allocate(db, 1)[0] == "IN0110001202"


def test_bulk_load_refuses_a_bad_batch_whole(runtime, db):
    rows = [details(name="SC One"), details(name="S.C. one")]
    with pytest.raises(ValidationFailed) as caught:
        bulk_load_facilities(db, rows, clock=runtime.clock, profile=runtime.settings.profile)
    assert "Row 2" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        bulk_load_facilities(
            db, [details(name="SC 1 Bad#")], clock=runtime.clock, profile=runtime.settings.profile
        )
    assert caught.value.message.startswith("Row 1: ABDM does not accept")
    with pytest.raises(ValidationFailed) as caught:
        bulk_load_facilities(
            db,
            [{"name": "SC Typo", "facility_typ": "sub_centre"}],
            clock=runtime.clock,
            profile=runtime.settings.profile,
        )
    assert "unknown fields ['facility_typ']" in caught.value.message
    assert "missing fields ['district_lgd', 'facility_type'" in caught.value.message
    assert db.scalar(select(func.count()).select_from(Facility)) == 0
