"""Changes the dashboard used to learn of only at the nightly rebuild, now applied by
their events at once: a verified professional sent back to the verifier by an edit
(and verified again), a verified professional whose work place moved, and a re-KYC
that moved an ABHA account to another district. After each change the figures the
consumer built equal a full rebuild from the source tables."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.events import abha_account_event
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.monitoring.aggregates import rebuild
from healthstack.programme.monitoring.models import IndicatorDaily, IndicatorMember, IndicatorTotal
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import create_account, login_token, profile_change
from tests.factories_monitoring import (
    BUDGAM,
    SRINAGAR,
    accounts,
    facility_row,
    load_facilities,
    load_professionals,
    snapshot,
    total,
)

KYC_MOBILE = "9123400077"


def rebuilt(runtime) -> dict[str, Any]:
    """What a full rebuild from the source tables would write, read inside its own
    transaction and rolled back: the live aggregates stay as the consumer built them."""
    session = runtime.session_factory()
    try:
        rebuild(session, clock=runtime.clock)
        session.flush()
        return {
            "totals": {
                (t.indicator, t.district_lgd, t.facility_id): t.value
                for t in session.scalars(select(IndicatorTotal))
                if t.value
            },
            "daily": {
                (d.indicator, d.day, d.district_lgd, d.facility_id): d.delta
                for d in session.scalars(select(IndicatorDaily))
                if d.delta
            },
            "members": {
                (m.indicator, m.member_key): (m.district_lgd, m.facility_id)
                for m in session.scalars(select(IndicatorMember))
            },
        }
    finally:
        session.rollback()
        session.close()


def _staff(role: Role) -> RequestContext:
    actor = Actor(
        kind=ActorKind.STAFF,
        id=str(uuid.uuid4()),
        role=role,
        facility_id=FACILITY_A,
        display=role.value,
    )
    return RequestContext(actor=actor, purpose=Purpose.ADMINISTRATION)


# --------------------------------------------------------------------------- professionals


@pytest.fixture
def registry(runtime, relay, clock):
    """FACILITY_A (Srinagar) and FACILITY_B (Budgam), public, and a private clinic;
    two verified public doctors at FACILITY_A and a verified nurse at FACILITY_B,
    counted ten days ago. Returns their HPR ids and the clinic's HFR id."""
    clock.advance(days=-10)
    facilities = load_facilities(
        runtime,
        [
            facility_row("PHC Rainawari", SRINAGAR),
            facility_row("CHC Chadoora", BUDGAM, kind="chc"),
            facility_row("Dal View Clinic", SRINAGAR, ownership="private", kind="clinic"),
        ],
    )
    assert facilities[:2] == [FACILITY_A, FACILITY_B]
    hpr = load_professionals(
        runtime,
        [
            {"hfr_id": FACILITY_A},
            {"hfr_id": FACILITY_A},
            {"hfr_id": FACILITY_B, "category": "nurse"},
        ],
    )
    clock.advance(days=10)
    relay()
    return {"doctor": hpr[0], "other": hpr[1], "nurse": hpr[2], "clinic": facilities[2]}


def _edit(runtime, hpr_id: str, **changes: Any):
    from healthstack.network.hpr.editing import ProfessionalChanges, update_professional

    with unit_of_work(runtime.session_factory) as s:
        return update_professional(
            s,
            _staff(Role.STATE_ADMIN),
            hpr_id=hpr_id,
            changes=ProfessionalChanges(**changes),
            clock=runtime.clock,
        )


def _verify(runtime, hpr_id: str) -> None:
    from healthstack.network.hpr.verification import verify_professional

    with unit_of_work(runtime.session_factory) as s:
        verify_professional(s, _staff(Role.REGISTRY_VERIFIER), hpr_id=hpr_id, clock=runtime.clock)


def _same_as_rebuild(runtime, *, daily: bool) -> None:
    live, fresh = snapshot(runtime), rebuilt(runtime)
    assert live["totals"] == fresh["totals"]
    assert live["members"] == fresh["members"]
    if daily:
        assert live["daily"] == fresh["daily"]


def test_a_resubmitted_doctor_leaves_at_once_and_counts_again(runtime, relay, clock, registry):
    doctor, other = registry["doctor"], registry["other"]
    _same_as_rebuild(runtime, daily=True)
    assert total(runtime, "hpr.doctors", district_lgd=SRINAGAR, facility_id=FACILITY_A) == 2

    # The registration year changed: back to the verifier, out of the figure at once.
    clock.advance(days=2)
    assert _edit(runtime, doctor, registration_year=2013).resubmitted
    assert relay() == 1
    assert total(runtime, "hpr.doctors") == 1
    assert ("hpr.doctors", doctor) not in snapshot(runtime)["members"]
    # The trend keeps the day the doctor left; the rebuild only knows today's
    # verified records, so the totals and the members are what must agree.
    _same_as_rebuild(runtime, daily=False)
    assert (
        snapshot(runtime)["daily"][("hpr.doctors", clock.now().date(), SRINAGAR, FACILITY_A)] == -1
    )

    # An edit of a record that is not verified moves nothing, and is counted once.
    assert _edit(runtime, doctor, registration_year=2014).resubmitted is False
    relay()
    assert total(runtime, "hpr.doctors") == 1

    # Verified again: counted again, in the cell of its first work place.
    clock.advance(days=1)
    _verify(runtime, doctor)
    relay()
    assert total(runtime, "hpr.doctors", district_lgd=SRINAGAR, facility_id=FACILITY_A) == 2
    _same_as_rebuild(runtime, daily=False)
    # The nurse and the other doctor were never touched.
    assert ("hpr.doctors", other) in snapshot(runtime)["members"]
    assert total(runtime, "hpr.nurses", district_lgd=BUDGAM) == 1


