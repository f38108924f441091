"""The patient's consent PIN: approving a consent request needs it, as ABDM's PHR apps
ask for one, so a phone left logged in (or a family member on a shared mobile) cannot
share someone's records with a facility.

- Four digits, set in the PHR (``set_pin``), changed with the current one, reset with
  an OTP to the ABHA's verified mobile (``request_reset`` → ``reset_pin``).
- Kept only as a keyed hash bound to the account (``KeyedHasher``: without the
  deployment's secret the 10,000 values cannot be tried offline).
- ``MAX_TRIES`` wrong PINs in a row lock it for ``LOCK_MINUTES``; a reset by OTP ends
  the lock. Wrong tries count even though the request fails (``commit_anyway``, as a
  wrong OTP does), so check the PIN before anything else changes in the unit of work.
- Every set, change, reset and every wrong or locked try is audited (``phr.pin.*``),
  never with the PIN.

Deny and revoke need no PIN: they stop sharing, and a patient must never be kept from
that. Reading one's own records (a self-request) needs none either: those records go
to the session that asks, which holds the login already (ADR 0015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import OtpService
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.network.abha.login import OtpSent, sent_message
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.consent.models import ConsentPin

PIN_LENGTH = 4
MAX_TRIES = 5
LOCK_MINUTES = 60
RESET_SCOPE = "consent-pin-reset"
_HASH_DOMAIN = "consent-pin"

PIN_INVALID = "HS-1610"
PIN_TOO_SIMPLE = "HS-1611"
PIN_NOT_SET = "HS-1612"
PIN_WRONG = "HS-1613"
PIN_LOCKED = "HS-1614"
PIN_CURRENT_NEEDED = "HS-1615"
PIN_RESET_UNKNOWN = "HS-1616"
PIN_NO_MOBILE = "HS-1617"


class PinWrong(PermissionDenied):
    code = PIN_WRONG


class PinLocked(DomainError):
    status_hint = 429
    code = PIN_LOCKED


class PinNotSet(Conflict):
    code = PIN_NOT_SET


@dataclass(frozen=True)
class PinStatus:
    set: bool
    locked_until: datetime | None
    tries_left: int


def _counted(exc: DomainError) -> DomainError:
    """The wrong try (or the lock it caused) is kept although the request fails."""
    exc.commit_anyway = True  # type: ignore[attr-defined]
    return exc


def _row(session: Session, account: AbhaAccount, *, lock: bool = False) -> ConsentPin | None:
    query = select(ConsentPin).where(ConsentPin.account_id == account.id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _hash(hasher: KeyedHasher, account: AbhaAccount, pin: str) -> str:
    return hasher.hash(_HASH_DOMAIN, f"{account.public_id}:{pin}")


def check_format(pin: str, *, field: str = "pin") -> str:
    """A new PIN: four digits, not all the same nor a run (1234, 9876)."""
    value = (pin or "").strip()
    if len(value) != PIN_LENGTH or not value.isdigit():
        raise ValidationFailed(
            f"The consent PIN is {PIN_LENGTH} digits. Enter {PIN_LENGTH} digits.",
            code=PIN_INVALID,
            field=field,
        )
    steps = {int(b) - int(a) for a, b in zip(value, value[1:], strict=False)}
    if steps in ({0}, {1}, {-1}):
        raise ValidationFailed(
            "This PIN is too easy to guess (the same digit, or digits in a row). Choose "
            "four digits others would not guess.",
            code=PIN_TOO_SIMPLE,
            field=field,
        )
    return value


def status(session: Session, *, account: AbhaAccount, now: datetime) -> PinStatus:
    row = _row(session, account)
    if row is None:
        return PinStatus(False, None, MAX_TRIES)
    locked = row.locked_until if row.locked_until and row.locked_until > now else None
    return PinStatus(True, locked, 0 if locked else MAX_TRIES - row.failed_tries)


def _locked(row: ConsentPin, now: datetime) -> PinLocked:
    assert row.locked_until is not None
    seconds = max(1, math.ceil((row.locked_until - now).total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    exc = PinLocked(
        f"The consent PIN was wrong too many times, so it is locked for about {minutes} "
        "more minutes. Wait, or reset the PIN with an OTP to your ABHA mobile.",
        field="pin",
    )
    exc.headers = {"Retry-After": str(seconds)}  # type: ignore[attr-defined]
    return exc


def _verify(
    account: AbhaAccount, row: ConsentPin, pin: str, *, clock: Clock, hasher: KeyedHasher
) -> None:
    """Check ``pin`` against the row; a wrong one counts, the last wrong one locks."""
    now = clock.now()
    if row.locked_until is not None and row.locked_until > now:
        raise _locked(row, now)
    value = (pin or "").strip()
    if len(value) != PIN_LENGTH or not value.isdigit():
        # Not a try: nothing was compared.
        raise ValidationFailed(
            f"Enter your {PIN_LENGTH}-digit consent PIN.", code=PIN_INVALID, field="pin"
        )
    if hasher.matches(_HASH_DOMAIN, f"{account.public_id}:{value}", row.pin_hash):
        row.failed_tries = 0
        row.locked_until = None
        return
    row.failed_tries += 1
    row.updated_at = now
    if row.failed_tries >= MAX_TRIES:
        row.failed_tries = 0
        row.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        raise _counted(_locked(row, now))
    left = MAX_TRIES - row.failed_tries
    raise _counted(
        PinWrong(
            f"The consent PIN is not correct ({left} {'try' if left == 1 else 'tries'} left). "
            "Forgot it? Reset it with an OTP to your ABHA mobile.",
            field="pin",
        )
    )


def check_pin(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    pin: str | None,
    clock: Clock,
    hasher: KeyedHasher,
) -> None:
    """The patient's PIN before a grant: not set (409), wrong (403, counted) or locked
    (429) refuse. Call it before any other change of the unit of work."""
    with audited(
        session,
        ctx,
        action="phr.pin.verify",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        row = _row(session, account, lock=True)
        if row is None:
            raise PinNotSet(
                "Set your consent PIN first: approving a consent needs it. Open “Consent "
                "PIN” in your PHR (or POST /api/v1/phr/pin).",
                field="pin",
            )
        _verify(account, row, pin or "", clock=clock, hasher=hasher)


def set_pin(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    pin: str,
    current_pin: str | None = None,
    clock: Clock,
    hasher: KeyedHasher,
) -> None:
    """Set the first PIN, or change it with the current one."""
    row = _row(session, account, lock=True)
    with audited(
        session,
        ctx,
        action="phr.pin.change" if row is not None else "phr.pin.set",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        now = clock.now()
        if row is not None:
            if not (current_pin or "").strip():
                raise ValidationFailed(
                    "You have a consent PIN already: enter the current PIN to change it, or "
                    "reset it with an OTP to your ABHA mobile.",
                    code=PIN_CURRENT_NEEDED,
                    field="currentPin",
                )
            _verify(account, row, current_pin or "", clock=clock, hasher=hasher)
        _store(session, account, row, check_format(pin), now=now, hasher=hasher)


def _store(
    session: Session,
    account: AbhaAccount,
    row: ConsentPin | None,
    pin: str,
    *,
    now: datetime,
    hasher: KeyedHasher,
) -> None:
    """Keep ``pin`` (checked already) as the account's PIN: tries counted afresh, no lock."""
    if row is None:
        row = ConsentPin(account_id=account.id, pin_hash="", failed_tries=0, set_at=now)
        session.add(row)
    row.pin_hash = _hash(hasher, account, pin)
    row.failed_tries = 0
    row.locked_until = None
    row.set_at = now
    row.updated_at = now
    session.flush()


