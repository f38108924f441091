"""The consent PIN in the PHR pages: the PHR asks to set one before the first approval,
the approve form takes it, wrong tries lock it, an OTP to the ABHA mobile resets it.
Every refusal keeps the form and says what to do next."""

from __future__ import annotations

import re

import pytest

from healthstack.network.consent.models import ConsentArtefact, ConsentPin
from healthstack.network.consent.pin import MAX_TRIES
from tests.factories_abha import last_otp
from tests.factories_abha_pages import alert
from tests.factories_consent import (
    HIP_A,
    PIN,
    network_settings,
    rows,
    set_pin,
)
from tests.factories_phr import approve, location, log_in, make_ravi, request_id, text

NEW_PIN = "3691"


@pytest.fixture
def settings(settings):
    return network_settings(settings)


@pytest.fixture
def ravi(runtime):
    """Ravi with his records linked and no consent PIN yet."""
    return make_ravi(runtime, linked=True)


def test_the_first_approval_asks_to_set_a_pin(client, runtime, bridge, ravi):
    rid = request_id(runtime, bridge, ravi)
    log_in(client, runtime, ravi)
    page = client.get(f"/phr/consents/{rid}").text
    assert 'id="set-pin-first"' in page and 'id="approve-form"' not in page
    assert f'href="/phr/pin?back=/phr/consents/{rid}"' in page
    assert f"/phr/consents/{rid}/deny" in page  # denying needs no PIN
    r = approve(client, rid)
    assert r.status_code == 409 and "Set your consent PIN first" in alert(r.text)

    form = client.get(f"/phr/pin?back=/phr/consents/{rid}").text
    assert f'name="back" value="/phr/consents/{rid}"' in form
    assert 'name="current_pin"' not in form
    for pin, again, says in (
        ("2580", "2581", "not the same"),
        ("1234", "1234", "too easy to guess"),
        ("25a0", "25a0", "is 4 digits"),
    ):
        r = client.post(
            "/phr/pin", data={"pin": pin, "pin_again": again, "back": f"/phr/consents/{rid}"}
        )
        assert r.status_code == 400 and says in alert(r.text), pin
        assert f'name="back" value="/phr/consents/{rid}"' in r.text
    assert rows(runtime, ConsentPin) == []
    r = client.post(
        "/phr/pin",
        data={"pin": PIN, "pin_again": PIN, "back": f"/phr/consents/{rid}"},
        follow_redirects=False,
    )
    assert location(r) == f"/phr/consents/{rid}?done=pin"

    page = client.get(f"/phr/consents/{rid}?done=pin").text
    assert "Your consent PIN is set" in text(page)
    assert 'id="approve-form"' in page and 'name="pin"' in page
    # A wrong PIN: refused, counted, the choices kept.
    r = approve(client, rid, pin="0000", hi_types=["Prescription"])
    assert r.status_code == 403 and "not correct (4 tries left)" in alert(r.text)
    assert re.findall(r'name="hi_types" value="(\w+)" checked', r.text) == ["Prescription"]
    assert 'value="0000"' not in r.text  # the PIN is never sent back
    assert rows(runtime, ConsentArtefact) == []
    r = approve(client, rid, hi_types=["Prescription"])
    assert location(r) == f"/phr/consents/{rid}?done=approved"
    [artefact] = rows(runtime, ConsentArtefact)
    assert artefact.hip_id == HIP_A and artefact.hi_types == ["Prescription"]


def test_a_locked_pin_is_reset_with_an_otp(client, runtime, bridge, ravi):
    set_pin(runtime, ravi)
    rid = request_id(runtime, bridge, ravi)
    log_in(client, runtime, ravi)
    for _ in range(MAX_TRIES - 1):
        assert approve(client, rid, pin="0000").status_code == 403
    r = approve(client, rid, pin="0000")
    assert r.status_code == 429 and "locked for about 60 more minutes" in alert(r.text)
    assert 'id="pin-locked"' in r.text
    assert approve(client, rid).status_code == 429  # the right PIN waits too

    page = client.get("/phr/pin/reset").text
    assert "ending with" in page and ravi.mobile not in page  # masked
    r = client.post("/phr/pin/reset")
    assert r.status_code == 200 and 'id="reset-form"' in r.text
    txn = re.search(r'name="txn_id" value="([0-9a-f-]{36})"', r.text).group(1)
    otp = last_otp(runtime, ravi.mobile)
    wrong = "000000" if otp != "000000" else "111111"
    form = {"txn_id": txn, "otp": wrong, "pin": NEW_PIN, "pin_again": NEW_PIN}
    r = client.post("/phr/pin/reset/confirm", data=form)
    assert r.status_code == 400 and "not correct" in alert(r.text)
    assert f'name="txn_id" value="{txn}"' in r.text  # the same reset goes on
    r = client.post("/phr/pin/reset/confirm", data={**form, "otp": otp}, follow_redirects=False)
    assert location(r) == "/phr/pin?done=reset"
    assert "Your consent PIN is reset" in text(client.get("/phr/pin?done=reset").text)

    assert 'id="pin-locked"' not in client.get(f"/phr/consents/{rid}").text
    r = approve(client, rid, pin=NEW_PIN)
    assert location(r) == f"/phr/consents/{rid}?done=approved"


def test_changing_the_pin_on_its_page(client, runtime, ravi):
    set_pin(runtime, ravi)
    log_in(client, runtime, ravi)
    page = client.get("/phr/pin").text
    assert "Change your consent PIN" in page and 'name="current_pin"' in page
    assert 'href="/phr/pin/reset"' in page
    new = {"pin": NEW_PIN, "pin_again": NEW_PIN}
    r = client.post("/phr/pin", data={**new, "current_pin": "0000"})
    assert r.status_code == 403 and "4 tries left" in alert(r.text)
    r = client.post("/phr/pin", data={**new, "current_pin": PIN}, follow_redirects=False)
    assert location(r) == "/phr/pin?done=changed"


def test_the_pin_page_sends_back_only_to_a_consent_request(client, runtime, ravi):
    log_in(client, runtime, ravi)
    for back in ("https://evil.example/x", "//evil.example", "/patient"):
        assert 'name="back"' not in client.get("/phr/pin", params={"back": back}).text
    r = client.post(
        "/phr/pin",
        data={"pin": PIN, "pin_again": PIN, "back": "//evil.example"},
        follow_redirects=False,
    )
    assert location(r) == "/phr/pin?done=set"


def test_the_pin_pages_need_the_holder(client):
    for path in ("/phr/pin", "/phr/pin/reset"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/patient/login")
    for path in ("/phr/pin", "/phr/pin/reset", "/phr/pin/reset/resend", "/phr/pin/reset/confirm"):
        r = client.post(path, data={"pin": PIN}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/patient/login"), path
    assert rows(client.app.state.runtime, ConsentPin) == []
