"""HPR records over HTTP: verification by the council / state verifier, scope (a
facility admin elsewhere gets 404), the list and the council-number lookup, edits
with their history, and "what did the registry say at time X"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_professionals import (
    API,
    BUDGAM,
    SRINAGAR,
    events,
    register,
    seed_professional,
)


@pytest.fixture
def verifier(make_staff):
    return make_staff(Role.REGISTRY_VERIFIER)


def audit_outcomes(runtime, action: str) -> list[str]:
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(
                select(AuditEvent.outcome)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


# --------------------------------------------------------------------------- verification


def test_a_verifier_verifies_a_submitted_registration(client, runtime, facilities, verifier):
    p = register(client, runtime)
    r = client.post(f"{API}/{p['hpr_id']}/verify", headers=verifier.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "VERIFIED" and r.json()["version"] == 2
    again = client.post(f"{API}/{p['hpr_id']}/verify", headers=verifier.headers)
    assert again.status_code == 409 and again.json()["code"] == "HS-1761"
    assert [e["name"] for e in events(runtime)] == [
        "professional.registered",
        "professional.verified",
    ]
    assert events(runtime, "professional.verified")[0]["hpr_id"] == p["hpr_id"]


def test_a_rejection_needs_a_reason(client, runtime, facilities, verifier):
    p = register(client, runtime)
    url = f"{API}/{p['hpr_id']}/reject"
    missing = client.post(url, json={}, headers=verifier.headers)
    assert missing.status_code == 400 and missing.json()["field"] == "reason"
    short = client.post(url, json={"reason": "  wrong  "}, headers=verifier.headers)
    assert short.status_code == 400 and short.json()["code"] == "HS-1760"
    reason = "Registration number not found in the JKMC register"
    r = client.post(url, json={"reason": reason}, headers=verifier.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "REJECTED" and r.json()["rejection_reason"] == reason
    # A rejected record is not verified directly: it comes back by an edit.
    v = client.post(f"{API}/{p['hpr_id']}/verify", headers=verifier.headers)
    assert v.status_code == 409 and "corrected" in v.json()["detail"]
    # The missing field is refused before the service (no record touched); the short
    # reason by the service, audited.
    assert audit_outcomes(runtime, "professional.reject") == ["failed", "success"]
    assert [e["name"] for e in events(runtime)][-1] == "professional.rejected"


def test_only_verifiers_decide(client, runtime, facilities, make_staff):
    p = register(client, runtime)
    for role in (Role.FACILITY_ADMIN, Role.DISTRICT_OFFICER, Role.DOCTOR):
        caller = make_staff(role)
        r = client.post(f"{API}/{p['hpr_id']}/verify", headers=caller.headers)
        assert r.status_code == 403, (role, r.text)
        r = client.post(
            f"{API}/{p['hpr_id']}/reject", json={"reason": "x" * 20}, headers=caller.headers
        )
        assert r.status_code == 403, (role, r.text)
    assert client.post(f"{API}/{p['hpr_id']}/verify").status_code == 401
    assert audit_outcomes(runtime, "professional.verify") == ["denied"] * 3
    assert audit_outcomes(runtime, "professional.reject") == ["denied"] * 3
    state_admin = make_staff(Role.STATE_ADMIN)
    assert (
        client.post(f"{API}/{p['hpr_id']}/verify", headers=state_admin.headers).status_code == 200
    )


def test_nobody_verifies_a_record_they_registered(client, runtime, facilities, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    p = register(client, runtime, staff_headers=admin.headers)
    assert p["registered_via"] == "state"
    r = client.post(f"{API}/{p['hpr_id']}/verify", headers=admin.headers)
    assert r.status_code == 403 and r.json()["code"] == "HS-1762"


def test_malformed_and_unknown_hpr_ids(client, runtime, facilities, verifier):
    r = client.post(f"{API}/71-1234/verify", headers=verifier.headers)
    assert r.status_code == 400 and r.json()["field"] == "hprId"
    r = client.post(f"{API}/71-0000-0000-0000/verify", headers=verifier.headers)
    assert r.status_code == 404
    r = client.post(f"{API}/71-0000-0000-0000/verify", json={"x": 1}, headers=verifier.headers)
    assert r.status_code == 400 and "not a known field" in r.json()["detail"]


# --------------------------------------------------------------------------- reading and scope


def test_scope_hides_records_outside_the_callers_area(client, runtime, facilities, make_staff):
    at_a = register(client, runtime)  # works at FACILITY_A (Srinagar)
    url = f"{API}/{at_a['hpr_id']}"
    own = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    other = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    srinagar = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    budgam = make_staff(Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    for caller, status in ((own, 200), (srinagar, 200), (other, 404), (budgam, 404)):
        assert client.get(url, headers=caller.headers).status_code == status
        assert client.get(f"{url}/history", headers=caller.headers).status_code == status
    assert client.get(url).status_code == 401
    desk = make_staff(Role.REGISTRATION_DESK)
    assert client.get(url, headers=desk.headers).status_code == 403
    assert audit_outcomes(runtime, "professional.read") == [
        "success",
        "success",
        "not_found",
        "not_found",
        "denied",
    ]


def test_the_list_filters_and_pages(client, runtime, facilities, verifier, make_staff):
    a1 = seed_professional(runtime, name="Nazia Jan")
    a2 = seed_professional(runtime, name="Irfan Lone", status="VERIFIED")
    b1 = seed_professional(runtime, name="Sakina Bano", hfr_id=FACILITY_B)
    priv = seed_professional(
        runtime, name="Owais Mir", hfr_id=facilities["private"], sector="private", role="consultant"
    )
    everyone = client.get(API, headers=verifier.headers)
    assert everyone.status_code == 200
    assert everyone.json()["total"] == 4
    assert {i["hpr_id"] for i in everyone.json()["items"]} == {a1, a2, b1, priv}

    def ids(headers, **params):
        r = client.get(API, params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {i["hpr_id"] for i in r.json()["items"]}

    assert ids(verifier.headers, status="verified") == {a2}
    assert ids(verifier.headers, district=BUDGAM) == {b1}
    assert ids(verifier.headers, facility=FACILITY_A.lower()) == {a1, a2}
    assert ids(verifier.headers, category="nurse") == set()
    page = client.get(API, params={"page_size": 3, "page": 2}, headers=verifier.headers).json()
    assert page["total"] == 4 and len(page["items"]) == 1 and page["page"] == 2
    # A facility admin sees their facility's staff, whatever they ask for.
    admin_b = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert ids(admin_b.headers) == {b1}
    assert ids(admin_b.headers, facility=FACILITY_A) == set()
    for bad in ({"facility": "IN01"}, {"status": "DONE"}, {"category": "surgeon"}):
        r = client.get(API, params=bad, headers=verifier.headers)
        assert r.status_code == 400, bad


def test_lookup_by_council_number(client, runtime, facilities, verifier, make_staff):
    hpr_id = seed_professional(runtime, number="JKMC/2012/00417")
    r = client.get(
        f"{API}/lookup",
        params={"council": "jkmc", "registration_number": "JKMC-2012-00417"},
        headers=verifier.headers,
    )
    assert r.status_code == 200 and r.json()["hpr_id"] == hpr_id
    missing = client.get(
        f"{API}/lookup",
        params={"council": "JKMC", "registration_number": "JKMC/2012/99999"},
        headers=verifier.headers,
    )
    assert missing.status_code == 404
    bad = client.get(
        f"{API}/lookup",
        params={"council": "XYZ", "registration_number": "1"},
        headers=verifier.headers,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "council"
    other = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    hidden = client.get(
        f"{API}/lookup",
        params={"council": "JKMC", "registration_number": "JKMC/2012/00417"},
        headers=other.headers,
    )
    assert hidden.status_code == 404


# --------------------------------------------------------------------------- edits and history


def test_edits_keep_history_and_credentials_need_verification_again(
    client, runtime, facilities, verifier, clock
):
    p = register(client, runtime, number="JKMC/2012/00417")
    url = f"{API}/{p['hpr_id']}"
    client.post(f"{url}/verify", headers=verifier.headers)
    registered_at = clock.now()
    clock.advance(days=3)

    # A second work place: no re-verification.
    moved = client.patch(
        url,
        json={
            "workplaces": [
                {"hfr_id": FACILITY_A, "role": "medical_officer", "sector": "public"},
                {"hfr_id": FACILITY_B, "role": "specialist", "sector": "public"},
            ]
        },
        headers=verifier.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "VERIFIED" and len(moved.json()["workplaces"]) == 2
    assert events(runtime)[-1]["name"] == "professional.updated"
    after_move = clock.now()
    clock.advance(days=3)

    # A corrected registration number: back to SUBMITTED.
    fixed = client.patch(
        url, json={"registration_number": "JKMC/2012/00471"}, headers=verifier.headers
    )
    assert fixed.status_code == 200 and fixed.json()["status"] == "SUBMITTED"
    assert events(runtime)[-1]["name"] == "professional.resubmitted"
    # The same values again change nothing and write no version.
    same = client.patch(
        url, json={"registration_number": "jkmc/2012/00471"}, headers=verifier.headers
    )
    assert same.status_code == 200 and same.json()["version"] == 4

    h = client.get(f"{url}/history", headers=verifier.headers).json()
    assert [(v["version"], v["change"]) for v in h["versions"]] == [
        (1, "registered"),
        (2, "verified"),
        (3, "edited"),
        (4, "resubmitted"),
    ]
    assert h["versions"][2]["changed_fields"] == ["workplaces"]
    assert h["versions"][3]["changed_fields"] == ["registration_number"]
    assert h["versions"][0]["valid_to"] == h["versions"][1]["valid_from"]
    assert h["versions"][3]["valid_to"] is None

    # What did the registry say at a given time?
    def as_of(moment):
        r = client.get(
            f"{url}/history", params={"as_of": moment.isoformat()}, headers=verifier.headers
        )
        assert r.status_code == 200, r.text
        return r.json()["versions"][0]["snapshot"]

    assert as_of(registered_at)["status"] == "VERIFIED"
    assert len(as_of(registered_at)["workplaces"]) == 1
    assert as_of(after_move)["registration_number"] == "JKMC/2012/00417"
    assert as_of(clock.now())["registration_number"] == "JKMC/2012/00471"
    early = client.get(
        f"{url}/history", params={"as_of": "2020-01-01T00:00:00Z"}, headers=verifier.headers
    )
    assert early.status_code == 404
    naive = client.get(
        f"{url}/history", params={"as_of": "2026-11-27T00:00:00"}, headers=verifier.headers
    )
    assert naive.status_code == 400 and naive.json()["field"] == "as_of"


def test_an_edit_to_another_records_council_number_is_refused_with_a_pointer(
    client, runtime, facilities, verifier
):
    other = seed_professional(runtime, number="JKMC/2010/00001")
    p = register(client, runtime)
    r = client.patch(
        f"{API}/{p['hpr_id']}",
        json={"registration_number": "JKMC 2010 00001"},
        headers=verifier.headers,
    )
    assert r.status_code == 409 and r.json()["hpr_id"] == other and r.json()["code"] == "HS-1720"
    assert (
        client.get(f"{API}/{p['hpr_id']}/history", headers=verifier.headers).json()["versions"][-1][
            "version"
        ]
        == 1
    )


def test_bad_edits_are_refused(client, runtime, facilities, verifier):
    p = register(client, runtime)
    url = f"{API}/{p['hpr_id']}"
    cases = [
        ({}, "HS-1751"),
        ({"category": "nurse"}, "HS-1702"),  # still a modern-medicine sub-category
        ({"council": "JKNC"}, "HS-1704"),
        ({"registration_year": 1900}, "HS-1706"),
        (
            {"workplaces": [{"hfr_id": "IN0112", "role": "medical_officer", "sector": "public"}]},
            "HS-1220",
        ),
        ({"workplaces": []}, "HS-1708"),
    ]
    for body, code in cases:
        r = client.patch(url, json=body, headers=verifier.headers)
        assert r.status_code == 400 and r.json()["code"] == code, (body, r.text)
    assert (
        client.patch(url, json={"name": "Someone Else"}, headers=verifier.headers).status_code
        == 400
    )
    r = client.patch(
        url,
        json={"category": "nurse", "subcategory": "gnm", "council": "JKNC"},
        headers=verifier.headers,
    )
    assert r.status_code == 400 and r.json()["field"] == "workplaces[0].role"


def test_a_rejected_record_is_resubmitted_by_an_edit(client, runtime, facilities, verifier):
    p = register(client, runtime)
    url = f"{API}/{p['hpr_id']}"
    client.post(
        f"{url}/reject",
        json={"reason": "Registration year does not match"},
        headers=verifier.headers,
    )
    r = client.patch(url, json={"registration_year": 2013}, headers=verifier.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "SUBMITTED" and r.json()["rejection_reason"] is None
    assert client.post(f"{url}/verify", headers=verifier.headers).json()["status"] == "VERIFIED"


def test_a_facility_admin_edits_only_their_own_work_place(client, runtime, facilities, make_staff):
    p = register(
        client,
        runtime,
    )
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    two = [
        {"hfr_id": FACILITY_A, "role": "medical_officer", "sector": "public"},
        {"hfr_id": FACILITY_B, "role": "specialist", "sector": "public"},
    ]
    client.patch(f"{API}/{p['hpr_id']}", json={"workplaces": two}, headers=verifier.headers)
    admin_b = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    url = f"{API}/{p['hpr_id']}"
    drop_a = client.patch(url, json={"workplaces": [two[1]]}, headers=admin_b.headers)
    assert drop_a.status_code == 403 and drop_a.json()["code"] == "HS-1750"
    new_role = [two[0], {**two[1], "role": "consultant"}]
    ok = client.patch(url, json={"workplaces": new_role}, headers=admin_b.headers)
    assert ok.status_code == 200 and ok.json()["workplaces"][1]["role"] == "consultant"
    stranger = make_staff(Role.FACILITY_ADMIN, facility_id=facilities["private"])
    assert (
        client.patch(url, json={"registration_year": 2013}, headers=stranger.headers).status_code
        == 404
    )
    district = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert (
        client.patch(url, json={"registration_year": 2013}, headers=district.headers).status_code
        == 403
    )
