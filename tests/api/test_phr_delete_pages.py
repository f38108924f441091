"""Deleting the ABHA from the PHR, as its consent text promises: a page that spells out
the consequences, an OTP to the ABHA mobile, then the holder is logged out; every
consent ends (granted ones revoked, waiting ones denied, each party told)."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest
from healthstack.protocol.abdm import messages as m
from tests.factories_abha import last_otp, outbox
from tests.factories_abha_pages import alert
from tests.factories_consent import (
    HIP_A,
    PIN,
    audit,
    network_settings,
    patient,
    phr_headers,
    pump,
    rows,
)
from tests.factories_phr import log_in, make_ravi, request_id, text


@pytest.fixture
def settings(settings):
    return network_settings(settings)


@pytest.fixture
def ravi(runtime):
    """Ravi with his records linked and his consent PIN set."""
    return make_ravi(runtime, linked=True, pin=True)


def status_of(runtime, account) -> str:
    with unit_of_work(runtime.session_factory) as s:
        found = s.get(AbhaAccount, account.id)
        assert found is not None
        return found.status


def test_deleting_the_abha_ends_its_consents_and_logs_out(client, runtime, bridge, ravi):
    granted = request_id(runtime, bridge, ravi)
    r = client.post(
        f"/api/v1/phr/consents/{granted}/approve",
        json={"consents": [{"hip": {"id": HIP_A}}], "pin": PIN},
        headers=phr_headers(runtime, ravi),
    )
    assert r.status_code == 200, r.text
    waiting = request_id(runtime, bridge, ravi)
    pump(runtime, bridge)
    log_in(client, runtime, ravi)
    client.cookies.set(HOUSEHOLD_COOKIE, "x")

    page = client.get("/phr/account/delete").text
    said = text(page)
    assert "Deleting cannot be undone" in said and "Every consent you granted ends (1 now)" in said
    assert "Deactivate your ABHA" in said  # the gentler way is offered
    r = client.post("/phr/account/delete", data={})
    assert r.status_code == 400 and "Tick the box" in alert(r.text)
    r = client.post("/phr/account/delete", data={"confirm": "yes"})
    assert r.status_code == 200 and 'id="delete-otp-form"' in r.text
    assert outbox(runtime)[-1].payload["template"] == "otp.delete"
    txn = re.search(r'name="txn_id" value="([0-9a-f-]{36})"', r.text).group(1)
    otp = last_otp(runtime, ravi.mobile)

    wrong = "000000" if otp != "000000" else "111111"
    r = client.post("/phr/account/delete/confirm", data={"txn_id": txn, "otp": wrong})
    assert r.status_code == 400 and "not correct" in alert(r.text)
    assert status_of(runtime, ravi) == "ACTIVE"
    assert {r.status for r in rows(runtime, ConsentRequest)} == {"GRANTED", "REQUESTED"}

    r = client.post("/phr/account/delete/confirm", data={"txn_id": txn, "otp": otp})
    assert r.status_code == 200 and "Your ABHA is deleted" in text(r.text)
    cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith('hs_patient=""') for c in cookies)
    assert any(c.startswith(f'{HOUSEHOLD_COOKIE}=""') for c in cookies)
    assert status_of(runtime, ravi) == "DELETED"
    by_id = {str(r.public_id): r.status for r in rows(runtime, ConsentRequest)}
    assert by_id == {granted: "REVOKED", waiting: "DENIED"}
    assert {a.status for a in rows(runtime, ConsentArtefact)} == {"REVOKED"}
    pump(runtime, bridge)
    told_hip = [c.body["notification"]["status"] for c in bridge.at(m.HIP_CONSENT_NOTIFY)]
    told_hiu = [c.body["notification"]["status"] for c in bridge.at(m.HIU_CONSENT_NOTIFY)]
    assert told_hip == ["GRANTED", "REVOKED"]
    assert told_hiu == ["GRANTED", "REVOKED", "DENIED"]
    assert [e.outcome for e in audit(runtime, "consent.close_account")] == ["success"]
    assert [e.outcome for e in audit(runtime, "abha.account.delete")] == ["failed", "success"]

    # Logged out: the old session is no session.
    r = client.get("/phr", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")


def test_without_a_verified_mobile_the_page_says_what_to_do(client, runtime, bridge):
    account = patient(runtime, name="Sita Devi", gender="F", mobile=None)
    log_in(client, runtime, account)
    page = client.get("/phr/account/delete").text
    assert "no verified mobile" in text(page) and 'id="delete-form"' not in page
    r = client.post("/phr/account/delete", data={"confirm": "yes"})
    assert r.status_code == 400 and "Add and verify a mobile" in alert(r.text)
    assert status_of(runtime, account) == "ACTIVE"


def test_the_delete_pages_need_the_holder(client):
    r = client.get("/phr/account/delete", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")
    for path in ("/phr/account/delete", "/phr/account/delete/confirm"):
        r = client.post(path, data={"confirm": "yes"}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/patient/login")
