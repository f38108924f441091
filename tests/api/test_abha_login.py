"""ABHA verification / login over HTTP: VRFY_ABHA_101 (Aadhaar OTP), 201 (ABHA mobile
OTP), 401 (mobile -> linked ABHAs -> pick one), reactivation, and the bad cases."""

from __future__ import annotations

import pytest

from healthstack.identity.models import OtpTransaction
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.ids import AbhaNumber
from healthstack.kernel.outbox import OutboxMessage
from healthstack.network.abha.models import AbhaAccount
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
    notices,
    outbox,
    request_login,
    txn_row,
    verify_login,
    wrong,
)

MOBILE = "9876500001"


def _pick(client, runtime, t_token, txn_id, **choice):
    headers = {"T-token": f"Bearer {t_token}"} if t_token is not None else {}
    return client.post(
        f"{API}/login/verify/user", json={"txnId": txn_id, **choice}, headers=headers
    )


# --------------------------------------------------------------------------- happy paths


def test_login_by_abha_number_and_mobile_otp(client, runtime):
    """VRFY_ABHA_201: the OTP goes to the ABHA's verified mobile; a user token comes back."""
    account = create_account(runtime, mobile=MOBILE)
    sent = request_login(
        client, runtime, hint="abha-number", value=AbhaNumber(account.abha_number).formatted
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["message"].endswith("XXXXXX0001")
    assert_no_phi(sent.text, MOBILE, account.abha_number, account.name)

    done = verify_login(client, runtime, body["txnId"], last_otp(runtime, MOBILE))
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["authResult"] == "success"
    assert out["expiresIn"] == runtime.settings.abha.user_token_ttl_seconds
    assert out["refreshToken"] and out["refreshExpiresIn"]
    [summary] = out["accounts"]
    assert summary["ABHANumber"] == AbhaNumber(account.abha_number).formatted
    assert summary["name"] == "Ravi Kumar Sharma"
    assert summary["dob"] == "12-04-1990"
    assert summary["preferredAbhaAddress"] == f"{account.abha_number}@sbx"

    # The token opens the profile, and the transaction cannot be replayed.
    profile = client.get(f"{API}/account", headers={"X-token": f"Bearer {out['token']}"})
    assert profile.status_code == 200, profile.text
    assert txn_row(runtime, body["txnId"]).status == "COMPLETED"
    replay = verify_login(client, runtime, body["txnId"], last_otp(runtime, MOBILE))
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "HS-1107"

    # Audited: the request as the anonymous caller, the login as the patient.
    [req] = audit_rows(runtime, "abha.login.otp_request")
    assert (req.actor_kind, req.outcome, req.resource_id) == (
        "anonymous",
        "success",
        str(account.public_id),
    )
    verified = audit_rows(runtime, "abha.login.verify")
    assert [(r.actor_kind, r.actor_id, r.outcome) for r in verified] == [
        ("patient", account.abha_number, "success"),
        ("anonymous", "anonymous", "failed"),  # the replay
    ]


@pytest.mark.parametrize("form", ["handle", "handle@sbx", "HANDLE@SBX", "default"])
def test_login_by_abha_address(client, runtime, form):
    account = create_account(runtime, mobile=MOBILE, handle="ravi.k1990")
    value = {
        "handle": "ravi.k1990",
        "handle@sbx": "ravi.k1990@sbx",
        "HANDLE@SBX": "Ravi.K1990@SBX",
        "default": f"{account.abha_number}@sbx",
    }[form]
    sent = request_login(client, runtime, hint="abha-address", value=value)
    assert sent.status_code == 200, sent.text
    done = verify_login(client, runtime, sent.json()["txnId"], last_otp(runtime, MOBILE))
    assert done.status_code == 200, done.text
    assert done.json()["accounts"][0]["preferredAbhaAddress"] == "ravi.k1990@sbx"


def test_login_by_aadhaar_otp_goes_to_the_aadhaar_mobile(client, runtime):
    """VRFY_ABHA_101: the OTP goes to the mobile registered with Aadhaar."""
    account = create_account(runtime, mobile=MOBILE, kyc_mobile="9123400077")
    sent = request_login(
        client, runtime, hint="aadhaar", value=account.test_aadhaar, system="aadhaar"
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"] == (
        "OTP is sent to Aadhaar registered mobile number ending with XXXXXX0077"
    )
    assert_no_phi(sent.text, account.test_aadhaar, account.abha_number)
    # Nothing went to the ABHA's own mobile.
    assert [m.payload["mobile"] for m in outbox(runtime)] == ["9123400077"]
    done = verify_login(
        client,
        runtime,
        sent.json()["txnId"],
        last_otp(runtime, "9123400077"),
        scope=["abha-login", "aadhaar-verify"],
    )
    assert done.status_code == 200, done.text
    assert done.json()["accounts"][0]["ABHANumber"] == AbhaNumber(account.abha_number).formatted


def test_aadhaar_hint_with_abha_mobile_otp(client, runtime):
    account = create_account(runtime, mobile=MOBILE, kyc_mobile="9123400077")
    sent = request_login(client, runtime, hint="aadhaar", value=account.test_aadhaar)
    assert sent.status_code == 200, sent.text
    assert [m.payload["mobile"] for m in outbox(runtime)] == [MOBILE]


def test_mobile_lists_linked_abhas_then_one_is_picked(client, runtime):
    """VRFY_ABHA_401: a family mobile lists its ABHAs masked; the holder picks one."""
    father = create_account(runtime, mobile=MOBILE, name="Ghulam Nabi Dar", handle="gnabi")
    mother = create_account(runtime, mobile=MOBILE, name="Haleema Begum", gender="F")
    # Not listed: another mobile, an unverified claim on this one, a deactivated one.
    create_account(runtime, mobile="9876500002")
    create_account(runtime, mobile=MOBILE, mobile_verified=False)
    create_account(runtime, mobile=MOBILE, status="DEACTIVATED")

    sent = request_login(client, runtime, hint="mobile", value=MOBILE)
    assert sent.status_code == 200, sent.text
    txn_id = sent.json()["txnId"]
    listed = verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["refreshToken"] is None
    assert [a["ABHANumber"] for a in body["accounts"]] == [
        AbhaNumber(father.abha_number).masked,
        AbhaNumber(mother.abha_number).masked,
    ]
    assert [a["name"] for a in body["accounts"]] == ["G***** N*** D**", "H****** B****"]
    assert body["accounts"][0]["preferredAbhaAddress"] == "gnabi@sbx"
    assert_no_phi(
        listed.text, father.abha_number, mother.abha_number, father.name, mother.name, "1990"
    )
    # Listing is a read of each account, audited.
    listed_rows = audit_rows(runtime, "abha.login.list")
    assert {r.resource_id for r in listed_rows} == {str(father.public_id), str(mother.public_id)}

    # The T-token is not a user token.
    assert (
        client.get(f"{API}/account", headers={"X-token": f"Bearer {body['token']}"}).status_code
        == 401
    )

    ref = body["accounts"][1]["accountRef"]
    picked = _pick(client, runtime, body["token"], txn_id, accountRef=ref)
    assert picked.status_code == 200, picked.text
    out = picked.json()
    assert out["accounts"][0]["ABHANumber"] == AbhaNumber(mother.abha_number).formatted
    assert out["refreshToken"]
    me = client.get(f"{API}/account", headers={"X-token": f"Bearer {out['token']}"})
    assert me.json()["name"] == "Haleema Begum"
    [row] = audit_rows(runtime, "abha.login.select")
    assert (row.actor_kind, row.actor_id) == ("patient", mother.abha_number)

    # Single use.
    again = _pick(client, runtime, body["token"], txn_id, accountRef=ref)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "HS-1248"


def test_mobile_pick_by_full_abha_number(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = request_login(client, runtime, hint="mobile", value="+91 98765 00001")
    txn_id = sent.json()["txnId"]
    body = verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE)).json()
    picked = _pick(
        client, runtime, body["token"], txn_id, ABHANumber=AbhaNumber(account.abha_number).formatted
    )
    assert picked.status_code == 200, picked.text


