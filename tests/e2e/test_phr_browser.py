"""The PHR in real Chromium. The consent approval: a doctor's consent request reaches
the patient (through the fake facility bridge and the gateway); the patient logs in
with the mobile OTP, opens the request, sets her consent PIN when the PHR asks, narrows
the record types, approves with the PIN, finds it under Granted, and revokes it. A
family's mobile: the patient switches between its ABHAs without logging in again. And
linking, where the page's own script filters the facilities and waits for each answer
of the facility without a click."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from healthstack.network.consent.models import ConsentArtefact
from healthstack.protocol.abdm import messages as m
from tests.factories_browser import read_otp
from tests.factories_consent import (
    HIP_A,
    OTP,
    PIN,
    HipRecords,
    consent_body,
    init_consent,
    link_directly,
    network_settings,
    patient,
    pump,
    rows,
)

pytestmark = pytest.mark.browser

MOBILE = "9876500401"


@pytest.fixture
def settings(settings):
    return network_settings(settings)


def log_in(page, live_server: str) -> None:
    """As the patient does: mobile, the OTP from the SMS, pick the ABHA if asked."""
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Patient login").click()
    page.get_by_label("Mobile number").fill(MOBILE)
    page.locator("form:has(input[value=mobile])").get_by_role("button", name="Send OTP").click()
    page.get_by_label("OTP").fill(read_otp(page, live_server, MOBILE))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/patient(/login/verify)?$"))
    if page.locator("label.account-choice").count():
        page.locator("label.account-choice input").first.check()
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/patient")


def test_patient_narrows_approves_and_revokes_a_consent(page, live_server, runtime, bridge):
    ravi = patient(runtime, name="Ravi Kumar Sharma", mobile=MOBILE)
    link_directly(runtime, ravi, HipRecords(abha_number=ravi.abha_number))
    asked = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    log_in(page, live_server)

    page.locator("header").get_by_role("link", name="Health records (PHR)").click()
    page.wait_for_url(f"{live_server}/phr")
    assert "1 consent request is waiting for you" in page.inner_text("#pending")
    assert "OPD visit, 1 Nov 2026" in page.inner_text("#linked")
    page.get_by_role("link", name="Review it").click()
    page.get_by_role("link", name="GMC Srinagar").click()
    page.wait_for_url(f"{live_server}/phr/consents/{asked}")
    assert "GMC Srinagar asks to see your health records" in page.inner_text("h1")
    request = page.inner_text("#consent-request")
    assert "Dr. Manju Sharma" in request and "To treat you (care management)" in request

    # The first approval: the PHR has her set a consent PIN, then brings her back.
    assert page.locator("#approve-form").count() == 0
    page.get_by_role("link", name="Set my consent PIN").click()
    page.wait_for_url(re.compile(r"/phr/pin\?back="))
    page.locator("input[name=pin]").fill(PIN)
    page.locator("input[name=pin_again]").fill(PIN)
    page.get_by_role("button", name="Set PIN").click()
    page.wait_for_url(f"{live_server}/phr/consents/{asked}?done=pin")
    assert "Your consent PIN is set" in page.get_by_role("status").inner_text()

    # Share the consultation notes only, from PHC Khag; a wrong PIN first.
    assert page.get_by_label("PHC Khag").is_checked()
    page.get_by_label("Prescriptions").uncheck()
    page.get_by_label("Your consent PIN").fill("0000")
    page.get_by_role("button", name="Approve").click()
    assert "not correct (4 tries left)" in page.get_by_role("alert").inner_text()
    assert not page.get_by_label("Prescriptions").is_checked()  # the choices are kept
    assert rows(runtime, ConsentArtefact) == []
    page.get_by_label("Your consent PIN").fill(PIN)
    page.screenshot(path="/tmp/phr-consent-request.png", full_page=True)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{live_server}/phr/consents/{asked}?done=approved")
    assert "You approved the request" in page.get_by_role("status").inner_text()
    assert page.inner_text("#consent-status").startswith("granted")
    row = page.locator("tr.artefact")
    assert "PHC Khag" in row.inner_text() and "OP consultation notes" in row.inner_text()
    assert "Prescriptions" not in row.inner_text()
    [artefact] = rows(runtime, ConsentArtefact)
    assert artefact.hi_types == ["OPConsultation"] and artefact.status == "GRANTED"
    pump(runtime, bridge)  # the HIP and the HIU are told
    assert bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"]["status"] == "GRANTED"
    page.screenshot(path="/tmp/phr-consent-granted.png", full_page=True)

    # Under Granted, then revoke it (after the confirmation page).
    page.get_by_role("link", name="Consents").first.click()
    page.get_by_role("link", name=re.compile(r"^Granted \(1\)")).click()
    page.get_by_role("link", name="GMC Srinagar").click()
    page.locator("tr.artefact").get_by_role("link", name="Revoke").click()
    assert "Revoke your consent for GMC Srinagar?" in page.inner_text("h1")
    page.get_by_role("button", name="Yes, revoke").click()
    page.wait_for_url(f"{live_server}/phr/consents/{asked}?done=revoked")
    assert "You revoked the consent" in page.get_by_role("status").inner_text()
    assert page.inner_text("tr.artefact .artefact-status").startswith("revoked")
    assert page.locator("tr.artefact").get_by_role("link", name="Revoke").count() == 0
    page.screenshot(path="/tmp/phr-consent-revoked.png", full_page=True)
    [artefact] = rows(runtime, ConsentArtefact)
    assert artefact.status == "REVOKED"
    pump(runtime, bridge)
    assert bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"]["status"] == "REVOKED"


def test_patient_finds_and_links_records_while_the_page_waits(page, live_server, runtime, bridge):
    ravi = patient(runtime, name="Ravi Kumar Sharma", mobile=MOBILE)
    bridge.records[HIP_A].append(HipRecords(abha_number=ravi.abha_number))
    log_in(page, live_server)
    page.goto(f"{live_server}/phr")
    assert "No records are linked yet" in page.inner_text("#linked")
    page.get_by_role("link", name="Link records from a facility").last.click()

    page.get_by_label("Search facilities by name").fill("khag")  # filtered as one types
    # The script filters on input; wait for it (it loads deferred) rather than race it.
    expect(page.get_by_label("SDH Bijbehara")).to_be_hidden()
    page.get_by_label("PHC Khag").check()
    page.get_by_label("Hospital record number (optional)").fill("PT-1001")
    page.get_by_role("button", name="Find my records").click()
    page.wait_for_selector("#waiting")
    assert "PT-1001" not in page.url

    # The facility answers; the waiting page notices by itself.
    pump(runtime, bridge)
    page.wait_for_selector("#choose-records")
    page.get_by_label("OPD visit, 12 Nov 2026").uncheck()
    page.get_by_role("button", name="Link the ticked records").click()
    page.wait_for_selector("#waiting")
    pump(runtime, bridge)
    page.wait_for_selector("#otp-form")
    page.screenshot(path="/tmp/phr-link-code.png", full_page=True)

    page.get_by_label("Code from the SMS").fill("000000")
    page.get_by_role("button", name="Link my records").click()
    page.wait_for_selector("#waiting")
    pump(runtime, bridge)
    page.wait_for_selector("#link-problem")
    assert page.inner_text("#link-problem") == "The code is wrong; check the SMS and try again."
    page.get_by_label("Code from the SMS").fill(OTP)
    page.get_by_role("button", name="Link my records").click()
    page.wait_for_selector("#waiting")
    pump(runtime, bridge)
    page.wait_for_selector("#linked-done")
    page.get_by_role("link", name="See my health records").click()
    linked = page.inner_text("#linked")
    assert "OPD visit, 1 Nov 2026" in linked and "OPD visit, 12 Nov 2026" not in linked
    page.screenshot(path="/tmp/phr-home.png", full_page=True)


def test_a_family_mobile_switches_between_its_abhas(page, live_server, runtime):
    zahoor = patient(runtime, name="Zahoor Ahmad Mir", mobile=MOBILE)
    patient(runtime, name="Shazia Mir", gender="F", mobile=MOBILE)
    log_in(page, live_server)  # picks the first of the two
    assert page.inner_text("#profile-name") == "Zahoor Ahmad Mir"

    switcher = page.locator("#switch-abha")
    assert "S***** M**" in switcher.inner_text() and "Shazia" not in switcher.inner_text()
    page.get_by_label("Switch to another ABHA on this mobile").select_option(index=0)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(f"{live_server}/patient")
    assert page.inner_text("#profile-name") == "Shazia Mir"  # no OTP asked
    page.screenshot(path="/tmp/patient-switched.png", full_page=True)

    # From the PHR too: back to the first, and the PHR is his.
    page.goto(f"{live_server}/phr")
    assert "Z***** A**** M**" in page.inner_text("#switch-abha")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(f"{live_server}/phr")
    page.goto(f"{live_server}/patient")
    assert page.inner_text("#profile-name") == "Zahoor Ahmad Mir"
    assert zahoor.abha_number[-4:] in page.locator("header").inner_text()
