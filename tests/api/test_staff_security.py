"""Issue 8, items 1, 4, 5, 6 and part of 8, as an attacker tries them: the same HTTP
requests the report describes, against the real app."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from healthstack.accounts.models import StaffUser
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.web.timefmt import local_time
from tests.factories_accounts import JAMMU, SRINAGAR, hfr_facility, page_login

EVIL = {"Origin": "https://evil.example"}


def _audit(runtime, action_prefix: str) -> list[AuditEvent]:
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like(f"{action_prefix}%"))
                .order_by(AuditEvent.id)
            )
        )


# --------------------------------------------------------------------------- item 1


def test_srinagar_officer_cannot_make_a_facility_admin_at_gmc_jammu(client, make_staff, runtime):
    gmc_jammu = hfr_facility(runtime, district_lgd=JAMMU)
    srinagar_phc = hfr_facility(runtime, district_lgd=SRINAGAR)
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    body = {
        "username": "jammuadmin",
        "full_name": "Planted Admin",
        "role": "facility_admin",
        "password": "attacker chosen password",
        "facility_id": gmc_jammu,
    }
    r = client.post("/api/v1/staff", json=body, headers=officer.headers)
    assert r.status_code == 404, r.text
    assert "register it first" in r.json()["detail"]
    # The planted admin does not exist, so the next steps of the attack have no account.
    r = client.post(
        "/api/v1/auth/login",
        json={"username": "jammuadmin", "password": "attacker chosen password"},
    )
    assert r.status_code == 401
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(StaffUser).where(StaffUser.username == "jammuadmin")) is None
    refused = _audit(runtime, "staff.create")
    assert [(e.outcome, e.actor_id) for e in refused] == [("not_found", officer.public_id)]
    assert refused[0].client_address == "testclient"
    # Within the district the officer does create facility staff...
    r = client.post(
        "/api/v1/staff",
        json=dict(body, username="srinagaradmin", facility_id=srinagar_phc),
        headers=officer.headers,
    )
    assert r.status_code == 201, r.text
    # ...but never a role wider than their own, nor at a facility HFR does not hold.
    for wider in ("district_officer", "state_admin", "registry_verifier"):
        r = client.post(
            "/api/v1/staff",
            json=dict(body, username=f"x{wider[:5]}", role=wider, facility_id=None),
            headers=officer.headers,
        )
        assert r.status_code == 403, (wider, r.text)
    r = client.post(
        "/api/v1/staff",
        json=dict(body, username="ghost", facility_id="IN0110999999"),
        headers=officer.headers,
    )
    assert r.status_code == 404 and "register it first" in r.json()["detail"]


def test_jammu_facility_admin_cannot_create_staff_elsewhere(client, make_staff, runtime):
    gmc_jammu = hfr_facility(runtime, district_lgd=JAMMU)
    srinagar_phc = hfr_facility(runtime, district_lgd=SRINAGAR)
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=gmc_jammu)
    body = {
        "username": "doc1",
        "full_name": "Doctor",
        "role": "doctor",
        "password": "long enough password",
        "facility_id": srinagar_phc,
    }
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 404
    body["facility_id"] = gmc_jammu
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 201


# --------------------------------------------------------------------------- item 4


def test_hundred_wrong_passwords_then_the_right_one_is_refused(client, make_staff, runtime, clock):
    desk = make_staff(Role.REGISTRATION_DESK)
    codes = [
        client.post(
            "/api/v1/auth/login", json={"username": desk.username, "password": f"guess {i:04d}"}
        ).status_code
        for i in range(100)
    ]
    assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}
    r = client.post(
        "/api/v1/auth/login", json={"username": desk.username, "password": desk.password}
    )
    assert r.status_code == 429
    retry_after = int(r.headers["Retry-After"])
    assert 0 < retry_after <= 30
    until = clock.now() + timedelta(seconds=retry_after)
    assert local_time(until) in r.json()["detail"] and "IST" in r.json()["detail"]
    # Only the first five were hashed; the other 95 were refused before any hashing.
    tried = _audit(runtime, "auth.login.api")
    assert [e.reason_code for e in tried].count("bad_password") == 5
    assert [e.reason_code for e in tried].count("HS-1429") == 96
    lockouts = _audit(runtime, "auth.lockout")
    assert len(lockouts) == 1 and lockouts[0].resource_id == desk.public_id
    clock.advance(seconds=retry_after)
    r = client.post(
        "/api/v1/auth/login", json={"username": desk.username, "password": desk.password}
    )
    assert r.status_code == 201


def test_pauses_double_with_each_further_failure(client, make_staff, clock):
    desk = make_staff(Role.REGISTRATION_DESK)
    wrong = {"username": desk.username, "password": "wrong password!"}
    pauses = []
    for _ in range(4):
        client.post("/api/v1/auth/login", json=wrong)
    for _ in range(4):
        r = client.post("/api/v1/auth/login", json=wrong)
        assert r.status_code == 429
        pauses.append(int(r.headers["Retry-After"]))
        clock.advance(seconds=pauses[-1])
    assert pauses == [30, 60, 120, 240]


def test_one_address_trying_many_usernames_is_paused(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    for i in range(20):
        r = client.post(
            "/api/v1/auth/login", json={"username": f"guess{i}", "password": "wrong password"}
        )
    assert r.status_code == 429 and "from your network" in r.json()["detail"]
    # The right password of a real account from that address waits too.
    r = client.post(
        "/api/v1/auth/login", json={"username": desk.username, "password": desk.password}
    )
    assert r.status_code == 429


def test_login_page_tells_when_to_try_again(client, make_staff, runtime, clock):
    desk = make_staff(Role.REGISTRATION_DESK)
    for _ in range(5):
        r = client.post("/login", data={"username": desk.username, "password": "bad password"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "30"
    assert local_time(clock.now() + timedelta(seconds=30)) in r.text
    r = client.post("/login", data={"username": desk.username, "password": desk.password})
    assert r.status_code == 429 and "no password is checked" in r.text
    assert "hs_staff" not in r.cookies
    assert [e.outcome for e in _audit(runtime, "auth.login.page")] == ["denied"] * 6


# --------------------------------------------------------------------------- item 6


def test_copied_cookie_stops_working_after_logout(app, client, make_staff):
    from fastapi.testclient import TestClient

    desk = make_staff(Role.REGISTRATION_DESK)
    page_login(client, desk)
    copied = client.cookies.get("hs_staff")
    assert copied and copied.startswith("hss_")
    with TestClient(app) as thief:
        thief.cookies.set("hs_staff", copied)
        assert desk.username in thief.get("/").text
        client.post("/logout")
        assert desk.username not in thief.get("/").text
        r = thief.get("/account", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_one_day_token_cannot_mint_a_longer_one(client, make_staff, clock):
    desk = make_staff(Role.REGISTRATION_DESK)
    r = client.post(
        "/api/v1/auth/login", json={"username": desk.username, "password": desk.password}
    )
    day_token = r.json()["token"]
    parent_expiry = r.json()["expires_at"]
    r = client.post(
        "/api/v1/auth/tokens",
        json={"name": "long one", "days": 730},
        headers={"Authorization": f"Bearer {day_token}"},
    )
    assert r.status_code == 201
    assert r.json()["expires_at"] == parent_expiry and "cut" in r.json()["note"]
    minted = r.json()["token"]
    clock.advance(days=1, seconds=1)
    r = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {minted}"})
    assert r.status_code == 401


def test_revoking_a_token_revokes_what_it_minted(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    r = client.post("/api/v1/auth/tokens", json={"name": "child", "days": 30}, headers=desk.headers)
    child = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post("/api/v1/auth/tokens", json={"name": "grandchild", "days": 30}, headers=child)
    grandchild = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.post("/api/v1/auth/logout", headers=desk.headers).json() == {
        "sessions": 0,
        "tokens": 3,
    }
    for h in (desk.headers, child, grandchild):
        assert client.get("/api/v1/auth/tokens", headers=h).status_code == 401


def test_deactivation_and_password_reset_end_sessions_and_tokens(app, client, make_staff, runtime):
    from fastapi.testclient import TestClient

    facility = hfr_facility(runtime)
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=facility)
    for action, body in (("password", {"password": "a brand new password"}), ("deactivate", {})):
        nurse = make_staff(Role.NURSE, facility_id=facility)
        with TestClient(app) as browser:
            page_login(browser, nurse)
            assert nurse.username in browser.get("/").text
            r = client.post(
                f"/api/v1/staff/{nurse.public_id}/{action}", json=body, headers=fadmin.headers
            )
            assert r.status_code == 200, r.text
            assert nurse.username not in browser.get("/").text
        assert client.get("/api/v1/auth/tokens", headers=nurse.headers).status_code == 401
        r = client.post(
            "/api/v1/auth/login", json={"username": nurse.username, "password": nurse.password}
        )
        assert r.status_code == 401


# --------------------------------------------------------------------------- item 8


def test_login_and_logout_refuse_other_origins(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    r = client.post(
        "/login", data={"username": desk.username, "password": desk.password}, headers=EVIL
    )
    assert r.status_code == 403 and "another web site" in r.text
    assert "hs_staff" not in client.cookies
    page_login(client, desk)
    r = client.post("/logout", headers=EVIL, follow_redirects=False)
    assert r.status_code == 403
    assert desk.username in client.get("/").text  # still logged in
    r = client.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303
    assert desk.username not in client.get("/").text


# --------------------------------------------------------------------------- item 5


def test_authentication_and_staff_administration_are_audited(client, make_staff, runtime):
    facility = hfr_facility(runtime)
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=facility)
    secret_words = ["not the password", fadmin.password, "long enough password"]
    client.post("/login", data={"username": fadmin.username, "password": "not the password"})
    page_login(client, fadmin)
    client.post("/logout")
    r = client.post(
        "/api/v1/auth/login", json={"username": fadmin.username, "password": fadmin.password}
    )
    token = r.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    r = client.post(
        "/api/v1/staff",
        json={
            "username": "audited",
            "full_name": "Audited Nurse",
            "role": "nurse",
            "password": "long enough password",
            "facility_id": facility,
        },
        headers=bearer,
    )
    nurse_id = r.json()["id"]
    client.patch(f"/api/v1/staff/{nurse_id}", json={"role": "doctor"}, headers=bearer)
    client.post(f"/api/v1/staff/{nurse_id}/deactivate", headers=bearer)
    client.post("/api/v1/auth/logout", headers=bearer)
    rows = _audit(runtime, "")
    seen = [(e.action, e.outcome) for e in rows]
    for expected in (
        ("auth.login.page", "denied"),
        ("auth.login.page", "success"),
        ("auth.logout.page", "success"),
        ("auth.login.api", "success"),
        ("auth.token.create", "success"),
        ("staff.create", "success"),
        ("staff.update", "success"),
        ("staff.deactivate", "success"),
        ("auth.logout.api", "success"),
    ):
        assert expected in seen, expected
    for e in rows:
        if e.action.startswith(("auth.", "staff.")):
            assert e.client_address == "testclient" and e.occurred_at is not None
            for value in (e.resource_id, e.reason_code, e.actor_id):
                assert value is None or all(w not in value for w in [*secret_words, token])
    success = next(e for e in rows if e.action == "auth.login.page" and e.outcome == "success")
    assert success.actor_id == str(fadmin.public_id) and success.actor_role == "facility_admin"


def test_refused_logins_are_answered_after_a_delay(client, make_staff, runtime):
    import time

    desk = make_staff(Role.REGISTRATION_DESK)
    runtime.settings.auth.refusal_delay_seconds = 0.3
    started = time.perf_counter()
    r = client.post("/api/v1/auth/login", json={"username": desk.username, "password": "nope"})
    assert r.status_code == 401 and time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    r = client.post("/login", data={"username": desk.username, "password": "nope"})
    assert r.status_code == 401 and time.perf_counter() - started >= 0.3
