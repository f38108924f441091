"""ABHA enrolment over HTTP: the ABDM v3 flow (CRT_ABHA_101-113) and camp mode (301/302).

Every bad case also checks that nothing was half written: no account or address row,
the ABHA number counter unchanged, and no Aadhaar, OTP or name in the error message.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from healthstack.identity.models import OtpTransaction
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.auth import account_from_token
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.numbers import allocated_count
from tests.conftest import FACILITY_A
from tests.factories_abha_enrolment import (
    TS,
    Enc,
    add_resident,
    enrol_body,
    headers,
    last_otp,
    otp_body,
)

V3 = "/abha/api/v3/enrollment"

# --------------------------------------------------------------------------- helpers


def sms_count(runtime) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def request_otp(client, staff, enc, aadhaar, **extra):
    return client.post(
        f"{V3}/request/otp", json=otp_body(enc, aadhaar, **extra), headers=headers(staff)
    )


def enrol(client, staff, enc, aadhaar, mobile="9876500011"):
    """Request the OTP, read it from the SMS outbox and enrol; returns the response JSON."""
    r = request_otp(client, staff, enc, aadhaar)
    assert r.status_code == 200, r.text
    txn = r.json()["txnId"]
    r = client.post(
        f"{V3}/enrol/byAadhaar",
        headers=headers(staff),
        json=enrol_body(enc, txn, last_otp(client, "9876500011"), mobile=mobile),
    )
    assert r.status_code == 200, r.text
    return r.json()


class Snapshot:
    """Counts that a refused request must leave unchanged."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.before = self.take()

    def take(self):
        with unit_of_work(self.runtime.session_factory) as s:
            return {
                "accounts": s.scalar(select(func.count()).select_from(AbhaAccount)),
                "addresses": s.scalar(select(func.count()).select_from(AbhaAddress)),
                "counter": allocated_count(s),
            }

    def unchanged(self):
        assert self.take() == self.before


def assert_clean_error(r, status, code=None, *secrets):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body["error"]) == {"code", "message"}, body
    if code:
        assert body["error"]["code"] == code, body
    text = json.dumps(body)
    for secret in secrets:
        assert secret not in text, f"error leaks {secret!r}"
    return body["error"]["message"]


def audit_rows(runtime, action, outcome=None):
    with unit_of_work(runtime.session_factory) as s:
        q = select(AuditEvent).where(AuditEvent.action == action)
        if outcome:
            q = q.where(AuditEvent.outcome == outcome)
        return list(s.scalars(q))


@pytest.fixture
def desk(make_staff):
    return make_staff(Role.REGISTRATION_DESK)


@pytest.fixture
def enc(client):
    return Enc(client)


@pytest.fixture
def ravi(runtime):
    return add_resident(runtime)


# --------------------------------------------------------------------------- happy path


