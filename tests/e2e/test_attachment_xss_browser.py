"""Stored XSS through a record's attachments, tried in real Chromium in the doctor's and
the patient's sessions: a hostile HIP sends HTML and SVG with scripts, and HTML bytes
labelled PNG (``tests/factories_attachments``). Opened from the record page or straight
by URL (a link the attacker sent, "open in new tab"), none of them may run; the true PDF
and PNG are still shown in the browser."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Error as PlaywrightError

from healthstack.kernel.context import Role
from healthstack.web.deps import PATIENT_COOKIE
from tests.e2e.csp_watch import watch_csp
from tests.factories_attachments import (
    HOSTILE,
    MARKER,
    Exchange,
    doctor_receives,
    hostile_patient,
    patient_fetches,
)
from tests.factories_browser import log_in
from tests.factories_consent import user_token
from tests.factories_hie import hie_settings

pytestmark = pytest.mark.browser

HOSTILE_TITLES = ("Scanned page (html)", "Sketch (svg)", "Photo (fake png)")


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def _watch(page) -> list[str]:
    ran: list[str] = []
    page.context.on("request", lambda r: ran.append(r.url) if MARKER in r.url else None)
    return ran


def _opened(page, url: str) -> bool:
    """Navigate to ``url`` as a link would: True when the browser shows it as a page,
    False when it became a download."""
    try:
        page.goto(url)
    except PlaywrightError as exc:  # a download is no page: Playwright says so
        assert "Download is starting" in str(exc), exc
        return False
    return True


def _check_record(page, record_url: str, base: str, keys: dict[str, str], ran: list[str]):
    # Opened straight by URL, as an attacker would send it (or "open in new tab").
    shown = [name for name in HOSTILE_TITLES if _opened(page, base + quote(keys[name], safe=""))]
    assert ran == [], f"an attachment's script ran: {ran}"
    assert shown == [], f"shown in the browser, not downloaded: {shown}"
    for name in HOSTILE_TITLES:  # the bytes as received, for the record
        assert page.request.get(base + quote(keys[name], safe="")).body() == HOSTILE[name][1]

    watch = watch_csp(page)
    page.goto(record_url)
    title = page.title()
    assert watch.page_violations(page) == [], watch.page_violations(page)
    # The true PNG is drawn on the page; no image element for anything mislabelled.
    png = page.locator(f'img[src$="{quote(keys["Prescription photo (png)"], safe="")}"]')
    png.wait_for()
    assert png.evaluate("i => i.complete && i.naturalWidth") == 40
    for name in HOSTILE_TITLES:
        assert page.locator(f'img[src$="{quote(keys[name], safe="")}"]').count() == 0
    # Clicked on the record page: a download, named as no kind of page.
    for name in HOSTILE_TITLES:
        with page.expect_download() as info:
            page.locator(f'a[data-attachment="{keys[name]}"]').click()
        assert info.value.suggested_filename.endswith(".bin"), name
    assert page.title() == title

    # The PNG and the PDF open in the browser, inline (a download would be False).
    png_url = base + quote(keys["Prescription photo (png)"], safe="")
    assert _opened(page, png_url)
    assert page.evaluate("document.images[0].naturalWidth") == 40
    assert _opened(page, base + quote(keys["Discharge card (pdf)"], safe=""))
    assert ran == [], f"an attachment's script ran: {ran}"


def test_hostile_attachments_never_run_in_the_doctors_session(
    page, live_server, hie: Exchange, make_staff
):
    hostile = hostile_patient(hie)
    record = doctor_receives(hie, hostile)
    ran = _watch(page)
    doctor = make_staff(Role.DOCTOR, facility_id=hie.hiu_c)
    log_in(page, live_server, doctor, f"/records/received/{record}")
    _check_record(
        page,
        f"{live_server}/records/received/{record}",
        f"{live_server}/records/received/{record}/attachments/",
        hostile.keys,
        ran,
    )


def test_hostile_attachments_never_run_in_the_patients_phr(page, live_server, hie: Exchange):
    hostile = hostile_patient(hie)
    record = patient_fetches(hie, hostile)
    ran = _watch(page)
    page.context.add_cookies(
        [
            {
                "name": PATIENT_COOKIE,
                "value": user_token(hie.runtime, hostile.account),
                "url": live_server,
            }
        ]
    )
    _check_record(
        page,
        f"{live_server}/phr/health-records/{record}",
        f"{live_server}/phr/health-records/{record}/attachments/",
        hostile.keys,
        ran,
    )
