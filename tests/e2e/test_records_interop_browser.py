"""The doctor's list of received records in real Chromium, with the real consent manager
and facility side (``tests/factories_hie.py``): each record by patient, facility, date
and type, and a record the HIU refused with the rule it broke, in words."""

from __future__ import annotations

import copy
import re

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in
from tests.factories_hie import (
    PATIENT_NAME,
    Exchange,
    Network,
    hie_settings,
    outside_hips_transfer,
    push_page,
    session_token,
    spec_page,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def test_the_doctor_sees_who_where_when_what_and_why_refused(
    page, live_server, app, client, runtime, make_staff
):
    hie = Exchange(runtime, app, client, Network(app))
    hie.register_bridge(make_staff(Role.STATE_ADMIN).headers)
    # A HIP from the specs sends the prescription as it is and the lab report without
    # its Composition.title (which FHIR requires).
    g, txn, hiu_key, docs = outside_hips_transfer(hie)
    (prescription, visit), (lab, _) = docs
    broken = copy.deepcopy(lab)
    for entry in broken["entry"]:
        if entry["resource"]["resourceType"] == "Composition":
            del entry["resource"]["title"]
    r = push_page(
        hie,
        spec_page(hie, txn, hiu_key, [(prescription, visit), (broken, visit)]),
        authorization=f"Bearer {session_token(hie)}",
    )
    assert r.status_code == 202, r.text
    hie.settle()

    doctor = make_staff(Role.DOCTOR, facility_id=hie.hiu_c)
    log_in(page, live_server, doctor, "/records")
    page.locator(f'a[href="/records/requests/{g.request}"]').click()
    page.wait_for_url(re.compile(r"/records/requests/[0-9a-f-]{36}$"))
    headers = page.locator("table.received thead th").all_inner_texts()
    assert headers[:4] == ["Patient", "Facility", "Date", "Record type"]

    kept = page.locator("tr.received-record.ok")
    assert kept.count() == 1
    cells = kept.locator("td").all_inner_texts()
    assert cells[0] == PATIENT_NAME
    assert "PHC Khag" in cells[1] and hie.hip_a in cells[1]
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}(, \d{2}:\d{2})?", cells[2]), cells[2]
    assert cells[3] == "Prescription"

    refused = page.locator("tr.received-record.refused")
    assert refused.count() == 1
    reason = refused.locator("td.refusal").inner_text()
    assert "Could not be received" in reason
    assert "Composition.title is required" in reason and "ABDM-1311" in reason
    page.screenshot(path="/tmp/records-doctor-list.png", full_page=True)

    kept.locator("a.record-link").click()
    page.wait_for_url(re.compile(r"/records/received/[0-9a-f-]{36}$"))
    assert PATIENT_NAME in page.inner_text("#record")
    assert "PHC Khag" in page.inner_text("main")
