"""Factories and helpers for ABHA tests: accounts inserted directly (as enrolment
would leave them), sandbox KYC residents, the client's RSA-OAEP encryption, the
last OTP sent to someone, audit rows, and the profile API's login and OTP-confirmed
changes."""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.integrations.sms import SMS_TOPIC, sent_to
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.crypto import encrypt_oaep
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, reserve
from healthstack.runtime import Runtime

_seq = itertools.count(1)


def new_aadhaar() -> str:
    """A valid (Verhoeff) Aadhaar number no other test in the run uses."""
    return aadhaar_with_check_digit(f"7{next(_seq):010d}")


def make_resident(
    session: Session,
    *,
    aadhaar: str,
    name: str = "Ravi Kumar Sharma",
    gender: str = "M",
    birth_date: date = date(1990, 4, 12),
    mobile: str | None = "9876500001",
    district_lgd: int = 620,
    district_name: str = "Srinagar",
) -> KycResident:
    resident = KycResident(
        aadhaar=aadhaar,
        name=name,
        gender=gender,
        birth_date=birth_date,
        address_line="House 12, Rajbagh",
        locality="Rajbagh",
        district_name=district_name,
        district_lgd=district_lgd,
        state_name="Jammu and Kashmir",
        state_lgd=1,
        pincode="190008",
        mobile=mobile,
    )
    session.add(resident)
    session.flush()
    return resident


def make_account(
    session: Session,
    runtime: Runtime,
    *,
    aadhaar: str | None = None,
    name: str = "Ravi Kumar Sharma",
    gender: str = "M",
    birth_date: date = date(1990, 4, 12),
    mobile: str | None = "9876500001",
    mobile_verified: bool = True,
    email: str | None = None,
    status: str = "ACTIVE",
    handle: str | None = None,
    kyc_mobile: str | None = "use-mobile",
    with_resident: bool = True,
) -> AbhaAccount:
    """An account as enrolment leaves it, plus its sandbox resident (for Aadhaar OTP).

    ``kyc_mobile`` is the Aadhaar-registered mobile; by default the account's mobile.
    The Aadhaar used is kept on the returned object as ``account.test_aadhaar``.
    """
    aadhaar = aadhaar or new_aadhaar()
    number = NumberPermutation(runtime.settings.secret_key.get_secret_value()).number_for(
        reserve(session)
    )
    first, middle, last = split_name(name)
    now = runtime.clock.now()
    account = AbhaAccount(
        abha_number=number,
        aadhaar_hash=runtime.hasher.hash("aadhaar", aadhaar),
        aadhaar_last4=aadhaar[-4:],
        first_name=first,
        middle_name=middle,
        last_name=last,
        name=name,
        name_key=name_key(name),
        gender=gender,
        birth_date=birth_date,
        year_of_birth=birth_date.year,
        mobile=mobile,
        mobile_verified=mobile_verified and mobile is not None,
        email=email,
        email_verified=email is not None,
        address_line="House 12, Rajbagh",
        district_name="Srinagar",
        district_lgd=620,
        state_name="Jammu and Kashmir",
        state_lgd=1,
        pincode="190008",
        kyc_method="aadhaar_otp",
        kyc_verified=True,
        status=status,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    if handle:
        session.add(
            AbhaAddress(account_id=account.id, handle=handle, is_preferred=True, created_at=now)
        )
        session.flush()
    if with_resident:
        make_resident(
            session,
            aadhaar=aadhaar,
            name=name,
            gender=gender,
            birth_date=birth_date,
            mobile=mobile if kyc_mobile == "use-mobile" else kyc_mobile,
        )
    account.test_aadhaar = aadhaar  # type: ignore[attr-defined]
    return account


def create_account(runtime: Runtime, **kwargs: Any) -> AbhaAccount:
    """``make_account`` in its own committed unit of work (what API tests need)."""
    with unit_of_work(runtime.session_factory) as session:
        account = make_account(session, runtime, **kwargs)
        session.refresh(account, ["addresses"])
        return account


def load_account(runtime: Runtime, abha_number: str) -> AbhaAccount:
    with unit_of_work(runtime.session_factory) as session:
        account = session.scalar(select(AbhaAccount).where(AbhaAccount.abha_number == abha_number))
        assert account is not None
        session.refresh(account, ["addresses"])
        return account


def enc(runtime: Runtime, plaintext: str) -> str:
    """What a client does: RSA-OAEP with the published enrolment key, base64."""
    return encrypt_oaep(runtime.keyring.public_der_b64("enrolment"), plaintext)


def outbox(runtime: Runtime) -> list[OutboxMessage]:
    """The SMS messages queued so far (domain events share the outbox; not these)."""
    with unit_of_work(runtime.session_factory) as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def last_otp(runtime: Runtime, to: str) -> str:
    """The newest OTP sent to ``to`` (a mobile or an e-mail)."""
    for msg in reversed(outbox(runtime)):
        if sent_to(msg.payload, to, runtime.hasher) and msg.payload["template"].startswith("otp."):
            found = re.match(r"(\d{6}) ", msg.payload["text"])
            assert found, msg.payload["template"]
            return found.group(1)
    raise AssertionError("no OTP was sent there")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def notices(runtime: Runtime, to: str | None = None) -> list[dict[str, Any]]:
    return [
        m.payload
        for m in outbox(runtime)
        if m.payload["template"].startswith("notice.")
        and (to is None or sent_to(m.payload, to, runtime.hasher))
    ]


def audit_rows(runtime: Runtime, action: str | None = None) -> list[AuditEvent]:
    with unit_of_work(runtime.session_factory) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query))


