"""The monitoring JSON API: figures, filters, scope by role, targets, bad input."""

from __future__ import annotations

import pytest

from healthstack.kernel.context import Role
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_monitoring import ANANTNAG, BUDGAM, SRINAGAR, standard_data

API = "/api/v1/monitoring"


@pytest.fixture
def data(runtime, relay):
    return standard_data(runtime, relay)


def _figures(body):
    return {f["indicator"]: f for f in body["figures"]}


def test_indicators_describe_themselves(client, make_staff):
    assert client.get(f"{API}/indicators").status_code == 401
    staff = make_staff(Role.NURSE)
    body = client.get(f"{API}/indicators", headers=staff.headers).json()
    assert [i["key"] for i in body] == [
        "abha.accounts",
        "hfr.public_facilities",
        "hpr.doctors",
        "hpr.nurses",
        "hpr.overdue",
    ]
    abha = body[0]
    assert abha["denominator"] == "Target population"
    assert abha["dimensions"] == ["state", "district_lgd", "facility_id"]
    assert [e["event"] for e in abha["events"]] == [
        "abha.account.created",
        "abha.account.deleted",
        "abha.account.moved",
        "abha.account.moved",
    ]
    assert body[1]["kind"] == "members" and body[4]["wired"] is True


def test_state_summary_with_targets(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    body = client.get(f"{API}/summary", headers=admin.headers).json()
    assert body["scope"] == {
        "level": "state",
        "district_lgd": None,
        "district_name": None,
        "facility_id": None,
        "facility_name": None,
    }
    abha = _figures(body)["abha.accounts"]
    assert (abha["value"], abha["target"]) == (8, 27_120)
    assert abha["percent"] == 0.0
    assert _figures(body)["hpr.overdue"] == {
        "indicator": "hpr.overdue",
        "label": "Professionals overdue",
        "unit": "professionals",
        "value": 0,
        "target": None,
        "percent": None,
        "denominator": None,
        "wired": True,
    }


def test_filters_narrow_the_figures(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)

    def abha(**params):
        r = client.get(f"{API}/summary", params=params, headers=admin.headers)
        assert r.status_code == 200, r.text
        return _figures(r.json())["abha.accounts"]

    srinagar = abha(district_lgd=SRINAGAR)
    assert srinagar["value"] == 5 and srinagar["target"] == 2_734
    assert srinagar["percent"] == round(500 / 2_734, 1)
    assert abha(facility_id=FACILITY_A)["value"] == 3
    assert abha(facility_id=FACILITY_A)["target"] is None  # facilities have no targets
    assert abha(district_lgd=BUDGAM, facility_id=FACILITY_B)["value"] == 1
    assert abha(district_lgd=SRINAGAR, facility_id=FACILITY_B)["value"] == 0


def test_a_district_officer_sees_their_district_only(client, make_staff, data):
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    body = client.get(f"{API}/summary", headers=officer.headers).json()
    assert body["scope"]["level"] == "district"
    assert body["scope"]["district_name"] == "Srinagar"
    assert _figures(body)["abha.accounts"]["value"] == 5
    for params in ({"district_lgd": BUDGAM}, {"facility_id": FACILITY_B}, {"district_lgd": 999}):
        r = client.get(f"{API}/summary", params=params, headers=officer.headers)
        assert r.status_code == 404, params
        assert "not on your dashboard" in r.json()["detail"]
    # Their district's facility (the registry does not know it here: where its figures are).
    r = client.get(f"{API}/summary", params={"facility_id": FACILITY_A}, headers=officer.headers)
    assert r.status_code == 200
    rows = client.get(f"{API}/districts", headers=officer.headers).json()["rows"]
    assert [r["district_lgd"] for r in rows] == [SRINAGAR]


def test_a_facility_role_sees_their_facility_only(client, make_staff, data):
    desk = make_staff(Role.REGISTRATION_DESK, facility_id=FACILITY_A)
    body = client.get(f"{API}/summary", headers=desk.headers).json()
    assert body["scope"]["level"] == "facility"
    assert body["scope"]["facility_id"] == FACILITY_A
    assert _figures(body)["abha.accounts"]["value"] == 3
    r = client.get(f"{API}/summary", params={"facility_id": FACILITY_B}, headers=desk.headers)
    assert r.status_code == 404
    for path in ("districts", "facilities"):
        assert client.get(f"{API}/{path}", headers=desk.headers).status_code == 404
    trend = client.get(f"{API}/trend", headers=desk.headers).json()
    assert trend["scope"]["facility_id"] == FACILITY_A
    assert trend["points"][-1]["total"] == 3


def test_unknown_places_are_not_found_for_everyone(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    r = client.get(f"{API}/summary", params={"facility_id": "IN0119999999"}, headers=admin.headers)
    assert r.status_code == 404
    r = client.get(f"{API}/summary", params={"district_lgd": 999}, headers=admin.headers)
    assert r.status_code == 404


def test_districts_table(client, make_staff, data):
    verifier = make_staff(Role.REGISTRY_VERIFIER)  # sees the state, like the state admin
    body = client.get(f"{API}/districts", headers=verifier.headers).json()
    rows = {r["district_lgd"]: r for r in body["rows"]}
    assert len(rows) == 20
    assert [r["name"] for r in body["rows"]][:3] == ["Anantnag", "Bandipora", "Baramulla"]
    srinagar = _figures(rows[SRINAGAR])["abha.accounts"]
    assert (srinagar["value"], srinagar["target"]) == (5, 2_734)
    assert _figures(rows[ANANTNAG])["abha.accounts"]["value"] == 1
    only = client.get(
        f"{API}/districts", params={"indicator": "hpr.doctors"}, headers=verifier.headers
    ).json()
    assert [f["indicator"] for f in only["rows"][0]["figures"]] == ["hpr.doctors"]
    # Summed over the districts, the table is the state.
    state = _figures(client.get(f"{API}/summary", headers=verifier.headers).json())
    assert (
        sum(_figures(r)["abha.accounts"]["value"] for r in rows.values())
        == (state["abha.accounts"]["value"])
    )
    assert (
        sum(_figures(r)["abha.accounts"]["target"] for r in rows.values())
        == (state["abha.accounts"]["target"])
    )


def test_trend(client, make_staff, data, clock):
    admin = make_staff(Role.STATE_ADMIN)
    r = client.get(
        f"{API}/trend",
        params={"indicator": "abha.accounts", "days": 7, "district_lgd": SRINAGAR},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days"] == 7 and len(body["points"]) == 7
    assert body["points"][-1] == {"day": clock.now().date().isoformat(), "count": 5, "total": 5}
    assert body["points"][0]["total"] == 0
    default = client.get(f"{API}/trend", headers=admin.headers).json()
    assert default["indicator"] == "abha.accounts" and len(default["points"]) == 90


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("trend", {"days": 0}, "days"),
        ("trend", {"days": 367}, "days"),
        ("trend", {"days": "many"}, "days"),
        ("trend", {"indicator": "abha.nope"}, "indicator"),
        ("summary", {"district": 13}, "district"),  # misspelt filter: refused, not ignored
        ("summary", {"district_lgd": "Srinagar"}, "district_lgd"),
        ("summary", {"facility_id": "PHC-1"}, "facility_id"),
        ("districts", {"indicator": "nope"}, "indicator"),
        ("facilities", {}, "district_lgd"),
    ],
)
def test_bad_filters_are_refused(client, make_staff, path, params, field):
    admin = make_staff(Role.STATE_ADMIN)
    r = client.get(f"{API}/{path}", params=params, headers=admin.headers)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_facilities_table(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    body = client.get(
        f"{API}/facilities", params={"district_lgd": SRINAGAR}, headers=admin.headers
    ).json()
    assert body["district_name"] == "Srinagar"
    [row] = body["rows"]  # no registry entries here: the facility with figures
    assert row["facility_id"] == FACILITY_A and row["in_registry"] is False
    assert _figures(row)["abha.accounts"]["value"] == 3
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    mine = client.get(f"{API}/facilities", headers=officer.headers).json()
    assert [r["facility_id"] for r in mine["rows"]] == [FACILITY_B]
    r = client.get(f"{API}/facilities", params={"district_lgd": SRINAGAR}, headers=officer.headers)
    assert r.status_code == 404


def test_facilities_from_the_registry(client, make_staff, runtime, relay):
    standard_data(runtime, relay, facilities=True)
    admin = make_staff(Role.STATE_ADMIN)
    body = client.get(
        f"{API}/facilities", params={"district_lgd": SRINAGAR}, headers=admin.headers
    ).json()
    rows = {r["facility_id"]: r for r in body["rows"]}
    assert len(rows) == 2  # the public PHC and the private clinic
    phc = rows[FACILITY_A]
    assert (phc["name"], phc["facility_type"], phc["ownership"]) == (
        "PHC Rainawari",
        "phc",
        "public",
    )
    assert _figures(phc)["hfr.public_facilities"]["value"] == 1
    assert _figures(phc)["abha.accounts"]["value"] == 3
    private = next(r for r in rows.values() if r["ownership"] == "private")
    assert _figures(private)["hfr.public_facilities"]["value"] == 0
    state = _figures(client.get(f"{API}/summary", headers=admin.headers).json())
    assert state["hfr.public_facilities"]["value"] == 2
    # A facility the registry places in Budgam is not Srinagar's officer's.
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    r = client.get(f"{API}/summary", params={"facility_id": FACILITY_B}, headers=officer.headers)
    assert r.status_code == 404
    summary = client.get(
        f"{API}/summary", params={"facility_id": FACILITY_A}, headers=officer.headers
    ).json()
    assert summary["scope"]["facility_name"] == "PHC Rainawari"


def test_targets_set_and_listed(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    body = {"indicator": "hpr.doctors", "district_lgd": SRINAGAR, "value": 412}
    r = client.post(f"{API}/targets", json=body, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["district_name"] == "Srinagar"
    assert r.json()["set_by"] == admin.public_id
    doctors = _figures(
        client.get(
            f"{API}/summary", params={"district_lgd": SRINAGAR}, headers=admin.headers
        ).json()
    )["hpr.doctors"]
    assert (doctors["value"], doctors["target"], doctors["percent"]) == (0, 412, 0.0)
    listed = client.get(
        f"{API}/targets", params={"indicator": "hpr.doctors"}, headers=admin.headers
    ).json()
    assert [(t["district_lgd"], t["value"]) for t in listed["items"]] == [(SRINAGAR, 412)]
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.get(f"{API}/targets", headers=officer.headers).status_code == 403
    assert client.post(f"{API}/targets", json=body, headers=officer.headers).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"indicator": "nope"}, "indicator"),
        ({"indicator": "hpr.overdue"}, "indicator"),
        ({"district_lgd": 999}, "district_lgd"),
        ({"district_lgd": 0}, "district_lgd"),
        ({"value": -5}, "value"),
        ({"value": "many"}, "value"),
        ({"valid_from": "26/11/2026"}, "valid_from"),
        ({"note": "extra"}, "note"),
    ],
)
def test_bad_targets_are_refused(client, make_staff, change, field):
    admin = make_staff(Role.STATE_ADMIN)
    body = {"indicator": "abha.accounts", "district_lgd": SRINAGAR, "value": 5} | change
    r = client.post(f"{API}/targets", json=body, headers=admin.headers)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    listed = client.get(f"{API}/targets", headers=admin.headers).json()
    assert listed["items"] == []