def test_mobile_pick_bad_cases(client, runtime):
    create_account(runtime, mobile=MOBILE)
    stranger = create_account(runtime, mobile="9876500002")
    sent = request_login(client, runtime, hint="mobile", value=MOBILE)
    txn_id = sent.json()["txnId"]

    # Before the OTP is verified there is no T-token; a user token is not one.
    user_token = login_token(client, runtime, stranger)
    assert _pick(client, runtime, user_token, txn_id, accountRef="x").status_code == 401

    body = verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE)).json()
    ref = body["accounts"][0]["accountRef"]

    absent = _pick(client, runtime, None, txn_id, accountRef=ref)
    assert absent.status_code == 401
    assert "T-token" in absent.json()["error"]["message"]
    assert _pick(client, runtime, "garbage", txn_id, accountRef=ref).status_code == 401

    # A T-token only works for its own transaction.
    other = request_login(client, runtime, hint="mobile", value=MOBILE).json()["txnId"]
    assert _pick(client, runtime, body["token"], other, accountRef=ref).status_code == 401

    # An ABHA not linked to this mobile cannot be picked, and nothing tells whose it is.
    foreign = _pick(client, runtime, body["token"], txn_id, ABHANumber=stranger.abha_number)
    assert foreign.status_code == 404
    assert_no_phi(foreign.text, stranger.abha_number, stranger.name)
    assert _pick(client, runtime, body["token"], txn_id, accountRef="nope").status_code == 404
    both = _pick(
        client, runtime, body["token"], txn_id, accountRef=ref, ABHANumber=stranger.abha_number
    )
    assert both.status_code == 400
    # The T-token expires with the transaction.
    runtime.clock.advance(seconds=runtime.settings.abha.txn_ttl_seconds + 1)
    late = _pick(client, runtime, body["token"], txn_id, accountRef=ref)
    assert late.status_code == 401
    assert count(runtime, OtpTransaction) == 3
    failures = [r for r in audit_rows(runtime, "abha.login.select") if r.outcome != "success"]
    assert len(failures) == 7


