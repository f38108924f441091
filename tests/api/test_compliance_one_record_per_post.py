"""The roster reconciliation never links one HPR record to two posts on its own, and a
name alone links only where HPR places the person (their district or facility): the
seeded state had unregistered doctors linked to namesakes' records, so the roster
counted them registered and nobody chased them."""

from __future__ import annotations

from datetime import date

from healthstack.kernel.context import Role
from tests.factories_compliance import API, FACILITY_B, import_roster, roster_csv, row, statuses
from tests.factories_professionals import seed_professional


def test_two_posts_never_share_one_record(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    result = import_roster(
        client,
        state,
        roster_csv(
            row("E1", "Dr Aamir Hussain Wani", council="JKMC", number="jkmc 2012 00077"),
            # A namesake on another post of the same facility, born the same year as
            # Imran: by name alone both would take Imran's record.
            row("E3", "Imran Ahmad Lone", birth_year="1979"),
            row("E8", "Imran Ahmad Lone", birth_year="1979"),
        ),
    )
    got = statuses(client, state)
    assert result["reconciliation"] == {"matched": 1, "uncertain": 2, "none": 0}
    assert got["E1"]["status"] == "registered_verified"
    assert got["E3"]["status"] == got["E8"]["status"] == "uncertain"
    review = client.get(f"{API}/roster/review", headers=state.headers).json()
    found = {i["employee_id"]: [c["hpr_id"] for c in i["candidates"]] for i in review["items"]}
    assert found == {"E3": [hpr["name"]], "E8": [hpr["name"]]}


def test_a_stronger_key_keeps_the_record_and_the_weaker_claim_waits(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(
        client,
        state,
        roster_csv(
            row("E1", "Dr Aamir Hussain Wani", council="JKMC", number="jkmc 2012 00077"),
            row("E7", "Aamir Hussain Wani", birth_year="1988"),  # the record's birth year
        ),
    )
    got = statuses(client, state)
    assert (got["E1"]["status"], got["E1"]["hpr_id"]) == ("registered_verified", hpr["council"])
    assert got["E7"]["status"] == "uncertain"


def test_a_name_alone_links_only_where_hpr_places_the_person(client, runtime, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    # A doctor of the same name and year, posted in another district (Budgam).
    seed_professional(
        runtime,
        name="Rafiq Ahmad Mir",
        birth_date=date(1981, 4, 4),
        status="VERIFIED",
        hfr_id=FACILITY_B,
    )
    result = import_roster(
        client, state, roster_csv(row("E6", "Rafiq Ahmad Mir", birth_year="1981"))
    )
    assert result["reconciliation"] == {"matched": 0, "uncertain": 1, "none": 0}
    # Posted in Budgam by HR too: the same name and year link by themselves.
    result = import_roster(
        client,
        state,
        roster_csv(
            row("E6", "Rafiq Ahmad Mir", birth_year="1981", facility=FACILITY_B, district="Budgam")
        ),
    )
    assert result["reconciliation"] == {"matched": 1, "uncertain": 0, "none": 0}
