"""The coverage dashboard in real Chromium: the state → district → facility drill-down
with its charts, the dashboard moving on the embedded worker's next pass after a
registration, and a district officer kept to their district."""

from __future__ import annotations

import importlib.util

import pytest

from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from tests.conftest import FACILITY_A
from tests.factories_browser import log_in_at_home
from tests.factories_monitoring import (
    BUDGAM,
    SRINAGAR,
    add_account,
    one_worker_pass,
    standard_data,
)

pytestmark = pytest.mark.browser

HAS_PLOTLY = importlib.util.find_spec("plotly") is not None


def _card(page, indicator: str) -> str:
    return page.get_attribute(f'[data-indicator="{indicator}"] .mon-value', "data-value")


def _charts_drawn(page) -> None:
    if not HAS_PLOTLY:
        return  # the pages keep their tables; nothing to draw with
    page.wait_for_selector("#trend-chart[data-drawn] .main-svg")
    assert not page.locator("#trend-table").evaluate("d => d.open")  # the table folds away


def test_drill_down_from_state_to_facility(page, live_server, make_staff, runtime, relay):
    standard_data(runtime, relay, facilities=True)
    admin = make_staff(Role.STATE_ADMIN)
    log_in_at_home(page, live_server, admin)
    page.click("header >> text=Dashboard")
    page.wait_for_url(f"{live_server}/dashboard")
    assert "Coverage dashboard" in page.inner_text("h1")
    assert _card(page, "abha.accounts") == "8"
    _charts_drawn(page)
    if HAS_PLOTLY:
        page.wait_for_selector("#coverage-chart[data-drawn] .main-svg")

    page.click(f'#districts-table a[href="/dashboard/district/{SRINAGAR}"]')
    page.wait_for_url(f"{live_server}/dashboard/district/{SRINAGAR}")
    assert "Srinagar" in page.inner_text("h1")
    assert _card(page, "abha.accounts") == "5"
    _charts_drawn(page)
    facilities = page.inner_text("#facilities-table")
    assert "PHC Rainawari" in facilities and "Dal View Clinic" in facilities

    page.click("#facilities-table >> text=PHC Rainawari")
    page.wait_for_url(f"{live_server}/dashboard/facility/{FACILITY_A}")
    assert "PHC Rainawari" in page.inner_text("h1")
    assert _card(page, "abha.accounts") == "3"
    assert _card(page, "hfr.public_facilities") == "1"
    _charts_drawn(page)

    # A registration at this facility; one pass of the embedded worker applies it.
    with unit_of_work(runtime.session_factory) as session:
        add_account(session, runtime, district_lgd=SRINAGAR, facility_id=FACILITY_A)
    page.reload()
    assert _card(page, "abha.accounts") == "3"  # not before the worker's pass
    one_worker_pass(Worker(runtime))
    page.reload()
    assert _card(page, "abha.accounts") == "4"

    # Back up through the breadcrumb.
    page.click(f'.crumbs a[href="/dashboard/district/{SRINAGAR}"]')
    page.wait_for_url(f"{live_server}/dashboard/district/{SRINAGAR}")
    assert _card(page, "abha.accounts") == "6"
    page.click('.crumbs a[href="/dashboard"]')
    page.wait_for_url(f"{live_server}/dashboard")
    assert _card(page, "abha.accounts") == "9"


def test_a_district_officer_stays_in_their_district(page, live_server, make_staff, runtime, relay):
    standard_data(runtime, relay)
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    log_in_at_home(page, live_server, officer)
    page.goto(f"{live_server}/dashboard")
    page.wait_for_url(f"{live_server}/dashboard/district/{SRINAGAR}")
    assert _card(page, "abha.accounts") == "5"
    assert page.locator('.crumbs a[href="/dashboard"]').count() == 0  # no state level
    response = page.goto(f"{live_server}/dashboard/district/{BUDGAM}")
    assert response.status == 404
    assert "not on your dashboard" in page.inner_text("[role=alert]")
