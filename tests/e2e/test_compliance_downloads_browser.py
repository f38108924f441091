"""Compliance downloads in real Chromium, as a logged-in state admin meets them: the
status CSV, the facility notices and the district show-cause lists, each reached from
the compliance navigation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in
from tests.factories_compliance import FACILITY_B, climb

pytestmark = pytest.mark.browser


def _download(page, click) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    with page.expect_download() as info:
        click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_state_admin_downloads_the_csv_notices_and_show_cause_list(
    page,
    live_server,
    client,
    runtime,
    clock,
    make_staff,
    hpr,  # noqa: F811
):
    state = make_staff(Role.STATE_ADMIN)
    climb(client, runtime, clock, state, weeks=3)  # E5 is on the show-cause list
    log_in(page, live_server, state, "/compliance/status")

    name, data = _download(page, lambda: page.get_by_role("link", name="Download CSV").click())
    assert name == "compliance-status.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert {r["employee_id"] for r in rows} == {"E1", "E2", "E3", "E4", "E5", "N1"}
    assert "401" not in data.decode() and "Log in" not in data.decode()

    page.get_by_role("navigation", name="HPR compliance").get_by_role(
        "link", name="Facility notices"
    ).click()
    page.wait_for_url(f"{live_server}/compliance/notices")
    row = page.locator(f'#notices-table tr[data-facility="{FACILITY_B}"]')
    assert "Tariq Bhat" in row.inner_text()
    name, data = _download(page, lambda: row.get_by_role("link", name="Notice (PDF)").click())
    assert name == f"hpr-notice-{FACILITY_B}.pdf" and data.startswith(b"%PDF")

    page.get_by_role("navigation", name="HPR compliance").get_by_role(
        "link", name="Show-cause lists"
    ).click()
    page.wait_for_url(f"{live_server}/compliance/show-cause")
    budgam = page.locator('section[data-district="2"]')
    assert "Tariq Bhat" in budgam.inner_text()
    name, data = _download(
        page, lambda: budgam.get_by_role("link", name="Show-cause list (PDF)").click()
    )
    assert name == "show-cause-2.pdf" and data.startswith(b"%PDF")
    name, data = _download(page, lambda: budgam.get_by_role("link", name="CSV").click())
    assert [r["employee_id"] for r in csv.DictReader(io.StringIO(data.decode()))] == ["E5"]
