"""Staff administration beyond the scope matrix: the role and scope rules of changes,
one's own account, password resets and pauses, and the pages."""

from __future__ import annotations

from healthstack.kernel.context import Role
from tests.factories_accounts import JAMMU, SRINAGAR, hfr_facility, page_login, quick_staff

NEW = {"full_name": "New Person", "password": "long enough password"}


def _create(client, actor, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/staff", json={**NEW, **body}, headers=actor.bearer)


def test_state_admin_places_staff_anywhere_even_before_hfr(client, runtime):
    admin = quick_staff(runtime, Role.STATE_ADMIN)
    # A facility admin is created before the facility is registered: they register it.
    r = _create(client, admin, username="first.admin", role="facility_admin",
                facility_id="IN0110555555")  # fmt: skip
    assert r.status_code == 201 and r.json()["facility_id"] == "IN0110555555"
    r = _create(client, admin, username="officer", role="district_officer", district_lgd=JAMMU)
    assert r.status_code == 201 and r.json()["district_lgd"] == JAMMU
    r = _create(client, admin, username="bad", role="nurse", facility_id="IN01-not-an-id")
    assert r.status_code == 400 and r.json()["field"] == "facility_id"
    r = _create(client, admin, username="wide", role="state_admin", facility_id="IN0110555555")
    assert r.status_code == 400 and "no facility" in r.json()["detail"]


def test_district_officer_changes_staff_within_the_district(client, runtime):
    phc = hfr_facility(runtime, district_lgd=SRINAGAR)
    smhs = hfr_facility(runtime, district_lgd=SRINAGAR)
    gmc_jammu = hfr_facility(runtime, district_lgd=JAMMU)
    officer = quick_staff(runtime, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    nurse = quick_staff(runtime, Role.NURSE, facility_id=phc)
    url = f"/api/v1/staff/{nurse.public_id}"
    r = client.patch(url, json={"role": "doctor", "facility_id": smhs}, headers=officer.bearer)
    assert r.status_code == 200 and (r.json()["role"], r.json()["facility_id"]) == ("doctor", smhs)
    r = client.patch(url, json={"facility_id": gmc_jammu}, headers=officer.bearer)
    assert r.status_code == 404 and "register it first" in r.json()["detail"]
    r = client.patch(
        url, json={"role": "district_officer", "district_lgd": SRINAGAR}, headers=officer.bearer
    )
    assert r.status_code == 403
    r = client.patch(url, json={"district_lgd": JAMMU}, headers=officer.bearer)
    assert r.status_code == 400 and r.json()["field"] == "district_lgd"
    r = client.get(url, headers=officer.bearer)
    assert (r.json()["role"], r.json()["facility_id"]) == ("doctor", smhs)
    # Nobody below the state administers a district officer, even of their own district.
    other = quick_staff(runtime, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.get(f"/api/v1/staff/{other.public_id}", headers=officer.bearer).status_code == 404


def test_nobody_changes_their_own_account_here(client, runtime):
    phc = hfr_facility(runtime)
    fadmin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=phc)
    me = f"/api/v1/staff/{fadmin.public_id}"
    assert client.get(me, headers=fadmin.bearer).status_code == 200
    for method, path, body in (
        ("PATCH", me, {"role": "doctor"}),
        ("POST", f"{me}/deactivate", None),
        ("POST", f"{me}/password", {"password": "my own new password"}),
    ):
        r = client.request(method, path, json=body, headers=fadmin.bearer)
        assert r.status_code == 403 and "another administrator" in r.json()["detail"], path
    r = client.patch(me, json={"full_name": "Renamed Admin"}, headers=fadmin.bearer)
    assert r.status_code == 200 and r.json()["full_name"] == "Renamed Admin"


def test_reset_lifts_a_pause_and_reactivation_keeps_old_sessions_ended(client, runtime):
    phc = hfr_facility(runtime)
    fadmin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=phc)
    nurse = quick_staff(runtime, Role.NURSE, facility_id=phc)
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": nurse.username, "password": "nope!"})
    url = f"/api/v1/staff/{nurse.public_id}"
    assert client.get(url, headers=fadmin.bearer).json()["paused_until"] is not None
    r = client.post(f"{url}/password", json={"password": "short"}, headers=fadmin.bearer)
    assert r.status_code == 400
    r = client.post(f"{url}/password", json={"password": "fresh password 1"}, headers=fadmin.bearer)
    assert r.status_code == 200 and r.json()["paused_until"] is None
    login = {"username": nurse.username, "password": "fresh password 1"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 201
    assert client.post(f"{url}/deactivate", headers=fadmin.bearer).json()["is_active"] is False
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    assert client.post(f"{url}/reactivate", headers=fadmin.bearer).json()["is_active"] is True
    assert client.get("/", headers=nurse.browser).text.count(nurse.username) == 0
    assert client.post("/api/v1/auth/login", json=login).status_code == 201


def test_admin_ends_sessions_and_tokens_without_touching_the_password(client, runtime):
    phc = hfr_facility(runtime)
    fadmin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=phc)
    nurse = quick_staff(runtime, Role.NURSE, facility_id=phc)
    url = f"/api/v1/staff/{nurse.public_id}"
    creds = client.get(f"{url}/credentials", headers=fadmin.bearer).json()
    assert [s["id"] for s in creds["sessions"]] == [nurse.session_id]
    assert [t["id"] for t in creds["tokens"]] == [nurse.token_id]
    r = client.post(f"{url}/revoke-all", headers=fadmin.bearer)
    assert r.json() == {"sessions": 1, "tokens": 1}
    assert client.get("/api/v1/auth/tokens", headers=nurse.bearer).status_code == 401
    login = {"username": nurse.username, "password": "correct horse battery"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 201


def test_list_filters_and_bounds(client, runtime):
    phc = hfr_facility(runtime)
    fadmin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=phc, username="admin.phc")
    quick_staff(runtime, Role.NURSE, facility_id=phc, username="nurse.one")
    quick_staff(runtime, Role.DOCTOR, facility_id=phc, username="doctor.one")
    r = client.get("/api/v1/staff", params={"role": "nurse"}, headers=fadmin.bearer)
    assert [i["username"] for i in r.json()["items"]] == ["nurse.one"]
    r = client.get("/api/v1/staff", params={"q": "ONE"}, headers=fadmin.bearer)
    assert r.json()["total"] == 2
    for bad in ({"limit": 2**63}, {"offset": 2**63}, {"role": "emperor"}):
        assert client.get("/api/v1/staff", params=bad, headers=fadmin.bearer).status_code == 400


def test_staff_pages_create_change_and_deactivate(client, make_staff, runtime):
    phc = hfr_facility(runtime)
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=phc)
    page_login(client, fadmin)
    home = client.get("/")
    assert 'href="/admin/staff"' in home.text and 'href="/account"' in home.text
    new = client.get("/admin/staff/new")
    assert new.status_code == 200 and f'value="{phc}"' in new.text
    assert "district officer" not in new.text  # roles the admin may not give are not offered
    form = {"username": "page.nurse", "full_name": "Page Nurse", "role": "nurse",
            "facility_id": phc, "password": "short"}  # fmt: skip
    r = client.post("/admin/staff/new", data=form)
    assert r.status_code == 400 and "at least 10 characters" in r.text
    assert 'value="page.nurse"' in r.text and 'value="Page Nurse"' in r.text
    r = client.post(
        "/admin/staff/new", data={**form, "password": "long enough pw"}, follow_redirects=False
    )
    assert r.status_code == 303
    detail_url = r.headers["location"].split("?")[0]
    assert "account is created" in client.get(r.headers["location"]).text
    listing = client.get("/admin/staff")
    assert "page.nurse" in listing.text and "Page Nurse" in listing.text
    r = client.post(
        f"{detail_url}/edit",
        data={"full_name": "Page Nurse", "role": "doctor", "facility_id": phc},
        follow_redirects=True,
    )
    assert r.status_code == 200 and 'id="staff-role">doctor' in r.text
    r = client.post(
        f"{detail_url}/edit",
        data={"full_name": "Page Nurse", "role": "doctor", "facility_id": "IN0110999999"},
    )
    assert r.status_code == 404 and "register it first" in r.text
    r = client.post(f"{detail_url}/deactivate", follow_redirects=True)
    assert 'id="staff-status">deactivated' in r.text
    desk = make_staff(Role.REGISTRATION_DESK, facility_id=phc)
    client.post("/logout")
    page_login(client, desk)
    assert 'href="/admin/staff"' not in client.get("/").text


def test_control_characters_are_a_clear_400_never_a_500(client, runtime):
    phc = hfr_facility(runtime)
    fadmin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=phc)
    # A NUL is refused before any route reads the request (web.middleware.InputLimits):
    # no password is checked and no failure counted.
    r = client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": "x\x00y"})
    assert r.status_code == 400 and r.json()["field"] == "username"
    r = _create(client, fadmin, username="nul.name", full_name="Nu\x00ll", role="nurse",
                facility_id=phc)  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "full_name"
    r = client.get("/api/v1/staff", params={"q": "\x00"}, headers=fadmin.bearer)
    assert r.status_code == 400 and r.json()["field"] == "q"
    r = client.post("/api/v1/auth/tokens", json={"name": "bad\x00"}, headers=fadmin.bearer)
    assert r.status_code == 400 and r.json()["field"] == "name"
