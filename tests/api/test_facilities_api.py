"""The facility registry API (``/api/v1/facilities``): registration and its bad input,
HFR ids, the verification workflow by role, scope (404 for other facilities), the
list, history and ``as_of``."""

from __future__ import annotations

import pytest

from healthstack.kernel.context import Role
from tests.factories_facilities import api_body

API = "/api/v1/facilities"
OTHER_FACILITY = "IN0110000999"


class People:
    """Staff made on first use (each costs a password hash)."""

    ROLES = {
        "admin": (Role.FACILITY_ADMIN, {}),
        "other_admin": (Role.FACILITY_ADMIN, {"facility_id": OTHER_FACILITY}),
        "verifier": (Role.REGISTRY_VERIFIER, {}),
        "state": (Role.STATE_ADMIN, {}),
        "desk": (Role.REGISTRATION_DESK, {}),
        "officer": (Role.DISTRICT_OFFICER, {"district_lgd": 2}),
        "far_officer": (Role.DISTRICT_OFFICER, {"district_lgd": 13}),
    }

    def __init__(self, make_staff):
        self._make = make_staff
        self._made: dict = {}

    def __getattr__(self, name: str):
        if name not in self.ROLES:
            raise AttributeError(name)
        if name not in self._made:
            role, kwargs = self.ROLES[name]
            self._made[name] = self._make(role, **kwargs)
        return self._made[name]


@pytest.fixture
def people(make_staff) -> People:
    return People(make_staff)


