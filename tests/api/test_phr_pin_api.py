"""The consent PIN in the PHR JSON API (``/api/v1/phr/pin``): approving a consent needs
it; it is set once, changed with the current one, locked after wrong tries and reset
with an OTP to the ABHA mobile. Only a keyed hash is stored; no message carries it."""

from __future__ import annotations

import pytest

from healthstack.network.consent.models import ConsentArtefact, ConsentPin
from healthstack.network.consent.pin import LOCK_MINUTES, MAX_TRIES
from tests.factories_abha import last_otp, outbox
from tests.factories_consent import (
    HIP_A,
    PIN,
    audit,
    consent_body,
    init_consent,
    network_settings,
    phr_headers,
    rows,
    set_pin,
)
from tests.factories_phr import make_ravi, make_sita

API = "/api/v1/phr"
NEW_PIN = "3691"


@pytest.fixture
def settings(settings):
    return network_settings(settings)


@pytest.fixture
def ravi(runtime):
    """Ravi with his records linked and no consent PIN yet; Sita the same."""
    return make_ravi(runtime, linked=True)


@pytest.fixture
def sita(runtime):
    return make_sita(runtime, linked=True)


def approve(client, runtime, account, rid, pin):
    body = {"consents": [{"hip": {"id": HIP_A}}]}
    if pin is not None:
        body["pin"] = pin
    return client.post(
        f"{API}/consents/{rid}/approve", json=body, headers=phr_headers(runtime, account)
    )


def pin_status(client, runtime, account):
    r = client.get(f"{API}/pin", headers=phr_headers(runtime, account))
    assert r.status_code == 200, r.text
    return r.json()


def test_approving_needs_the_pin_set_first(client, runtime, bridge, ravi):
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    assert pin_status(client, runtime, ravi) == {"set": False, "lockedUntil": None, "triesLeft": 5}
    # The PHR asks to set one before the first approval.
    r = approve(client, runtime, ravi, rid, PIN)
    assert r.status_code == 409 and r.json()["code"] == "HS-1612"
    assert "/api/v1/phr/pin" in r.json()["detail"]

    r = client.post(f"{API}/pin", json={"pin": PIN}, headers=phr_headers(runtime, ravi))
    assert r.status_code == 200 and r.json()["set"] is True
    [stored] = rows(runtime, ConsentPin)
    assert PIN not in stored.pin_hash and len(stored.pin_hash) == 64  # a keyed hash only

    r = approve(client, runtime, ravi, rid, None)
    assert r.status_code == 400 and r.json()["code"] == "HS-1610"
    r = approve(client, runtime, ravi, rid, "0000")
    assert r.status_code == 403 and r.json()["code"] == "HS-1613"
    assert "4 tries left" in r.json()["detail"] and "0000" not in r.text
    assert rows(runtime, ConsentArtefact) == []
    assert pin_status(client, runtime, ravi)["triesLeft"] == 4

    r = approve(client, runtime, ravi, rid, PIN)
    assert r.status_code == 200 and r.json()["status"] == "GRANTED"
    assert pin_status(client, runtime, ravi)["triesLeft"] == 5  # a right PIN clears the count
    assert [e.outcome for e in audit(runtime, "phr.pin.verify")] == [
        "failed",  # not set
        "failed",  # no PIN sent
        "denied",  # wrong
        "success",
    ]
    assert [e.outcome for e in audit(runtime, "phr.pin.set")] == ["success"]


def test_wrong_pins_lock_it_and_an_otp_resets_it(client, runtime, bridge, ravi):
    set_pin(runtime, ravi)
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    for n in range(1, MAX_TRIES):
        r = approve(client, runtime, ravi, rid, "0000")
        assert r.status_code == 403, n
    r = approve(client, runtime, ravi, rid, "0000")
    assert r.status_code == 429 and r.json()["code"] == "HS-1614"
    assert int(r.headers["Retry-After"]) == LOCK_MINUTES * 60
    # Locked: even the right PIN waits.
    r = approve(client, runtime, ravi, rid, PIN)
    assert r.status_code == 429 and "reset the PIN" in r.json()["detail"]
    state = pin_status(client, runtime, ravi)
    assert state["lockedUntil"] is not None and state["triesLeft"] == 0

    # Forgot it: an OTP to the ABHA mobile, then a new PIN.
    r = client.post(f"{API}/pin/reset/otp", headers=phr_headers(runtime, ravi))
    assert r.status_code == 202, r.text
    txn = r.json()["txnId"]
    assert outbox(runtime)[-1].payload["template"] == "otp.consent-pin-reset"
    otp = last_otp(runtime, ravi.mobile)
    wrong = "000000" if otp != "000000" else "111111"
    body = {"txnId": txn, "otp": wrong, "pin": NEW_PIN}
    r = client.post(f"{API}/pin/reset", json=body, headers=phr_headers(runtime, ravi))
    assert r.status_code == 400 and r.json()["code"] == "ABDM-1035"
    body["otp"] = otp
    r = client.post(f"{API}/pin/reset", json=body, headers=phr_headers(runtime, ravi))
    assert r.status_code == 200 and r.json() == {"set": True, "lockedUntil": None, "triesLeft": 5}
    # The OTP was used up.
    r = client.post(f"{API}/pin/reset", json=body, headers=phr_headers(runtime, ravi))
    assert r.status_code == 400

    assert approve(client, runtime, ravi, rid, PIN).status_code == 403  # the old one
    r = approve(client, runtime, ravi, rid, NEW_PIN)
    assert r.status_code == 200 and r.json()["status"] == "GRANTED"
    assert [e.outcome for e in audit(runtime, "phr.pin.reset")] == ["failed", "success", "failed"]