def test_full_enrolment_by_aadhaar_otp(client, runtime, desk, enc, ravi):
    r = request_otp(client, desk, enc, ravi)
    assert r.status_code == 200, r.text
    txn_id = r.json()["txnId"]
    assert r.json()["message"].endswith("ending with XXXXXX0011")
    otp = last_otp(client, "9876500011")

    # The transaction never holds the Aadhaar in clear.
    with unit_of_work(runtime.session_factory) as s:
        txn = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        row = json.dumps(txn.state) + str(txn.sent_to) + str(txn.subject_key)
        assert ravi not in row and txn.state["aadhaar_last4"] == ravi[-4:]
        assert txn.state["consent"] == {"code": "abha-enrollment", "version": "1.4"}

    r = client.post(
        f"{V3}/enrol/byAadhaar",
        headers=headers(desk),
        json=enrol_body(enc, txn_id, otp, mobile="9876500011"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["isNew"] is True and body["txnId"] == txn_id
    prof = body["ABHAProfile"]
    number = prof["ABHANumber"]
    assert re.fullmatch(r"91-\d{4}-\d{4}-\d{4}", number)
    digits = number.replace("-", "")
    assert prof["phrAddress"] == [f"{digits}@sbx"]
    assert (prof["firstName"], prof["middleName"], prof["lastName"]) == ("Ravi", "", "Kumar")
    assert prof["dob"] == "22-03-1991" and prof["gender"] == "M"
    assert prof["mobile"] == "9876500011"  # same as the Aadhaar mobile: verified
    assert (prof["districtCode"], prof["stateCode"], prof["pinCode"]) == ("632", "1", "190001")
    assert prof["abhaStatus"] == "ACTIVE" and prof["abhatype"] == "STANDARD"
    tokens = body["tokens"]
    assert tokens["expiresIn"] == 1800 and tokens["refreshExpiresIn"] == 1296000
    assert tokens["id_token"] == tokens["token"]

    with unit_of_work(runtime.session_factory) as s:
        acc = account_from_token(
            s, token=tokens["token"], keyring=runtime.keyring, clock=runtime.clock
        )
        assert acc.abha_number == digits
        assert acc.aadhaar_hash == runtime.hasher.hash("aadhaar", ravi)
        assert acc.aadhaar_last4 == ravi[-4:] and acc.kyc_method == "aadhaar_otp"
        assert acc.kyc_verified and acc.mobile_verified
        assert acc.district_lgd == 632 and acc.name_key == "ravi kumar"
        assert acc.enrolled_by == desk.public_id and acc.enrolled_at_facility == FACILITY_A
        txn = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        assert "aadhaar_sealed" not in txn.state and txn.account_id == acc.id
        assert txn.state["consent"]["accepted_at"]

    # Suggestions (CRT_ABHA_112), then a custom address as the preferred one.
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(desk, TRANSACTION_ID=txn_id))
    assert r.status_code == 200, r.text
    assert r.json()["txnId"] == txn_id
    handles = r.json()["abhaAddressList"]
    assert len(handles) >= 3 and "ravi.kumar1991" in handles

    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": txn_id, "abhaAddress": handles[0], "preferred": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "txnId": txn_id,
        "healthIdNumber": number,
        "preferredAbhaAddress": f"{handles[0]}@sbx",
    }
    # A second address, not preferred: the first stays preferred.
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": txn_id, "abhaAddress": f"{handles[1]}@SBX", "preferred": 0},
    )
    assert r.json()["preferredAbhaAddress"] == f"{handles[0]}@sbx"
    # Then it is made preferred: exactly one preferred address.
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": txn_id, "abhaAddress": handles[1].upper(), "preferred": 1},
    )
    assert r.json()["preferredAbhaAddress"] == f"{handles[1]}@sbx"
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(select(AbhaAddress).order_by(AbhaAddress.id)).all()
        assert [(a.handle, a.is_preferred) for a in rows] == [
            (handles[0], False),
            (handles[1], True),
        ]

    # The same Aadhaar again: the same account, isNew false, never a second one.
    again = enrol(client, desk, enc, ravi)
    assert again["isNew"] is False
    assert again["ABHAProfile"]["ABHANumber"] == number
    assert again["ABHAProfile"]["phrAddress"] == [
        f"{handles[1]}@sbx",
        f"{handles[0]}@sbx",
        f"{digits}@sbx",
    ]
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(AbhaAccount)) == 1
        assert allocated_count(s) == 1

    for action in (
        "abha.enrol.request_otp",
        "abha.enrol.by_aadhaar",
        "abha.account.create",
        "abha.enrol.suggestion",
        "abha.address.create",
        "abha.account.read",
    ):
        rows = audit_rows(runtime, action, "success")
        assert rows, action
        assert all(r.actor_id == desk.public_id and r.purpose == "ENROLMENT" for r in rows)


def test_extra_fields_are_tolerated(client, desk, enc, ravi):
    r = request_otp(client, desk, enc, ravi, somethingNew={"x": 1})
    assert r.status_code == 200, r.text


