"""The ABHA pages through form posts (TestClient): the registration desk and the patient's
own area. OTPs are read from ``/dev/sms.json`` as a tester would.

Besides the flows, every bad input checks that the page says what to do next in its
``role=alert`` box, keeps what was typed, and leaves nothing half written; and no URL
the browser is sent to carries personal data.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from healthstack.accounts.permissions import PERMISSIONS
from healthstack.identity.models import OtpTransaction
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha import card as card_service
from healthstack.network.abha.enrol.pages import (
    DemographicForm,
    check_demographic_form,
    parse_form_date,
)
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.settings import DEFAULT_STATE_PROFILE, load_state_profile
from healthstack.web.deps import PATIENT_COOKIE
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import count, create_account, load_account, new_aadhaar, wrong
from tests.factories_abha_pages import (
    AADHAAR_MOBILE,
    alert,
    audit,
    demographic_data,
    last_otp,
    log_in,
    login_otp,
    resident,
    state,
    verify_login,
)
from tests.factories_pages import PAGE_ROUTES, LabelCheck, hidden

OTHER_MOBILE = "9876500022"
JK = load_state_profile(DEFAULT_STATE_PROFILE)


# --------------------------------------------------------------------------- helpers


class Urls:
    """Every URL the client asked for, redirects included (not the test's own reads of
    the developer SMS outbox)."""

    def __init__(self, client):
        self.seen: list[str] = []
        client.event_hooks["request"] = [self.record]

    def record(self, request) -> None:
        if not request.url.path.startswith("/dev/"):
            self.seen.append(str(request.url))

    def assert_clean(self, *values: str) -> None:
        joined = " ".join(self.seen).lower()
        for value in values:
            assert value.lower() not in joined, "personal data in a URL"


def start_desk_enrolment(client, aadhaar: str) -> str:
    page = client.get("/desk/enrol").text
    version = re.search(r'name="consent" value="([^"]+)"', page).group(1)
    r = client.post("/desk/enrol/otp", data={"consent": version, "aadhaar": aadhaar})
    assert r.status_code == 200, alert(r.text)
    return r.text


def verify_aadhaar(client, prefix: str, page: str, otp: str, comm_mobile: str = ""):
    return client.post(
        f"{prefix}/verify", data={**state(page), "otp": otp, "comm_mobile": comm_mobile}
    )


def choose(client, prefix: str, page: str, **choice: str):
    return client.post(
        f"{prefix}/address", data={**state(page, "txn_id", "consent_version"), **choice}
    )


def suggestions(page: str) -> list[str]:
    return [v for v in re.findall(r'name="choice" value="([^"]+)"', page) if v != "custom"]


def labelled(page: str) -> str:
    """The page, after checking that every input on it has a label."""
    missing = LabelCheck.run(page)
    assert not missing, f"inputs without a label: {missing}"
    return page


# --------------------------------------------------------------------------- access


DESK_PAGES = ["/desk", "/desk/enrol", "/desk/demographic", "/desk/search", "/desk/scan"]


def test_desk_pages_redirect_to_login_when_logged_out(client):
    for path in DESK_PAGES + [f"/desk/accounts/{uuid.uuid4()}"]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={path}"
    # A post from a session that ran out goes to the start of its flow.
    r = client.post("/desk/enrol/verify", data={"otp": "123456"}, follow_redirects=False)
    assert r.headers["location"] == "/login?next=/desk/enrol"


def test_a_role_without_desk_rights_gets_a_clear_403_page(client, make_staff, runtime):
    verifier = log_in(client, make_staff, Role.REGISTRY_VERIFIER)
    for path in DESK_PAGES:
        r = client.get(path)
        assert r.status_code == 403, path
        assert "registry verifier" in alert(r.text) and "facility admin" in alert(r.text)
        assert verifier.username in r.text  # still logged in: the header says who
    account = create_account(runtime, mobile="9876500099")
    r = client.get(f"/desk/accounts/{account.public_id}/card.pdf")
    assert r.status_code == 403
    denied = audit(runtime, "abha.card.download", "denied")
    assert [row.resource_id for row in denied] == [str(account.public_id)]


STAFF_FORMS = sorted(path for (_, path), gate in PAGE_ROUTES.items() if gate.startswith("abha."))
PATIENT_FORMS = sorted(path for (_, path), gate in PAGE_ROUTES.items() if gate == "patient")


@pytest.mark.parametrize("path", STAFF_FORMS)
def test_desk_form_permission_matrix(client, make_staff, path):
    """Each desk form post, four ways (DESIGN §4.8): logged out, a forbidden role, a
    permitted role, and a permitted role of another facility (ABHA is national)."""
    action = PAGE_ROUTES[("POST", path)]
    r = client.post(path, data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/desk")
    forbidden = next(role for role in Role if role not in PERMISSIONS[action])
    log_in(client, make_staff, forbidden)
    assert client.post(path, data={}).status_code == 403
    permitted = next(role for role in Role if role in PERMISSIONS[action])
    for facility in (FACILITY_A, FACILITY_B):
        client.cookies.clear()
        staff = make_staff(permitted, facility_id=facility)
        client.post("/login", data={"username": staff.username, "password": staff.password})
        r = client.post(path, data={}, follow_redirects=False)
        assert r.status_code not in (303, 401, 403), f"{permitted}: {r.status_code}"


@pytest.mark.parametrize("path", PATIENT_FORMS)
def test_patient_forms_need_the_patient_cookie(client, make_staff, path):
    r = client.post(path, data={"kind": "mobile", "value": OTHER_MOBILE}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")
    log_in(client, make_staff, Role.STATE_ADMIN)  # a staff session is not a patient's
    r = client.post(path, data={"kind": "mobile", "value": OTHER_MOBILE}, follow_redirects=False)
    assert r.status_code == 303


def test_a_doctor_may_enrol_by_otp_but_not_in_camp_mode(client, make_staff):
    log_in(client, make_staff, Role.DOCTOR)
    assert client.get("/desk/enrol").status_code == 200
    home = client.get("/desk").text
    assert "/desk/demographic" not in home
    r = client.get("/desk/demographic")
    assert r.status_code == 403 and "camp mode" in alert(r.text)
    r = client.post("/desk/demographic", data={"name": "x"})
    assert r.status_code == 403


def test_every_page_renders_with_a_label_on_every_input(client, make_staff):
    log_in(client, make_staff)
    pages = DESK_PAGES + ["/patient/login", "/patient/enrol"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        unlabelled = LabelCheck.run(r.text)
        assert not unlabelled, f"{path}: inputs without a label: {unlabelled}"
    r = client.get("/patient", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")


def test_a_form_posted_from_another_site_is_refused(client, make_staff):
    log_in(client, make_staff)
    r = client.post(
        "/desk/search",
        data={"mode": "mobile", "mobile": AADHAAR_MOBILE},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "another web site" in r.text
    r = client.post(
        "/desk/search",
        data={"mode": "mobile", "mobile": AADHAAR_MOBILE},
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 200


# --------------------------------------------------------------------------- desk: Aadhaar OTP


def test_desk_creates_an_abha_by_aadhaar_otp_with_a_second_mobile(client, runtime, make_staff):
    staff = log_in(client, make_staff)
    urls = Urls(client)
    aadhaar = resident(runtime)
    page = start_desk_enrolment(client, aadhaar)
    assert "ending with XXXXXX0011" in labelled(page) and 'name="otp"' in page
    assert 'data-wait="60"' in page  # the resend countdown

    r = verify_aadhaar(client, "/desk/enrol", page, last_otp(client, AADHAAR_MOBILE), OTHER_MOBILE)
    assert r.status_code == 200, alert(r.text)
    assert "Verify the mobile" in labelled(r.text) and "ending with XXXXXX0022" in r.text
    mobile_state = state(
        r.text, "txn_id", "consent_version", "resend_at", "resends", "mobile", "mobile_txn_id"
    )
    r = client.post(
        "/desk/enrol/mobile/verify",
        data={**mobile_state, "otp": wrong(last_otp(client, OTHER_MOBILE))},
    )
    assert r.status_code == 400 and "2 tries left" in alert(r.text)
    r = client.post(
        "/desk/enrol/mobile/verify", data={**mobile_state, "otp": last_otp(client, OTHER_MOBILE)}
    )
    assert r.status_code == 200, alert(r.text)
    offered = suggestions(r.text)
    assert len(offered) >= 3 and 'value="custom"' in labelled(r.text)

    r = choose(client, "/desk/enrol", r.text, choice=offered[0])
    assert r.status_code == 200, alert(r.text)
    number = re.search(r'id="abha-number">([^<]+)<', r.text).group(1)
    assert re.fullmatch(r"\d{2}-\d{4}-\d{4}-\d{4}", number)
    assert f"{offered[0]}@sbx" in r.text
    pdf_link = re.search(r'href="(/desk/accounts/[0-9a-f-]+/card\.pdf)"', r.text).group(1)
    assert "Print ABHA card" in r.text and "Download PNG" in r.text

    pdf = client.get(pdf_link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].endswith(f'-{number[-4:]}.pdf"')
    png = client.get(pdf_link.replace(".pdf", ".png"))
    assert png.content.startswith(b"\x89PNG")

    account = load_account(runtime, number.replace("-", ""))
    assert (account.mobile, account.mobile_verified) == (OTHER_MOBILE, True)
    assert [(a.handle, a.is_preferred) for a in account.addresses] == [(offered[0], True)]
    assert account.enrolled_by == staff.public_id and account.enrolled_at_facility
    assert audit(runtime, "abha.enrol.by_aadhaar", "success")
    assert audit(runtime, "abha.card.download", "success")
    # Nothing personal travelled in a URL: not the Aadhaar, the mobiles, the OTP or the name.
    urls.assert_clean(aadhaar, AADHAAR_MOBILE, OTHER_MOBILE, "ravi", number.replace("-", ""))


def test_the_same_mobile_goes_straight_to_the_address(client, runtime, make_staff):
    log_in(client, make_staff)
    page = start_desk_enrolment(client, resident(runtime))
    r = verify_aadhaar(
        client, "/desk/enrol", page, last_otp(client, AADHAAR_MOBILE), AADHAAR_MOBILE
    )
    assert r.status_code == 200 and "Choose the ABHA address" in r.text
    # An own address typed without ticking its radio button is the one taken.
    r = choose(client, "/desk/enrol", r.text, custom="Ravi.Sharma.Sgr")
    assert r.status_code == 200, alert(r.text)
    assert "ravi.sharma.sgr@sbx" in r.text


def test_the_second_mobile_can_be_verified_later(client, runtime, make_staff):
    log_in(client, make_staff)
    page = start_desk_enrolment(client, resident(runtime))
    otp = last_otp(client, AADHAAR_MOBILE)
    r = verify_aadhaar(client, "/desk/enrol", page, otp, OTHER_MOBILE)
    names = ("txn_id", "consent_version", "resend_at", "resends", "mobile", "mobile_txn_id")
    r = client.post("/desk/enrol/mobile/resend", data=state(r.text, *names))
    assert r.status_code == 429 and "Wait" in alert(r.text)  # resend only after 60 s
    r = client.post("/desk/enrol/mobile/later", data=state(r.text, *names))
    assert r.status_code == 200 and "stays unverified" in r.text
    r = choose(client, "/desk/enrol", r.text, choice=suggestions(r.text)[0])
    assert "not verified yet" in r.text
    number = re.search(r'id="abha-number">([^<]+)<', r.text).group(1).replace("-", "")
    account = load_account(runtime, number)
    assert (account.mobile, account.mobile_verified) == (OTHER_MOBILE, False)


def test_the_same_aadhaar_again_shows_the_existing_abha(client, runtime, make_staff):
    log_in(client, make_staff)
    existing = create_account(runtime, mobile=AADHAAR_MOBILE)
    page = start_desk_enrolment(client, existing.test_aadhaar)
    r = verify_aadhaar(client, "/desk/enrol", page, last_otp(client, AADHAAR_MOBILE))
    assert r.status_code == 200
    assert "already exists" in r.text
    assert existing.abha_number[-4:] in r.text
    assert count(runtime, AbhaAccount) == 1


def test_invalid_aadhaar_and_missing_consent_keep_the_form(client, runtime, make_staff):
    log_in(client, make_staff)
    bad = new_aadhaar()[:-1] + str((int(new_aadhaar()[-1]) + 1) % 10)
    page = client.get("/desk/enrol").text
    version = re.search(r'name="consent" value="([^"]+)"', page).group(1)

    r = client.post("/desk/enrol/otp", data={"consent": version, "aadhaar": bad})
    assert r.status_code == 400
    assert "check digit" in alert(r.text)
    assert f'value="{bad}"' in r.text and "checked" in r.text  # typed values kept

    r = client.post("/desk/enrol/otp", data={"aadhaar": resident(runtime)})
    assert r.status_code == 400 and "Tick the consent box" in alert(r.text)

    r = client.post("/desk/enrol/otp", data={"consent": "0.9", "aadhaar": resident(runtime)})
    assert r.status_code == 400 and "consent text has changed" in alert(r.text)

    unknown = new_aadhaar()
    r = client.post("/desk/enrol/otp", data={"consent": version, "aadhaar": unknown})
    assert r.status_code == 404 and "not found in UIDAI records" in alert(r.text)
    assert count(runtime, OtpTransaction) == 0
    assert audit(runtime, "abha.enrol.request_otp", "failed")  # refusals are audited too


def test_wrong_otp_shows_tries_left_then_locks_out(client, runtime, make_staff):
    log_in(client, make_staff)
    page = start_desk_enrolment(client, resident(runtime))
    otp = last_otp(client, AADHAAR_MOBILE)
    r = verify_aadhaar(client, "/desk/enrol", page, wrong(otp), OTHER_MOBILE)
    assert r.status_code == 400 and "2 tries left" in alert(r.text)
    assert f'value="{OTHER_MOBILE}"' in r.text  # the communication mobile is kept
    r = verify_aadhaar(client, "/desk/enrol", r.text, wrong(otp))
    assert "1 try left" in alert(r.text)
    r = verify_aadhaar(client, "/desk/enrol", r.text, wrong(otp))
    assert r.status_code == 429 and "blocked for 30 minutes" in alert(r.text)
    r = verify_aadhaar(client, "/desk/enrol", r.text, otp)
    assert r.status_code == 429 and "Too many wrong OTPs" in alert(r.text)
    assert count(runtime, AbhaAccount) == 0
    assert otp not in r.text


def test_expired_otp_and_early_resend(client, runtime, clock, make_staff):
    log_in(client, make_staff)
    page = start_desk_enrolment(client, resident(runtime))
    r = client.post("/desk/enrol/resend", data=state(page))
    assert r.status_code == 429 and "Wait 60 more seconds" in alert(r.text)

    clock.advance(seconds=61)
    r = client.post("/desk/enrol/resend", data=state(page))
    assert r.status_code == 200 and "A new OTP was sent" in r.text
    assert "1 more time" in r.text and hidden(r.text, "resends") == "1"

    clock.advance(seconds=601)
    r = verify_aadhaar(client, "/desk/enrol", r.text, last_otp(client, AADHAAR_MOBILE))
    assert r.status_code == 400 and "expired" in alert(r.text)
    assert count(runtime, AbhaAccount) == 0


def test_a_new_request_within_a_minute_is_told_to_wait(client, runtime, make_staff):
    log_in(client, make_staff)
    aadhaar = resident(runtime)
    start_desk_enrolment(client, aadhaar)
    page = client.get("/desk/enrol").text
    version = re.search(r'name="consent" value="([^"]+)"', page).group(1)
    r = client.post("/desk/enrol/otp", data={"consent": version, "aadhaar": aadhaar})
    assert r.status_code == 429
    message = alert(r.text)
    assert "60 more seconds" in message and "txnId" not in message


def test_taken_and_invalid_addresses_keep_the_form(client, runtime, make_staff):
    log_in(client, make_staff)
    create_account(runtime, mobile="9876500099", handle="ravi.kumar1990", with_resident=False)
    page = start_desk_enrolment(client, resident(runtime))
    page = verify_aadhaar(client, "/desk/enrol", page, last_otp(client, AADHAAR_MOBILE)).text

    r = choose(client, "/desk/enrol", page, choice="custom", custom="Ravi.Kumar1990")
    assert r.status_code == 409 and "taken" in alert(r.text)
    assert 'value="Ravi.Kumar1990"' in r.text and len(suggestions(r.text)) >= 3
    assert "ravi.kumar1990" not in suggestions(r.text)

    r = choose(client, "/desk/enrol", r.text, choice="custom", custom="ab")
    assert r.status_code == 400 and "8 to 18 characters" in alert(r.text)
    r = choose(client, "/desk/enrol", r.text)
    assert r.status_code == 400 and "Choose one of the suggested" in alert(r.text)
    assert count(runtime, AbhaAddress) == 1

    r = choose(client, "/desk/enrol", r.text, choice="custom", custom="ravi.kumar.1990")
    assert r.status_code == 200 and "ravi.kumar.1990@sbx" in r.text


def test_a_tampered_transaction_id_is_refused(client, runtime, make_staff):
    log_in(client, make_staff)
    page = start_desk_enrolment(client, resident(runtime))
    fields = {**state(page), "txn_id": str(uuid.uuid4())}
    r = client.post("/desk/enrol/verify", data={**fields, "otp": last_otp(client, AADHAAR_MOBILE)})
    assert r.status_code == 404 and "Start again" in alert(r.text)
    # Another staff member cannot continue this one's enrolment.
    client.cookies.clear()
    log_in(client, make_staff)
    r = verify_aadhaar(client, "/desk/enrol", page, last_otp(client, AADHAAR_MOBILE))
    assert r.status_code == 404 and count(runtime, AbhaAccount) == 0


# --------------------------------------------------------------------------- desk: camp mode


def test_demographic_enrolment(client, runtime, make_staff):
    log_in(client, make_staff)
    aadhaar = resident(runtime)
    page = client.get("/desk/demographic").text
    assert "Srinagar" in page and 'name="district_lgd"' in page

    r = client.post("/desk/demographic", data=demographic_data(aadhaar, name="Ravi Kumar Shrama"))
    assert r.status_code == 200, alert(r.text)
    # Then the ABHA address, as after an Aadhaar OTP (tests/api/test_abha_camp_mode.py).
    choice = re.search(r'name="choice" value="([a-z0-9._]+)"', r.text).group(1)
    r = client.post(
        "/desk/demographic/address",
        data={**state(r.text, "txn_id", "consent_version"), "choice": choice},
    )
    assert r.status_code == 200, alert(r.text)
    number = re.search(r'id="abha-number">([^<]+)<', r.text).group(1)
    assert "not verified yet" in r.text
    account = load_account(runtime, number.replace("-", ""))
    assert (account.kyc_method, account.mobile, account.mobile_verified) == (
        "demographic",
        "9876500033",
        False,
    )
    assert account.district_lgd == 13

    r = client.post("/desk/demographic", data=demographic_data(aadhaar))
    assert r.status_code == 200 and "already exists" in r.text
    assert count(runtime, AbhaAccount) == 1


def test_demographic_bad_inputs(client, runtime, make_staff):
    log_in(client, make_staff)
    aadhaar = resident(runtime)
    r = client.post(
        "/desk/demographic",
        data=demographic_data(
            aadhaar, consent="", pincode="012345", district_lgd="", birth_date="31-02-1990", name=""
        ),
    )
    assert r.status_code == 400
    message = alert(r.text)
    for expected in ("tick the box", "PIN code", "district", "not a date", "name exactly"):
        assert expected in message
    assert 'value="House 12, Rajbagh"' in r.text and 'value="9876500033"' in r.text

    r = client.post("/desk/demographic", data=demographic_data(aadhaar, gender="F"))
    assert r.status_code == 400 and "does not match the Aadhaar records" in alert(r.text)
    r = client.post("/desk/demographic", data=demographic_data(aadhaar, mobile="12345"))
    assert r.status_code == 400 and "10 digits" in alert(r.text)
    assert count(runtime, AbhaAccount) == 0
    assert audit(runtime, "abha.enrol.demographic", "failed")


def test_demographic_form_rules():
    today = date(2026, 11, 26)
    form = DemographicForm(
        aadhaar="x",
        name="A",
        gender="M",
        year_of_birth="1985",
        mobile="9",
        address_line="a",
        district_lgd="13",
        pincode="190001",
        consent="1.4",
    )
    errors, checked = check_demographic_form(form, profile=JK, consent_version="1.4", today=today)
    assert errors == [] and checked.year_of_birth == 1985 and checked.birth_date is None
    form.year_of_birth = "2030"
    assert (
        "between 1900 and 2026"
        in check_demographic_form(form, profile=JK, consent_version="1.4", today=today)[0][0]
    )
    form.year_of_birth, form.birth_date = "1985", "12/04/1986"
    assert (
        "disagree"
        in check_demographic_form(form, profile=JK, consent_version="1.4", today=today)[0][0]
    )
    assert parse_form_date("12/04/1986") == date(1986, 4, 12)
    assert parse_form_date("1986-04-12") == date(1986, 4, 12)
    assert parse_form_date("31-02-1986") is None and parse_form_date("yesterday") is None


# --------------------------------------------------------------------------- desk: verify


def test_search_profile_and_scan(client, runtime, make_staff):
    log_in(client, make_staff)
    account = create_account(runtime, mobile="9876500044", handle="ravi.sharma1990")
    r = client.post("/desk/search", data={"mode": "mobile", "mobile": "9876500044"})
    assert r.status_code == 200
    assert f"XX-XXXX-XXXX-{account.abha_number[-4:]}" in r.text
    assert "R*** K**** S*****" in r.text and "Ravi" not in r.text
    link = f"/desk/accounts/{account.public_id}"
    assert link in r.text

    r = client.get(link)
    assert r.status_code == 200
    assert "Ravi Kumar Sharma" in r.text and "ravi.sharma1990@sbx" in r.text
    assert f"XXXX XXXX {account.test_aadhaar[-4:]}" in r.text
    assert audit(runtime, "abha.account.read", "success")

    r = client.post("/desk/search", data={"mode": "name", "name": "Ravi Sharma"})
    assert r.status_code == 400 and "year of birth" in alert(r.text)
    assert 'value="Ravi Sharma"' in r.text
    r = client.post(
        "/desk/search", data={"mode": "name", "name": "Ravi Sharma", "year_of_birth": "1990"}
    )
    assert r.status_code == 200 and link in r.text
    r = client.post("/desk/search", data={"mode": "number", "number": "12-3456"})
    assert r.status_code == 400 and "14 digits" in alert(r.text)
    r = client.post("/desk/search", data={"mode": "mobile", "mobile": "9876500045"})
    assert r.status_code == 200 and "No ABHA is linked" in r.text

    qr = card_service.qr_text(load_account(runtime, account.abha_number), "sbx")
    r = client.post("/desk/scan", data={"qr_text": qr})
    assert r.status_code == 200 and link in r.text and "ABHA found" in r.text
    r = client.post("/desk/scan", data={"qr_text": "hello"})
    assert r.status_code == 400 and "not the text of an ABHA QR code" in alert(r.text)
    r = client.post("/desk/scan", files={"image": ("card.jpg", b"not an image", "image/jpeg")})
    assert r.status_code == 400 and "not an image" in alert(r.text)
    r = client.post("/desk/scan", data={"qr_text": ""})
    assert r.status_code == 400 and "paste the QR text" in alert(r.text)
    png = card_service.render_png(load_account(runtime, account.abha_number), "sbx")
    r = client.post("/desk/scan", files={"image": ("card.png", png, "image/png")})
    assert r.status_code == 200 and link in r.text

    r = client.get(f"/desk/accounts/{uuid.uuid4()}")
    assert r.status_code == 404 and "Search for the person again" in alert(r.text)


# --------------------------------------------------------------------------- patient


def test_patient_logs_in_by_mobile_picks_an_abha_and_downloads_the_card(client, runtime):
    urls = Urls(client)
    mine = create_account(runtime, mobile="9876500055", name="Zahoor Ahmad Mir")
    create_account(runtime, mobile="9876500055", name="Shazia Mir", gender="F")

    r = login_otp(client, "mobile", "9876500055")
    assert r.status_code == 200 and "ending with XXXXXX0055" in labelled(r.text)
    r = verify_login(client, r.text, wrong(last_otp(client, "9876500055")))
    assert r.status_code == 400 and "2 tries left" in alert(r.text)
    r = verify_login(client, r.text, last_otp(client, "9876500055"))
    assert r.status_code == 200 and "Choose your ABHA" in labelled(r.text)
    assert "Z***** A**** M**" in r.text and "S***** M**" in r.text
    assert "Zahoor" not in r.text and mine.abha_number not in r.text
    refs = re.findall(r'name="account_ref" value="([^"]+)"', r.text)
    assert len(refs) == 2

    r = client.post(
        "/patient/login/pick",
        data={"txn_id": hidden(r.text, "txn_id"), "account_ref": refs[0]},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/patient")
    cookie = r.headers["set-cookie"]
    assert f"{PATIENT_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie

    r = client.get("/patient")
    assert r.status_code == 200 and "Zahoor Ahmad Mir" in labelled(r.text)
    assert f"XX-XXXX-XXXX-{mine.abha_number[-4:]}" in r.text  # the header badge
    assert audit(runtime, "abha.profile.read", "success")
    pdf = client.get("/patient/card.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/patient/card.png").content.startswith(b"\x89PNG")

    r = client.post("/patient/logout", follow_redirects=False)
    assert r.headers["location"] == "/patient/login"
    assert client.get("/patient", follow_redirects=False).status_code == 303
    assert client.get("/patient/card.pdf", follow_redirects=False).status_code == 303
    urls.assert_clean("9876500055", mine.abha_number, "zahoor")


def test_patient_logs_in_by_abha_number_or_address(client, runtime):
    account = create_account(runtime, mobile="9876500066", handle="zahoor.mir1990")
    r = login_otp(client, "abha", "zahoor.mir1990@sbx")
    assert r.status_code == 200, alert(r.text)
    r = verify_login(client, r.text, last_otp(client, "9876500066"))
    assert (r.status_code, r.headers["location"]) == (303, "/patient")
    assert client.get("/patient/login", follow_redirects=False).headers["location"] == "/patient"
    client.post("/patient/logout")

    r = login_otp(client, "abha", AbhaNumberText.of(account.abha_number))
    assert r.status_code == 200, alert(r.text)
    r = login_otp(client, "abha", account.abha_number)
    assert r.status_code == 429  # the same person asked under a minute ago
    assert "less than a minute ago" in alert(r.text) and "/abha/api" not in r.text


class AbhaNumberText:
    @staticmethod
    def of(digits: str) -> str:
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def test_patient_login_errors(client, runtime):
    r = login_otp(client, "mobile", "")
    assert r.status_code == 400 and "Enter the mobile number" in alert(r.text)
    r = login_otp(client, "mobile", "9876500077")
    assert r.status_code == 404 and "No active ABHA is linked to this mobile" in alert(r.text)
    assert 'value="9876500077"' in r.text
    r = login_otp(client, "abha", "12-3456")
    assert r.status_code == 404 or r.status_code == 400
    r = login_otp(client, "aadhaar", "123412341234")
    assert r.status_code == 400 and "Aadhaar" in alert(r.text)
    r = client.post("/patient/login/pick", data={"txn_id": str(uuid.uuid4()), "account_ref": "x"})
    assert r.status_code == 401 and "Log in" in alert(r.text)


def test_deactivated_abha_is_offered_reactivation(client, runtime):
    by_mobile = create_account(runtime, mobile="9876500088", status="DEACTIVATED")
    r = login_otp(client, "mobile", "9876500088")
    assert r.status_code == 404 and "No active ABHA" in alert(r.text)
    assert "Reactivate my ABHA" in r.text
    r = login_otp(client, "mobile", "9876500088", reactivate="1")
    assert r.status_code == 200, alert(r.text)
    r = verify_login(client, r.text, last_otp(client, "9876500088"))
    refs = re.findall(r'name="account_ref" value="([^"]+)"', r.text)
    r = client.post(
        "/patient/login/pick",
        data={"txn_id": hidden(r.text, "txn_id"), "account_ref": refs[0]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert load_account(runtime, by_mobile.abha_number).status == "ACTIVE"
    client.post("/patient/logout")

    account = create_account(runtime, mobile="9876500089", status="DEACTIVATED")
    r = login_otp(client, "abha", account.abha_number)
    assert r.status_code == 403 and "Reactivate my ABHA" in r.text
    r = login_otp(client, "abha", account.abha_number, reactivate="1")
    assert r.status_code == 200, alert(r.text)
    r = verify_login(client, r.text, last_otp(client, "9876500089"))
    assert r.status_code == 303
    assert load_account(runtime, account.abha_number).status == "ACTIVE"


def test_patient_changes_mobile_and_deactivates(client, runtime, clock):
    account = create_account(runtime, mobile="9876500101")
    r = login_otp(client, "abha", account.abha_number)
    verify_login(client, r.text, last_otp(client, "9876500101"))

    r = client.post("/patient/change/otp", data={"kind": "mobile", "value": ""})
    assert r.status_code == 400 and "new mobile number" in alert(r.text)
    r = client.post("/patient/change/otp", data={"kind": "mobile", "value": "9876500102"})
    assert r.status_code == 200 and "ending with XXXXXX0102" in labelled(r.text)
    fields = state(r.text, "txn_id", "kind", "resend_at", "resends")
    r = client.post(
        "/patient/change/verify", data={**fields, "otp": wrong(last_otp(client, "9876500102"))}
    )
    assert r.status_code == 400 and "2 tries left" in alert(r.text)
    r = client.post(
        "/patient/change/verify", data={**fields, "otp": last_otp(client, "9876500102")}
    )
    assert r.status_code == 200 and "Mobile number is now linked" in r.text
    assert load_account(runtime, account.abha_number).mobile == "9876500102"

    r = client.post("/patient/change/otp", data={"kind": "deactivate"})
    assert r.status_code == 400 and "Tick the box" in alert(r.text)
    clock.advance(seconds=61)
    r = client.post("/patient/change/otp", data={"kind": "deactivate", "confirm": "yes"})
    assert r.status_code == 200, alert(r.text)
    fields = state(r.text, "txn_id", "kind", "resend_at", "resends")
    r = client.post(
        "/patient/change/verify", data={**fields, "otp": last_otp(client, "9876500102")}
    )
    assert r.status_code == 200 and "Your ABHA is deactivated" in r.text
    assert load_account(runtime, account.abha_number).status == "DEACTIVATED"
    assert client.get("/patient", follow_redirects=False).status_code == 303


def test_patient_enrols_themselves(client, runtime):
    urls = Urls(client)
    aadhaar = resident(runtime, mobile="9876500111")
    page = client.get("/patient/enrol").text
    assert "I have read the consent and I agree" in page
    r = client.post("/patient/enrol/otp", data={"consent": "1.4", "aadhaar": aadhaar})
    assert r.status_code == 200, alert(r.text)
    r = verify_aadhaar(client, "/patient/enrol", r.text, last_otp(client, "9876500111"))
    assert r.status_code == 200 and "Choose the ABHA address" in r.text
    r = choose(client, "/patient/enrol", r.text, choice=suggestions(r.text)[0])
    assert r.status_code == 200 and "Your ABHA is ready" in r.text
    assert 'href="/patient/card.pdf"' in r.text
    # Enrolling logged the resident in.
    r = client.get("/patient")
    assert r.status_code == 200 and "Ravi Kumar Sharma" in r.text
    with unit_of_work(runtime.session_factory) as s:
        account = s.scalar(select(AbhaAccount))
        assert account.enrolled_by.startswith("anonymous:")
    urls.assert_clean(aadhaar, "9876500111", account.abha_number)


def test_self_enrolment_cannot_be_continued_from_another_browser(client, runtime, app):
    from fastapi.testclient import TestClient

    aadhaar = resident(runtime, mobile="9876500121")
    client.get("/patient/enrol")
    page = client.post("/patient/enrol/otp", data={"consent": "1.4", "aadhaar": aadhaar}).text
    with TestClient(app) as other:
        r = verify_aadhaar(other, "/patient/enrol", page, last_otp(client, "9876500121"))
        assert r.status_code == 400 and "Allow cookies" in alert(r.text)
        other.get("/patient/enrol")  # a cookie of its own: still not this enrolment's
        r = verify_aadhaar(other, "/patient/enrol", page, last_otp(client, "9876500121"))
        assert r.status_code == 404 and "Start again" in alert(r.text)
    assert count(runtime, AbhaAccount) == 0
    r = verify_aadhaar(client, "/patient/enrol", page, last_otp(client, "9876500121"))
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/patient/enrol/verify", "/desk/enrol/address"])
def test_a_post_without_its_hidden_fields_says_to_start_again(client, make_staff, path):
    log_in(client, make_staff)
    client.get("/patient/enrol")
    r = client.post(path, data={"otp": "123456", "choice": "ravi.kumar1990"})
    assert r.status_code in (400, 404)
    assert "Start again" in alert(r.text) or "start again" in alert(r.text)


def test_login_returns_to_the_phr_page_that_sent_the_patient(client, runtime):
    """The consent manager's SMS links to a PHR page; without a login the page sends
    the patient to log in, and the login brings them back there (a page of the PHR, and
    nothing else: another site or path lands on the profile)."""
    create_account(runtime, mobile="9876500066", name="Rafiq Dar")
    r = client.get("/phr/consents?tab=pending", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/patient/login")
    assert (
        "hs_after_login=" in r.headers["set-cookie"]
        and "Path=/patient/login" in (r.headers["set-cookie"])
    )
    r = _log_in_by_mobile(client, "9876500066")
    assert (r.status_code, r.headers["location"]) == (303, "/phr/consents?tab=pending")
    assert client.get("/phr/consents?tab=pending").status_code == 200
    client.cookies.clear()

    for elsewhere in (
        "https://evil.example/phr",
        "//evil.example/phr",
        "/patient/card.pdf",
        "/phr//evil",
        "/phr/<script>",
    ):
        client.cookies.set("hs_after_login", elsewhere, path="/patient/login")
        r = _log_in_by_mobile(client, "9876500066")
        assert (r.status_code, r.headers["location"]) == (303, "/patient"), elsewhere
        client.cookies.clear()


def _log_in_by_mobile(client, mobile: str):
    """Mobile OTP, then the ABHA on that mobile picked: the login's last answer."""
    r = verify_login(client, login_otp(client, "mobile", mobile).text, last_otp(client, mobile))
    assert r.status_code == 200 and "Choose your ABHA" in labelled(r.text), r.text
    [ref] = re.findall(r'name="account_ref" value="([^"]+)"', r.text)
    return client.post(
        "/patient/login/pick",
        data={"txn_id": hidden(r.text, "txn_id"), "account_ref": ref},
        follow_redirects=False,
    )
