"""The facility registry pages through form posts (TestClient): register, verify,
reject, edit; the master upload, preview and confirm; the review screen. Each bad input
shows what to do in the page's alert and keeps what was typed."""

from __future__ import annotations

import re

import pytest

from healthstack.accounts.permissions import PERMISSIONS
from healthstack.kernel.context import Role
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_facilities import FORM, register_by_form
from tests.factories_pages import PAGE_ROUTES, alert, log_in, text_of

FACILITY_FORMS = sorted(
    path for (_, path), gate in PAGE_ROUTES.items() if gate.startswith("facility.")
)


@pytest.mark.parametrize("path", FACILITY_FORMS)
def test_facility_form_permission_matrix(client, make_staff, path):
    action = PAGE_ROUTES[("POST", path)]
    r = client.post(path, data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/registry")
    forbidden = next(role for role in Role if role not in PERMISSIONS[action])
    log_in(client, make_staff, forbidden)
    r = client.post(path, data={})
    assert r.status_code == 403 and "may not" in alert(r.text)
    permitted = next(role for role in Role if role in PERMISSIONS[action])
    for facility in (FACILITY_A, FACILITY_B):
        log_in(client, make_staff, permitted, facility_id=facility)
        r = client.post(path, data={}, follow_redirects=False)
        assert r.status_code not in (303, 401, 403), f"{permitted}: {r.status_code}"


def test_pages_need_a_login(client):
    r = client.get("/registry/facilities", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/registry/facilities")
    r = client.get("/registry/master/review", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/registry/master/review"


def test_register_verify_and_history_by_form(client, make_staff):
    admin = log_in(client, make_staff, Role.FACILITY_ADMIN)
    page = client.get("/registry/facilities").text
    assert "Register a facility" in page and "No facility matches." in page
    hfr = register_by_form(client)
    detail = client.get(f"/registry/facilities/{hfr}?done=registered&warn=0").text
    assert "Facility registered" in detail and hfr in detail and "submitted" in detail
    assert "Verify facility" not in detail  # a facility admin does not verify
    assert "Edit registration" in detail

    verifier = log_in(client, make_staff, Role.REGISTRY_VERIFIER)
    r = client.post(f"/registry/facilities/{hfr}/reject", data={"reason": ""})
    assert r.status_code == 400 and "reason for rejecting" in alert(r.text)
    r = client.post(f"/registry/facilities/{hfr}/verify", data={"note": "site visited"})
    assert r.status_code == 200 and "Facility verified." in r.text
    assert re.search(r'id="facility-status">\s*<span class="tag status-verified">verified', r.text)
    assert verifier.username in r.text and admin.username in r.text  # the history says who
    r = client.post(f"/registry/facilities/{hfr}/verify", data={})
    assert r.status_code == 409 and "already verified" in alert(r.text)


def test_register_form_lists_every_problem_and_keeps_input(client, make_staff):
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    bad = {
        **FORM,
        "name": "PHC Khag & Sons",
        "pincode": "12",
        "beds": "many",
        "latitude": "north",
        "facility_type": "",
    }
    r = client.post("/registry/facilities", data=bad)
    assert r.status_code == 400
    message = alert(r.text)
    assert "Choose the facility type." in message
    assert "Beds are a whole number" in message and "latitude is a number" in message
    # Once the form is well-typed, the registry's own rules speak, all at once.
    r = client.post(
        "/registry/facilities",
        data={**bad, "facility_type": "phc", "beds": "2", "latitude": "34.1"},
    )
    message = alert(r.text)
    assert "'&'" in message and "PIN code has 6 digits" in message
    assert 'value="PHC Khag &amp; Sons"' in r.text  # kept as typed
    register_by_form(client)
    r = client.post("/registry/facilities", data={**FORM, "name": "P.H.C. Khag"})
    assert r.status_code == 400 and "already registered under this name" in alert(r.text)


def test_edit_by_form_sends_key_changes_back_for_verification(client, make_staff):
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    hfr = register_by_form(client)
    log_in(client, make_staff, Role.REGISTRY_VERIFIER)
    client.post(f"/registry/facilities/{hfr}/verify", data={})
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    page = client.get(f"/registry/facilities/{hfr}/edit").text
    assert 'value="PHC Khag"' in page and "This facility is verified" in page
    r = client.post(f"/registry/facilities/{hfr}/edit", data={**FORM, "beds": "9"})
    assert r.status_code == 400 and "Say why" in alert(r.text)
    r = client.post(
        f"/registry/facilities/{hfr}/edit",
        data={**FORM, "beds": "9", "change_reason": "new ward"},
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("?done=edited")
    r = client.post(
        f"/registry/facilities/{hfr}/edit",
        data={**FORM, "beds": "9", "name": "PHC Khag Town", "change_reason": "renamed"},
    )
    assert "goes back to a registry verifier" in r.text and "PHC Khag Town" in r.text
    # Another facility's admin does not learn it exists.
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id="IN0110000999")
    assert client.get(f"/registry/facilities/{hfr}").status_code == 404
    assert client.get(f"/registry/facilities/{hfr}/edit").status_code == 404


def test_as_of_on_the_detail_page(client, make_staff, clock):
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    hfr = register_by_form(client)
    clock.advance(hours=2)  # (the login lasts 12 hours)
    client.post(
        f"/registry/facilities/{hfr}/edit",
        data={**FORM, "name": "PHC Khag Town", "change_reason": "renamed"},
    )
    # Registered 14:30 IST, renamed 16:30 IST: the form's time is IST.
    page = client.get(f"/registry/facilities/{hfr}", params={"as_of": "2026-11-26T15:30"}).text
    snippet = text_of(re.search(r'id="as-of">(.*?)</div>', page, re.S).group(1))
    assert snippet.startswith("Version 1") and "PHC Khag ·" in snippet
    page = client.get(f"/registry/facilities/{hfr}", params={"as_of": "2020-01-01T00:00"}).text
    assert "was not registered yet" in page


MASTER = (
    "state_code,name,type,district\n"
    "M-1,PHC Khag,PHC,Budgam\n"
    "M-2,SC Kralpora,SC,Budgam\n"
    "M-3,SC Nowhere,Ashram,Budgam\n"
)


def test_master_upload_preview_confirm_and_review(client, make_staff):
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    for name, kind in (("SC Kralpura", "sub_centre"), ("SC Karalpora", "sub_centre")):
        register_by_form(client, name=name, facility_type=kind, services="opd", beds="0")
    log_in(client, make_staff, Role.STATE_ADMIN)
    assert "No master list has been imported" in client.get("/registry/master").text
    r = client.post("/registry/master/upload", files={"file": ("m.csv", b"name\nx\n", "text/csv")})
    assert r.status_code == 400 and "lacks the column(s) state_code, type, district" in alert(
        r.text
    )
    r = client.post(
        "/registry/master/upload", files={"file": ("m.csv", MASTER.encode(), "text/csv")}
    )
    assert r.status_code == 200
    assert "Nothing has been imported yet" in r.text
    broken = text_of(re.search(r'id="broken-rows">(.*?)</table>', r.text, re.S).group(1))
    assert "4 type 'Ashram' is not a facility type" in broken
    assert "No master list has been imported" in client.get("/registry/master").text
    confirm = re.search(r'action="(/registry/master/imports/[^"]+/confirm)"', r.text).group(1)
    r = client.post(confirm, data={"sha256": "f" * 64})
    assert r.status_code == 409 and "file changed" in alert(r.text)
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', r.text).group(1)
    r = client.post(confirm, data={"sha256": sha})
    assert "imported and reconciled" in r.text
    assert "Public facilities registered in HFR: 0 of 2" in text_of(r.text)

    review = client.get("/registry/master/review").text
    assert "SC Kralpora" in review and "SC Karalpora" in review and "SC Kralpura" in review
    settle = re.search(r'action="(/registry/master/review/[^"]+/settle)"', review).group(1)
    r = client.post(settle, data={})
    assert r.status_code == 400 and "Pick the HFR facility" in alert(r.text)
    chosen = re.findall(r'name="choice" value="(IN\d{10})"', review)[0]
    r = client.post(settle, data={"choice": chosen})
    assert "Matched." in r.text and "Nothing to review." in r.text
    r = client.post(settle, data={"choice": "none"})
    assert r.status_code == 409 and "not waiting for review" in alert(r.text)
    r = client.post("/registry/master/reconcile")
    assert "Reconciliation done." in r.text


def test_master_pages_by_role(client, make_staff):
    log_in(client, make_staff, Role.REGISTRY_VERIFIER)
    page = client.get("/registry/master").text
    assert "Import a master list" not in page  # verifiers reconcile, the state admin imports
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    assert client.get("/registry/master").status_code == 403
    assert client.get("/registry/master/review").status_code == 403