def test_communication_mobile_verified_by_second_otp(client, runtime, desk, enc, ravi):
    r = request_otp(client, desk, enc, ravi)
    txn_id = r.json()["txnId"]
    r = client.post(
        f"{V3}/enrol/byAadhaar",
        headers=headers(desk),
        json=enrol_body(enc, txn_id, last_otp(client, "9876500011"), mobile="9988776655"),
    )
    body = r.json()
    assert body["isNew"] is True
    assert body["ABHAProfile"]["mobile"] is None  # not verified yet
    assert "mobile-verify" in body["message"] and "auth/byAbdm" in body["message"]

    r = client.post(
        f"{V3}/request/otp",
        headers=headers(desk),
        json={
            "txnId": txn_id,
            "scope": ["abha-enrol", "mobile-verify"],
            "loginHint": "mobile",
            "loginId": enc("9988776655"),
            "otpSystem": "abdm",
        },
    )
    assert r.status_code == 200, r.text
    mobile_txn = r.json()["txnId"]
    assert mobile_txn != txn_id and r.json()["message"].endswith("XXXXXX6655")
    code = last_otp(client, "9988776655")

    verify = {
        "scope": ["abha-enrol", "mobile-verify"],
        "authData": {
            "authMethods": ["otp"],
            "otp": {"timeStamp": TS, "txnId": mobile_txn, "otpValue": enc(wrong(code))},
        },
    }
    r = client.post(f"{V3}/auth/byAbdm", headers=headers(desk), json=verify)
    assert_clean_error(r, 400, "ABDM-1035", code, "9988776655")
    with unit_of_work(runtime.session_factory) as s:
        acc = s.scalars(select(AbhaAccount)).one()
        assert acc.mobile_verified is False

    verify["authData"]["otp"]["otpValue"] = enc(code)
    r = client.post(f"{V3}/auth/byAbdm", headers=headers(desk), json=verify)
    assert r.status_code == 200, r.text
    assert r.json()["authResult"] == "success"
    assert r.json()["accounts"] == [{"ABHANumber": body["ABHAProfile"]["ABHANumber"]}]
    with unit_of_work(runtime.session_factory) as s:
        acc = s.scalars(select(AbhaAccount)).one()
        assert (acc.mobile, acc.mobile_verified) == ("9988776655", True)
    assert audit_rows(runtime, "abha.account.verify_mobile", "failed")
    assert audit_rows(runtime, "abha.account.verify_mobile", "success")

    # The mobile transaction's txnId also leads to the suggestions.
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(desk, TRANSACTION_ID=mobile_txn))
    assert r.status_code == 200 and len(r.json()["abhaAddressList"]) >= 3


def test_mobile_otp_needs_a_completed_enrolment(client, runtime, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    r = client.post(
        f"{V3}/request/otp",
        headers=headers(desk),
        json={
            "txnId": txn_id,
            "scope": ["abha-enrol", "mobile-verify"],
            "loginHint": "mobile",
            "loginId": enc("9988776655"),
            "otpSystem": "abdm",
        },
    )
    assert_clean_error(r, 400, "HS-1109")
    r = client.post(
        f"{V3}/request/otp",
        headers=headers(desk),
        json={
            "scope": ["abha-enrol", "mobile-verify"],
            "loginHint": "mobile",
            "loginId": enc("9988776655"),
            "otpSystem": "abdm",
        },
    )
    assert "txnId is required" in assert_clean_error(r, 400)
    r = client.post(
        f"{V3}/request/otp",
        headers=headers(desk),
        json={
            "scope": ["abha-enrol", "dl-flow"],
            "loginHint": "mobile",
            "loginId": enc("9988776655"),
            "otpSystem": "abdm",
        },
    )
    assert_clean_error(r, 400, "HS-1112")


# --------------------------------------------------------------------------- bad cases


def test_invalid_aadhaar_check_digit(client, runtime, desk, enc, ravi):
    snap, sms = Snapshot(runtime), sms_count(runtime)
    bad = ravi[:-1] + str((int(ravi[-1]) + 1) % 10)
    r = request_otp(client, desk, enc, bad)
    msg = assert_clean_error(r, 400, "HS-1203", bad, ravi)
    assert "check digit" in msg
    snap.unchanged()
    assert sms_count(runtime) == sms
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(OtpTransaction)) == 0
    assert audit_rows(runtime, "abha.enrol.request_otp", "failed")


def test_unknown_aadhaar(client, runtime, desk, enc):
    snap, sms = Snapshot(runtime), sms_count(runtime)
    unknown = aadhaar_with_check_digit("87654321098")
    r = request_otp(client, desk, enc, unknown)
    msg = assert_clean_error(r, 404, "HS-1240", unknown)
    assert "not found in UIDAI records" in msg
    snap.unchanged()
    assert sms_count(runtime) == sms
    rows = audit_rows(runtime, "abha.enrol.request_otp", "not_found")
    assert rows and rows[0].actor_id == desk.public_id


