"""The roster upload in real Chromium: the state admin uploads the HR roster, reads
the broken row in the preview, confirms, and the roster page shows the reconciliation
counts."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in
from tests.factories_compliance import ROSTER, row

pytestmark = pytest.mark.browser


def test_state_admin_uploads_previews_and_confirms_a_roster(page, live_server, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    # The home page leads to the roster.
    log_in(page, live_server, state, "/compliance/roster")
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="HR roster and deadlines").click()
    page.wait_for_url(f"{live_server}/compliance/roster")
    assert "No roster has been imported yet" in page.inner_text("main")

    broken = row("E9", "Someone Else", cadre="pharmacist")
    data = ROSTER.replace(b"\n", b"\n" + broken.encode() + b"\n", 1)  # the file's line 2
    page.get_by_label("Roster (CSV)").set_input_files(
        files=[{"name": "hr-roster.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/compliance/roster/imports/[0-9a-f-]{36}$"))
    assert "Nothing has been imported yet" in page.get_by_role("status").inner_text()
    assert page.inner_text("#broken-count") == "1"
    broken_row = page.locator("#broken-rows tbody tr")
    assert broken_row.count() == 1
    assert re.fullmatch(
        r"2\s+cadre 'pharmacist' is not doctor or nurse", broken_row.inner_text().strip()
    )
    assert "Dr Aamir Hussain Wani" in page.inner_text("#good-rows")
    page.screenshot(path="/tmp/compliance-roster-preview.png", full_page=True)

    page.get_by_role("button", name="Import 6 posts").click()
    page.wait_for_url(f"{live_server}/compliance/roster?done=imported")
    assert "3 matched, 1 to review, 2 not found in HPR" in page.get_by_role("status").inner_text()
    cells = page.locator("#reconciliation tbody td").all_inner_texts()
    assert cells == ["3", "1", "2"]
    assert "hr-roster.csv" in page.inner_text("#roster-in-force")
    page.screenshot(path="/tmp/compliance-roster.png", full_page=True)
    # The uncertain count leads to the review screen.
    page.locator("#reconciliation").get_by_role("link", name="1").click()
    page.wait_for_url(f"{live_server}/compliance/roster/review")
    assert page.locator(".review-entry").count() == 1
