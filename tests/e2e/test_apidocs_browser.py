"""/docs (Swagger UI) and /redoc (ReDoc) as a state data centre without internet sees
them: every request to a host other than this server is blocked, and both pages still
list the API's operations, under the Content-Security-Policy with no violation."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.csp_watch import watch_csp

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Parsing and drawing some 130 operations takes a few seconds of a loaded CI core.
FIRST_DRAW_MS = 60_000


def _offline(page) -> list[str]:
    blocked: list[str] = []

    def route(r) -> None:
        url = r.request.url
        if urlparse(url).hostname in LOOPBACK or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.context.route("**/*", route)
    return blocked


@pytest.fixture
def warm(client):
    """The OpenAPI description is built once per app, on first request: not in the
    page's time."""
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_lists_the_operations_offline(page, live_server, warm):
    blocked = _offline(page)
    watch = watch_csp(page)
    response = page.goto(f"{live_server}/docs")
    assert response.status == 200
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    summary = page.locator('.opblock-summary-path[data-path="/api/v1/monitoring/summary"]')
    summary.wait_for(timeout=FIRST_DRAW_MS)
    assert page.locator(".opblock").count() >= 5
    # Swagger UI draws the tags as they scroll into view: find one by its tag instead.
    page.locator(".operation-filter-input").fill("gateway-admin")
    page.locator('.opblock-summary-path[data-path="/api/v1/gateway/bridges"]').first.wait_for()
    # An operation opens, with its parameters and responses.
    page.locator('.opblock-summary:has([data-path="/api/v1/gateway/bridges"])').first.click()
    page.locator(".opblock-body .responses-wrapper").first.wait_for()
    page.screenshot(path="/tmp/apidocs-swagger.png")
    assert blocked == [], blocked
    assert watch.page_violations(page) == [] and watch.console == [], watch.console


def test_redoc_lists_the_operations_offline(page, live_server, warm):
    blocked = _offline(page)
    watch = watch_csp(page)
    response = page.goto(f"{live_server}/redoc")
    assert response.status == 200
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    menu = page.locator("li[data-item-id^='tag/'], li[data-item-id^='operation/']")
    menu.first.wait_for(timeout=FIRST_DRAW_MS)
    assert page.locator("[data-section-id^='operation/']").count() > 50
    assert "/api/v1/gateway/bridges" in page.inner_text("body")
    page.screenshot(path="/tmp/apidocs-redoc.png")
    assert blocked == [], blocked
    assert watch.page_violations(page) == [] and watch.console == [], watch.console