def test_wrong_otp_then_lockout(client, runtime, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code = last_otp(client, "9876500011")
    snap = Snapshot(runtime)
    for left in (2, 1):
        r = client.post(
            f"{V3}/enrol/byAadhaar",
            headers=headers(desk),
            json=enrol_body(enc, txn_id, wrong(code)),
        )
        msg = assert_clean_error(r, 400, "ABDM-1035", code, wrong(code), ravi, "Ravi")
        assert f"{left} tr" in msg
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, wrong(code))
    )
    assert_clean_error(r, 429, "HS-1103", code, ravi)
    # Now even the right OTP is refused, and a new OTP for the same Aadhaar too.
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, code)
    )
    assert_clean_error(r, 429, "HS-1103")
    r = request_otp(client, desk, enc, ravi)
    assert_clean_error(r, 429, "HS-1103", ravi)
    snap.unchanged()
    with unit_of_work(runtime.session_factory) as s:
        txn = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        assert txn.attempts == 3 and txn.status == "LOCKED"
    assert len(audit_rows(runtime, "abha.enrol.by_aadhaar", "failed")) == 4


def test_expired_otp_then_resend(client, runtime, clock, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code = last_otp(client, "9876500011")
    clock.advance(seconds=runtime.settings.otp.ttl_seconds + 1)
    snap = Snapshot(runtime)
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, code)
    )
    msg = assert_clean_error(r, 400, "HS-1102", code)
    assert "expired" in msg
    snap.unchanged()
    # Resend (the same request with the txnId) gives a fresh OTP on the same transaction.
    r = request_otp(client, desk, enc, ravi, txnId=txn_id)
    assert r.status_code == 200 and r.json()["txnId"] == txn_id
    fresh = last_otp(client, "9876500011")
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, fresh)
    )
    assert r.status_code == 200 and r.json()["isNew"] is True


def test_resend_rules(client, runtime, clock, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    sms = sms_count(runtime)
    r = request_otp(client, desk, enc, ravi, txnId=txn_id)
    assert "Wait" in assert_clean_error(r, 429, "HS-1104", ravi)
    # Leaving the txnId out does not get round the 60 s either.
    r = request_otp(client, desk, enc, ravi)
    assert_clean_error(r, 429, "HS-1104", ravi)
    assert sms_count(runtime) == sms
    for _ in range(2):
        clock.advance(seconds=61)
        r = request_otp(client, desk, enc, ravi, txnId=txn_id)
        assert r.status_code == 200 and r.json()["txnId"] == txn_id
    clock.advance(seconds=61)
    r = request_otp(client, desk, enc, ravi, txnId=txn_id)
    assert_clean_error(r, 429, "HS-1106")
    assert sms_count(runtime) == sms + 2
    # A resend may leave out loginId, but may not switch to another Aadhaar.
    other = add_resident(runtime, first11="34567890123", mobile="9876500022")
    clock.advance(seconds=61)
    r = request_otp(client, desk, enc, other, txnId=txn_id)
    assert_clean_error(r, 400, "HS-1113", other)


def test_wrong_consent_does_not_burn_a_try(client, runtime, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code = last_otp(client, "9876500011")
    snap = Snapshot(runtime)
    r = client.post(
        f"{V3}/enrol/byAadhaar",
        headers=headers(desk),
        json=enrol_body(enc, txn_id, code, version="1.0"),
    )
    assert "consent" in assert_clean_error(r, 400, "HS-1261", code)
    body = enrol_body(enc, txn_id, code)
    body["consent"]["code"] = "something-else"
    r = client.post(f"{V3}/enrol/byAadhaar", headers=headers(desk), json=body)
    assert_clean_error(r, 400, "HS-1260")
    snap.unchanged()
    with unit_of_work(runtime.session_factory) as s:
        txn = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        assert txn.attempts == 0 and txn.status == "PENDING"


def test_otp_is_single_use(client, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code = last_otp(client, "9876500011")
    body = enrol_body(enc, txn_id, code)
    assert client.post(f"{V3}/enrol/byAadhaar", headers=headers(desk), json=body).status_code == 200
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, code)
    )
    assert_clean_error(r, 400, "HS-1107", code)


def test_transaction_is_bound_to_who_opened_it(client, runtime, make_staff, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code = last_otp(client, "9876500011")
    other = make_staff(Role.REGISTRATION_DESK)
    snap = Snapshot(runtime)
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(other), json=enrol_body(enc, txn_id, code)
    )
    assert_clean_error(r, 404, None, code)
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(other, TRANSACTION_ID=txn_id))
    assert_clean_error(r, 404)
    snap.unchanged()
    # The owner still can (the other's attempt burnt no try).
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, code)
    )
    assert r.status_code == 200


