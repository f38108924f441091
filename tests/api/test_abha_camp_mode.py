"""Camp-mode enrolment at the desk (demographic details, no OTP): its pages show what
really happened (no OTP step, identity matched to the Aadhaar records, mobile not
verified) and let the operator choose the ABHA address with the person, as the OTP path
does; only the operator who enrolled may, while the enrolment is fresh."""

from __future__ import annotations

import re

from healthstack.kernel.context import Role
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from tests.factories_abha import count, create_account, load_account
from tests.factories_abha_pages import alert, audit, demographic_data, log_in, resident, state


def _steps(page: str) -> list[tuple[str, str]]:
    found = re.search(r'<ol class="steps"[^>]*>(.*?)</ol>', page, re.S)
    assert found, "no steps shown"
    return [
        (label.strip(), (cls or "todo").strip())
        for cls, label in re.findall(r'<li(?: class="([a-z]+)")?[^>]*>([^<]+)</li>', found.group(1))
    ]


def _suggestions(page: str) -> list[str]:
    return re.findall(r'name="choice" value="([a-z0-9._]+)"', page)


def _enrol(client, runtime) -> str:
    r = client.post("/desk/demographic", data=demographic_data(resident(runtime)))
    assert r.status_code == 200, alert(r.text)
    return r.text


def test_the_address_step_follows_and_no_otp_step_is_shown(client, runtime, make_staff):
    log_in(client, make_staff)
    page = _enrol(client, runtime)
    assert "Choose the ABHA address" in page
    assert 'action="/desk/demographic/address"' in page
    assert _steps(page) == [
        ("Details and consent", "done"),
        ("ABHA address", "current"),
        ("Done", "todo"),
    ]
    assert "OTP" not in " ".join(label for label, _ in _steps(page))
    assert _suggestions(page), "no address suggested"


def test_the_chosen_address_is_the_abhas_and_the_result_says_what_happened(
    client, runtime, make_staff
):
    log_in(client, make_staff)
    page = _enrol(client, runtime)
    choice = _suggestions(page)[0]
    r = client.post(
        "/desk/demographic/address",
        data={**state(page, "txn_id", "consent_version"), "choice": choice},
    )
    assert r.status_code == 200, alert(r.text)
    assert re.search(r'id="abha-address">([^<]+)<', r.text).group(1) == f"{choice}@sbx"
    assert [s for _, s in _steps(r.text)] == ["done", "done", "current"]
    assert "OTP" not in " ".join(label for label, _ in _steps(r.text))
    kyc = re.search(r'id="kyc-method">([^<]+)<', r.text).group(1)
    assert "demographic" in kyc and "no OTP" in kyc
    assert "not verified yet" in re.search(r'id="mobile-status">([^<]+)<', r.text).group(1)
    number = re.search(r'id="abha-number">([^<]+)<', r.text).group(1).replace("-", "")
    account = load_account(runtime, number)
    assert [(a.handle, a.is_preferred) for a in account.addresses] == [(choice, True)]
    assert audit(runtime, "abha.address.create", "success")


def test_an_own_address_or_a_taken_one(client, runtime, make_staff):
    log_in(client, make_staff)
    create_account(runtime, mobile="9876500099", handle="ravi.camp.2026")
    page = _enrol(client, runtime)
    carried = state(page, "txn_id", "consent_version")
    r = client.post(
        "/desk/demographic/address",
        data={**carried, "choice": "custom", "custom": "ravi.camp.2026"},
    )
    assert r.status_code == 409 and "taken" in alert(r.text)
    assert _suggestions(r.text) and 'value="ravi.camp.2026"' in r.text  # kept, fresh ones
    r = client.post(
        "/desk/demographic/address", data={**carried, "choice": "custom", "custom": "1x"}
    )
    assert r.status_code == 400 and 'value="1x"' in r.text
    r = client.post(
        "/desk/demographic/address",
        data={**carried, "choice": "custom", "custom": "ravi.at.camp"},
    )
    assert r.status_code == 200, alert(r.text)
    assert "ravi.at.camp@sbx" in r.text


def test_another_operator_cannot_choose_the_address(client, runtime, make_staff):
    log_in(client, make_staff)
    page = _enrol(client, runtime)
    carried = state(page, "txn_id", "consent_version")
    client.post("/logout")
    log_in(client, make_staff)  # another desk clerk, same facility
    r = client.post("/desk/demographic/address", data={**carried, "choice": _suggestions(page)[0]})
    assert r.status_code == 404 and "not found" in alert(r.text).lower()
    assert count(runtime, AbhaAddress) == 0


def test_a_stale_enrolment_says_to_start_again(client, runtime, make_staff, clock):
    log_in(client, make_staff)
    page = _enrol(client, runtime)
    clock.advance(seconds=runtime.settings.abha.txn_ttl_seconds + 1)
    log_in(client, make_staff)  # the staff session would have lapsed too
    r = client.post(
        "/desk/demographic/address",
        data={**state(page, "txn_id", "consent_version"), "choice": _suggestions(page)[0]},
    )
    assert r.status_code >= 400 and "expired" in alert(r.text)
    assert count(runtime, AbhaAddress) == 0


def test_a_doctor_may_not_use_camp_mode(client, runtime, make_staff):
    log_in(client, make_staff)
    page = _enrol(client, runtime)
    carried = state(page, "txn_id", "consent_version")
    client.post("/logout")
    log_in(client, make_staff, Role.DOCTOR)
    r = client.post("/desk/demographic/address", data={**carried, "choice": "ravi.x.2026"})
    assert r.status_code == 403
    assert count(runtime, AbhaAddress) == 0


def test_an_existing_abha_is_shown_as_existing(client, runtime, make_staff):
    log_in(client, make_staff)
    aadhaar = resident(runtime)
    first = client.post("/desk/demographic", data=demographic_data(aadhaar))
    assert "Choose the ABHA address" in first.text
    r = client.post("/desk/demographic", data=demographic_data(aadhaar))
    assert r.status_code == 200
    assert "This ABHA already exists" in r.text and "no second one was made" in r.text
    assert 'class="steps"' not in r.text and "Choose the ABHA address" not in r.text
    assert count(runtime, AbhaAccount) == 1
