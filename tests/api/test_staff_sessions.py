"""Each staff member's own sessions and API tokens: listed, revoked (API and the
account page); another person's are 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from healthstack.kernel.context import Role
from tests.factories_accounts import page_login, quick_staff


def test_own_sessions_and_tokens_listed_and_revoked(app, client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    with TestClient(app) as laptop, TestClient(app) as phone:
        page_login(laptop, desk)
        page_login(phone, desk)
        r = client.get("/api/v1/auth/sessions", headers=desk.headers)
        assert r.status_code == 200 and len(r.json()) == 2
        assert all(not s["current"] for s in r.json())
        tokens = client.get("/api/v1/auth/tokens", headers=desk.headers).json()
        assert [t["current"] for t in tokens] == [True]
        assert "token" not in tokens[0] and tokens[0]["prefix"].startswith("hst_")
        phone_session = r.json()[0]["id"]  # newest first: the phone's
        r = client.post(f"/api/v1/auth/sessions/{phone_session}/revoke", headers=desk.headers)
        assert r.status_code == 200
        assert desk.username not in phone.get("/").text
        assert desk.username in laptop.get("/").text


def test_someone_elses_session_or_token_is_404(client, runtime):
    mine = quick_staff(runtime, Role.NURSE, facility_id="IN0110000001")
    theirs = quick_staff(runtime, Role.NURSE, facility_id="IN0110000001")
    for path in (
        f"/api/v1/auth/sessions/{theirs.session_id}/revoke",
        f"/api/v1/auth/tokens/{theirs.token_id}/revoke",
        "/api/v1/auth/tokens/not-a-uuid/revoke",
    ):
        r = client.post(path, headers=mine.bearer)
        assert r.status_code == 404, path
    assert client.get("/api/v1/auth/tokens", headers=theirs.bearer).status_code == 200
    assert client.get("/", headers=theirs.browser).text.count(theirs.username) >= 1


def test_json_api_ignores_the_browser_cookie(client, runtime):
    nurse = quick_staff(runtime, Role.NURSE, facility_id="IN0110000001")
    # A forged cross-site request carries the cookie, never a bearer token.
    r = client.post("/api/v1/auth/tokens", json={"name": "forged"}, headers=nurse.browser)
    assert r.status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=nurse.browser).status_code == 401


def test_account_page_creates_a_token_shown_once_and_revokes_it(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    page_login(client, desk)
    page = client.get("/account")
    assert page.status_code == 200 and "this browser" in page.text
    r = client.post("/account/tokens", data={"name": "hospital HMIS", "days": "365"})
    assert r.status_code == 201 and "shown only once" in r.text
    secret = r.text.split('id="new-token-value">')[1].split("<")[0]
    assert secret.startswith("hst_")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/tokens", headers=bearer).status_code == 200
    again = client.get("/account")
    assert secret not in again.text and "hospital HMIS" in again.text
    listed = client.get("/api/v1/auth/tokens", headers=bearer).json()
    token_id = next(t["id"] for t in listed if t["name"] == "hospital HMIS")
    r = client.post(f"/account/tokens/{token_id}/revoke", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?done=token-revoked"
    assert client.get("/api/v1/auth/tokens", headers=bearer).status_code == 401


def test_account_page_refuses_other_origins_and_bad_input(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    page_login(client, desk)
    r = client.post(
        "/account/tokens",
        data={"name": "x", "days": "30"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    r = client.post("/account/tokens", data={"name": "  ", "days": "30"})
    assert r.status_code == 400 and "Give the token a name" in r.text
    r = client.post("/account/tokens", data={"name": "x", "days": str(2**63)})
    assert r.status_code == 400
    r = client.post("/account/sessions/not-a-session/revoke")
    assert r.status_code == 404 and "No session" in r.text


def test_idle_and_expired_sessions_end(client, make_staff, clock):
    desk = make_staff(Role.REGISTRATION_DESK)
    page_login(client, desk)
    clock.advance(hours=3, minutes=59)
    assert desk.username in client.get("/").text  # used: the idle clock starts again
    clock.advance(hours=4)
    assert desk.username not in client.get("/").text
    page_login(client, desk)
    for _ in range(12):
        clock.advance(hours=1)
        client.get("/")
    assert desk.username not in client.get("/").text  # 12 hours after login at most
