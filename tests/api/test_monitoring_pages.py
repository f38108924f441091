"""The dashboard pages: the same numbers as the JSON API, the drill-down by role, CSV
exports, the targets form, and the plain-table fallback."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import pytest

from healthstack.kernel.context import Role
from healthstack.programme.monitoring.pages import indian
from healthstack.web.timefmt import local_date
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_monitoring import BUDGAM, SRINAGAR, standard_data

API = "/api/v1/monitoring"
_CARD = re.compile(r'data-indicator="([^"]+)".*?data-value="(-?\d+)"', re.S)
_ROW = re.compile(r'<tr data-(?:district|facility)="([^"]+)">(.*?)</tr>', re.S)
# A count cell may carry its target below it: "1,662<span ...>of 2,385</span>".
_NUM = re.compile(r'<td class="num">([^<]*)(?:<span class="mon-of">of ([^<]*)</span>)?</td>')


@pytest.fixture
def data(runtime, relay):
    return standard_data(runtime, relay)


def _cards(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in _CARD.findall(html)}


def _rows(html: str) -> dict[str, list[str]]:
    return {
        key: [cell for pair in _NUM.findall(body) for cell in pair if cell]
        for key, body in _ROW.findall(html)
    }


def _csv(response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _api_figures(client, headers, **params) -> dict[str, dict]:
    body = client.get(f"{API}/summary", params=params, headers=headers).json()
    return {f["indicator"]: f for f in body["figures"]}


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/dashboard/district/13",
        f"/dashboard/facility/{FACILITY_A}",
        "/dashboard/targets",
    ],
)
def test_anonymous_callers_are_sent_to_log_in(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next={quote(path)}"


def test_each_role_lands_on_its_own_dashboard(client, make_staff, data):
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    r = client.get("/dashboard?days=30", headers=officer.headers, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (
        303,
        f"/dashboard/district/{SRINAGAR}?days=30",
    )
    nurse = make_staff(Role.NURSE, facility_id=FACILITY_B)
    r = client.get("/dashboard", headers=nurse.headers, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/dashboard/facility/{FACILITY_B}")
    admin = make_staff(Role.STATE_ADMIN)
    assert client.get("/dashboard", headers=admin.headers).status_code == 200


def test_out_of_scope_pages_are_not_found(client, make_staff, data):
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    r = client.get(f"/dashboard/district/{BUDGAM}", headers=officer.headers)
    assert r.status_code == 404
    assert "not on your dashboard" in r.text
    assert (
        client.get(f"/dashboard/facility/{FACILITY_B}", headers=officer.headers).status_code == 404
    )
    assert (
        client.get(f"/dashboard/facility/{FACILITY_A}", headers=officer.headers).status_code == 200
    )
    desk = make_staff(Role.REGISTRATION_DESK, facility_id=FACILITY_A)
    assert client.get(f"/dashboard/district/{SRINAGAR}", headers=desk.headers).status_code == 404
    assert client.get(f"/dashboard/facility/{FACILITY_B}", headers=desk.headers).status_code == 404
    admin = make_staff(Role.STATE_ADMIN)
    for path in (
        "/dashboard/district/999",
        "/dashboard/facility/IN0119999999",
        "/dashboard/facility/x",
    ):
        assert client.get(path, headers=admin.headers).status_code == 404, path


# --------------------------------------------------------------------------- numbers


def test_state_page_shows_the_api_numbers(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    html = client.get("/dashboard", headers=admin.headers).text
    api = _api_figures(client, admin.headers)
    assert _cards(html) == {k: f["value"] for k, f in api.items()}
    # 8 accounts of a 27,120 target population: the card's percentage.
    assert 'data-percent="0.0">0.0 %<' in html
    rows = _rows(html)
    districts = client.get(f"{API}/districts", headers=admin.headers).json()["rows"]
    assert len(rows) == len(districts) == 20
    for d in districts:
        expected = []
        for f in d["figures"]:
            expected.append(indian(f["value"]))
            if f["denominator"]:
                expected.append(indian(f["target"]))
                expected.append("—" if f["percent"] is None else f"{f['percent']:.1f} %")
        assert rows[str(d["district_lgd"])] == expected, d["name"]
    assert f'href="/dashboard/district/{SRINAGAR}"' in html


def test_district_and_facility_pages_show_the_api_numbers(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    html = client.get(f"/dashboard/district/{SRINAGAR}", headers=admin.headers).text
    api = _api_figures(client, admin.headers, district_lgd=SRINAGAR)
    assert _cards(html) == {k: f["value"] for k, f in api.items()}
    assert api["abha.accounts"]["value"] == 5
    facilities = client.get(
        f"{API}/facilities", params={"district_lgd": SRINAGAR}, headers=admin.headers
    ).json()["rows"]
    rows = _rows(html)
    for f in facilities:
        assert rows[f["facility_id"]] == [indian(x["value"]) for x in f["figures"]]
    assert f'href="/dashboard/facility/{FACILITY_A}"' in html
    assert 'href="/dashboard"' in html  # the crumb back to the state
    html = client.get(f"/dashboard/facility/{FACILITY_A}", headers=admin.headers).text
    api = _api_figures(client, admin.headers, facility_id=FACILITY_A)
    assert _cards(html) == {k: f["value"] for k, f in api.items()}
    assert f'href="/dashboard/district/{SRINAGAR}"' in html


def test_the_trend_is_a_plain_table_too(client, make_staff, data, clock):
    admin = make_staff(Role.STATE_ADMIN)
    html = client.get("/dashboard?days=30&indicator=abha.accounts", headers=admin.headers).text
    assert '<details id="trend-table" open>' in html
    assert re.search(r'<div [^>]*data-chart="trend"[^>]*hidden>', html)
    assert f"<td>{local_date(clock.now())}</td>" in html  # the IST day, as people read it
    assert len(re.findall(r"<td>\d\d [A-Z][a-z]{2} 20\d\d</td>", html)) >= 30  # one row a day
    # The charts' data rides in data- attributes: no inline script on the page.
    assert re.search(r'id="trend-chart" [^>]*data-series=\'\{"counts"', html)
    assert re.search(r'id="coverage-chart" [^>]*data-series=\'\{', html)
    assert "<script>" not in html and 'type="application/json"' not in html
    for bad in ("days=0", "days=400", "indicator=nope", "format=pdf", "format=csv&table=nope"):
        r = client.get(f"/dashboard?{bad}", headers=admin.headers)
        assert r.status_code == 400, bad
        assert "text/html" in r.headers["content-type"]


# --------------------------------------------------------------------------- CSV


def test_tables_download_as_csv(client, make_staff, data, clock):
    admin = make_staff(Role.STATE_ADMIN)
    rows = _csv(client.get("/dashboard?format=csv", headers=admin.headers))
    api = client.get(f"{API}/districts", headers=admin.headers).json()["rows"]
    assert [r["district"] for r in rows] == [d["name"] for d in api]
    srinagar = next(r for r in rows if r["district_lgd"] == str(SRINAGAR))
    assert srinagar["ABHA accounts (abha.accounts)"] == "5"
    assert srinagar["Target population (abha.accounts)"] == "2734"
    assert srinagar["% (abha.accounts)"] == "0.2"
    summary = _csv(client.get("/dashboard?format=csv&table=summary", headers=admin.headers))
    assert {r["indicator"]: r["value"] for r in summary}["abha.accounts"] == "8"
    trend = _csv(client.get("/dashboard?format=csv&table=trend&days=7", headers=admin.headers))
    assert len(trend) == 7
    assert trend[-1] == {
        "day": clock.now().date().isoformat(),
        "indicator": "abha.accounts",
        "count": "8",
        "total": "8",
    }
    facilities = _csv(
        client.get(f"/dashboard/district/{SRINAGAR}?format=csv", headers=admin.headers)
    )
    assert [(r["facility_id"], r["ABHA accounts (abha.accounts)"]) for r in facilities] == [
        (FACILITY_A, "3")
    ]
    mine = _csv(
        client.get(
            f"/dashboard/facility/{FACILITY_A}?format=csv",
            headers=make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A).headers,
        )
    )
    assert {r["indicator"]: r["value"] for r in mine}["abha.accounts"] == "3"
    r = client.get(
        f"/dashboard/facility/{FACILITY_A}?format=csv&table=districts", headers=admin.headers
    )
    assert r.status_code == 400


# --------------------------------------------------------------------------- targets


def test_the_state_admin_sets_a_target_on_the_form(client, make_staff, data):
    admin = make_staff(Role.STATE_ADMIN)
    page = client.get("/dashboard/targets", headers=admin.headers)
    assert page.status_code == 200
    assert 'name="value"' in page.text and "Srinagar" in page.text
    form = {"indicator": "hpr.nurses", "district_lgd": str(SRINAGAR), "value": "1,234"}
    r = client.post("/dashboard/targets", data=form, headers=admin.headers, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard/targets?saved=1")
    assert "Target saved." in client.get(r.headers["location"], headers=admin.headers).text
    nurses = _api_figures(client, admin.headers, district_lgd=SRINAGAR)["hpr.nurses"]
    assert nurses["target"] == 1_234


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"value": "lots"}, "whole number"),
        ({"value": ""}, "whole number"),
        ({"district_lgd": "999"}, "no district"),
        ({"indicator": "hpr.overdue"}, "has no target"),
        ({"valid_from": "tomorrow"}, "YYYY-MM-DD"),
    ],
)
def test_a_bad_target_is_explained_on_the_form(client, make_staff, data, form, message):
    admin = make_staff(Role.STATE_ADMIN)
    body = {"indicator": "hpr.nurses", "district_lgd": str(SRINAGAR), "value": "10"} | form
    r = client.post("/dashboard/targets", data=body, headers=admin.headers)
    assert r.status_code == 400
    assert message in r.text
    listed = client.get(f"{API}/targets", params={"indicator": "hpr.nurses"}, headers=admin.headers)
    assert listed.json()["items"] == []


def test_only_the_state_admin_sets_targets(client, make_staff, data):
    body = {"indicator": "hpr.nurses", "district_lgd": str(SRINAGAR), "value": "10"}
    r = client.post("/dashboard/targets", data=body, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for role in (Role.DISTRICT_OFFICER, Role.REGISTRY_VERIFIER, Role.FACILITY_ADMIN):
        staff = make_staff(role, district_lgd=SRINAGAR)
        assert client.get("/dashboard/targets", headers=staff.headers).status_code == 403
        assert (
            client.post("/dashboard/targets", data=body, headers=staff.headers).status_code == 403
        )
    admin = make_staff(Role.STATE_ADMIN)
    elsewhere = {**admin.headers, "Origin": "https://evil.example"}
    assert client.post("/dashboard/targets", data=body, headers=elsewhere).status_code == 403
    listed = client.get(f"{API}/targets", headers=admin.headers).json()["items"]
    assert not [t for t in listed if t["indicator"] == "hpr.nurses"]
