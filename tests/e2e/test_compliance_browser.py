"""The roster review screen in real Chromium: a district officer settles an uncertain
roster ↔ HPR pair."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in
from tests.factories_compliance import ROSTER, import_roster, statuses

pytestmark = pytest.mark.browser


def test_officer_settles_an_uncertain_roster_entry(page, live_server, client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=13)
    log_in(page, live_server, officer, "/compliance/roster/review")
    entry = page.locator(".review-entry")
    assert entry.count() == 1
    assert "Mohd Ashraf Dar" in entry.inner_text() and "E4" in entry.inner_text()
    entry.get_by_role("radio", name=re.compile("Mohammad Ashraf Dar")).check()
    page.screenshot(path="/tmp/compliance-review.png", full_page=True)
    entry.get_by_role("button", name="Settle").click()
    page.wait_for_url(re.compile(r"/compliance/roster/review\?done=matched"))
    assert "Linked to the HPR record." in page.get_by_role("status").inner_text()
    assert "Nothing to review." in page.inner_text("main")
    page.get_by_role("link", name="Compliance status").click()
    assert "registered verified" in page.inner_text("main")
    assert statuses(client, state)["E4"]["hpr_id"] == hpr["like"]