def registered(client, who, **overrides) -> dict:
    r = client.post(API, json=api_body(**overrides), headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_register_and_read(client, people):
    body = api_body(name="PHC Khag", master_code="JK-PHC-0007")
    r = client.post(API, json=body, headers=people.admin.headers)
    assert r.status_code == 201
    got = r.json()
    assert got["hfr_id"] == "IN0110000001" and got["status"] == "submitted"
    assert got["district_name"] == "Budgam" and got["warnings"] == []
    assert got["services"] == ["opd", "ipd", "lab", "pharmacy"]
    again = client.get(f"{API}/{got['hfr_id']}", headers=people.admin.headers).json()
    assert again["name"] == "PHC Khag" and again["master_code"] == "JK-PHC-0007"
    second = registered(client, people.state)
    assert second["hfr_id"] == "IN0110000002"


@pytest.mark.parametrize(
    ("overrides", "status", "field", "code"),
    [
        ({"name": "PHC Khag @ Budgam"}, 400, "name", "HS-1304"),
        ({"name": "9 PHC"}, 400, "name", "HS-1303"),
        ({"name": "PH"}, 400, "name", "HS-1302"),
        ({"facility_type": "hospital"}, 400, "facility_type", "HS-1000"),
        ({"ownership": "trust"}, 400, "ownership", "HS-1000"),
        ({"services": ["opd", "spa"]}, 400, "services.1", "HS-1000"),
        ({"district_lgd": 1234}, 400, "district_lgd", "HS-1313"),
        ({"pincode": "12345"}, 400, "pincode", "HS-1315"),
        ({"latitude": 95.0}, 400, "latitude", "HS-1317"),
        ({"contact_email": "nobody"}, 400, "contact_email", "HS-1319"),
        ({"beds": 0}, 400, "beds", "HS-1322"),
        ({"department": ""}, 400, "department", "HS-1311"),
        ({"colour": "blue"}, 400, "colour", "HS-1000"),
    ],
)
def test_bad_registrations_say_which_rule(client, people, overrides, status, field, code):
    r = client.post(API, json=api_body(**overrides), headers=people.admin.headers)
    assert r.status_code == status, r.text
    problem = r.json()
    assert (problem["field"], problem["code"]) == (field, code)
    assert client.get(API, headers=people.state.headers).json()["total"] == 0


def test_missing_fields_are_named(client, people):
    body = api_body()
    del body["pincode"], body["services"]
    r = client.post(API, json=body, headers=people.admin.headers)
    assert r.status_code == 400
    assert (
        "pincode is required" in r.json()["detail"] and "services is required" in r.json()["detail"]
    )


def test_a_name_in_use_is_a_conflict_naming_the_holder(client, people):
    first = registered(client, people.admin, name="CHC Beerwah", facility_type="chc")
    r = client.post(API, json=api_body(name="C.H.C. beerwah"), headers=people.state.headers)
    assert r.status_code == 409 and r.json()["code"] == "HS-1305"
    assert first["hfr_id"] in r.json()["detail"]


def test_malformed_and_unknown_hfr_ids(client, people):
    r = client.get(f"{API}/IN01-123", headers=people.state.headers)
    assert (r.status_code, r.json()["code"]) == (400, "HS-1220")
    r = client.get(f"{API}/IN0110000500", headers=people.state.headers)
    assert (r.status_code, r.json()["code"]) == (404, "HS-1330")


def test_the_api_needs_a_bearer_token(client, people):
    assert client.post(API, json=api_body()).status_code == 401
    assert client.get(API).status_code == 401
    # A session cookie alone does not do on the JSON API (it would ride on forged posts).
    client.post(
        "/login", data={"username": people.admin.username, "password": people.admin.password}
    )
    assert client.get(API).status_code == 401


def test_scope_other_facility_admin_and_district(client, people):
    hfr = registered(client, people.admin)["hfr_id"]  # Budgam
    for who in (people.other_admin, people.far_officer):
        assert client.get(f"{API}/{hfr}", headers=who.headers).status_code == 404
        r = client.patch(
            f"{API}/{hfr}", json={"beds": 9, "change_reason": "more beds"}, headers=who.headers
        )
        assert r.status_code == 404
        assert client.get(f"{API}/{hfr}/history", headers=who.headers).status_code == 404
        assert client.get(API, headers=who.headers).json()["total"] == 0
    for who in (people.admin, people.officer, people.verifier, people.state):
        assert client.get(f"{API}/{hfr}", headers=who.headers).status_code == 200
    # Desk staff attached to the facility see it; they may not edit it.
    desk = people.desk  # attached to IN0110000001, which this facility is
    assert client.get(f"{API}/{hfr}", headers=desk.headers).status_code == 200
    r = client.patch(
        f"{API}/{hfr}", json={"beds": 9, "change_reason": "more beds"}, headers=desk.headers
    )
    assert r.status_code == 403


def test_verification_by_role(client, people):
    hfr = registered(client, people.admin)["hfr_id"]
    assert (
        client.post(f"{API}/{hfr}/verify", json={}, headers=people.admin.headers).status_code == 403
    )
    assert (
        client.post(f"{API}/{hfr}/verify", json={}, headers=people.officer.headers).status_code
        == 403
    )
    r = client.post(f"{API}/{hfr}/reject", json={}, headers=people.verifier.headers)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (400, "HS-1340", "reason")
    r = client.post(
        f"{API}/{hfr}/verify", json={"note": "visited"}, headers=people.verifier.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = client.post(f"{API}/{hfr}/verify", json={}, headers=people.state.headers)
    assert (r.status_code, r.json()["code"]) == (409, "HS-1338")


def test_self_registered_facility_needs_another_verifier(client, people):
    hfr = registered(client, people.state)["hfr_id"]
    r = client.post(f"{API}/{hfr}/verify", json={}, headers=people.state.headers)
    assert (r.status_code, r.json()["code"]) == (403, "HS-1339")


def test_rejection_then_resubmission(client, people):
    hfr = registered(client, people.admin)["hfr_id"]
    r = client.post(
        f"{API}/{hfr}/reject",
        json={"reason": "The PIN is of another district."},
        headers=people.verifier.headers,
    )
    assert r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "The PIN is of another district."
    r = client.patch(
        f"{API}/{hfr}",
        json={"pincode": "193401", "change_reason": "PIN corrected"},
        headers=people.admin.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "submitted"


def test_edits_and_reverification(client, people):
    hfr = registered(client, people.admin)["hfr_id"]
    client.post(f"{API}/{hfr}/verify", json={}, headers=people.verifier.headers)
    r = client.patch(
        f"{API}/{hfr}",
        json={"hmis": "HealthStack", "change_reason": "new HMIS"},
        headers=people.admin.headers,
    )
    assert r.json()["status"] == "verified" and r.json()["reverification"] is False
    r = client.patch(
        f"{API}/{hfr}",
        json={"facility_type": "chc", "change_reason": "upgraded to CHC"},
        headers=people.admin.headers,
    )
    assert r.json()["status"] == "submitted" and r.json()["reverification"] is True
    r = client.patch(f"{API}/{hfr}", json={"beds": 8}, headers=people.admin.headers)
    assert r.status_code == 400 and "change_reason is required" in r.json()["detail"]
    r = client.patch(
        f"{API}/{hfr}",
        json={"state_lgd": 3, "change_reason": "moved"},
        headers=people.admin.headers,
    )
    assert r.json()["code"] == "HS-1335"
    r = client.patch(
        f"{API}/{hfr}",
        json={"hfr_id": "IN0110000005", "change_reason": "moved"},
        headers=people.admin.headers,
    )
    assert r.status_code == 400 and "not a known field" in r.json()["detail"]
    r = client.patch(
        f"{API}/{hfr}",
        json={"hmis": None, "change_reason": "no HMIS any more"},
        headers=people.admin.headers,
    )
    assert r.status_code == 200 and r.json()["hmis"] is None


def test_history_and_as_of(client, people, clock):
    hfr = registered(client, people.admin, name="PHC Magam")["hfr_id"]
    registered_at = clock.now()
    clock.advance(days=3)
    client.post(f"{API}/{hfr}/verify", json={}, headers=people.verifier.headers)
    clock.advance(days=3)
    client.patch(
        f"{API}/{hfr}",
        json={"name": "PHC Magam Town", "change_reason": "renamed"},
        headers=people.admin.headers,
    )
    history = client.get(f"{API}/{hfr}/history", headers=people.admin.headers).json()
    assert [(h["change_kind"], h["changed_by"]) for h in history] == [
        ("edited", people.admin.username),
        ("verified", people.verifier.username),
        ("registered", people.admin.username),
    ]
    day4 = "2026-11-30T09:00:00+05:30"
    then = client.get(f"{API}/{hfr}", params={"as_of": day4}, headers=people.admin.headers).json()
    assert (then["name"], then["status"], then["version"]) == ("PHC Magam", "verified", 2)
    assert then["valid_to"] == "2026-12-02T09:00:00Z"
    now = client.get(f"{API}/{hfr}", headers=people.admin.headers).json()
    assert now["name"] == "PHC Magam Town"
    before = registered_at.replace(year=2025).isoformat()
    r = client.get(f"{API}/{hfr}", params={"as_of": before}, headers=people.admin.headers)
    assert (r.status_code, r.json()["code"]) == (404, "HS-1332")
    r = client.get(
        f"{API}/{hfr}", params={"as_of": "2026-11-30T09:00"}, headers=people.admin.headers
    )
    assert (r.status_code, r.json()["code"]) == (400, "HS-1331")
    r = client.get(f"{API}/{hfr}", params={"as_of": "yesterday"}, headers=people.admin.headers)
    assert r.status_code == 400
    r = client.get(f"{API}/{hfr}", params={"as_of": day4}, headers=people.other_admin.headers)
    assert r.status_code == 404


def test_list_filters_and_pages(client, people):
    for i in range(3):
        registered(
            client,
            people.admin,
            name=f"SC Narbal {i}",
            facility_type="sub_centre",
            services=["opd"],
            beds=0,
        )
    registered(
        client,
        people.state,
        district_lgd=13,
        pincode="190001",
        ownership="private",
        department=None,
        facility_type="clinic",
    )
    page = client.get(API, params={"page_size": 2}, headers=people.state.headers).json()
    assert (page["total"], len(page["items"]), page["page"]) == (4, 2, 1)
    page2 = client.get(API, params={"page_size": 2, "page": 2}, headers=people.state.headers).json()
    assert {i["hfr_id"] for i in page["items"]} | {i["hfr_id"] for i in page2["items"]} == {
        "IN0110000001",
        "IN0110000002",
        "IN0110000003",
        "IN0110000004",
    }

    def total(**params):
        return client.get(API, params=params, headers=people.state.headers).json()["total"]

    assert total(district_lgd=13) == 1
    assert total(ownership="private") == 1
    assert total(facility_type="sub_centre", status="submitted") == 3
    assert total(q="narbal 1") == 1
    assert (
        client.get(API, params={"status": "lost"}, headers=people.state.headers).status_code == 400
    )
    assert (
        client.get(API, params={"page_size": 5000}, headers=people.state.headers).status_code == 400
    )


def test_warnings_come_back_with_the_registration(client, people):
    got = registered(client, people.admin, latitude=28.61, longitude=77.2)
    assert got["status"] == "submitted"
    assert any("outside Jammu and Kashmir" in w for w in got["warnings"])