def test_mobile_with_no_abha(client, runtime):
    create_account(runtime, mobile="9876500002")
    sent = request_login(client, runtime, hint="mobile", value=MOBILE)
    assert sent.status_code == 404
    assert sent.json()["error"]["message"] == "No ABHA is linked to this mobile number."
    assert count(runtime, OtpTransaction) == 0
    assert count(runtime, OutboxMessage) == 0
    [row] = audit_rows(runtime, "abha.login.otp_request")
    assert (row.outcome, row.reason_code) == ("not_found", "HS-1411")


# --------------------------------------------------------------------------- OTP rules


def test_wrong_otp_counts_then_locks_out(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    txn_id = sent.json()["txnId"]
    code = last_otp(runtime, MOBILE)
    for left in (2, 1):
        bad = verify_login(client, runtime, txn_id, wrong(code))
        assert bad.status_code == 400
        err = bad.json()["error"]
        assert err["code"] == "ABDM-1035"
        assert f"{left} tr" in err["message"]
        assert code not in err["message"]
        assert txn_row(runtime, txn_id).attempts == 3 - left  # committed although it failed
    locked = verify_login(client, runtime, txn_id, wrong(code))
    assert locked.status_code == 429
    # Even the right OTP is refused now, and so is a new OTP for the same ABHA.
    assert verify_login(client, runtime, txn_id, code).status_code == 429
    again = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    assert again.status_code == 429
    assert count(runtime, OtpTransaction) == 1
    # No token was issued, the failures were audited against the account.
    rows = audit_rows(runtime, "abha.login.verify")
    assert [r.reason_code for r in rows] == ["ABDM-1035", "ABDM-1035", "HS-1103", "HS-1103"]
    assert {r.resource_id for r in rows} == {str(account.public_id)}
    assert all(r.actor_kind == "anonymous" for r in rows)
    # After the lock-out the person can log in again.
    runtime.clock.advance(seconds=runtime.settings.otp.lockout_seconds + 1)
    assert login_token(client, runtime, account)


def test_expired_otp(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    txn_id = request_login(client, runtime, hint="abha-number", value=account.abha_number).json()[
        "txnId"
    ]
    code = last_otp(runtime, MOBILE)
    runtime.clock.advance(seconds=runtime.settings.otp.ttl_seconds + 1)
    late = verify_login(client, runtime, txn_id, code)
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "HS-1102"
    assert "resend" in late.json()["error"]["message"]
    # The transaction itself expiring says to start again.
    runtime.clock.advance(seconds=runtime.settings.abha.txn_ttl_seconds)
    gone = verify_login(client, runtime, txn_id, code)
    assert gone.json()["error"]["code"] == "HS-1105"


def test_resend_after_60_seconds_at_most_twice(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    txn_id = request_login(client, runtime, hint="abha-number", value=account.abha_number).json()[
        "txnId"
    ]

    def resend():
        return client.post(f"{API}/login/resend-otp", json={"txnId": txn_id})

    early = resend()
    assert early.status_code == 429
    assert "Wait" in early.json()["error"]["message"]
    runtime.clock.advance(seconds=60)
    ok = resend()
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "txnId": txn_id,
        "message": "OTP is sent to Mobile number ending with XXXXXX0001",
    }
    runtime.clock.advance(seconds=60)
    assert resend().status_code == 200
    runtime.clock.advance(seconds=60)
    third = resend()
    assert third.status_code == 429
    assert "at most 2" in third.json()["error"]["message"]
    assert count(runtime, OutboxMessage) == 3
    assert verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE)).status_code == 200
    assert len(audit_rows(runtime, "abha.login.otp_resend")) == 4
    unknown = client.post(
        f"{API}/login/resend-otp", json={"txnId": "00000000-0000-4000-8000-000000000000"}
    )
    assert unknown.status_code == 404


