"""The coverage dashboard in real Chromium: the state → district → facility drill-down
with its charts, the dashboard moving within seconds of a registration, and a
district officer kept to their district."""

from __future__ import annotations

import importlib.util
import time

import pytest

from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from tests.conftest import FACILITY_A
from tests.factories_monitoring import BUDGAM, SRINAGAR, add_account, standard_data

pytestmark = pytest.mark.browser

HAS_REGISTRY = importlib.util.find_spec("healthstack.network.hfr.bulk") is not None
HAS_PLOTLY = importlib.util.find_spec("plotly") is not None


def _login(page, base, staff) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", staff.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _card(page, indicator: str) -> str:
    return page.get_attribute(f'[data-indicator="{indicator}"] .mon-value', "data-value")


def _charts_drawn(page) -> None:
    if not HAS_PLOTLY:
        return  # the pages keep their tables; nothing to draw with
    page.wait_for_selector("#trend-chart[data-drawn] .main-svg")
    assert not page.locator("#trend-table").evaluate("d => d.open")  # the table folds away


def test_drill_down_from_state_to_facility(page, live_server, make_staff, runtime, relay, settings):
    standard_data(runtime, relay, facilities=HAS_REGISTRY)
    admin = make_staff(Role.STATE_ADMIN)
    _login(page, live_server, admin)
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
    if not HAS_REGISTRY:
        pytest.skip(
            "the facility registry (healthstack.network.hfr) is not installed: the facility "
            "level of the drill-down is not walked"
        )
    facilities = page.inner_text("#facilities-table")
    assert "PHC Rainawari" in facilities and "Dal View Clinic" in facilities

    page.click("#facilities-table >> text=PHC Rainawari")
    page.wait_for_url(f"{live_server}/dashboard/facility/{FACILITY_A}")
    assert "PHC Rainawari" in page.inner_text("h1")
    assert _card(page, "abha.accounts") == "3"
    assert _card(page, "hfr.public_facilities") == "1"
    _charts_drawn(page)

    # A registration at this facility; the embedded worker polls the outbox.
    settings.worker_poll_seconds = 0.05
    worker = Worker(runtime)
    worker.start_background()
    try:
        with unit_of_work(runtime.session_factory) as session:
            add_account(session, runtime, district_lgd=SRINAGAR, facility_id=FACILITY_A)
        deadline = time.monotonic() + 5
        while True:
            page.reload()
            if _card(page, "abha.accounts") == "4":
                break
            assert time.monotonic() < deadline, "the dashboard did not move within 5 s"
            time.sleep(0.2)
    finally:
        worker.stop()

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
    _login(page, live_server, officer)
    page.goto(f"{live_server}/dashboard")
    page.wait_for_url(f"{live_server}/dashboard/district/{SRINAGAR}")
    assert _card(page, "abha.accounts") == "5"
    assert page.locator('.crumbs a[href="/dashboard"]').count() == 0  # no state level
    response = page.goto(f"{live_server}/dashboard/district/{BUDGAM}")
    assert response.status == 404
    assert "not on your dashboard" in page.inner_text("[role=alert]")