def test_a_verified_doctor_who_moves_moves_at_once(runtime, relay, clock, registry):
    from healthstack.network.hpr.credentials import WorkplaceInput

    doctor = registry["doctor"]
    clock.advance(days=1)
    # Work places only: no re-verification, the doctor moves to FACILITY_B (Budgam).
    outcome = _edit(
        runtime, doctor, workplaces=(WorkplaceInput(FACILITY_B, "medical_officer", "public"),)
    )
    assert not outcome.resubmitted
    relay()
    assert total(runtime, "hpr.doctors", district_lgd=SRINAGAR) == 1
    assert total(runtime, "hpr.doctors", district_lgd=BUDGAM, facility_id=FACILITY_B) == 1
    _same_as_rebuild(runtime, daily=False)
    # Now a private post only: no longer a public doctor.
    clinic = WorkplaceInput(registry["clinic"], "medical_officer", "private")
    assert not _edit(runtime, doctor, workplaces=(clinic,)).resubmitted
    relay()
    assert total(runtime, "hpr.doctors") == 1
    _same_as_rebuild(runtime, daily=False)


# --------------------------------------------------------------------------- ABHA re-KYC


def _re_kyc(client, runtime, account, *, to_district: int | None, name: str) -> None:
    """The holder's re-KYC (PROF_ABHA_604) after UIDAI's record changed."""
    values: dict[str, Any] = {"name": name}
    if to_district is not None:
        values |= {"district_lgd": to_district, "district_name": f"District {to_district}"}
    with unit_of_work(runtime.session_factory) as s:
        s.execute(
            update(KycResident).where(KycResident.aadhaar == account.test_aadhaar).values(**values)
        )
    headers = {"X-token": f"Bearer {login_token(client, runtime, account)}"}
    profile_change(
        client,
        runtime,
        headers,
        ["re-kyc"],
        "aadhaar",
        account.test_aadhaar,
        otp_to=KYC_MOBILE,
        system="aadhaar",
    )


def _moved_events(runtime) -> list[dict[str, Any]]:
    with unit_of_work(runtime.session_factory) as s:
        return [
            m.payload
            for m in s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.topic == "event.abha.account.moved")
                .order_by(OutboxMessage.id)
            )
        ]


def test_re_kyc_to_another_district_moves_the_account_at_once(client, runtime, relay, clock):
    clock.advance(days=-5)
    account = create_account(runtime, mobile="9876500001", kyc_mobile=KYC_MOBILE)
    home = account.district_lgd
    with unit_of_work(runtime.session_factory) as s:
        abha_account_event(
            s, "abha.account.created", account, at=account.created_at, clock=runtime.clock
        )
    accounts(runtime, [{"district_lgd": home}, {"district_lgd": BUDGAM}])
    clock.advance(days=5)
    relay()
    assert total(runtime, "abha.accounts", district_lgd=home) == 2
    _same_as_rebuild(runtime, daily=True)

    _re_kyc(client, runtime, account, to_district=BUDGAM, name="Ravi Kumar Bhat")
    [moved] = _moved_events(runtime)
    assert {k: moved[k] for k in ("from_district_lgd", "district_lgd", "facility_id", "day")} == {
        "from_district_lgd": home,
        "district_lgd": BUDGAM,
        "facility_id": None,
        "day": account.created_at.date().isoformat(),
    }
    # Dimensions only: no name, number or Aadhaar.
    assert set(moved) == {"from_district_lgd", "district_lgd", "facility_id", "day", "event"} | {
        "event_id"
    }
    relay()
    assert total(runtime, "abha.accounts", district_lgd=home) == 1
    assert total(runtime, "abha.accounts", district_lgd=BUDGAM) == 2
    assert total(runtime, "abha.accounts") == 3
    _same_as_rebuild(runtime, daily=True)

    # A re-KYC that leaves the district as it is moves nothing.
    clock.advance(seconds=120)
    _re_kyc(client, runtime, account, to_district=None, name="Ravi Kumar Bhatt")
    assert len(_moved_events(runtime)) == 1
    relay()
    assert total(runtime, "abha.accounts", district_lgd=BUDGAM) == 2
    _same_as_rebuild(runtime, daily=True)


def test_a_moved_event_from_an_unrecorded_district(runtime, relay):
    from tests.factories_monitoring import emit_event

    accounts(runtime, [{"district_lgd": None, "facility_id": FACILITY_A}])
    emit_event(
        runtime,
        "abha.account.moved",
        {"from_district_lgd": None, "district_lgd": SRINAGAR, "facility_id": FACILITY_A},
    )
    relay()
    assert total(runtime, "abha.accounts", district_lgd=0) == 0
    assert total(runtime, "abha.accounts", district_lgd=SRINAGAR, facility_id=FACILITY_A) == 1
    emit_event(runtime, "abha.account.moved", {"from_district_lgd": "13", "district_lgd": 2})
    relay()  # malformed: refused by the consumer, the figures stay
    assert total(runtime, "abha.accounts", district_lgd=SRINAGAR) == 1
