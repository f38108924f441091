"""The registration desk in real Chromium: a staff member creates an ABHA by Aadhaar OTP
(the OTP read from the developer SMS outbox), picks a suggested ABHA address, sees the
ABHA number and downloads the card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from tests.factories_abha import make_resident, new_aadhaar
from tests.factories_browser import read_otp

pytestmark = pytest.mark.browser

AADHAAR_MOBILE = "9876500201"


def test_desk_creates_an_abha_and_prints_the_card(page, live_server, make_staff, runtime):
    staff = make_staff(Role.REGISTRATION_DESK)
    aadhaar = new_aadhaar()
    with unit_of_work(runtime.session_factory) as s:
        make_resident(s, aadhaar=aadhaar, mobile=AADHAAR_MOBILE, name="Mehboob Ahmad Dar")

    page.goto(f"{live_server}/desk")
    page.wait_for_url(re.compile(r"/login\?next=/desk$"))
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/desk")

    page.get_by_role("link", name="Create ABHA with Aadhaar OTP").click()
    assert "Consent to create an ABHA" in page.inner_text("#consent-text")
    # A wrong check digit first: the alert says so and keeps the number.
    bad = aadhaar[:-1] + str((int(aadhaar[-1]) + 1) % 10)
    page.get_by_label("Aadhaar number").fill(bad)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Send OTP").click()
    assert "check digit" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Aadhaar number").input_value() == bad
    assert page.get_by_role("checkbox").is_checked()

    page.get_by_label("Aadhaar number").fill(aadhaar)
    page.get_by_role("button", name="Send OTP").click()
    assert "XXXXXX0201" in page.get_by_role("status").inner_text()
    resend = page.get_by_role("button", name=re.compile("Resend OTP"))
    # The countdown runs (desk.js, deferred: wait for it): resend only after 60 s.
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"\(\d+ s\)"))

    page.get_by_label("OTP", exact=False).first.fill(read_otp(page, live_server, AADHAAR_MOBILE))
    page.get_by_role("button", name="Verify OTP and create ABHA").click()

    page.wait_for_selector("text=Choose the ABHA address")
    radios = page.locator("input[name=choice]")
    assert radios.count() >= 4  # three or more suggestions and "another address"
    chosen = radios.first.get_attribute("value")
    radios.first.check()
    page.get_by_role("button", name="Create ABHA address").click()

    number = page.inner_text("#abha-number")
    assert re.fullmatch(r"\d{2}-\d{4}-\d{4}-\d{4}", number)
    assert page.inner_text("#abha-address") == f"{chosen}@sbx"
    page.screenshot(path="/tmp/desk.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Print ABHA card (PDF)").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert download.value.suggested_filename == f"abha-card-{number[-4:]}.pdf"
    # No personal data went into an address the browser showed.
    assert aadhaar not in page.url and number.replace("-", "") not in page.url
