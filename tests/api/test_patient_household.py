"""A mobile holding several ABHAs (a family's): after the mobile-OTP login the holder
switches between them on the patient and PHR pages without logging in again; an ABHA
that login did not prove is 404."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import update

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.auth import issue_user_tokens
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from tests.factories_abha import create_account
from tests.factories_abha_pages import alert, last_otp, login_otp, verify_login
from tests.factories_pages import hidden

MOBILE = "9876500055"


@pytest.fixture
def family(runtime):
    zahoor = create_account(runtime, mobile=MOBILE, name="Zahoor Ahmad Mir", handle="zahoor.mir")
    shazia = create_account(runtime, mobile=MOBILE, name="Shazia Mir", gender="F")
    stranger = create_account(runtime, mobile="9876500099", name="Ravi Kumar")
    return zahoor, shazia, stranger


def mobile_login(client, pick: int = 0):
    r = verify_login(client, login_otp(client, "mobile", MOBILE).text, last_otp(client, MOBILE))
    refs = re.findall(r'name="account_ref" value="([^"]+)"', r.text)
    return client.post(
        "/patient/login/pick",
        data={"txn_id": hidden(r.text, "txn_id"), "account_ref": refs[pick]},
        follow_redirects=False,
    )


def options(page: str) -> list[str]:
    return re.findall(r'<option value="([0-9a-f-]{36})"', page)


def shown_name(client) -> str:
    return re.search(r'id="profile-name">([^<]*)<', client.get("/patient").text).group(1)


def switch(client, account, back: str = "/patient"):
    return client.post(
        "/patient/switch",
        data={"account": str(account), "back": back},
        follow_redirects=False,
    )


def switches(runtime) -> list[tuple[str, str | None, str]]:
    with unit_of_work(runtime.session_factory) as s:
        rows = s.query(AuditEvent).filter(AuditEvent.action == "abha.login.switch").all()
        return [(e.actor_id, e.resource_id, e.outcome) for e in rows]


def test_switching_between_the_abhas_a_mobile_proved(client, runtime, family):
    zahoor, shazia, stranger = family
    r = mobile_login(client)
    assert r.status_code == 303 and HOUSEHOLD_COOKIE in r.headers.get("set-cookie", "")
    page = client.get("/patient").text
    assert shown_name(client) == "Zahoor Ahmad Mir"
    # The switcher offers the other ABHA of the mobile, masked as the login listed it.
    assert options(page) == [str(shazia.public_id)]
    assert "S***** M**" in page and "Shazia" not in page
    assert options(client.get("/phr").text) == [str(shazia.public_id)]

    r = switch(client, shazia.public_id, back="/phr")
    assert (r.status_code, r.headers["location"]) == (303, "/phr")
    assert shown_name(client) == "Shazia Mir"
    assert options(client.get("/patient").text) == [str(zahoor.public_id)]
    # And back again, still without an OTP.
    assert switch(client, zahoor.public_id).status_code == 303
    assert shown_name(client) == "Zahoor Ahmad Mir"
    assert switches(runtime) == [
        (zahoor.abha_number, str(shazia.public_id), "success"),
        (shazia.abha_number, str(zahoor.public_id), "success"),
    ]


def test_an_abha_the_login_did_not_prove_is_404(client, runtime, family):
    zahoor, shazia, stranger = family
    mobile_login(client)
    for other in (stranger.public_id, uuid.uuid4(), "not-an-id"):
        r = switch(client, other)
        assert r.status_code == 404, other
        assert "not one of those your mobile login proved" in alert(r.text)
    assert shown_name(client) == "Zahoor Ahmad Mir"
    assert {outcome for *_, outcome in switches(runtime)} == {"not_found"}

    # One that left the mobile since the login (its mobile changed) is not proved now.
    with unit_of_work(runtime.session_factory) as s:
        s.execute(
            update(AbhaAccount).where(AbhaAccount.id == shazia.id).values(mobile="9876500077")
        )
    assert options(client.get("/patient").text) == []
    assert switch(client, shazia.public_id).status_code == 404


def test_no_household_without_a_mobile_login(client, runtime, family):
    zahoor, shazia, _ = family
    # Logged in some other way (the user token of one ABHA): nothing to switch to.
    client.cookies.set(
        "hs_patient",
        issue_user_tokens(
            zahoor,
            keyring=runtime.keyring,
            clock=runtime.clock,
            abha_settings=runtime.settings.abha,
        ).token,
    )
    assert options(client.get("/patient").text) == []
    assert switch(client, shazia.public_id).status_code == 404
    # A forged household cookie (a user token in its place) proves nothing either.
    client.cookies.set(
        HOUSEHOLD_COOKIE,
        issue_user_tokens(
            shazia,
            keyring=runtime.keyring,
            clock=runtime.clock,
            abha_settings=runtime.settings.abha,
        ).token,
    )
    assert switch(client, shazia.public_id).status_code == 404
    # Logged out: the switch sends to the login, and the household is gone.
    mobile_login(client)
    r = client.post("/patient/logout", follow_redirects=False)
    assert f'{HOUSEHOLD_COOKIE}=""' in r.headers.get("set-cookie", "")
    client.cookies.clear()
    r = switch(client, shazia.public_id)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")


def test_a_switch_returns_only_to_the_patients_own_pages(client, runtime, family):
    _, shazia, _ = family
    mobile_login(client)
    r = switch(client, shazia.public_id, back="https://evil.example/")
    assert r.headers["location"] == "/patient"