def test_taken_and_invalid_abha_address(client, runtime, desk, enc, ravi):
    first = enrol(client, desk, enc, ravi)
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": first["txnId"], "abhaAddress": "ravi.kumar1991", "preferred": 1},
    )
    assert r.status_code == 200

    other = add_resident(
        runtime, first11="34567890123", name="Ravi Kumar", mobile="9876500011"
    )  # a family mobile
    second = enrol(client, desk, enc, other)
    assert second["isNew"] is True
    snap = Snapshot(runtime)
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": second["txnId"], "abhaAddress": "RAVI.Kumar1991@sbx", "preferred": 1},
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"]["code"] == "HS-1251" and "taken" in body["error"]["message"]
    assert "Ravi" not in body["error"]["message"] and "ravi" not in body["error"]["message"]
    offered = body["abhaAddressList"]
    assert len(offered) >= 3 and "ravi.kumar1991" not in offered
    snap.unchanged()
    assert audit_rows(runtime, "abha.address.create", "failed")

    for bad, rule in (
        ("rk", "characters"),
        ("9876500011", "mobile"),
        ("ravi..kumar", "follow"),
        ("ravi.kumar@abdm", "@sbx"),
        ("abha.ravi91", "reserved"),
    ):
        r = client.post(
            f"{V3}/enrol/abha-address",
            headers=headers(desk),
            json={"txnId": second["txnId"], "abhaAddress": bad},
        )
        assert rule in assert_clean_error(r, 400, None, "Ravi"), bad
    snap.unchanged()
    # One of the offered ones works.
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": second["txnId"], "abhaAddress": offered[0]},
    )
    assert r.status_code == 200
    assert r.json()["preferredAbhaAddress"] == f"{offered[0]}@sbx"  # first one is preferred


def test_address_and_suggestion_need_a_finished_enrolment(client, runtime, desk, enc, ravi):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    snap = Snapshot(runtime)
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(desk, TRANSACTION_ID=txn_id))
    assert_clean_error(r, 400, "HS-1109")
    r = client.post(
        f"{V3}/enrol/abha-address",
        headers=headers(desk),
        json={"txnId": txn_id, "abhaAddress": "ravi.kumar1991"},
    )
    assert_clean_error(r, 400, "HS-1109")
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(desk))
    assert "TRANSACTION_ID" in assert_clean_error(r, 400, "HS-1020")
    r = client.get(f"{V3}/enrol/suggestion", headers=headers(desk, TRANSACTION_ID="nope"))
    assert_clean_error(r, 400)
    r = client.get(
        f"{V3}/enrol/suggestion", headers=headers(desk, TRANSACTION_ID=str(uuid.uuid4()))
    )
    assert_clean_error(r, 404)
    snap.unchanged()


