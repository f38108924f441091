"""HPR in real Chromium: a doctor registers themselves (Aadhaar OTP read from the
developer SMS outbox, professional details, HPR address) and a registry verifier
finds the registration waiting and verifies it."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role
from tests.conftest import FACILITY_A
from tests.factories_browser import read_otp
from tests.factories_professionals import add_resident, make_facilities

pytestmark = pytest.mark.browser

AADHAAR_MOBILE = "9876500401"


def test_a_doctor_registers_in_hpr_and_a_verifier_verifies(page, live_server, make_staff, runtime):
    make_facilities(runtime)
    aadhaar, _ = add_resident(runtime, name="Sana Rashid Mir", gender="F", mobile=AADHAAR_MOBILE)

    # ------------------------------------------------------------------ the doctor
    page.goto(f"{live_server}/hpr/register")
    page.get_by_label("Aadhaar number").fill(aadhaar)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Send OTP").click()
    assert "XXXXXX0401" in page.get_by_role("status").inner_text()
    page.get_by_label("OTP", exact=False).first.fill(read_otp(page, live_server, AADHAAR_MOBILE))
    page.get_by_role("button", name="Verify OTP").click()

    page.wait_for_selector("text=Your professional details")
    assert "Welcome, Sana Rashid Mir" in page.get_by_role("status").inner_text()
    page.get_by_label("I am a").select_option("doctor:modern_medicine")
    page.locator("select[name=council]").select_option("JKMC")
    page.get_by_label("Registration number").fill("JKMC/2014/02231")
    page.get_by_label("Year of registration").fill("2014")
    page.locator("input[name=q0_degree]").fill("MBBS")
    page.locator("input[name=q0_university]").fill("University of Kashmir")
    page.locator("input[name=q0_year]").fill("2013")
    # A mistyped HFR id first: the page says what an HFR id looks like and keeps the rest.
    page.locator("input[name=w0_hfr_id]").fill("IN01-10000001")
    page.locator("select[name=w0_role]").select_option("medical_officer")
    page.locator("select[name=w0_sector]").select_option("public")
    page.get_by_role("button", name="Continue").click()
    assert "IN followed by 10 digits" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Registration number").input_value() == "JKMC/2014/02231"
    page.screenshot(path="/tmp/hpr-details.png", full_page=True)
    page.locator("input[name=w0_hfr_id]").fill(FACILITY_A)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_selector("text=Choose your HPR address")
    page.get_by_label("sana.mir@hpr.abdm", exact=True).check()
    page.get_by_role("button", name="Register in HPR").click()
    page.wait_for_selector("text=You are registered in HPR")
    hpr_id = page.inner_text("#hpr-id")
    assert re.fullmatch(r"71-\d{4}-\d{4}-\d{4}", hpr_id)
    assert page.inner_text("#hpr-address") == "sana.mir@hpr.abdm"
    assert "waiting for verification" in page.inner_text("#hpr-status")
    page.screenshot(path="/tmp/hpr-registered.png", full_page=True)

    # ------------------------------------------------------------------ the verifier
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    page.context.clear_cookies()
    page.goto(f"{live_server}/registry/professionals")
    page.wait_for_url(re.compile(r"/login\?next=/registry/professionals$"))
    page.get_by_label("Username").fill(verifier.username)
    page.get_by_label("Password").fill(verifier.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/registry/professionals")

    page.get_by_role("link", name="Waiting for verification").click()
    assert page.inner_text("#total") == "1 professional"
    page.get_by_role("link", name=hpr_id).click()
    page.wait_for_selector("text=Sana Rashid Mir")
    assert "JKMC/2014/02231" in page.content()
    assert "registered" in page.inner_text("#history")
    page.get_by_role("button", name="Verify", exact=True).click()
    assert "The professional is verified." in page.get_by_role("status").inner_text()
    assert page.inner_text("#hpr-status") == "Verified"
    assert page.locator("#history tbody tr").count() == 2
    page.screenshot(path="/tmp/hpr-verified.png", full_page=True)