def test_a_new_request_does_not_bypass_the_resend_rule(client, runtime):
    """Asking for fresh transactions must not flood the phone: one unused OTP a minute."""
    account = create_account(runtime, mobile=MOBILE)
    first = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    assert first.status_code == 200
    for hint, value in [("abha-number", account.abha_number), ("aadhaar", account.test_aadhaar)]:
        again = request_login(client, runtime, hint=hint, value=value)
        assert again.status_code == 429
        assert again.json()["error"]["code"] == "HS-1104"
        assert "same txnId" in again.json()["error"]["message"]
    assert count(runtime, OutboxMessage) == 1
    # A minute later, or once the first OTP is used, a new request is fine.
    runtime.clock.advance(seconds=60)
    assert (
        request_login(client, runtime, hint="abha-number", value=account.abha_number).status_code
        == 200
    )
    mobile_txn = request_login(client, runtime, hint="mobile", value=MOBILE).json()["txnId"]
    assert verify_login(client, runtime, mobile_txn, last_otp(runtime, MOBILE)).status_code == 200
    assert request_login(client, runtime, hint="mobile", value=MOBILE).status_code == 200


# --------------------------------------------------------------------------- account states


def test_deactivated_account_logs_in_only_to_reactivate(client, runtime):
    account = create_account(runtime, mobile=MOBILE, status="DEACTIVATED")
    refused = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    assert refused.status_code == 403
    assert "reactivate" in refused.json()["error"]["message"]
    assert count(runtime, OutboxMessage) == 0

    scope = ["abha-login", "reactivate"]
    sent = request_login(
        client, runtime, hint="abha-number", value=account.abha_number, scope=scope
    )
    assert sent.status_code == 200, sent.text
    done = verify_login(
        client, runtime, sent.json()["txnId"], last_otp(runtime, MOBILE), scope=scope
    )
    assert done.status_code == 200, done.text
    assert done.json()["accounts"][0]["status"] == "ACTIVE"
    assert load_account(runtime, account.abha_number).status == "ACTIVE"
    assert [n["template"] for n in notices(runtime, MOBILE)] == ["notice.abha.reactivated"]
    [row] = audit_rows(runtime, "abha.account.reactivate")
    assert (row.actor_kind, row.actor_id) == ("patient", account.abha_number)
    # Once active, "reactivate" is refused with what to do instead.
    again = request_login(
        client, runtime, hint="abha-number", value=account.abha_number, scope=scope
    )
    assert again.status_code == 400
    assert "already active" in again.json()["error"]["message"]


def test_reactivate_by_mobile_lists_only_deactivated(client, runtime):
    create_account(runtime, mobile=MOBILE)
    sleeping = create_account(runtime, mobile=MOBILE, status="DEACTIVATED")
    scope = ["abha-login", "reactivate", "mobile-verify"]
    txn_id = request_login(client, runtime, hint="mobile", value=MOBILE, scope=scope).json()[
        "txnId"
    ]
    body = verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE), scope=scope).json()
    assert [a["ABHANumber"] for a in body["accounts"]] == [AbhaNumber(sleeping.abha_number).masked]
    picked = _pick(
        client, runtime, body["token"], txn_id, accountRef=body["accounts"][0]["accountRef"]
    )
    assert picked.status_code == 200, picked.text
    assert load_account(runtime, sleeping.abha_number).status == "ACTIVE"


