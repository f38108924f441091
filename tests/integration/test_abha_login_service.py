"""The login and profile services against a real database, below HTTP: lookups by
hint, scope rules, the audit step, the shared lock-out, per-transaction picks, and
state that changes between the OTP request and its verification."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import ANONYMOUS_ACTOR, Purpose, RequestContext
from healthstack.kernel.errors import (
    NotFound,
    OtpInvalid,
    OtpLocked,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.ids import AbhaNumber
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha import login, profile
from healthstack.network.abha.auth import patient_context
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from tests.factories_abha import (
    audit_rows,
    create_account,
    enc,
    last_otp,
    load_account,
    txn_row,
    wrong,
)

MOBILE = "9876500001"


def _anon() -> RequestContext:
    return RequestContext(actor=ANONYMOUS_ACTOR, purpose=Purpose.IDENTITY_VERIFICATION)


def _request(runtime, hint, value, *, scope=None, system="abdm"):
    with unit_of_work(runtime.session_factory) as s:
        return login.request_login_otp(
            s,
            _anon(),
            scope=scope or ["abha-login"],
            login_hint=hint,
            login_id=enc(runtime, value),
            otp_system=system,
            parts=AbhaParts.of(runtime),
        )


def _verify(runtime, txn_id, code, *, scope=None):
    with unit_of_work(runtime.session_factory) as s:
        result = login.verify_login(
            s,
            _anon(),
            scope=scope or ["abha-login"],
            txn_id=txn_id,
            otp_value=enc(runtime, code),
            parts=AbhaParts.of(runtime),
        )
        return result


def _find(runtime, hint, value):
    with unit_of_work(runtime.session_factory) as s:
        found = login.find_account_by_hint(
            s,
            login_hint=hint,
            value=value,
            suffix=runtime.settings.abha_suffix,
            hasher=runtime.hasher,
        )
        return found.abha_number if found else None


def test_find_account_by_hint(runtime):
    account = create_account(runtime, mobile=MOBILE, handle="ravi_k.1990")
    number = account.abha_number
    formatted = AbhaNumber(number).formatted
    assert _find(runtime, "abha-number", formatted) == number
    assert _find(runtime, "abha-number", formatted.replace("-", " ")) == number
    assert _find(runtime, "abha-address", "RAVI_K.1990@sbx") == number
    assert _find(runtime, "abha-address", "ravi_k.1990") == number
    assert _find(runtime, "abha-address", f"{number}@sbx") == number
    assert _find(runtime, "abha-address", "ravi_k.1990@abdm") is None
    assert _find(runtime, "abha-address", "someone.else@sbx") is None
    assert _find(runtime, "aadhaar", account.test_aadhaar) == number
    with pytest.raises(ValidationFailed):
        _find(runtime, "abha-address", "ravi k@sbx")
    with pytest.raises(ValidationFailed):
        _find(runtime, "aadhaar", "1234")
    with unit_of_work(runtime.session_factory) as s:
        s.scalar(select(AbhaAccount).where(AbhaAccount.abha_number == number)).status = "DELETED"
    assert _find(runtime, "abha-number", number) is None
    assert _find(runtime, "aadhaar", account.test_aadhaar) is None


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (["abha-login"], (False, None)),
        (["abha-login", "mobile-verify"], (False, "abdm")),
        (["abha-login", "aadhaar-verify"], (False, "aadhaar")),
        (["abha-login", "reactivate", "mobile-verify"], (True, "abdm")),
        (["reactivate"], ValidationFailed),
        (["abha-login", "abha-profile"], ValidationFailed),
        (["abha-login", "mobile-verify", "aadhaar-verify"], ValidationFailed),
    ],
)
def test_login_scopes(scope, expected):
    if expected is ValidationFailed:
        with pytest.raises(ValidationFailed):
            login.parse_login_scope(scope)
    else:
        parsed = login.parse_login_scope(scope)
        assert (parsed.reactivate, parsed.method) == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (["abha-profile", "mobile-verify"], "profile-mobile"),
        (["abha-profile", "email-verify"], "profile-email"),
        (["abha-profile", "deactivate"], "deactivate"),
        (["abha-profile", "delete"], "delete"),
        (["abha-profile", "re-kyc", "aadhaar-verify"], "re-kyc"),
        (["abha-profile"], None),
        (["mobile-verify"], None),
        (["abha-profile", "delete", "deactivate"], None),
        (["abha-profile", "delete", "aadhaar-verify"], None),
        (["abha-profile", "delete", "reactivate"], None),
    ],
)
def test_profile_scopes(scope, expected):
    if expected is None:
        with pytest.raises(ValidationFailed):
            profile.parse_profile_scope(scope)
    else:
        assert profile.parse_profile_scope(scope) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ravi@example.org", "ravi@example.org"),
        ("  Ravi.Kumar+abha@Mail.Example.IN ", "Ravi.Kumar+abha@mail.example.in"),
        ("r_k-1@sub-domain.co.in", "r_k-1@sub-domain.co.in"),
    ],
)
def test_email_normalisation(raw, expected):
    assert profile.normalise_email(raw) == expected


def test_mask_name():
    assert login.mask_name("Ravi Kumar") == "R*** K****"
    assert login.mask_name("  Mohd.  Yousuf ") == "M**** Y*****"
    assert login.mask_name("A") == "A"


def test_audit_step_names_the_caller_on_failure_and_the_patient_on_success(runtime):
    account = create_account(runtime, mobile=MOBILE)
    anon = _anon()
    with unit_of_work(runtime.session_factory) as s:
        acc = s.get(AbhaAccount, account.id)
        with login.audit_step(s, anon, action="t.ok", clock=runtime.clock) as step:
            step.ctx = patient_context(acc, request_id=anon.request_id)
            step.resource_id = str(acc.public_id)
    with (
        pytest.raises(NotFound),
        unit_of_work(runtime.session_factory) as s,
        login.audit_step(s, anon, action="t.fail", clock=runtime.clock, resource_id="r1"),
    ):
        s.add(
            AuditEvent(
                occurred_at=runtime.clock.now(),
                actor_kind="x",
                actor_id="x",
                purpose="x",
                action="t.rolled_back",
                resource_type="x",
                outcome="x",
            )
        )
        raise NotFound("gone")
    [ok] = audit_rows(runtime, "t.ok")
    assert (ok.actor_kind, ok.actor_id, ok.request_id) == (
        "patient",
        account.abha_number,
        anon.request_id,
    )
    [fail] = audit_rows(runtime, "t.fail")
    assert (fail.actor_kind, fail.outcome, fail.resource_id) == ("anonymous", "not_found", "r1")
    assert audit_rows(runtime, "t.rolled_back") == []


def test_otp_state_holds_no_personal_data(runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = _request(runtime, "aadhaar", account.test_aadhaar, system="aadhaar")
    txn = txn_row(runtime, sent.txn_id)
    assert txn.state == {"flow": "login", "hint": "aadhaar"}
    assert account.test_aadhaar not in repr(txn.__dict__)
    assert txn.otp_hash and last_otp(runtime, MOBILE) not in repr(txn.__dict__)


def test_lock_out_is_shared_by_profile_and_login(runtime):
    account = create_account(runtime, mobile=MOBILE)
    with unit_of_work(runtime.session_factory) as s:
        acc = s.get(AbhaAccount, account.id)
        ctx = patient_context(acc, request_id="r")
        sent = profile.request_profile_otp(
            s,
            ctx,
            account=acc,
            scope=["abha-profile", "email-verify"],
            login_hint="email",
            login_id=enc(runtime, "ravi@example.org"),
            otp_system="abdm",
            parts=AbhaParts.of(runtime),
        )
    code = last_otp(runtime, "ravi@example.org")
    for expected in (OtpInvalid, OtpInvalid, OtpLocked):
        with pytest.raises(expected), unit_of_work(runtime.session_factory) as s:
            acc = s.get(AbhaAccount, account.id)
            profile.verify_profile_otp(
                s,
                ctx,
                account=acc,
                scope=["abha-profile", "email-verify"],
                txn_id=sent.txn_id,
                otp_value=enc(runtime, wrong(code)),
                parts=AbhaParts.of(runtime),
            )
    with pytest.raises(OtpLocked):
        _request(runtime, "abha-number", account.abha_number)
    # A mobile login is another subject (the mobile), so it is not blocked.
    assert _request(runtime, "mobile", MOBILE).txn_id
    assert load_account(runtime, account.abha_number).email is None


def test_picks_are_bound_to_their_transaction(runtime):
    account = create_account(runtime, mobile=MOBILE)
    first = _request(runtime, "mobile", MOBILE)
    listed_a = _verify(runtime, first.txn_id, last_otp(runtime, MOBILE))
    second = _request(runtime, "mobile", MOBILE)
    listed_b = _verify(runtime, second.txn_id, last_otp(runtime, MOBILE))
    ref_a = listed_a.accounts[0]["accountRef"]
    ref_b = listed_b.accounts[0]["accountRef"]
    assert ref_a != ref_b
    assert str(account.public_id) not in (ref_a, ref_b)
    with pytest.raises(NotFound), unit_of_work(runtime.session_factory) as s:
        login.select_login_account(
            s,
            _anon(),
            t_token_header=f"Bearer {listed_b.t_token}",
            txn_id=second.txn_id,
            abha_number=None,
            account_ref=ref_a,
            parts=AbhaParts.of(runtime),
        )
    with unit_of_work(runtime.session_factory) as s:
        done = login.select_login_account(
            s,
            _anon(),
            t_token_header=f"Bearer {listed_b.t_token}",
            txn_id=second.txn_id,
            abha_number=None,
            account_ref=ref_b,
            parts=AbhaParts.of(runtime),
        )
        assert done.user_tokens is not None
    assert txn_row(runtime, second.txn_id).status == "COMPLETED"
    assert txn_row(runtime, first.txn_id).status == "VERIFIED"


def test_status_changes_between_request_and_verify(runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = _request(runtime, "abha-number", account.abha_number)
    with unit_of_work(runtime.session_factory) as s:
        s.get(AbhaAccount, account.id).status = "DEACTIVATED"
    with pytest.raises(PermissionDenied):
        _verify(runtime, sent.txn_id, last_otp(runtime, MOBILE))
    # Refused whole: the OTP is not spent and no token row or change is left behind.
    assert txn_row(runtime, sent.txn_id).status == "PENDING"
    with unit_of_work(runtime.session_factory) as s:
        s.get(AbhaAccount, account.id).status = "DELETED"
    with pytest.raises(NotFound):
        _verify(runtime, sent.txn_id, last_otp(runtime, MOBILE))
    reasons = [r.reason_code for r in audit_rows(runtime, "abha.login.verify")]
    assert reasons == ["HS-1405", "HS-1410"]


def test_mobile_unlinked_between_request_and_verify(runtime):
    account = create_account(runtime, mobile=MOBILE)
    sent = _request(runtime, "mobile", MOBILE)
    with unit_of_work(runtime.session_factory) as s:
        s.get(AbhaAccount, account.id).mobile = "9876500002"
    with pytest.raises(NotFound, match="No ABHA is linked"):
        _verify(runtime, sent.txn_id, last_otp(runtime, MOBILE))
    assert txn_row(runtime, sent.txn_id).status == "PENDING"
