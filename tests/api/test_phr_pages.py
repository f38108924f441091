"""The PHR pages (``/phr``) through form posts, with the fake facility bridge answering
over the gateway: linked records, discovery and OTP linking (not found, a silent
facility, a wrong and an expired code), and consents (tabs, approve with narrowing,
the refusals, deny, revoke). The holder is logged in by the ``hs_patient`` cookie the
patient login sets; another patient's ids are 404 pages; anonymous callers go to the
login; a form from another site is refused; no URL carries more than opaque ids."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from healthstack.kernel.context import Role
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest, LinkTransaction
from healthstack.protocol.abdm import messages as m
from healthstack.web.deps import PATIENT_COOKIE
from tests.factories_abha_pages import alert
from tests.factories_consent import (
    HIP_A,
    HIP_C,
    OTP,
    HipRecords,
    audit,
    consent_body,
    init_consent,
    network_settings,
    pump,
    rows,
)
from tests.factories_pages import LabelCheck
from tests.factories_phr import approve, location, log_in, request_id, text

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def settings(settings):
    return network_settings(settings)


# --------------------------------------------------------------------------- access


PAGES = ["/phr", "/phr/link", "/phr/consents"]


def test_anonymous_and_staff_go_to_the_patient_login(client, make_staff):
    some = str(uuid.uuid4())
    gets = PAGES + [
        f"/phr/link/{some}",
        f"/phr/consents/{some}",
        f"/phr/consents/{some}/deny",
        f"/phr/consents/{some}/revoke",
    ]
    posts = [
        "/phr/link",
        f"/phr/link/{some}/link",
        f"/phr/link/{some}/confirm",
        f"/phr/consents/{some}/approve",
        f"/phr/consents/{some}/deny",
        f"/phr/consents/{some}/revoke",
    ]
    staff = make_staff(Role.STATE_ADMIN)
    for as_staff in (False, True):
        client.cookies.clear()
        if as_staff:  # a staff member logged in is not a patient
            client.post("/login", data={"username": staff.username, "password": staff.password})
        for path in gets:
            r = client.get(path, follow_redirects=False)
            assert (r.status_code, r.headers.get("location")) == (303, "/patient/login"), path
        for path in posts:
            r = client.post(path, data={}, follow_redirects=False)
            assert (r.status_code, r.headers.get("location")) == (303, "/patient/login"), path
    r = client.get(f"/phr/link/{some}/status.json")
    assert r.status_code == 401 and r.json() == {"status": None, "waiting": False}
    # An expired user token is no login either (and the stale cookie is dropped).
    client.cookies.clear()
    client.cookies.set(PATIENT_COOKIE, "not-a-token")
    r = client.get("/phr", follow_redirects=False)
    assert r.headers["location"] == "/patient/login"
    assert "hs_patient=" in r.headers["set-cookie"]


def test_every_phr_page_renders_with_a_label_on_every_input(client, runtime, bridge, linked):
    rid = init_consent(runtime, bridge, consent_body(linked))["consentRequest"]["id"]
    log_in(client, runtime, linked)
    txn = location(client.post("/phr/link", data={"hip": HIP_A}, follow_redirects=False))
    for path in PAGES + [
        "/phr/link?q=khag",
        txn,
        f"/phr/consents/{rid}",
        f"/phr/consents/{rid}/deny",
        "/phr/consents?tab=granted",
    ]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert not LabelCheck.run(r.text), f"{path}: inputs without a label"
        assert 'href="/phr"' in r.text  # the patient nav links here
    script = client.get("/static/phr.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "data-poll" in script.text


def test_the_profile_links_to_the_phr(client, runtime, ravi):
    log_in(client, runtime, ravi)
    page = client.get("/patient").text
    assert 'id="phr-link"' in page and "Health records (PHR)" in page


# --------------------------------------------------------------------------- home


def test_home_lists_linked_records_and_pending_requests(client, runtime, bridge, linked):
    log_in(client, runtime, linked)
    page = client.get("/phr").text
    assert "No consent requests are waiting for you" in page
    init_consent(runtime, bridge, consent_body(linked))
    r = client.get("/phr")
    assert r.status_code == 200
    shown = text(r.text)
    assert "1 consent request is waiting for you" in shown
    assert 'href="/phr/consents?tab=pending"' in r.text
    assert 'href="/phr/link"' in r.text and "Link records from a facility" in shown
    assert "PHC Khag" in shown
    assert "OPD visit, 1 Nov 2026" in shown and "OPD visit, 12 Nov 2026" in shown
    # Display text only: no reference numbers of the facility's.
    assert "OPD-2026-11" not in r.text and "PT-1001" not in r.text
    assert {e.actor_kind for e in audit(runtime, "phr.links.read")} == {"patient"}


def test_home_without_links_says_how_to_get_them(client, runtime, bridge, sita):
    log_in(client, runtime, sita)
    shown = text(client.get("/phr").text)
    assert "No records are linked yet" in shown


# --------------------------------------------------------------------------- discover and link


def discover(client, hip=HIP_A, **form) -> str:
    r = client.post("/phr/link", data={"hip": hip, **form}, follow_redirects=False)
    where = location(r)
    assert re.fullmatch(rf"/phr/link/{UUID.pattern}", where)
    return where


def test_discover_choose_records_and_link_with_the_code(client, runtime, bridge, ravi):
    bridge.records[HIP_A].append(HipRecords(abha_number=ravi.abha_number))
    log_in(client, runtime, ravi)
    page = client.get("/phr/link").text
    assert "PHC Khag" in page and "SDH Bijbehara" in page
    searched = client.get("/phr/link", params={"q": "khag"}).text
    assert "PHC Khag" in searched and "SDH Bijbehara" not in searched
    assert "1 of 2 facilities match" in text(searched)

    r = client.post("/phr/link", data={"record_number": "PT-1001"})
    assert r.status_code == 400 and "Choose the facility" in alert(r.text)
    assert 'value="PT-1001"' in r.text  # what was typed is kept

    here = discover(client, record_number="PT-1001")  # posted, never in the URL
    waiting = client.get(here)
    assert 'data-poll="' + here + '/status.json"' in waiting.text
    assert "Asking PHC Khag for your records" in text(waiting.text)
    assert f'href="{here}"' in waiting.text  # the plain Refresh link
    assert client.get(here + "/status.json").json() == {"status": "DISCOVERING", "waiting": True}
    assert bridge.at(m.DISCOVER) == []  # sent by the worker, after the commit
    pump(runtime, bridge)
    asked = bridge.last(m.DISCOVER).body["patient"]
    assert asked["unverifiedIdentifiers"] == [{"type": "MR", "value": "PT-1001"}]
    assert client.get(here + "/status.json").json() == {"status": "FOUND", "waiting": False}

    found = client.get(here).text
    boxes = re.findall(r'name="care_contexts" value="([^"]+)" checked', found)
    assert boxes == ["OPD-2026-11", "OPD-2026-12"]
    assert "OPD visit, 1 Nov 2026" in found and "Prescriptions" in found
    # Nothing ticked is nothing chosen (not "all").
    r = client.post(here + "/link", data={})
    assert r.status_code == 400 and "Choose at least one record" in alert(r.text)
    chosen = {"care_contexts": ["OPD-2026-11"]}
    assert location(client.post(here + "/link", data=chosen, follow_redirects=False)) == here
    assert "Asking PHC Khag to send you a code" in text(client.get(here).text)
    pump(runtime, bridge)
    assert [
        c["referenceNumber"]
        for p in bridge.last(m.LINK_INIT).body["patient"]
        for c in p["careContexts"]
    ] == ["OPD-2026-11"]

    otp_page = client.get(here).text
    assert 'name="otp"' in otp_page and "valid until 26 Nov 2026, 14:40 IST" in otp_page
    assert 'href="/dev/sms"' in otp_page  # the demo's SMS outbox
    # A wrong code: the facility says ABDM-1035; the patient may type it again.
    location(client.post(here + "/confirm", data={"otp": "654321"}, follow_redirects=False))
    assert "checking the code" in text(client.get(here).text)
    pump(runtime, bridge)
    wrong = client.get(here).text
    assert alert(wrong) == "The code is wrong; check the SMS and try again."
    assert 'name="otp"' in wrong
    r = client.post(here + "/confirm", data={"otp": "12ab"})
    assert r.status_code == 400 and "4 to 8 digits" in alert(r.text)
    location(client.post(here + "/confirm", data={"otp": OTP}, follow_redirects=False))
    pump(runtime, bridge)
    done = client.get(here)
    assert "now linked to your ABHA" in text(done.text)
    assert "OPD visit, 1 Nov 2026" in done.text
    assert [t.step for t in rows(runtime, LinkTransaction)] == ["LINKED"]
    home = text(client.get("/phr").text)
    assert "OPD visit, 1 Nov 2026" in home and "OPD visit, 12 Nov 2026" not in home
    # Confirming again: that step is over.
    r = client.post(here + "/confirm", data={"otp": OTP})
    assert r.status_code == 409 and "already over" in alert(r.text)


def test_not_found_at_the_facility(client, runtime, bridge, ravi):
    log_in(client, runtime, ravi)
    here = discover(client)
    pump(runtime, bridge)
    page = client.get(here).text
    assert "PHC Khag found no records for you" in text(page)
    assert "hospital record number" in text(page)
    assert 'id="search-again"' in page and f'value="{HIP_A}"' in page
    # Searching again with a record number starts a new transaction.
    again = location(
        client.post(
            "/phr/link", data={"hip": HIP_A, "record_number": "PT-9"}, follow_redirects=False
        )
    )
    assert again != here


def test_a_facility_that_does_not_answer(client, runtime, bridge, ravi, clock):
    bridge.answer["discover"] = False
    log_in(client, runtime, ravi)
    here = discover(client)
    pump(runtime, bridge)
    assert client.get(here + "/status.json").json()["waiting"] is True
    clock.advance(seconds=31)
    assert client.get(here + "/status.json").json() == {"status": "DISCOVERING", "waiting": False}
    page = client.get(here).text
    assert "PHC Khag has not answered yet" in text(page)
    assert "data-poll" not in page and f'href="/phr/link?hip={HIP_A}"' in page


def test_a_facility_not_on_the_network(client, runtime, bridge, ravi):
    log_in(client, runtime, ravi)
    r = client.post("/phr/link", data={"hip": "IN0110009999"})
    assert r.status_code == 404 and "not connected" in alert(r.text)
    assert rows(runtime, LinkTransaction) == []


def test_an_expired_code_can_be_sent_again(client, runtime, bridge, ravi, clock):
    bridge.records[HIP_A].append(HipRecords(abha_number=ravi.abha_number))
    log_in(client, runtime, ravi)
    here = discover(client)
    pump(runtime, bridge)
    client.post(here + "/link", data={"care_contexts": ["OPD-2026-12"]})
    pump(runtime, bridge)
    clock.advance(minutes=11)
    log_in(client, runtime, ravi)
    page = client.get(here).text
    assert "The code has expired" in text(page)
    assert 'name="otp"' not in page
    resend = re.search(r'<form method="post" action="' + here + r'/link".*?</form>', page, re.S)
    assert resend and 'value="OPD-2026-12"' in resend.group(0)
    location(
        client.post(here + "/link", data={"care_contexts": ["OPD-2026-12"]}, follow_redirects=False)
    )
    pump(runtime, bridge)
    assert len(bridge.at(m.LINK_INIT)) == 2
    fresh = client.get(here).text
    assert 'name="otp"' in fresh and "The code has expired" not in text(fresh)


def test_another_patients_transaction_is_not_found(client, runtime, bridge, ravi, sita):
    log_in(client, runtime, ravi)
    here = discover(client)
    log_in(client, runtime, sita)
    r = client.get(here)
    assert r.status_code == 404 and "Start again" in alert(r.text)
    assert client.get(here + "/status.json").status_code == 404
    for action, form in (("link", {"care_contexts": ["OPD-2026-11"]}), ("confirm", {"otp": OTP})):
        r = client.post(f"{here}/{action}", data=form)
        assert r.status_code == 404, action
    assert client.get("/phr/link/not-a-uuid").status_code == 404


# --------------------------------------------------------------------------- consents


def test_consent_tabs_and_the_request_page(client, runtime, bridge, linked):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, linked)
    r = client.get("/phr/consents")
    assert r.status_code == 200
    assert "Waiting for you (1)" in r.text and "Granted (0)" in r.text
    assert f'href="/phr/consents/{rid}"' in r.text
    assert "GMC Srinagar" in r.text and "Dr. Manju Sharma" in r.text
    assert f"/phr/consents/{rid}" not in client.get("/phr/consents?tab=granted").text
    assert client.get("/phr/consents?tab=nonsense").status_code == 200  # the default tab

    page = client.get(f"/phr/consents/{rid}").text
    shown = text(page)
    assert "GMC Srinagar asks to see your health records" in shown
    assert "IN0110000002" in shown and "Dr. Manju Sharma" in shown and "JK-1001" in shown
    assert "To treat you (care management)" in shown
    assert "OP consultation notes, Prescriptions" in shown
    assert "01 Jan 2020 to 25 Nov 2026" in shown and "01 Jun 2027" in shown
    # The approve form: every linked facility and every asked type ticked, the dates
    # as asked, and date limits that cannot widen.
    assert re.search(rf'name="hips" value="{HIP_A}" checked', page)
    assert re.findall(r'name="hi_types" value="(\w+)" checked', page) == [
        "OPConsultation",
        "Prescription",
    ]
    assert 'name="date_from" value="2020-01-01" min="2020-01-01" max="2026-11-25"' in page
    assert 'name="expiry" value="2027-06-01" min="2026-11-26" max="2027-06-01"' in page


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"hips": []}, "Choose at least one facility"),
        ({"hi_types": []}, "Choose at least one type of record"),
        ({"date_from": "2019-01-01"}, "The dates go beyond the period asked for"),
        ({"date_to": "2026-11-26"}, "The dates go beyond the period asked for"),
        ({"expiry": "2027-07-01"}, "would last longer than asked for"),
        ({"expiry": "2026-01-01"}, "must end in the future"),
        ({"date_from": "2024-01-01", "date_to": "2023-01-01"}, "start date must be before"),
        ({"hi_types": ["DischargeSummary"]}, "not asked for"),
        ({"hips": [HIP_C]}, "not one of your linked facilities"),
        ({"date_to": "25/11/2026"}, "as a date"),
    ],
)
def test_approve_refusals_keep_the_form(client, runtime, bridge, linked, form, says):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, linked)
    r = approve(client, rid, **form)
    assert r.status_code == 400, r.text[:300]
    assert says in alert(r.text)
    assert rows(runtime, ConsentArtefact) == []
    # The form comes back as it was sent.
    for key, value in form.items():
        if key in ("date_from", "date_to", "expiry"):
            assert f'name="{key}" value="{value}"' in r.text
    if form.get("hi_types") == []:
        assert not re.findall(r'name="hi_types" value="\w+" checked', r.text)


def test_approve_narrowed_then_revoke(client, runtime, bridge, linked):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, linked)
    r = approve(
        client,
        rid,
        hi_types=["Prescription"],
        date_from="2021-03-01",
        date_to="2026-06-30",
        expiry="2027-01-31",
    )
    assert location(r) == f"/phr/consents/{rid}?done=approved"
    [artefact] = rows(runtime, ConsentArtefact)
    assert artefact.hip_id == HIP_A and artefact.hi_types == ["Prescription"]
    ist = [
        (artefact.date_from, datetime(2021, 2, 28, 18, 30, tzinfo=UTC)),  # 1 Mar 00:00 IST
        (artefact.date_to, datetime(2026, 6, 30, 18, 29, 59, tzinfo=UTC)),  # 30 Jun 23:59:59
        (artefact.expires_at, datetime(2027, 1, 31, 18, 29, 59, tzinfo=UTC)),
    ]
    for stored, expected in ist:
        assert (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == expected
    pump(runtime, bridge)
    assert bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"]["status"] == "GRANTED"

    page = client.get(f"/phr/consents/{rid}?done=approved").text
    assert "You approved the request" in text(page)
    assert 'id="approve-form"' not in page
    assert re.search(r'class="artefact-status">granted', page)
    revoke_link = f"/phr/consents/{rid}/revoke?consent={artefact.public_id}"
    assert revoke_link in page
    granted = client.get("/phr/consents?tab=granted").text
    assert "Granted (1)" in granted and f"/phr/consents/{rid}" in granted

    confirm = client.get(revoke_link)
    assert confirm.status_code == 200
    assert "Revoke your consent for GMC Srinagar?" in text(confirm.text)
    assert f'name="consent" value="{artefact.public_id}"' in confirm.text
    r = client.post(
        f"/phr/consents/{rid}/revoke",
        data={"consent": str(artefact.public_id)},
        follow_redirects=False,
    )
    assert location(r) == f"/phr/consents/{rid}?done=revoked"
    [artefact] = rows(runtime, ConsentArtefact)
    assert artefact.status == "REVOKED"
    page = client.get(f"/phr/consents/{rid}?done=revoked").text
    assert "You revoked the consent" in text(page) and "Revoke</a>" not in page
    assert f"/phr/consents/{rid}" in client.get("/phr/consents?tab=ended").text
    # Twice: nothing left to revoke, said on the request's page.
    r = client.post(f"/phr/consents/{rid}/revoke", data={"consent": str(artefact.public_id)})
    assert r.status_code == 409 and "nothing left to revoke" in alert(r.text)
    r = client.post(f"/phr/consents/{rid}/revoke", data={})
    assert r.status_code == 409
    assert client.get(revoke_link).status_code == 409
    # Approving a decided request: no longer waiting.
    r = approve(client, rid)
    assert r.status_code == 409 and "no longer waiting" in alert(r.text)
    outcomes = [e.outcome for e in audit(runtime, "consent.revoke")]
    assert outcomes[0] == "success" and len(outcomes) == 3


def test_deny_after_confirmation(client, runtime, bridge, linked):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, linked)
    confirm = client.get(f"/phr/consents/{rid}/deny")
    assert "Deny the request from GMC Srinagar?" in text(confirm.text)
    assert [r.status for r in rows(runtime, ConsentRequest)] == ["REQUESTED"]  # not yet
    r = client.post(f"/phr/consents/{rid}/deny", follow_redirects=False)
    assert location(r) == f"/phr/consents/{rid}?done=denied"
    assert [r.status for r in rows(runtime, ConsentRequest)] == ["DENIED"]
    assert "You denied the request" in text(client.get(f"/phr/consents/{rid}?done=denied").text)
    assert f"/phr/consents/{rid}" in client.get("/phr/consents?tab=denied").text
    # The confirmation of a decided request goes back to the request.
    again = client.get(f"/phr/consents/{rid}/deny", follow_redirects=False)
    assert location(again) == f"/phr/consents/{rid}"
    r = client.post(f"/phr/consents/{rid}/deny")
    assert r.status_code == 409 and "no longer waiting" in alert(r.text)
    r = client.post(f"/phr/consents/{rid}/revoke", data={})
    assert r.status_code == 409


def test_a_request_with_nothing_linked_offers_linking(client, runtime, bridge, sita):
    rid = request_id(runtime, bridge, sita)
    log_in(client, runtime, sita)
    page = client.get(f"/phr/consents/{rid}").text
    assert 'id="nothing-linked"' in page and 'href="/phr/link"' in page
    assert 'id="approve-form"' not in page and f"/phr/consents/{rid}/deny" in page


def test_another_patients_consent_is_a_404_page(client, runtime, bridge, linked, sita):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, sita)
    assert f"/phr/consents/{rid}" not in client.get("/phr/consents").text
    for path in (
        f"/phr/consents/{rid}",
        f"/phr/consents/{rid}/deny",
        f"/phr/consents/{rid}/revoke",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "no such consent request among yours" in alert(r.text)
        assert "Health records (PHR)" in r.text  # still logged in: the patient's header
    for action in ("approve", "deny", "revoke"):
        r = client.post(f"/phr/consents/{rid}/{action}", data={"hips": [HIP_A]})
        assert r.status_code == 404, action
    assert client.get(f"/phr/consents/{uuid.uuid4()}").status_code == 404
    assert client.get("/phr/consents/not-a-uuid").status_code == 404
    assert [r.status for r in rows(runtime, ConsentRequest)] == ["REQUESTED"]
    assert rows(runtime, ConsentArtefact) == []
    assert {e.outcome for e in audit(runtime, "phr.consent.read")} == {"not_found"}


def test_a_form_posted_from_another_site_is_refused(client, runtime, bridge, linked):
    rid = request_id(runtime, bridge, linked)
    log_in(client, runtime, linked)
    evil = {"Origin": "https://evil.example"}
    for path, form in (
        (f"/phr/consents/{rid}/approve", {"hips": [HIP_A], "hi_types": ["Prescription"]}),
        (f"/phr/consents/{rid}/deny", {}),
        ("/phr/link", {"hip": HIP_A}),
    ):
        r = client.post(path, data=form, headers=evil)
        assert r.status_code == 403 and "another web site" in r.text, path
    assert [r.status for r in rows(runtime, ConsentRequest)] == ["REQUESTED"]
    assert rows(runtime, LinkTransaction) == []
    r = client.post(
        f"/phr/consents/{rid}/deny", headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert r.status_code == 303