def request_reset(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    clock: Clock,
    otp_service: OtpService,
    txn_ttl_seconds: int,
) -> OtpSent:
    """Send the OTP that lets the holder choose a new PIN (to the ABHA's verified mobile);
    the transaction lasts ``txn_ttl_seconds`` (the ABHA service's)."""
    with audited(
        session,
        ctx,
        action="phr.pin.reset.otp_request",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        if not account.mobile or not account.mobile_verified:
            raise ValidationFailed(
                "Your ABHA has no verified mobile to send the OTP to. Add and verify a mobile "
                "on your ABHA profile first, then reset the PIN.",
                code=PIN_NO_MOBILE,
                field="mobile",
            )
        txn = otp_service.start(
            session,
            scope=RESET_SCOPE,
            otp_system="abdm",
            subject_key=otp_service.subject_key("account", account.abha_number),
            send_to=account.mobile,
            state={"flow": "consent-pin"},
            account_id=account.id,
            txn_ttl_seconds=txn_ttl_seconds,
        )
        return OtpSent(str(txn.public_id), sent_message(txn))


def _reset_txn(
    session: Session, account: AbhaAccount, txn_id: str, *, otp_service: OtpService
) -> OtpTransaction:
    txn = otp_service.get(session, txn_id, for_update=True)
    # Another holder's transaction, or one for something else, is as good as none.
    if (
        txn.account_id != account.id
        or txn.scope != RESET_SCOPE
        or txn.state.get("flow") != "consent-pin"
    ):
        raise NotFound(
            "This PIN reset was not found. Ask for a new OTP to reset your PIN.",
            code=PIN_RESET_UNKNOWN,
            field="txnId",
        )
    return txn


def resend_reset(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    txn_id: str,
    clock: Clock,
    otp_service: OtpService,
) -> OtpSent:
    with audited(
        session,
        ctx,
        action="phr.pin.reset.otp_resend",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        txn = _reset_txn(session, account, txn_id, otp_service=otp_service)
        otp_service.resend(session, txn)
        return OtpSent(str(txn.public_id), sent_message(txn))


def reset_pin(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    txn_id: str,
    otp: str,
    pin: str,
    clock: Clock,
    hasher: KeyedHasher,
    otp_service: OtpService,
) -> None:
    """The OTP proves the ABHA mobile: a new PIN, and any lock ends."""
    with audited(
        session,
        ctx,
        action="phr.pin.reset",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        # A PIN that would be refused is refused before the OTP is spent on it.
        value = check_format(pin)
        txn = _reset_txn(session, account, txn_id, otp_service=otp_service)
        # Nothing else may change before this: a wrong OTP commits its counted try.
        otp_service.verify(session, txn, otp)
        otp_service.complete(txn)
        row = _row(session, account, lock=True)
        _store(session, account, row, value, now=clock.now(), hasher=hasher)
