"""The patient's own area in real Chromium: log in with the mobile OTP, pick one of the
ABHAs linked to the mobile, see the profile and download the card."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories_abha import create_account
from tests.factories_browser import read_otp

pytestmark = pytest.mark.browser

FAMILY_MOBILE = "9876500301"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_patient_logs_in_with_the_mobile_otp_and_downloads_the_card(page, live_server, runtime):
    mine = create_account(
        runtime,
        mobile=FAMILY_MOBILE,
        name="Rubina Akhtar Lone",
        gender="F",
        handle="rubina.lone1990",
    )
    create_account(runtime, mobile=FAMILY_MOBILE, name="Bilal Ahmad Lone")

    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Patient login").click()
    page.get_by_label("Mobile number").fill(FAMILY_MOBILE)
    page.locator("form:has(input[value=mobile])").get_by_role("button", name="Send OTP").click()
    assert "XXXXXX0301" in page.get_by_role("status").inner_text()

    page.get_by_label("OTP").fill(wrong(read_otp(page, live_server, FAMILY_MOBILE)))
    page.get_by_role("button", name="Log in").click()
    assert "2 tries left" in page.get_by_role("alert").inner_text()
    page.get_by_label("OTP").fill(read_otp(page, live_server, FAMILY_MOBILE))
    page.get_by_role("button", name="Log in").click()

    page.wait_for_selector("text=Choose your ABHA")
    choices = page.locator("label.account-choice")
    assert choices.count() == 2
    mine_choice = choices.filter(has_text="R***** A***** L***")
    assert "Rubina" not in page.content()  # the list is masked
    mine_choice.locator("input").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{live_server}/patient")
    assert page.inner_text("#profile-name") == "Rubina Akhtar Lone"
    assert page.inner_text("#abha-address") == "rubina.lone1990@sbx"
    assert page.inner_text("#abha-number").replace("-", "") == mine.abha_number
    assert f"XX-XXXX-XXXX-{mine.abha_number[-4:]}" in page.inner_text("header")
    page.screenshot(path="/tmp/patient.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download ABHA card (PDF)").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/patient/login")
    page.goto(f"{live_server}/patient")
    page.wait_for_url(f"{live_server}/patient/login")