@pytest.mark.parametrize(
    ("case", "status", "code", "says"),
    [
        ("malformed_json", 400, "HS-1000", "not valid JSON"),
        ("missing_authdata", 400, "HS-1000", "authData is required"),
        ("missing_otp_value", 400, "HS-1000", "otpValue is required"),
        ("wrong_type_txn", 400, "HS-1000", "wrong type"),
        ("wrong_type_scope", 400, "HS-1000", "wrong type"),
        ("no_otp_method", 400, "HS-1114", "authMethods"),
        ("undecryptable_otp", 400, "HS-1300", "could not be decrypted"),
        ("oversized", 413, "HS-413", "larger than"),
        ("missing_request_id", 400, "HS-1020", "REQUEST-ID"),
        ("bad_request_id", 400, "HS-1020", "UUID"),
        ("missing_timestamp", 400, "HS-1020", "TIMESTAMP"),
        ("bad_timestamp", 400, "HS-1020", "ISO-8601"),
        ("anonymous", 401, "HS-1002", "Log in"),
        ("foreign_bearer", 401, "HS-1002", "Log in"),
        ("unknown_api_token", 401, "HS-1403", "unknown"),
    ],
)
def test_bad_enrol_requests_write_nothing(
    client, runtime, desk, enc, ravi, case, status, code, says
):
    txn_id = request_otp(client, desk, enc, ravi).json()["txnId"]
    code_sent = last_otp(client, "9876500011")
    good = enrol_body(enc, txn_id, code_sent)
    hdrs = headers(desk)
    kwargs: dict = {"json": good}
    if case == "malformed_json":
        kwargs = {"content": b'{"authData": {', "headers": {"Content-Type": "application/json"}}
    elif case == "missing_authdata":
        kwargs = {"json": {"consent": good["consent"]}}
    elif case == "missing_otp_value":
        del good["authData"]["otp"]["otpValue"]
    elif case == "wrong_type_txn":
        good["authData"]["otp"]["txnId"] = 12345
    elif case == "wrong_type_scope":
        good["authData"]["authMethods"] = "otp"
    elif case == "no_otp_method":
        good["authData"]["authMethods"] = ["password"]
    elif case == "undecryptable_otp":
        good["authData"]["otp"]["otpValue"] = "bm90IGVuY3J5cHRlZA=="
    elif case == "oversized":
        good["padding"] = "x" * (runtime.settings.max_body_bytes + 10)
    elif case == "missing_request_id":
        del hdrs["REQUEST-ID"]
    elif case == "bad_request_id":
        hdrs["REQUEST-ID"] = "not-a-uuid"
    elif case == "missing_timestamp":
        del hdrs["TIMESTAMP"]
    elif case == "bad_timestamp":
        hdrs["TIMESTAMP"] = "yesterday"
    elif case == "anonymous":
        del hdrs["Authorization"]
    elif case == "foreign_bearer":
        hdrs["Authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"
    elif case == "unknown_api_token":
        hdrs["Authorization"] = "Bearer hst_not-a-real-token"
    kwargs["headers"] = {**hdrs, **kwargs.get("headers", {})}
    snap = Snapshot(runtime)
    r = client.post(f"{V3}/enrol/byAadhaar", **kwargs)
    msg = assert_clean_error(r, status, code, code_sent, ravi, "Ravi")
    assert says in msg, msg
    snap.unchanged()
    with unit_of_work(runtime.session_factory) as s:
        txn = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        assert txn.attempts == 0 and txn.status == "PENDING"  # no try burnt
    # And the transaction still completes afterwards.
    r = client.post(
        f"{V3}/enrol/byAadhaar", headers=headers(desk), json=enrol_body(enc, txn_id, code_sent)
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("undecryptable_login_id", 400, "HS-1300"),
        ("plain_login_id", 400, "HS-1300"),
        ("missing_scope", 400, "HS-1000"),
        ("wrong_login_hint", 400, "HS-1111"),
        ("missing_login_id", 400, "HS-1001"),
        ("lab_technician", 403, "HS-1003"),
    ],
)
def test_bad_otp_requests_send_nothing(
    client, runtime, make_staff, desk, enc, ravi, case, status, code
):
    body = otp_body(enc, ravi)
    staff = desk
    if case == "undecryptable_login_id":
        body["loginId"] = "AAAA" * 171
    elif case == "plain_login_id":
        body["loginId"] = ravi
    elif case == "missing_scope":
        del body["scope"]
    elif case == "wrong_login_hint":
        body["loginHint"] = "mobile"
    elif case == "missing_login_id":
        del body["loginId"]
    elif case == "lab_technician":
        staff = make_staff(Role.LAB_TECHNICIAN)
    snap, sms = Snapshot(runtime), sms_count(runtime)
    r = client.post(f"{V3}/request/otp", json=body, headers=headers(staff))
    assert_clean_error(r, status, code, ravi)
    snap.unchanged()
    assert sms_count(runtime) == sms
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(OtpTransaction)) == 0


def test_a_session_cookie_is_not_enough(client, runtime, desk, enc, ravi):
    # The JSON APIs take the API token only, so a forged cross-site form cannot use a
    # logged-in browser's cookie.
    r = client.post(
        "/login",
        data={"username": desk.username, "password": desk.password},
        follow_redirects=False,
    )
    assert r.status_code == 303 and client.cookies
    hdrs = headers(desk)
    del hdrs["Authorization"]
    snap = Snapshot(runtime)
    r = client.post(f"{V3}/request/otp", json=otp_body(enc, ravi), headers=hdrs)
    assert_clean_error(r, 401, "HS-1002")
    r = client.post(DEMO, json=demo_body(ravi))
    assert r.status_code == 401
    snap.unchanged()


def test_doctor_and_nurse_may_enrol_by_otp(client, make_staff, enc, ravi):
    # The permission matrix lets clinical desk roles enrol (abha.enrol).
    r = request_otp(client, make_staff(Role.DOCTOR), enc, ravi)
    assert r.status_code == 200


# --------------------------------------------------------------------------- camp mode

DEMO = "/api/v1/abha/enrol/demographic"


