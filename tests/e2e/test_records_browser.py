"""The doctor's record view in real Chromium: ask for a patient's records, the patient's
consent comes back through the (fake) consent manager, the HIP pushes, and the doctor
reads the records, each rendered readably."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in
from tests.factories_records import FakeCm, grant, records_settings, seed_hip

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings):
    return records_settings(settings)


def test_doctor_asks_for_and_reads_records(page, live_server, app, runtime, clock, make_staff):
    cm = FakeCm(runtime, app)
    hip = seed_hip(runtime, clock)
    doctor = make_staff(Role.DOCTOR)
    log_in(page, live_server, doctor, "/records")

    page.get_by_label("Patient's ABHA address").fill("asha.devi@sbx")
    for label in ("Invoice", "Wellness record", "Immunization record"):
        page.get_by_label(label).uncheck()
    page.locator('input[name="date_from"]').fill("2025-11-26")
    page.get_by_role("button", name="Ask for consent").click()
    page.wait_for_url(re.compile(r"/records/requests/[0-9a-f-]{36}$"))
    assert "waiting for the patient" in page.inner_text("#status")
    public_id = page.url.rsplit("/", 1)[1]

    # The patient approves in the PHR; the HIP pushes (played by the fake CM here).
    grant(cm, runtime, clock, hip, asked=public_id)
    cm.run_worker()

    page.reload()
    assert page.inner_text("#status").startswith("granted")
    links = page.locator("a.record-link")
    assert links.count() == 4
    page.locator("tr", has_text="Diagnostic report").locator("a.record-link").first.click()
    page.wait_for_url(re.compile(r"/records/received/[0-9a-f-]{36}$"))
    record = page.inner_text("#record")
    assert "Asha Devi" in record
    assert "Diagnostic report" in record
    page.screenshot(path="/tmp/records-doctor-view.png", full_page=True)

    # Every record type the HIP sent renders: back, then each one in turn.
    page.go_back()
    for n in range(links.count()):
        page.locator("a.record-link").nth(n).click()
        page.wait_for_url(re.compile(r"/records/received/"))
        assert "Asha Devi" in page.inner_text("#record")
        page.go_back()