def test_scope_must_match_the_request(client, runtime):
    account = create_account(runtime, mobile=MOBILE, status="DEACTIVATED")
    scope = ["abha-login", "reactivate"]
    txn_id = request_login(
        client, runtime, hint="abha-number", value=account.abha_number, scope=scope
    ).json()["txnId"]
    mixed = verify_login(client, runtime, txn_id, last_otp(runtime, MOBILE))
    assert mixed.status_code == 400
    assert mixed.json()["error"]["code"] == "HS-1246"
    assert txn_row(runtime, txn_id).attempts == 0
    assert load_account(runtime, account.abha_number).status == "DEACTIVATED"


def test_deleted_and_unknown_look_the_same(client, runtime):
    gone = create_account(runtime, mobile=MOBILE, status="DELETED", handle="gone.one")
    unknown_number = "91" + "0" * 11 + "8"
    bodies = []
    for hint, value, system in [
        ("abha-number", gone.abha_number, "abdm"),
        ("abha-number", unknown_number, "abdm"),
        ("abha-address", "gone.one@sbx", "abdm"),
        ("abha-address", "nobody.here@sbx", "abdm"),
        ("abha-address", "gone.one@abdm", "abdm"),  # another CM's suffix
        ("aadhaar", gone.test_aadhaar, "aadhaar"),
    ]:
        resp = request_login(client, runtime, hint=hint, value=value, system=system)
        assert resp.status_code == 404, (hint, resp.text)
        assert_no_phi(resp.text, gone.abha_number, gone.name, value)
        bodies.append(resp.json())
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["error"]["code"] == "HS-1410"
    assert count(runtime, OutboxMessage) == 0
    assert {r.outcome for r in audit_rows(runtime, "abha.login.otp_request")} == {"not_found"}


def test_no_verified_mobile_means_aadhaar_otp(client, runtime):
    account = create_account(runtime, mobile=MOBILE, mobile_verified=False)
    resp = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    assert resp.status_code == 400
    assert "Aadhaar OTP" in resp.json()["error"]["message"]
    assert count(runtime, OtpTransaction) == 0


