"""Driving the pages in real Chromium (Playwright's sync API, tests/e2e): staff logged in
through the login form, either sent there by a page that needs a login or going to it
directly, and an OTP read from the developer SMS outbox (``/dev/sms.json``)."""

from __future__ import annotations

import re
from typing import Any


def log_in(page: Any, live_server: str, staff: Any, start: str) -> None:
    """Open ``start``, log in where it sends the browser, and arrive back at ``start``."""
    page.goto(f"{live_server}{start}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}{start}")


def log_in_at_home(page: Any, base: str, staff: Any) -> None:
    """Log in on ``/login`` itself and arrive at the home page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", staff.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def read_otp(page: Any, live_server: str, mobile: str) -> str:
    r = page.request.get(f"{live_server}/dev/sms.json?mobile={mobile}")
    assert r.ok
    found = re.match(r"(\d{6}) ", r.json()["messages"][0]["text"])
    assert found is not None, "the last SMS there is not an OTP"
    return found.group(1)
