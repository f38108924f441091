"""The dashboard's charts and tables in real Chromium at a laptop's 1280 px: the
coverage axis runs 0-100 % with the target marked, small counts get whole-number
ticks once each, the tables fit their cards, and the charts draw under a strict
Content-Security-Policy (no inline script: set-up in static files, data in
``data-`` attributes)."""

from __future__ import annotations

import importlib.util

import pytest

from healthstack.kernel.context import Role
from tests.conftest import FACILITY_A
from tests.factories_browser import log_in_at_home
from tests.factories_monitoring import SRINAGAR, standard_data

pytestmark = pytest.mark.browser

HAS_PLOTLY = importlib.util.find_spec("plotly") is not None
needs_plotly = pytest.mark.skipif(not HAS_PLOTLY, reason="plotly (the charts) is not installed")
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@pytest.fixture
def wide_page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def _fits(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Neither the page nor the table's own scroller scrolls sideways."""
    doc = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert doc[0] <= doc[1], f"the page is {doc[0]} px wide in a {doc[1]} px window"
    table, box = page.eval_on_selector(
        selector, "t => [t.scrollWidth, t.parentElement.clientWidth]"
    )
    assert table <= box, f"{selector} is {table} px wide in a {box} px box"


def test_tables_fit_at_1280_px(wide_page, live_server, make_staff, runtime, relay):
    standard_data(runtime, relay, facilities=True)
    admin = make_staff(Role.STATE_ADMIN)
    log_in_at_home(wide_page, live_server, admin)
    wide_page.goto(f"{live_server}/dashboard")
    _fits(wide_page, "#districts-table")
    # Every indicator is still in the table: none was dropped to make it fit.
    header = wide_page.inner_text("#districts-table thead")
    for label in ("ABHA accounts", "Public doctors in HPR", "Public nurses in HPR", "overdue"):
        assert label in header
    wide_page.goto(f"{live_server}/dashboard/district/{SRINAGAR}")
    _fits(wide_page, "#facilities-table")


@needs_plotly
def test_coverage_axis_is_0_to_100_percent_with_the_target_marked(
    wide_page, live_server, make_staff, runtime, relay
):
    standard_data(runtime, relay)
    log_in_at_home(wide_page, live_server, make_staff(Role.STATE_ADMIN))
    wide_page.goto(f"{live_server}/dashboard")
    wide_page.wait_for_selector("#coverage-chart[data-drawn] .main-svg")
    low, high = wide_page.eval_on_selector("#coverage-chart", "el => el._fullLayout.xaxis.range")
    assert low == 0 and high >= 100
    ticks = wide_page.eval_on_selector_all(
        "#coverage-chart .xtick text", "els => els.map(e => e.textContent)"
    )
    assert "100 %" in ticks and "0 %" in ticks
    # The target (100 % of the target population) is a marked line, with its label.
    shapes = wide_page.eval_on_selector("#coverage-chart", "el => el.layout.shapes")
    assert any(s["x0"] == s["x1"] == 100 for s in shapes)
    assert "Target" in wide_page.inner_text("#coverage-chart")


@needs_plotly
def test_small_counts_get_each_whole_number_tick_once(
    wide_page, live_server, make_staff, runtime, relay
):
    standard_data(runtime, relay, facilities=True)
    log_in_at_home(wide_page, live_server, make_staff(Role.STATE_ADMIN))
    wide_page.goto(f"{live_server}/dashboard/facility/{FACILITY_A}")
    wide_page.wait_for_selector("#trend-chart[data-drawn] .main-svg")
    for axis in ("ytick", "y2tick"):
        labels = wide_page.eval_on_selector_all(
            f"#trend-chart .{axis} text", "els => els.map(e => e.textContent)"
        )
        assert labels, axis
        assert len(labels) == len(set(labels)), f"{axis} repeats: {labels}"
        assert all("." not in t and not t.startswith(("−", "-")) for t in labels), labels


@needs_plotly
def test_charts_draw_under_a_strict_content_security_policy(
    wide_page, live_server, make_staff, runtime, relay
):
    standard_data(runtime, relay, facilities=True)
    log_in_at_home(wide_page, live_server, make_staff(Role.STATE_ADMIN))

    def with_csp(route):  # type: ignore[no-untyped-def]
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": STRICT_CSP},
        )

    wide_page.route("**/dashboard**", with_csp)
    wide_page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', "
        "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    for path in (
        "/dashboard",
        f"/dashboard/district/{SRINAGAR}",
        f"/dashboard/facility/{FACILITY_A}",
    ):
        wide_page.goto(f"{live_server}{path}")
        wide_page.wait_for_selector("#trend-chart[data-drawn] .main-svg")
        if path == "/dashboard":
            wide_page.wait_for_selector("#coverage-chart[data-drawn] .main-svg")
        violations = wide_page.evaluate("window.__csp")
        assert not [v for v in violations if v.startswith("script-src")], violations
        # No inline script anywhere on the page: the data rides in data- attributes.
        assert wide_page.locator("script:not([src])").count() == 0, path