def test_aadhaar_without_registered_mobile(client, runtime):
    account = create_account(runtime, mobile=MOBILE, kyc_mobile=None)
    resp = request_login(
        client, runtime, hint="aadhaar", value=account.test_aadhaar, system="aadhaar"
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "HS-1244"
    assert count(runtime, OtpTransaction) == 0


# --------------------------------------------------------------------------- bad input


def test_aadhaar_otp_needs_the_aadhaar_hint(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    resp = request_login(
        client, runtime, hint="abha-number", value=account.abha_number, system="aadhaar"
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "HS-1243"
    assert count(runtime, OtpTransaction) == 0
    assert count(runtime, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"loginHint": "mobile", "loginId": "x", "otpSystem": "abdm"}, "scope"),
        ({"scope": ["abha-login"], "loginId": "x", "otpSystem": "abdm"}, "loginHint"),
        ({"scope": ["abha-login"], "loginHint": "mobile", "otpSystem": "abdm"}, "loginId"),
        (
            {"scope": "abha-login", "loginHint": "mobile", "loginId": "x", "otpSystem": "abdm"},
            "scope",
        ),
        (
            {
                "scope": ["abha-login"],
                "loginHint": "mobile",
                "loginId": 9876500001,
                "otpSystem": "abdm",
            },
            "loginId",
        ),
        (
            {"scope": ["abha-login"], "loginHint": "email", "loginId": "x", "otpSystem": "abdm"},
            "loginHint",
        ),
        (
            {"scope": ["abha-login"], "loginHint": "mobile", "loginId": "x", "otpSystem": "sms"},
            "otpSystem",
        ),
        ({"scope": [], "loginHint": "mobile", "loginId": "x", "otpSystem": "abdm"}, "scope"),
    ],
)
def test_request_otp_refuses_malformed_bodies(client, runtime, body, field):
    resp = client.post(f"{API}/login/request/otp", json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == "HS-1000"
    assert field in err["message"]
    assert "9876500001" not in err["message"]


def test_malformed_json_and_wrong_types_on_every_login_route(client, runtime):
    for path in ("login/request/otp", "login/verify", "login/verify/user", "login/resend-otp"):
        resp = client.post(
            f"{API}/{path}", content=b'{"scope": [', headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400, path
        assert "not valid JSON" in resp.json()["error"]["message"]
        assert client.post(f"{API}/{path}", json=[]).status_code == 400
    verify = client.post(
        f"{API}/login/verify",
        json={
            "scope": ["abha-login"],
            "authData": {"authMethods": ["password"], "otp": {"txnId": "x", "otpValue": "y"}},
        },
    )
    assert verify.status_code == 400
    assert "authMethods" in verify.json()["error"]["message"]
    missing = client.post(f"{API}/login/verify", json={"scope": ["abha-login"]})
    assert "authData is required" in missing.json()["error"]["message"]
    assert count(runtime, AuditEvent) == 0


@pytest.mark.parametrize(
    ("hint", "value", "code"),
    [
        ("mobile", "12345", "HS-1210"),
        ("mobile", "5876500001", "HS-1210"),
        ("abha-number", "91-1234-5678", "ABDM-1051"),
        ("abha-address", "bad address!@sbx", "HS-1230"),
        ("aadhaar", "234567890123", "HS-1203"),
    ],
)
def test_login_id_format_errors(client, runtime, hint, value, code):
    resp = request_login(client, runtime, hint=hint, value=value, system="abdm")
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == code
    assert_no_phi(err["message"], value)
    assert count(runtime, OtpTransaction) == 0
    [row] = audit_rows(runtime, "abha.login.otp_request")
    assert (row.outcome, row.reason_code) == ("failed", code)


def test_login_id_and_otp_must_be_encrypted(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    resp = client.post(
        f"{API}/login/request/otp",
        json={
            "scope": ["abha-login", "mobile-verify"],
            "loginHint": "abha-number",
            "loginId": account.abha_number,
            "otpSystem": "abdm",
        },
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "HS-1300"
    assert "public/certificate" in resp.json()["error"]["message"]
    txn_id = request_login(client, runtime, hint="abha-number", value=account.abha_number).json()[
        "txnId"
    ]
    plain = client.post(
        f"{API}/login/verify",
        json={
            "scope": ["abha-login", "mobile-verify"],
            "authData": {
                "authMethods": ["otp"],
                "otp": {"txnId": txn_id, "otpValue": last_otp(runtime, MOBILE)},
            },
        },
    )
    assert plain.status_code == 400
    assert plain.json()["error"]["code"] == "HS-1300"
    assert txn_row(runtime, txn_id).attempts == 0  # an unreadable OTP is not a try


@pytest.mark.parametrize(
    ("scope", "system"),
    [
        (["abha-enrol"], "abdm"),
        (["abha-login", "aadhaar-verify"], "abdm"),
        (["abha-login", "mobile-verify"], "aadhaar"),
        (["abha-login", "aadhaar-verify", "mobile-verify"], "abdm"),
        (["abha-login", "everything"], "abdm"),
    ],
)
def test_scope_errors(client, runtime, scope, system):
    account = create_account(runtime, mobile=MOBILE)
    resp = request_login(
        client, runtime, hint="aadhaar", value=account.test_aadhaar, system=system, scope=scope
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] in {"HS-1240", "HS-1242"}
    assert count(runtime, OtpTransaction) == 0


def test_extra_fields_are_ignored(client, runtime):
    account = create_account(runtime, mobile=MOBILE)
    resp = client.post(
        f"{API}/login/request/otp",
        json={
            "scope": ["abha-login", "mobile-verify"],
            "loginHint": "abha-number",
            "loginId": enc(runtime, account.abha_number),
            "otpSystem": "abdm",
            "txnId": "",
            "somethingNew": {"a": 1},
        },
    )
    assert resp.status_code == 200, resp.text


def test_bad_txn_ids(client, runtime):
    for txn_id, status in [("not-a-uuid", 400), ("00000000-0000-4000-8000-000000000000", 404)]:
        resp = verify_login(client, runtime, txn_id, "123456")
        assert resp.status_code == status
    assert count(runtime, AbhaAccount) == 0
