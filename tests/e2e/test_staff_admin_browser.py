"""Staff administration and the login pause in real Chromium."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role
from tests.factories_accounts import hfr_facility

pytestmark = pytest.mark.browser


def _log_in(page, live_server: str, username: str, password: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_facility_admin_manages_staff_in_the_browser(
    browser, page, live_server, make_staff, runtime
):
    phc = hfr_facility(runtime)
    admin = make_staff(Role.FACILITY_ADMIN, facility_id=phc)
    _log_in(page, live_server, admin.username, admin.password)
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="Staff", exact=True).click()
    page.wait_for_url(f"{live_server}/admin/staff")
    page.click("#new-staff")
    assert page.input_value("input[name=facility_id]") == phc
    page.fill("input[name=username]", "browser.nurse")
    page.fill("input[name=full_name]", "Browser Nurse")
    page.select_option("select[name=role]", "nurse")
    page.fill("input[name=password]", "nurse first password")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/admin/staff/[0-9a-f-]{36}\?done=created"))
    assert "account is created" in page.inner_text("#done")
    detail = page.url.split("?")[0]

    # The nurse logs in elsewhere; the admin's reset ends that session at once.
    nurse_ctx = browser.new_context()
    nurse = nurse_ctx.new_page()
    _log_in(nurse, live_server, "browser.nurse", "nurse first password")
    nurse.wait_for_url(f"{live_server}/")
    assert "browser.nurse" in nurse.inner_text("header")

    page.goto(detail)
    page.select_option("#edit select[name=role]", "doctor")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"done=updated"))
    assert page.inner_text("#staff-role") == "doctor"
    assert "Chrome" in page.inner_text("#sessions")  # the nurse's browser session, listed
    page.fill("#access input[name=password]", "a new password 42")
    page.get_by_role("button", name="Reset password").click()
    page.wait_for_url(re.compile(r"done=password-reset"))
    nurse.reload()
    assert "browser.nurse" not in nurse.inner_text("header")
    page.click("#deactivate")
    page.wait_for_url(re.compile(r"done=deactivated"))
    assert page.inner_text("#staff-status") == "deactivated"
    _log_in(nurse, live_server, "browser.nurse", "a new password 42")
    assert "password is wrong" in nurse.inner_text("[role=alert]")
    nurse_ctx.close()


def test_lockout_message_says_when_to_try_again(page, live_server, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    for _ in range(5):
        _log_in(page, live_server, desk.username, "not my password")
    message = page.inner_text("[role=alert]")
    assert "too many wrong passwords for this account" in message
    assert re.search(r"Try again after \d{2} \w{3} \d{4}, \d{2}:\d{2} IST", message)
    _log_in(page, live_server, desk.username, desk.password)
    assert "Try again after" in page.inner_text("[role=alert]")
    assert page.url == f"{live_server}/login"
