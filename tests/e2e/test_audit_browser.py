"""The audit page in real Chromium: a state admin logs in, filters, pages on past 200
rows and downloads the filtered rows as CSV from the same login session."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthstack.kernel.context import Role
from tests.conftest import FACILITY_A
from tests.factories_audit import Row, named_staff, write
from tests.factories_browser import log_in

pytestmark = pytest.mark.browser


def test_state_admin_filters_pages_on_and_exports(page, live_server, runtime, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    asha = named_staff(
        runtime, username="asha.v", full_name="Asha Verma", role=Role.DOCTOR, facility_id=FACILITY_A
    )
    start = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    write(runtime, *(Row(asha, "abha.search", at=start + timedelta(minutes=n)) for n in range(250)))
    write(runtime, Row(action="consent.expire", at=start))

    log_in(page, live_server, admin, "/admin/audit")
    page.get_by_label("Actor").fill("verma")
    page.get_by_label("From", exact=True).fill("2026-11-25")
    page.get_by_label("To", exact=True).fill("2026-11-25")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"actor=verma"))
    rows = page.locator("tr.audit-row")
    assert rows.count() == 200
    first = rows.first.inner_text()
    assert "Asha Verma (asha.v)" in first and "doctor" in first
    assert "25 Nov 2026, 13:39:00 IST" in first  # the newest: 08:09 UTC
    assert "consent.expire" not in page.inner_text("main")

    page.get_by_role("link", name="Older →").click()
    assert rows.count() == 50
    assert "25 Nov 2026, 09:30:00 IST" in rows.last.inner_text()  # the oldest: 04:00 UTC
    assert page.get_by_role("link", name="Older →").count() == 0
    assert page.get_by_label("Actor").input_value() == "verma"  # the filter stays
    page.screenshot(path="/tmp/audit-page.png", full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    body = Path(download.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert len(exported) == 250
    assert {r["actor"] for r in exported} == {"Asha Verma (asha.v)"}
    assert download.suggested_filename.startswith("audit-log-")

    page.get_by_role("link", name="← Newest").click()
    assert rows.count() == 200
