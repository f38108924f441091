"""The staff login page in real Chromium."""

from __future__ import annotations

import pytest

from healthstack.kernel.context import Role

pytestmark = pytest.mark.browser


def test_staff_login_and_wrong_password(page, live_server, make_staff):
    desk = make_staff(Role.STATE_ADMIN)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", desk.username)
    page.fill("input[name=password]", "wrong password here")
    page.click("button[type=submit]")
    assert "Caps Lock" in page.inner_text("[role=alert]")
    page.fill("input[name=username]", desk.username)
    page.fill("input[name=password]", desk.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert desk.username in page.inner_text("header")
