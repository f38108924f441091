"""The ABHA holder's profile over HTTP (PROF_ABHA_601, 603, 604, 605): view, change
mobile and e-mail, deactivate, delete, re-KYC, and the bad cases of each."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from healthstack.identity.models import OtpTransaction
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.ids import AbhaNumber
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.numbers import NumberPermutation, reserve
from tests.factories_abha import (
    API,
    assert_no_phi,
    audit_rows,
    count,
    create_account,
    enc,
    last_otp,
    load_account,
    login_token,
    new_aadhaar,
    notices,
    profile_change,
    profile_request,
    profile_verify,
    request_login,
    txn_row,
    wrong,
)

MOBILE = "9876500001"
NEW_MOBILE = "9123456780"


@pytest.fixture
def holder(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    token = login_token(client, runtime, account)
    return account, {"X-token": f"Bearer {token}"}


# --------------------------------------------------------------------------- view


def test_profile_view(client, runtime, holder):
    account, headers = holder
    resp = client.get(f"{API}/account", headers=headers)
    assert resp.status_code == 200, resp.text
    p = resp.json()
    assert p["ABHANumber"] == AbhaNumber(account.abha_number).formatted
    assert (p["firstName"], p["middleName"], p["lastName"]) == ("Ravi", "Kumar", "Sharma")
    assert (p["dob"], p["dayOfBirth"], p["monthOfBirth"], p["yearOfBirth"]) == (
        "12-04-1990",
        "12",
        "04",
        "1990",
    )
    assert (p["mobile"], p["mobileVerified"]) == (MOBILE, True)
    assert p["phrAddress"] == [f"{account.abha_number}@sbx"]
    assert p["status"] == p["abhaStatus"] == "ACTIVE"
    assert p["authMethods"] == ["AADHAAR_OTP", "MOBILE_OTP"]
    assert (p["districtCode"], p["stateCode"]) == ("620", "1")
    rows = audit_rows(runtime, "abha.profile.read")
    assert [(r.actor_kind, r.actor_id, r.purpose, r.outcome, r.resource_id) for r in rows] == [
        ("patient", account.abha_number, "PATRQT", "success", str(account.public_id))
    ]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "HS-1400"),
        ({"X-token": "Token abc"}, "HS-1400"),
        ({"X-token": "Bearer"}, "HS-1400"),
        ({"X-token": "Bearer not.a.jwt"}, "HS-1401"),
        ({"Authorization": "Bearer not.a.jwt"}, "HS-1400"),
    ],
)
def test_bad_or_absent_x_token(client, runtime, headers, code):
    for method, path in [
        ("get", "account"),
        ("post", "account/request/otp"),
        ("post", "account/verify"),
        ("post", "account/resend-otp"),
    ]:
        resp = getattr(client, method)(
            f"{API}/{path}", headers=headers, **({"json": {}} if method == "post" else {})
        )
        assert resp.status_code == 401, (path, resp.text)
        assert resp.json()["error"]["code"] == code
    rows = audit_rows(runtime, "abha.profile.authenticate")
    assert len(rows) == 4
    assert {(r.actor_kind, r.outcome, r.reason_code) for r in rows} == {
        ("anonymous", "failed", code)
    }


def test_expired_x_token_and_refresh_token_is_not_a_user_token(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    done = client.post(
        f"{API}/login/verify",
        json={
            "scope": ["abha-login", "mobile-verify"],
            "authData": {
                "authMethods": ["otp"],
                "otp": {
                    "txnId": sent.json()["txnId"],
                    "otpValue": enc(runtime, last_otp(runtime, MOBILE)),
                },
            },
        },
    )
    tokens = done.json()
    refresh = client.get(f"{API}/account", headers={"X-token": f"Bearer {tokens['refreshToken']}"})
    assert refresh.status_code == 401
    runtime.clock.advance(seconds=tokens["expiresIn"])
    expired = client.get(f"{API}/account", headers={"X-token": f"Bearer {tokens['token']}"})
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "HS-1402"
    assert "Log in again" in expired.json()["error"]["message"]


# --------------------------------------------------------------------------- mobile (601)


def test_change_mobile(client, runtime, holder):
    account, headers = holder
    sent = profile_request(client, runtime, headers, ["mobile-verify"], "mobile", NEW_MOBILE)
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"] == "OTP is sent to Mobile number ending with XXXXXX6780"
    done = profile_verify(
        client,
        runtime,
        headers,
        ["mobile-verify"],
        sent.json()["txnId"],
        last_otp(runtime, NEW_MOBILE),
    )
    assert done.status_code == 200, done.text
    assert done.json()["accounts"] == [
        {"ABHANumber": AbhaNumber(account.abha_number).formatted, "status": "ACTIVE"}
    ]
    after = load_account(runtime, account.abha_number)
    assert (after.mobile, after.mobile_verified) == (NEW_MOBILE, True)
    # The notice goes to the old mobile and carries no personal data.
    [notice] = notices(runtime)
    assert notice["mobile"] == MOBILE
    assert notice["template"] == "notice.abha.mobile-changed"
    assert_no_phi(notice["text"], NEW_MOBILE, account.abha_number, "Ravi")
    [row] = audit_rows(runtime, "abha.profile.mobile_change")
    assert (row.actor_kind, row.actor_id, row.outcome) == (
        "patient",
        account.abha_number,
        "success",
    )
    assert audit_rows(runtime, "abha.profile.mobile_change.otp_request")[0].outcome == "success"
    # Login now works with the new mobile, not the old one.
    assert request_login(client, runtime, hint="mobile", value=MOBILE).status_code == 404
    assert request_login(client, runtime, hint="mobile", value=NEW_MOBILE).status_code == 200


def test_change_mobile_wrong_otp_changes_nothing(client, runtime, holder):
    account, headers = holder
    sent = profile_request(client, runtime, headers, ["mobile-verify"], "mobile", NEW_MOBILE)
    txn_id = sent.json()["txnId"]
    code = last_otp(runtime, NEW_MOBILE)
    messages = count(runtime, OutboxMessage)
    bad = profile_verify(client, runtime, headers, ["mobile-verify"], txn_id, wrong(code))
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "ABDM-1035"
    after = load_account(runtime, account.abha_number)
    assert after.mobile == MOBILE
    assert count(runtime, OutboxMessage) == messages  # no notice
    assert txn_row(runtime, txn_id).attempts == 1
    [row] = audit_rows(runtime, "abha.profile.mobile_change")
    assert (row.actor_kind, row.outcome, row.reason_code) == ("patient", "failed", "ABDM-1035")
    # Two more wrong tries lock the account's OTPs out, for login too.
    profile_verify(client, runtime, headers, ["mobile-verify"], txn_id, wrong(code))
    locked = profile_verify(client, runtime, headers, ["mobile-verify"], txn_id, wrong(code))
    assert locked.status_code == 429
    assert (
        request_login(client, runtime, hint="abha-number", value=account.abha_number).status_code
        == 429
    )
    assert load_account(runtime, account.abha_number).mobile == MOBILE


@pytest.mark.parametrize("value", ["12345", "98765000012", "0000000000", "abcdefghij"])
def test_change_mobile_format_error(client, runtime, holder, value):
    account, headers = holder
    resp = profile_request(client, runtime, headers, ["mobile-verify"], "mobile", value)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "HS-1210"
    assert_no_phi(resp.text, value, account.abha_number)
    assert count(runtime, OtpTransaction) == 1  # only the login's
    [row] = audit_rows(runtime, "abha.profile.mobile_change.otp_request")
    assert (row.outcome, row.reason_code) == ("failed", "HS-1210")


def test_change_mobile_request_errors(client, runtime, holder):
    _, headers = holder
    same = profile_request(client, runtime, headers, ["mobile-verify"], "mobile", MOBILE)
    assert same.status_code == 409
    no_hint = profile_request(client, runtime, headers, ["mobile-verify"], None, NEW_MOBILE)
    assert no_hint.status_code == 400
    assert 'loginHint to "mobile"' in no_hint.json()["error"]["message"]
    no_id = profile_request(client, runtime, headers, ["mobile-verify"], "mobile", None)
    assert no_id.status_code == 400
    assert no_id.json()["error"]["code"] == "HS-1256"
    aadhaar_otp = profile_request(
        client, runtime, headers, ["mobile-verify"], "mobile", NEW_MOBILE, system="aadhaar"
    )
    assert aadhaar_otp.status_code == 400
    for scope in ([], ["mobile-verify", "email-verify"], ["mobile-verify", "aadhaar-verify"]):
        bad = profile_request(client, runtime, headers, scope, "mobile", NEW_MOBILE)
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "HS-1250"
    not_profile = client.post(
        f"{API}/account/request/otp",
        headers=headers,
        json={
            "scope": ["abha-login", "mobile-verify"],
            "loginHint": "mobile",
            "loginId": enc(runtime, NEW_MOBILE),
            "otpSystem": "abdm",
        },
    )
    assert not_profile.status_code == 400
    assert count(runtime, OtpTransaction) == 1


# --------------------------------------------------------------------------- e-mail (603)


def test_change_email(client, runtime, holder):
    account, headers = holder
    sent = profile_request(
        client, runtime, headers, ["email-verify"], "email", "Ravi.K@Example.ORG"
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"] == "OTP is sent to email ending with Ra*****@example.org"
    done = profile_verify(
        client,
        runtime,
        headers,
        ["email-verify"],
        sent.json()["txnId"],
        last_otp(runtime, "Ravi.K@example.org"),
    )
    assert done.status_code == 200, done.text
    after = load_account(runtime, account.abha_number)
    assert (after.email, after.email_verified) == ("Ravi.K@example.org", True)
    assert client.get(f"{API}/account", headers=headers).json()["email"] == "Ravi.K@example.org"
    [notice] = notices(runtime)
    assert (notice["mobile"], notice["template"]) == (MOBILE, "notice.abha.email-changed")
    assert audit_rows(runtime, "abha.profile.email_change")[0].outcome == "success"


@pytest.mark.parametrize(
    "value",
    [
        "ravi",
        "ravi@",
        "@example.org",
        "ravi@example",
        "ra vi@example.org",
        "ravi@@x.org",
        "ravi..k@example.org",
        "ravi@exa_mple.org",
        "ravi@example.123",
        "x" * 65 + "@a.org",
    ],
)
def test_change_email_format_error(client, runtime, holder, value):
    account, headers = holder
    resp = profile_request(client, runtime, headers, ["email-verify"], "email", value)
    assert resp.status_code == 400, value
    assert resp.json()["error"]["code"] == "HS-1211"
    assert_no_phi(resp.text, value)
    assert load_account(runtime, account.abha_number).email is None
    assert count(runtime, OtpTransaction) == 1


def test_verify_with_another_scope_or_another_holders_txn(client, runtime, holder):
    account, headers = holder
    txn_id = profile_request(
        client, runtime, headers, ["email-verify"], "email", "ravi@example.org"
    ).json()["txnId"]
    code = last_otp(runtime, "ravi@example.org")
    mixed = profile_verify(client, runtime, headers, ["mobile-verify"], txn_id, code)
    assert mixed.status_code == 400
    assert mixed.json()["error"]["code"] == "HS-1257"
    # Another holder cannot use this transaction: it is "not found" for them.
    other = create_account(runtime, mobile="9876500002")
    other_headers = {"X-token": f"Bearer {login_token(client, runtime, other)}"}
    theirs = profile_verify(client, runtime, other_headers, ["email-verify"], txn_id, code)
    assert theirs.status_code == 404
    assert (
        client.post(
            f"{API}/account/resend-otp", headers=other_headers, json={"txnId": txn_id}
        ).status_code
        == 404
    )
    # A login transaction is not a profile transaction either.
    login_txn = request_login(
        client, runtime, hint="abha-number", value=account.abha_number
    ).json()["txnId"]
    assert (
        profile_verify(
            client, runtime, headers, ["email-verify"], login_txn, last_otp(runtime, MOBILE)
        ).status_code
        == 404
    )
    assert txn_row(runtime, txn_id).attempts == 0
    assert load_account(runtime, other.abha_number).email is None
    assert (
        profile_verify(client, runtime, headers, ["email-verify"], txn_id, code).status_code == 200
    )


def test_profile_resend(client, runtime, holder):
    _, headers = holder
    txn_id = profile_request(
        client, runtime, headers, ["email-verify"], "email", "ravi@example.org"
    ).json()["txnId"]
    early = client.post(f"{API}/account/resend-otp", headers=headers, json={"txnId": txn_id})
    assert early.status_code == 429
    runtime.clock.advance(seconds=61)
    ok = client.post(f"{API}/account/resend-otp", headers=headers, json={"txnId": txn_id})
    assert ok.status_code == 200, ok.text
    assert ok.json()["message"] == "OTP is sent to email ending with ra*****@example.org"
    assert (
        profile_verify(
            client,
            runtime,
            headers,
            ["email-verify"],
            txn_id,
            last_otp(runtime, "ravi@example.org"),
        ).status_code
        == 200
    )


def test_expired_profile_otp(client, runtime, holder):
    account, headers = holder
    txn_id = profile_request(
        client, runtime, headers, ["mobile-verify"], "mobile", NEW_MOBILE
    ).json()["txnId"]
    code = last_otp(runtime, NEW_MOBILE)
    runtime.clock.advance(seconds=runtime.settings.otp.ttl_seconds + 1)
    headers = {"X-token": f"Bearer {login_token(client, runtime, account)}"}
    late = profile_verify(client, runtime, headers, ["mobile-verify"], txn_id, code)
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "HS-1102"
    assert load_account(runtime, account.abha_number).mobile == MOBILE


# --------------------------------------------------------------------------- 605


def test_deactivate_then_reactivate(client, runtime, holder):
    account, headers = holder
    done = profile_change(client, runtime, headers, ["deactivate"], otp_to=MOBILE)
    assert done["accounts"][0]["status"] == "DEACTIVATED"
    assert "reactivate" in done["message"]
    assert load_account(runtime, account.abha_number).status == "DEACTIVATED"
    assert [n["template"] for n in notices(runtime, MOBILE)] == ["notice.abha.deactivated"]
    assert audit_rows(runtime, "abha.account.deactivate")[0].actor_kind == "patient"

    # The old token now gets 403 with what to do, and is audited as a denial.
    refused = client.get(f"{API}/account", headers=headers)
    assert refused.status_code == 403
    assert "reactivate" in refused.json()["error"]["message"]
    [row] = audit_rows(runtime, "abha.profile.authenticate")
    assert (row.actor_kind, row.outcome) == ("patient", "denied")
    assert (
        request_login(client, runtime, hint="abha-number", value=account.abha_number).status_code
        == 403
    )

    scope = ["abha-login", "reactivate"]
    sent = request_login(
        client, runtime, hint="abha-number", value=account.abha_number, scope=scope
    )
    back = client.post(
        f"{API}/login/verify",
        json={
            "scope": scope,
            "authData": {
                "authMethods": ["otp"],
                "otp": {
                    "txnId": sent.json()["txnId"],
                    "otpValue": enc(runtime, last_otp(runtime, MOBILE)),
                },
            },
        },
    )
    assert back.status_code == 200, back.text
    assert client.get(f"{API}/account", headers=headers).status_code == 200


def test_delete_leaves_a_tombstone(client, runtime):
    account = create_account(runtime, mobile=MOBILE, email="ravi@example.org", handle="ravi.k1990")
    headers = {"X-token": f"Bearer {login_token(client, runtime, account)}"}
    done = profile_change(client, runtime, headers, ["delete"], otp_to=MOBILE)
    assert done["accounts"][0]["status"] == "DELETED"
    [notice] = notices(runtime)
    assert (notice["mobile"], notice["template"]) == (MOBILE, "notice.abha.deleted")

    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(AbhaAccount).where(AbhaAccount.abha_number == account.abha_number))
        # Kept: the number, the Aadhaar hash (no silent second ABHA), the reserved address,
        # the coarse figures the programme counts.
        assert row.status == "DELETED" and row.deleted_at == runtime.clock.now()
        assert row.aadhaar_hash == runtime.hasher.hash("aadhaar", account.test_aadhaar)
        assert [a.handle for a in row.addresses] == ["ravi.k1990"]
        assert (row.gender, row.year_of_birth, row.district_lgd) == ("M", 1990, 620)
        # Cleared: everything that names or reaches the person.
        assert (row.name, row.first_name, row.middle_name, row.last_name, row.name_key) == (
            "",
            "",
            None,
            None,
            "",
        )
        assert (
            row.birth_date,
            row.mobile,
            row.email,
            row.address_line,
            row.pincode,
            row.photo,
            row.aadhaar_last4,
        ) == (None,) * 7
        # The number is never handed out again.
        perm = NumberPermutation(runtime.settings.secret_key.get_secret_value())
        assert perm.number_for(reserve(s)) != account.abha_number

    # The token, the number, the address and the Aadhaar all stop working.
    assert client.get(f"{API}/account", headers=headers).status_code == 401
    for hint, value, system in [
        ("abha-number", account.abha_number, "abdm"),
        ("abha-address", "ravi.k1990@sbx", "abdm"),
        ("aadhaar", account.test_aadhaar, "aadhaar"),
        ("mobile", MOBILE, "abdm"),
    ]:
        assert (
            request_login(client, runtime, hint=hint, value=value, system=system).status_code == 404
        )
    # The audit trail stays.
    actions = {r.action for r in audit_rows(runtime) if r.resource_id == str(account.public_id)}
    assert {"abha.login.verify", "abha.account.delete", "abha.account.delete.otp_request"} <= (
        actions
    )


def test_deactivate_or_delete_needs_a_verified_mobile(client, runtime):
    account = create_account(runtime, mobile=MOBILE, mobile_verified=False)
    sent = request_login(
        client, runtime, hint="aadhaar", value=account.test_aadhaar, system="aadhaar"
    )
    done = client.post(
        f"{API}/login/verify",
        json={
            "scope": ["abha-login", "aadhaar-verify"],
            "authData": {
                "authMethods": ["otp"],
                "otp": {
                    "txnId": sent.json()["txnId"],
                    "otpValue": enc(runtime, last_otp(runtime, MOBILE)),
                },
            },
        },
    )
    headers = {"X-token": f"Bearer {done.json()['token']}"}
    for scope in (["deactivate"], ["delete"]):
        resp = profile_request(client, runtime, headers, scope)
        assert resp.status_code == 400
        assert resp.json()["error"]["code"] == "HS-1255"
    assert (
        profile_request(client, runtime, headers, ["delete"], system="aadhaar").json()["error"][
            "code"
        ]
        == "HS-1251"
    )
    assert load_account(runtime, account.abha_number).status == "ACTIVE"
    assert count(runtime, OtpTransaction) == 1


# --------------------------------------------------------------------------- re-KYC (604)


def test_re_kyc_updates_from_aadhaar(client, runtime):
    account = create_account(runtime, mobile=MOBILE, kyc_mobile="9123400077")
    headers = {"X-token": f"Bearer {login_token(client, runtime, account)}"}
    with unit_of_work(runtime.session_factory) as s:
        s.execute(
            update(KycResident)
            .where(KycResident.aadhaar == account.test_aadhaar)
            .values(
                name="Ravi Kumar Bhat",
                birth_date=date(1990, 4, 21),
                address_line="Lane 4, Bemina",
                district_name="Budgam",
                district_lgd=621,
                pincode="190018",
            )
        )
    sent = profile_request(
        client, runtime, headers, ["re-kyc"], "aadhaar", account.test_aadhaar, system="aadhaar"
    )
    assert sent.status_code == 200, sent.text
    assert "Aadhaar registered mobile" in sent.json()["message"]
    # The transaction keeps no Aadhaar in clear.
    txn = txn_row(runtime, sent.json()["txnId"])
    assert account.test_aadhaar not in str(txn.state)
    done = profile_verify(
        client, runtime, headers, ["re-kyc"], sent.json()["txnId"], last_otp(runtime, "9123400077")
    )
    assert done.status_code == 200, done.text
    p = client.get(f"{API}/account", headers=headers).json()
    assert (p["name"], p["lastName"], p["dob"], p["address"], p["districtCode"], p["pinCode"]) == (
        "Ravi Kumar Bhat",
        "Bhat",
        "21-04-1990",
        "Lane 4, Bemina",
        "621",
        "190018",
    )
    after = load_account(runtime, account.abha_number)
    assert (after.name_key, after.kyc_verified) == ("ravi kumar bhat", True)
    [notice] = notices(runtime)
    assert (notice["mobile"], notice["template"]) == (MOBILE, "notice.abha.re-kyc")
    assert audit_rows(runtime, "abha.profile.re_kyc")[0].actor_id == account.abha_number


def test_re_kyc_refuses_another_aadhaar(client, runtime, holder):
    account, headers = holder
    other = new_aadhaar()
    resp = profile_request(client, runtime, headers, ["re-kyc"], "aadhaar", other, system="aadhaar")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "HS-1254"
    assert_no_phi(resp.text, other, account.abha_number)
    wrong_system = profile_request(
        client, runtime, headers, ["re-kyc"], "aadhaar", account.test_aadhaar
    )
    assert wrong_system.status_code == 400
    assert count(runtime, OtpTransaction) == 1
    assert count(runtime, OutboxMessage) == 1  # the login OTP only
    rows = audit_rows(runtime, "abha.profile.re_kyc.otp_request")
    assert [(r.outcome, r.reason_code) for r in rows] == [
        ("denied", "HS-1254"),
        ("failed", "HS-1251"),
    ]


# --------------------------------------------------------------------------- bad bodies


def test_malformed_profile_bodies(client, runtime, holder):
    _, headers = holder
    for path in ("account/request/otp", "account/verify", "account/resend-otp"):
        resp = client.post(
            f"{API}/{path}",
            content=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert resp.status_code == 400, path
        assert resp.json()["error"]["code"] == "HS-1000"
    cases = [
        ("account/request/otp", {"loginHint": "mobile"}, "scope is required"),
        ("account/request/otp", {"scope": ["abha-profile", "delete"], "otpSystem": 1}, "otpSystem"),
        ("account/request/otp", {"scope": ["abha-profile"], "loginHint": "dl"}, "loginHint"),
        ("account/verify", {"scope": ["abha-profile", "delete"]}, "authData is required"),
        (
            "account/verify",
            {
                "scope": ["abha-profile", "delete"],
                "authData": {"authMethods": ["otp"], "otp": {"txnId": 5, "otpValue": "x"}},
            },
            "txnId",
        ),
        ("account/resend-otp", {}, "txnId is required"),
    ]
    for path, body, expect in cases:
        resp = client.post(f"{API}/{path}", json=body, headers=headers)
        assert resp.status_code == 400, (path, body)
        assert expect in resp.json()["error"]["message"], resp.text
    assert count(runtime, OtpTransaction) == 1