def test_plotly_is_served_from_the_installed_wheel(client):
    pytest.importorskip("plotly", reason="the plotly wheel is not installed")
    r = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=604800"  # not the default no-store
    assert b"plotly" in r.content[:2000].lower()
    raw = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert r.headers["content-encoding"] == "gzip"
    assert raw.content == r.content  # the client decoded the gzip copy
    again = client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    # The app's own static files are still there.
    assert client.get("/static/monitoring.js").status_code == 200


def test_a_holder_deleting_their_abha_takes_it_off_the_dashboard(client, runtime, relay):
    from healthstack.kernel.uow import unit_of_work
    from healthstack.programme.monitoring.aggregates import rebuild
    from tests.factories_abha import create_account, login_token, profile_change
    from tests.factories_monitoring import total

    mobile = "9876500001"
    account = create_account(runtime, mobile=mobile)  # district 620, loaded without events
    with unit_of_work(runtime.session_factory) as s:
        rebuild(s, clock=runtime.clock)
    assert total(runtime, "abha.accounts", district_lgd=620) == 1
    headers = {"X-token": f"Bearer {login_token(client, runtime, account)}"}
    done = profile_change(client, runtime, headers, ["delete"], otp_to=mobile)
    assert done["accounts"][0]["status"] == "DELETED"
    relay()
    assert total(runtime, "abha.accounts", district_lgd=620) == 0