def count(runtime: Runtime, model: type) -> int:
    with unit_of_work(runtime.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def txn_row(runtime: Runtime, txn_id: str) -> OtpTransaction:
    import uuid

    with unit_of_work(runtime.session_factory) as session:
        txn = session.scalar(
            select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id))
        )
        assert txn is not None
        return txn


# --------------------------------------------------------------------------- API steps

API = "/abha/api/v3/profile"


def request_login(
    client: Any,
    runtime: Runtime,
    *,
    hint: str,
    value: str,
    system: str = "abdm",
    scope: list[str] | None = None,
) -> Any:
    verify = "aadhaar-verify" if system == "aadhaar" else "mobile-verify"
    return client.post(
        f"{API}/login/request/otp",
        json={
            "scope": scope or ["abha-login", verify],
            "loginHint": hint,
            "loginId": enc(runtime, value),
            "otpSystem": system,
        },
    )


def verify_login(
    client: Any, runtime: Runtime, txn_id: str, otp: str, scope: list[str] | None = None
) -> Any:
    return client.post(
        f"{API}/login/verify",
        json={
            "scope": scope or ["abha-login", "mobile-verify"],
            "authData": {
                "authMethods": ["otp"],
                "otp": {"txnId": txn_id, "otpValue": enc(runtime, otp)},
            },
        },
    )


def login_token(client: Any, runtime: Runtime, account: AbhaAccount) -> str:
    """Log in by ABHA number and mobile OTP; the user token."""
    sent = request_login(client, runtime, hint="abha-number", value=account.abha_number)
    assert sent.status_code == 200, sent.text
    done = verify_login(client, runtime, sent.json()["txnId"], last_otp(runtime, account.mobile))
    assert done.status_code == 200, done.text
    return str(done.json()["token"])


def profile_request(
    client: Any,
    runtime: Runtime,
    headers: dict[str, str],
    scope: list[str],
    hint: str | None = None,
    value: str | None = None,
    system: str = "abdm",
) -> Any:
    """The holder asks for an OTP to change their profile (``scope`` after abha-profile)."""
    body: dict[str, Any] = {"scope": ["abha-profile", *scope], "otpSystem": system}
    if hint:
        body["loginHint"] = hint
    if value is not None:
        body["loginId"] = enc(runtime, value)
    return client.post(f"{API}/account/request/otp", json=body, headers=headers)


def profile_verify(
    client: Any, runtime: Runtime, headers: dict[str, str], scope: list[str], txn_id: str, otp: str
) -> Any:
    return client.post(
        f"{API}/account/verify",
        headers=headers,
        json={
            "scope": ["abha-profile", *scope],
            "authData": {
                "authMethods": ["otp"],
                "otp": {"txnId": txn_id, "otpValue": enc(runtime, otp)},
            },
        },
    )


def profile_change(
    client: Any,
    runtime: Runtime,
    headers: dict[str, str],
    scope: list[str],
    hint: str | None = None,
    value: str | None = None,
    *,
    otp_to: str,
    system: str = "abdm",
) -> dict[str, Any]:
    """A profile change through its OTP (sent to ``otp_to``); the verify answer."""
    sent = profile_request(client, runtime, headers, scope, hint, value, system)
    assert sent.status_code == 200, sent.text
    otp = last_otp(runtime, otp_to)
    done = profile_verify(client, runtime, headers, scope, sent.json()["txnId"], otp)
    assert done.status_code == 200, done.text
    return dict(done.json())


def assert_no_phi(text: str, *values: str | None) -> None:
    """None of the person's details appear in a response or message."""
    lowered = text.lower()
    for value in values:
        if value:
            assert value.lower() not in lowered, "personal data leaked into the message"
