"""The patient reads their own records in the PHR, in real Chromium, with the real
consent manager and the real facility side behind the server (``tests/factories_hie``):
they choose what to fetch, the page waits by itself while the worker carries the
exchange, and each record opens in a readable view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from healthstack.kernel.context import Role
from healthstack.web.deps import PATIENT_COOKIE
from tests.factories_consent import user_token
from tests.factories_hie import Exchange, Network, hie_settings, linked_patient

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def test_patient_fetches_and_reads_own_records(page, live_server, app, client, runtime, make_staff):
    hie = Exchange(runtime, app, client, Network(app))
    hie.register_bridge(make_staff(Role.STATE_ADMIN).headers)
    account, _ = linked_patient(hie, documents=2)
    page.context.add_cookies(
        [{"name": PATIENT_COOKIE, "value": user_token(runtime, account), "url": live_server}]
    )

    page.goto(f"{live_server}/phr")
    page.locator("#read-records").click()
    page.wait_for_url(f"{live_server}/phr/records")
    assert "Nothing fetched yet" in page.inner_text("#fetches")
    for label in ("Vaccinations", "Bills and invoices", "Wellness records (vitals, lifestyle)"):
        page.get_by_label(label).uncheck()
    page.get_by_label("PHC Khag").check()
    page.get_by_role("button", name="Fetch my records").click()
    page.wait_for_url(re.compile(r"/phr/records/[0-9a-f-]{36}$"))
    expect(page.locator("#waiting")).to_contain_text("Asking the consent manager")

    # The worker carries the exchange; the page notices by itself and shows the records.
    hie.settle()
    expect(page.locator("#waiting")).to_have_count(0, timeout=15000)
    records = page.locator("section.facility a")
    expect(records).to_have_count(2)
    assert "PHC Khag" in page.inner_text("section.facility h2")
    page.screenshot(path="/tmp/phr-own-records.png", full_page=True)

    records.first.click()
    page.wait_for_url(re.compile(r"/phr/health-records/[0-9a-f-]{36}$"))
    assert "Asha Devi" in page.inner_text("#record")
    page.get_by_role("link", name="Back to my records").click()
    page.get_by_role("navigation", name="Health records").get_by_role(
        "link", name="Read my records"
    ).click()
    assert "fetched" in page.inner_text("#fetches")
