"""The HPR pages through form posts (TestClient): self-registration at /hpr/register
and the registry pages at /registry/professionals. OTPs come from /dev/sms.json."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from healthstack.accounts.permissions import PERMISSIONS
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hpr.models import Professional
from tests import factories_pages as pages
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import wrong
from tests.factories_abha_enrolment import last_otp as sms_otp
from tests.factories_pages import PAGE_ROUTES
from tests.factories_professionals import (
    REGISTER,
    add_resident,
    details_form,
    hidden,
    seed_professional,
)

API_WORDS = ("txnId", "X-Flow-Token", "/api/", "registration/verify")


def alert(page: str) -> str:
    return pages.alert(page, api_words=API_WORDS)


def log_in(client, staff) -> None:
    client.cookies.clear()
    r = client.post(
        "/login",
        data={"username": staff.username, "password": staff.password},
        follow_redirects=False,
    )
    assert r.status_code == 303


def count(runtime) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(func.count()).select_from(Professional))


# --------------------------------------------------------------------------- self-registration


def test_a_doctor_registers_through_the_pages(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime, name="Aamir Hussain Wani")
    start = client.get(REGISTER)
    assert start.status_code == 200 and "hs_hpr" in start.cookies
    no_consent = client.post(f"{REGISTER}/otp", data={"aadhaar": aadhaar})
    assert no_consent.status_code == 400 and "consent" in alert(no_consent.text)
    otp_page = client.post(f"{REGISTER}/otp", data={"aadhaar": aadhaar, "consent": "yes"})
    assert otp_page.status_code == 200 and "XXXXXX" + mobile[-4:] in otp_page.text
    assert aadhaar not in otp_page.text
    state = hidden(otp_page.text)
    code = sms_otp(client, mobile)

    bad = client.post(f"{REGISTER}/verify", data={**state, "otp": wrong(code)})
    assert bad.status_code == 400 and "2 tries left" in alert(bad.text)
    details = client.post(f"{REGISTER}/verify", data={**state, "otp": code})
    assert details.status_code == 200 and "Welcome, Aamir Hussain Wani" in details.text

    broken = client.post(f"{REGISTER}/details", data=details_form(state, w0_hfr_id="IN01-123"))
    assert broken.status_code == 400
    assert alert(broken.text).startswith("Work place 1: An HFR facility id is IN followed")
    assert 'value="IN01-123"' in broken.text  # what was typed is kept
    wrong_council = client.post(f"{REGISTER}/details", data=details_form(state, council="JKNC"))
    assert wrong_council.status_code == 400 and "JKMC" in alert(wrong_council.text)
    no_year = client.post(f"{REGISTER}/details", data=details_form(state, registration_year="12"))
    assert no_year.status_code == 400 and "four digits" in alert(no_year.text)

    address = client.post(f"{REGISTER}/details", data=details_form(state))
    assert address.status_code == 200 and "aamir.wani@hpr.abdm" in address.text
    empty = client.post(f"{REGISTER}/address", data=state)
    assert empty.status_code == 400 and "Choose one" in alert(empty.text)
    invalid = client.post(f"{REGISTER}/address", data={**state, "custom": "hpr.aamir"})
    assert invalid.status_code == 400 and "reserved word" in alert(invalid.text)
    assert count(runtime) == 0

    done = client.post(f"{REGISTER}/address", data={**state, "choice": "aamir.wani"})
    assert done.status_code == 200, done.text
    hpr_id = re.search(r'id="hpr-id">([\d-]+)<', done.text).group(1)
    assert re.fullmatch(r"71-\d{4}-\d{4}-\d{4}", hpr_id)
    assert "aamir.wani@hpr.abdm" in done.text and "waiting for verification" in done.text
    with unit_of_work(runtime.session_factory) as s:
        p = s.scalar(select(Professional))
        assert (p.hpr_id, p.registered_via, p.council) == (hpr_id.replace("-", ""), "self", "JKMC")
    # The transaction is spent: posting the last step again does not make a second one.
    again = client.post(f"{REGISTER}/address", data={**state, "choice": "aamir.wani"})
    assert again.status_code == 400 and count(runtime) == 1


def test_the_registration_is_bound_to_the_browser(client, app, runtime, facilities):
    from fastapi.testclient import TestClient

    aadhaar, mobile = add_resident(runtime)
    client.get(REGISTER)
    state = hidden(client.post(f"{REGISTER}/otp", data={"aadhaar": aadhaar, "consent": "yes"}).text)
    with TestClient(app) as other:
        r = other.post(f"{REGISTER}/verify", data={**state, "otp": sms_otp(client, mobile)})
        assert r.status_code == 400 and "cookie" in alert(r.text)
        other.get(REGISTER)
        r = other.post(f"{REGISTER}/verify", data={**state, "otp": sms_otp(client, mobile)})
        assert r.status_code == 404 and "Start again" in alert(r.text)
    ok = client.post(f"{REGISTER}/verify", data={**state, "otp": sms_otp(client, mobile)})
    assert ok.status_code == 200


def test_another_mobile_and_an_existing_registration(client, runtime, facilities):
    hpr_id = seed_professional(runtime, number="JKMC/2012/00417")
    aadhaar, mobile = add_resident(runtime)
    client.get(REGISTER)
    state = hidden(client.post(f"{REGISTER}/otp", data={"aadhaar": aadhaar, "consent": "yes"}).text)
    mobile_page = client.post(
        f"{REGISTER}/verify",
        data={**state, "otp": sms_otp(client, mobile), "comm_mobile": "9123400088"},
    )
    assert mobile_page.status_code == 200 and "XXXXXX0088" in mobile_page.text
    state = hidden(mobile_page.text)
    assert state["mobile_txn_id"]
    details = client.post(
        f"{REGISTER}/mobile/verify", data={**state, "otp": sms_otp(client, "9123400088")}
    )
    assert details.status_code == 200 and "Mobile verified" in details.text
    taken = client.post(f"{REGISTER}/details", data=details_form(state))
    assert taken.status_code == 409
    assert f"{hpr_id[:2]}-{hpr_id[2:6]}-{hpr_id[6:10]}-{hpr_id[10:]}" in alert(taken.text)


# --------------------------------------------------------------------------- registry pages


def test_a_verifier_reviews_and_decides(client, runtime, facilities, make_staff):
    hpr_id = seed_professional(runtime, name="Nazia Jan")
    other = seed_professional(runtime, name="Irfan Lone", hfr_id=FACILITY_B)
    assert client.get("/registry/professionals", follow_redirects=False).headers["location"] == (
        "/login?next=/registry/professionals"
    )
    log_in(client, make_staff(Role.REGISTRY_VERIFIER))
    listing = client.get("/registry/professionals", params={"status": "SUBMITTED"})
    assert (
        listing.status_code == 200 and "Nazia Jan" in listing.text and "Irfan Lone" in listing.text
    )
    filtered = client.get("/registry/professionals", params={"district": "2"})
    assert "Irfan Lone" in filtered.text and "Nazia Jan" not in filtered.text
    bad = client.get("/registry/professionals", params={"facility": "IN01"})
    assert bad.status_code == 400 and "IN followed by 10 digits" in alert(bad.text)

    page = client.get(f"/registry/professionals/{hpr_id}")
    assert page.status_code == 200 and 'action="/registry/professionals/' in page.text
    assert "registered" in page.text  # the history table
    short = client.post(f"/registry/professionals/{hpr_id}/reject", data={"reason": "no"})
    assert short.status_code == 400 and "at least 10 characters" in alert(short.text)
    done = client.post(f"/registry/professionals/{hpr_id}/verify", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=verified")
    shown = client.get(done.headers["location"])
    assert (
        "The professional is verified." in shown.text and 'id="hpr-status">Verified' in shown.text
    )
    assert f"{hpr_id}/verify" not in shown.text  # no decision forms once decided
    rejected = client.post(
        f"/registry/professionals/{other}/reject",
        data={"reason": "Not in the council register"},
        follow_redirects=True,
    )
    assert "Rejected: Not in the council register" in rejected.text


def test_registry_pages_respect_scope_and_role(client, runtime, facilities, make_staff):
    hpr_id = seed_professional(runtime)  # at FACILITY_A
    log_in(client, make_staff(Role.REGISTRATION_DESK))
    assert client.get("/registry/professionals").status_code == 403
    log_in(client, make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B))
    assert client.get(f"/registry/professionals/{hpr_id}").status_code == 404
    log_in(client, make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A))
    page = client.get(f"/registry/professionals/{hpr_id}")
    assert page.status_code == 200 and "/verify" not in page.text  # may read, not decide
    assert client.post(f"/registry/professionals/{hpr_id}/verify").status_code == 403


STAFF_FORMS = sorted(
    path for (_, path), gate in PAGE_ROUTES.items() if gate.startswith("professional.")
)


@pytest.mark.parametrize("path", STAFF_FORMS)
def test_registry_form_permission_matrix(client, runtime, facilities, make_staff, path):
    hpr_id = seed_professional(runtime)
    url = path.replace("{hpr_id}", hpr_id)
    r = client.post(url, data={"reason": "Not in the council register"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    action = PAGE_ROUTES[("POST", path)]
    forbidden = next(role for role in Role if role not in PERMISSIONS[action])
    log_in(client, make_staff(forbidden))
    assert client.post(url, data={"reason": "Not in the council register"}).status_code == 403
    permitted = next(role for role in Role if role in PERMISSIONS[action])
    log_in(client, make_staff(permitted))
    r = client.post(url, data={"reason": "Not in the council register"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    # A form from another site is refused whoever is logged in.
    r = client.post(url, data={}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
