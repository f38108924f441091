"""The strict Content-Security-Policy in real Chromium: the main pages, in the sessions
of the people who use them, load and work with no violation reported, neither to a
``securitypolicyviolation`` listener nor in the console; the dashboard's charts still
draw (plotly.js under ``script-src 'self'``, no eval)."""

from __future__ import annotations

import importlib.util

import pytest

from healthstack.kernel.context import Role
from healthstack.web.deps import PATIENT_COOKIE
from tests.e2e.csp_watch import watch_csp
from tests.factories_browser import log_in_at_home
from tests.factories_consent import user_token
from tests.factories_hie import patient_account
from tests.factories_monitoring import SRINAGAR, standard_data

pytestmark = pytest.mark.browser

HAS_PLOTLY = importlib.util.find_spec("plotly") is not None

ANONYMOUS = ["/", "/login", "/patient/login", "/hpr/register"]
BY_ROLE = {
    Role.STATE_ADMIN: [
        "/dashboard",
        f"/dashboard/district/{SRINAGAR}",
        "/registry/facilities",
        "/registry/professionals",
        "/registry/master",
        "/compliance/status",
        "/compliance/roster",
        "/admin/audit",
    ],
    Role.REGISTRATION_DESK: ["/desk", "/desk/scan", "/desk/demographic", "/desk/search"],
    Role.DOCTOR: ["/records"],
}
PATIENT = ["/patient", "/phr", "/phr/records", "/phr/consents", "/phr/link"]
CHARTS = ("#trend-chart", "#coverage-chart")


def test_main_pages_have_no_csp_violation(page, live_server, make_staff, runtime, relay):
    standard_data(runtime, relay, facilities=True)
    watch = watch_csp(page)
    seen: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        if path.startswith("/dashboard") and HAS_PLOTLY:
            for chart in CHARTS:
                if page.locator(chart).count():
                    page.wait_for_selector(f"{chart}[data-drawn] .main-svg")
                    # Hover labels and the mode bar style themselves as they appear.
                    page.hover(f"{chart} .nsewdrag")
                    page.locator(f"{chart} .modebar").wait_for(state="attached")
        seen[path] = watch.page_violations(page)

    for path in ANONYMOUS:
        visit(path)
    for role, paths in BY_ROLE.items():
        page.context.clear_cookies()  # the last role's session ends
        log_in_at_home(page, live_server, make_staff(role))
        for path in paths:
            visit(path)
    # The error page's "Go back" is a script of ours now, not a javascript: URL.
    missing = page.goto(f"{live_server}/records/requests/00000000-0000-4000-8000-000000000000")
    assert missing is not None and missing.status == 404
    page.get_by_role("link", name="Go back").click()
    page.wait_for_url(f"{live_server}/records")
    seen["error page"] = watch.page_violations(page)

    page.context.clear_cookies()
    account = patient_account(runtime)
    page.context.add_cookies(
        [{"name": PATIENT_COOKIE, "value": user_token(runtime, account), "url": live_server}]
    )
    for path in PATIENT:
        visit(path)

    violations = {p: v for p, v in seen.items() if v}
    assert violations == {} and watch.console == [], (violations, watch.console)