def demo_body(aadhaar, **over):
    body = {
        "aadhaar": aadhaar,
        "name": "Ravi Kumar",
        "gender": "M",
        "birth_date": "1991-03-22",
        "mobile": "9812345678",
        "address_line": "Camp ward 3, Anantnag",
        "district_lgd": 632,
        "state_lgd": 1,
        "pincode": "192101",
        "consent": {"code": "abha-enrollment", "version": "1.4"},
    }
    body.update(over)
    return body


def test_demographic_enrolment_by_authorised_operator(client, runtime, desk, ravi):
    r = client.post(DEMO, json=demo_body(ravi, name="  ravi   KUMAAR "), headers=desk.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["is_new"] is True and body["kyc_method"] == "demographic"
    assert body["abha_address"] == f"{body['abha_number']}@sbx"
    assert body["abha_number_display"].replace("-", "") == body["abha_number"]
    assert body["mobile_verified"] is False
    with unit_of_work(runtime.session_factory) as s:
        acc = s.scalars(select(AbhaAccount)).one()
        assert acc.name == "Ravi Kumar"  # the Aadhaar spelling, not the typed one
        assert acc.aadhaar_hash == runtime.hasher.hash("aadhaar", ravi)
        assert (acc.mobile, acc.pincode) == ("9812345678", "192101")
        assert acc.enrolled_by == desk.public_id
    rows = audit_rows(runtime, "abha.enrol.demographic", "success")
    assert [r.actor_id for r in rows] == [desk.public_id]
    assert rows[0].resource_id == body["id"]

    # Again (year of birth only this time): the same account, not a second one.
    r = client.post(
        DEMO, json=demo_body(ravi, birth_date=None, year_of_birth=1991), headers=desk.headers
    )
    assert r.status_code == 200 and r.json()["is_new"] is False
    assert r.json()["abha_number"] == body["abha_number"]
    # And the Aadhaar OTP route finds it too.
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(AbhaAccount)) == 1


def test_demographic_enrolment_is_refused_to_other_roles(client, runtime, make_staff, ravi):
    snap = Snapshot(runtime)
    doctor = make_staff(Role.DOCTOR)
    r = client.post(DEMO, json=demo_body(ravi), headers=doctor.headers)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "HS-1003"
    rows = audit_rows(runtime, "abha.enrol.demographic", "denied")
    assert [r.actor_id for r in rows] == [doctor.public_id]
    r = client.post(DEMO, json=demo_body(ravi))
    assert r.status_code == 401
    snap.unchanged()


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"name": "Sunil Sharma"}, 400, "HS-1230"),
        ({"gender": "F"}, 400, "HS-1230"),
        ({"birth_date": "1991-03-23"}, 400, "HS-1230"),
        ({"birth_date": None, "year_of_birth": 1990}, 400, "HS-1230"),
        ({"birth_date": None}, 400, "HS-1232"),
        ({"consent": None}, 400, "HS-1260"),
        ({"consent": {"code": "abha-enrollment", "version": "0.9"}}, 400, "HS-1261"),
        ({"mobile": "12345"}, 400, "HS-1000"),
        ({"mobile": "1234567890"}, 400, "HS-1210"),
        ({"unexpected": 1}, 400, "HS-1000"),
        ({"gender": "X"}, 400, "HS-1000"),
        ({"pincode": "01234"}, 400, "HS-1000"),
    ],
)
def test_demographic_bad_input(client, runtime, desk, ravi, over, status, code):
    snap = Snapshot(runtime)
    r = client.post(DEMO, json=demo_body(ravi, **over), headers=desk.headers)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert ravi not in r.text and "Ravi" not in r.text and "Sunil" not in r.text
    snap.unchanged()


def test_demographic_checks_the_aadhaar_number(client, runtime, desk, ravi):
    snap = Snapshot(runtime)
    bad = ravi[:-1] + str((int(ravi[-1]) + 1) % 10)
    r = client.post(DEMO, json=demo_body(bad), headers=desk.headers)
    assert r.status_code == 400 and r.json()["code"] == "HS-1203"
    r = client.post(
        DEMO, json=demo_body(aadhaar_with_check_digit("87654321098")), headers=desk.headers
    )
    assert r.status_code == 404 and "UIDAI" in r.json()["detail"]
    snap.unchanged()
    assert audit_rows(runtime, "abha.enrol.demographic", "failed")
    assert audit_rows(runtime, "abha.enrol.demographic", "not_found")
