"""CRT_ABHA_106 and the lock-out: the OTP rules, against a real database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from healthstack.identity.otp import OtpService, TxnStatus
from healthstack.kernel.errors import OtpExpired, OtpInvalid, OtpLocked, ResendTooEarly
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work

MOBILE = "9876543210"


@pytest.fixture
def otp(runtime):
    return OtpService(settings=runtime.settings.otp, hasher=runtime.hasher, clock=runtime.clock)


def _start(runtime, otp, subject="s1"):
    with unit_of_work(runtime.session_factory) as s:
        txn = otp.start(
            s,
            scope="login",
            otp_system="abdm",
            subject_key=otp.subject_key("mobile", subject),
            send_to=MOBILE,
        )
        return txn.public_id


def _last_code(runtime):
    with unit_of_work(runtime.session_factory) as s:
        msg = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        return re.match(r"(\d{6}) ", msg.payload["text"]).group(1)


def _verify(runtime, otp, txn_id, code):
    with unit_of_work(runtime.session_factory) as s:
        otp.verify(s, otp.get(s, txn_id), code)


def _wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def test_right_otp_verifies_once(runtime, otp):
    txn_id = _start(runtime, otp)
    code = _last_code(runtime)
    _verify(runtime, otp, txn_id, code)
    with unit_of_work(runtime.session_factory) as s:
        assert otp.get(s, txn_id).status == TxnStatus.VERIFIED.value
    with pytest.raises(Exception, match="already used"):
        _verify(runtime, otp, txn_id, code)


def test_wrong_tries_are_counted_then_lock_out_the_subject(runtime, otp):
    txn_id = _start(runtime, otp)
    code = _last_code(runtime)
    for left in (2, 1):
        with pytest.raises(OtpInvalid, match=f"{left} tr"):
            _verify(runtime, otp, txn_id, _wrong(code))
    with pytest.raises(OtpLocked):
        _verify(runtime, otp, txn_id, _wrong(code))
    # Even the right code is refused now, and a fresh transaction for the same person too.
    with pytest.raises(OtpLocked):
        _verify(runtime, otp, txn_id, code)
    with pytest.raises(OtpLocked):
        _start(runtime, otp)
    # Another person is not affected.
    _start(runtime, otp, subject="someone-else")


def test_expired_otp(runtime, otp, clock):
    txn_id = _start(runtime, otp)
    code = _last_code(runtime)
    clock.advance(seconds=runtime.settings.otp.ttl_seconds + 1)
    with pytest.raises(OtpExpired):
        _verify(runtime, otp, txn_id, code)


def test_resend_after_60s_at_most_twice(runtime, otp, clock):
    txn_id = _start(runtime, otp)
    first = _last_code(runtime)

    def resend():
        with unit_of_work(runtime.session_factory) as s:
            otp.resend(s, otp.get(s, txn_id))

    with pytest.raises(ResendTooEarly, match="Wait"):
        resend()
    clock.advance(seconds=60)
    resend()
    second = _last_code(runtime)
    clock.advance(seconds=30)
    with pytest.raises(ResendTooEarly):
        resend()
    clock.advance(seconds=30)
    resend()
    clock.advance(seconds=61)
    with pytest.raises(ResendTooEarly, match="at most 2"):
        resend()
    third = _last_code(runtime)
    # Only the newest OTP works.
    if first != third:
        with pytest.raises(OtpInvalid):
            _verify(runtime, otp, txn_id, first)
    _verify(runtime, otp, txn_id, third)
    assert second  # three distinct SMS were queued


def test_new_transaction_cannot_bypass_the_resend_interval(runtime, otp, clock):
    _start(runtime, otp)
    with pytest.raises(ResendTooEarly, match="same txnId"):
        _start(runtime, otp)
    _start(runtime, otp, subject="another-person")
    clock.advance(seconds=60)
    _start(runtime, otp)