def test_a_lock_ends_by_itself(client, runtime, bridge, ravi, clock):
    set_pin(runtime, ravi)
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    for _ in range(MAX_TRIES):
        approve(client, runtime, ravi, rid, "0000")
    assert approve(client, runtime, ravi, rid, PIN).status_code == 429
    clock.advance(minutes=LOCK_MINUTES + 1)
    # Fresh tries after the lock: a wrong PIN counts from the start again.
    r = approve(client, runtime, ravi, rid, "0000")
    assert r.status_code == 403 and "4 tries left" in r.json()["detail"]
    assert approve(client, runtime, ravi, rid, PIN).status_code == 200


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("12a4", "HS-1610"),
        ("123", "HS-1610"),
        ("12345", "HS-1610"),
        ("1111", "HS-1611"),
        ("1234", "HS-1611"),
        ("9876", "HS-1611"),
    ],
)
def test_a_pin_is_four_digits_not_easy_to_guess(client, runtime, ravi, pin, code):
    r = client.post(f"{API}/pin", json={"pin": pin}, headers=phr_headers(runtime, ravi))
    assert r.status_code == 400 and r.json()["code"] == code
    assert rows(runtime, ConsentPin) == []


def test_changing_the_pin_needs_the_current_one(client, runtime, ravi):
    set_pin(runtime, ravi)
    headers = phr_headers(runtime, ravi)
    r = client.post(f"{API}/pin", json={"pin": NEW_PIN}, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "HS-1615"
    r = client.post(f"{API}/pin", json={"pin": NEW_PIN, "currentPin": "0000"}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "HS-1613"
    assert pin_status(client, runtime, ravi)["triesLeft"] == 4  # counted like any wrong PIN
    r = client.post(f"{API}/pin", json={"pin": NEW_PIN, "currentPin": PIN}, headers=headers)
    assert r.status_code == 200
    assert [e.outcome for e in audit(runtime, "phr.pin.change")] == ["failed", "denied", "success"]


def test_a_pin_opens_no_other_patients_consent(client, runtime, bridge, ravi, sita):
    set_pin(runtime, ravi)
    set_pin(runtime, sita, NEW_PIN)
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    # Sita, with her own PIN or with Ravi's, cannot approve Ravi's request: not found.
    for pin in (NEW_PIN, PIN):
        r = approve(client, runtime, sita, rid, pin)
        assert r.status_code == 404, r.text
    assert rows(runtime, ConsentArtefact) == []
    assert pin_status(client, runtime, ravi)["triesLeft"] == 5
    assert pin_status(client, runtime, sita)["triesLeft"] == 5
    # Ravi's PIN is his alone: Sita's does not open his request.
    assert approve(client, runtime, ravi, rid, NEW_PIN).status_code == 403


def test_a_reset_belongs_to_its_patient(client, runtime, ravi, sita):
    r = client.post(f"{API}/pin/reset/otp", headers=phr_headers(runtime, ravi))
    txn = r.json()["txnId"]
    otp = last_otp(runtime, ravi.mobile)
    body = {"txnId": txn, "otp": otp, "pin": NEW_PIN}
    r = client.post(f"{API}/pin/reset", json=body, headers=phr_headers(runtime, sita))
    assert r.status_code == 404 and r.json()["code"] == "HS-1616"
    # A new PIN that would be refused is refused before the OTP is spent.
    r = client.post(
        f"{API}/pin/reset", json={**body, "pin": "1111"}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 400 and r.json()["code"] == "HS-1611"
    r = client.post(f"{API}/pin/reset", json=body, headers=phr_headers(runtime, ravi))
    assert r.status_code == 200 and r.json()["set"] is True
    assert rows(runtime, ConsentPin)[0].account_id == ravi.id


def test_deny_and_revoke_need_no_pin(client, runtime, bridge, ravi):
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    r = client.post(f"{API}/consents/{rid}/deny", headers=phr_headers(runtime, ravi))
    assert r.status_code == 200 and r.json()["status"] == "DENIED"


def test_the_pin_routes_need_the_holder(client, runtime):
    assert client.get(f"{API}/pin").status_code == 401
    for path, body in (
        ("/pin", {"pin": NEW_PIN}),
        ("/pin/reset/otp", None),
        ("/pin/reset/resend", {"txnId": "x"}),
        ("/pin/reset", {"txnId": "x", "otp": "123456", "pin": NEW_PIN}),
    ):
        r = client.post(API + path, json=body)
        assert r.status_code == 401, (path, r.text)
    assert rows(runtime, ConsentPin) == []
