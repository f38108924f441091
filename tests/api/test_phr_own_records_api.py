"""The patient's own records through the PHR API (``/api/v1/phr/records``) and pages
(``/phr/records``), with both real sides over HTTP (``tests/factories_hie.py``): fetch,
poll, list, read a record; the bad inputs each get a clear refusal that writes nothing;
another patient's fetch and records are 404; anonymous callers are sent to log in."""

from __future__ import annotations

import re

import pytest

from healthstack.facility.records.models import HiuConsentRequest
from healthstack.web.deps import PATIENT_COOKIE
from tests.factories_abha_pages import alert
from tests.factories_consent import user_token
from tests.factories_hie import (
    Exchange,
    hie_settings,
    linked_patient,
    patient_account,
)

REC = "/api/v1/phr/records"


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def test_api_fetch_poll_and_read(hie: Exchange, runtime):
    account, visits = linked_patient(hie, documents=2)
    headers = hie.patient_login(account)
    started = hie.phr_post("/records", headers, {"hiTypes": ["Prescription"]}, expect=202)
    assert started["status"] == "REQUESTED"
    waiting = hie.phr_get(f"/records/{started['id']}", headers)
    assert (waiting["step"], waiting["waiting"]) == ("asked", True)
    hie.settle()

    done = hie.phr_get(f"/records/{started['id']}", headers)
    assert (done["status"], done["step"], done["waiting"]) == ("GRANTED", "done", False)
    [facility] = done["facilities"]
    assert facility["hipId"] == hie.hip_a and facility["status"] == "GRANTED"
    [record] = facility["records"]
    assert record["hiType"] == "Prescription" and record["status"] == "OK"
    assert record["careContextReference"] == visits[0].reference
    got = hie.phr_get(f"/health-records/{record['id']}", headers)
    assert got["bundle"]["resourceType"] == "Bundle" and got["title"]
    assert [f["id"] for f in hie.phr_get("/records", headers)] == [started["id"]]

    # Another patient sees none of it.
    other = patient_account(runtime, handle="ravi.k", mobile="9876500099", name="Ravi Kumar")
    theirs = hie.patient_login(other)
    assert hie.phr_get("/records", theirs) == []
    for path in (f"{REC}/{started['id']}", f"/api/v1/phr/health-records/{record['id']}"):
        r = hie.client.get(path, headers=theirs)
        assert r.status_code == 404, r.text
    # Without the patient's token: 401.
    assert hie.client.get(REC).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"hiTypes": []}, 400, "hi_types"),
        ({"hiTypes": ["XRay"]}, 400, "hi_types"),
        (
            {"dateRange": {"from": "2026-01-02T00:00:00.000Z", "to": "2025-01-01T00:00:00.000Z"}},
            400,
            "date_from",
        ),
        ({"dateRange": {"from": "yesterday", "to": "2025-01-01T00:00:00.000Z"}}, 400, None),
        ({"hipId": ""}, 400, None),
        ({"purpose": "CAREMGT"}, 400, "purpose"),
    ],
)
def test_api_bad_fetches_write_nothing(hie: Exchange, body, status, field):
    account, _ = linked_patient(hie, documents=2)
    r = hie.client.post(REC, json=body, headers=hie.patient_login(account))
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["detail"] and (field is None or problem.get("field") == field), problem
    assert hie.rows(HiuConsentRequest) == []


def _log_in(hie: Exchange, account) -> None:
    hie.client.cookies.set(PATIENT_COOKIE, user_token(hie.runtime, account))


def test_pages_fetch_wait_and_read(hie: Exchange, runtime):
    account, _ = linked_patient(hie, documents=2)
    assert hie.client.get("/phr/records", follow_redirects=False).headers["location"] == (
        "/patient/login"
    )
    _log_in(hie, account)
    page = hie.client.get("/phr/records")
    assert page.status_code == 200 and "PHC Khag" in page.text and 'id="fetch-form"' in page.text

    # Nothing ticked: the form says so and keeps the choices; nothing is sent.
    r = hie.client.post("/phr/records", data={"hip": hie.hip_a})
    assert r.status_code == 400 and "at least one record type" in alert(r.text)
    assert f'value="{hie.hip_a}" checked' in r.text
    r = hie.client.post("/phr/records", data={"hi_types": "Prescription", "date_from": "12/31"})
    assert r.status_code == 400 and "start date" in alert(r.text)
    assert hie.rows(HiuConsentRequest) == []

    r = hie.client.post(
        "/phr/records",
        data={"hi_types": ["Prescription", "DiagnosticReport"], "hip": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    here = r.headers["location"]
    assert re.fullmatch(r"/phr/records/[0-9a-f-]{36}", here)
    waiting = hie.client.get(here)
    assert 'id="waiting"' in waiting.text and f'data-poll="{here}/status.json"' in waiting.text
    assert hie.client.get(here + "/status.json").json() == {"status": "asked", "waiting": True}
    hie.settle()
    assert hie.client.get(here + "/status.json").json() == {"status": "done", "waiting": False}
    done = hie.client.get(here)
    assert 'id="waiting"' not in done.text
    links = re.findall(r'href="(/phr/health-records/[0-9a-f-]{36})"', done.text)
    assert len(links) == 2
    record = hie.client.get(links[0])
    assert record.status_code == 200 and 'id="record"' in record.text
    assert "PHC Khag" in record.text
    # The self-consent is among her granted consents, asked by herself.
    granted = hie.client.get("/phr/consents?tab=granted").text
    assert "HealthStack PHR" in granted and "<td>You</td>" in granted

    # Another patient's browser: 404 pages, not the records.
    other = patient_account(runtime, handle="ravi.k", mobile="9876500099", name="Ravi Kumar")
    _log_in(hie, other)
    assert hie.client.get(here).status_code == 404
    assert hie.client.get(links[0]).status_code == 404
    assert hie.client.get(links[0] + "/attachments/0:content.0").status_code == 404
    nothing = hie.client.get("/phr/records")
    assert 'id="nothing-linked"' in nothing.text and "Nothing fetched yet" in nothing.text
