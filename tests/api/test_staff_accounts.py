"""Staff login (page and API), API tokens, staff creation and the audit query."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from healthstack.accounts.models import StaffUser
from healthstack.kernel.audit import Outcome, record_access
from healthstack.kernel.context import Purpose, RequestContext, Role, system_context
from healthstack.kernel.uow import unit_of_work
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_accounts import hfr_facility


def test_login_page_sets_session_and_logout_clears_it(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    page = client.get("/login")
    assert page.status_code == 200 and "Staff login" in page.text
    r = client.post(
        "/login",
        data={"username": desk.username, "password": desk.password, "next": "/admin/audit"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/audit"
    home = client.get("/")
    assert desk.username in home.text
    client.post("/logout")
    assert desk.username not in client.get("/").text


def test_wrong_password_says_what_to_do(client, make_staff):
    desk = make_staff()
    r = client.post("/login", data={"username": desk.username, "password": "nope-nope-nope"})
    assert r.status_code == 401
    assert "Caps Lock" in r.text


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example"]
)
def test_open_redirect_refused(client, make_staff, target):
    desk = make_staff()
    r = client.post(
        "/login",
        data={"username": desk.username, "password": desk.password, "next": target},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_passwords_are_argon2(db, make_staff):
    desk = make_staff()
    user = db.scalar(select(StaffUser).where(StaffUser.username == desk.username))
    assert user.password_hash.startswith("$argon2id$")
    assert desk.password not in user.password_hash


def test_api_login_and_token_lifecycle(client, make_staff, clock):
    desk = make_staff()
    r = client.post(
        "/api/v1/auth/login", json={"username": desk.username, "password": desk.password}
    )
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("hst_")
    r = client.post(
        "/api/v1/auth/tokens",
        json={"name": "hmis", "days": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201
    long_lived = r.json()["token"]
    clock.advance(days=2)
    r = client.post(
        "/api/v1/auth/tokens",
        json={"name": "again"},
        headers={"Authorization": f"Bearer {long_lived}"},
    )
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"username": "x"}, "password is required"),
        ({"username": "x", "password": "y", "admin": True}, "admin is not a known field"),
        ({"username": 5, "password": "y"}, "username"),
    ],
)
def test_api_login_bad_bodies(client, body, fragment):
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 400
    assert fragment in r.json()["detail"]


def test_malformed_json_is_a_clear_400(client):
    r = client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["detail"]


def test_oversized_body_is_413_and_nothing_written(client, make_staff, db):
    admin = make_staff(Role.STATE_ADMIN)
    big = {
        "username": "bigone",
        "full_name": "x" * client.app.state.settings.max_body_bytes,
        "role": "doctor",
        "password": "long enough password",
        "facility_id": FACILITY_A,
    }
    r = client.post("/api/v1/staff", json=big, headers=admin.headers)
    assert r.status_code == 413
    assert db.scalar(select(StaffUser).where(StaffUser.username == "bigone")) is None


def test_state_admin_creates_staff_with_scope_rules(client, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    body = {
        "username": "newdoc",
        "full_name": "New Doctor",
        "role": "doctor",
        "password": "long enough password",
        "facility_id": FACILITY_A,
    }
    r = client.post("/api/v1/staff", json=body, headers=admin.headers)
    assert r.status_code == 201 and r.json()["role"] == "doctor"
    assert client.post("/api/v1/staff", json=body, headers=admin.headers).status_code == 409
    no_facility = dict(body, username="nofac", facility_id=None)
    r = client.post("/api/v1/staff", json=no_facility, headers=admin.headers)
    assert r.status_code == 400 and "HFR id" in r.json()["detail"]


def test_facility_admin_limited_to_own_facility(client, make_staff, runtime):
    assert hfr_facility(runtime) == FACILITY_A and hfr_facility(runtime) == FACILITY_B
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    body = {
        "username": "nurse1",
        "full_name": "Nurse",
        "role": "nurse",
        "password": "long enough password",
        "facility_id": FACILITY_B,
    }
    # Another facility is outside the admin's scope: 404, as if it did not exist.
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 404
    body["facility_id"] = FACILITY_A
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 201
    body.update(username="boss", role="state_admin", facility_id=None)
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 403


def test_audit_query_state_admin_only(client, make_staff, runtime):
    admin = make_staff(Role.STATE_ADMIN)
    desk = make_staff(Role.REGISTRATION_DESK)
    with unit_of_work(runtime.session_factory) as s:
        record_access(
            s,
            system_context(Purpose.ENROLMENT),
            action="abha.account.read",
            resource_type="abha_account",
            resource_id="91000000000000",
            clock=runtime.clock,
        )
        record_access(
            s,
            RequestContext(actor=system_context().actor, purpose=Purpose.ENROLMENT),
            action="abha.account.read",
            resource_type="abha_account",
            resource_id="91000000000001",
            outcome=Outcome.DENIED,
            clock=runtime.clock,
        )
    assert client.get("/api/v1/audit", headers=desk.headers).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    r = client.get("/api/v1/audit", params={"resource_id": "91000000000000"}, headers=admin.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["resource_id"] for i in items] == ["91000000000000"]
    r = client.get("/api/v1/audit", params={"outcome": "denied"}, headers=admin.headers)
    assert [i["outcome"] for i in r.json()["items"]] == ["denied"]
    r = client.get("/api/v1/audit", params={"outcome": "bogus"}, headers=admin.headers)
    assert r.status_code == 400


def test_audit_page_renders_for_state_admin(client, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    client.post("/login", data={"username": admin.username, "password": admin.password})
    r = client.get("/admin/audit")
    assert r.status_code == 200 and "Audit log" in r.text


def test_unknown_page_is_friendly_html(client):
    r = client.get("/no/such/page", headers={"accept": "text/html"})
    assert r.status_code == 404 and "nothing at this address" in r.text


def test_jwks_published(client):
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys[0]["alg"] == "RS256" and keys[0]["kty"] == "RSA"
