"""OTP transactions under ABDM's rules (CRT_ABHA_106 and the v3 enrolment API), for
every flow that sends an OTP (ABHA enrolment, login and profile changes, HPR
registration, the consent-PIN reset):

- a 6-digit OTP from ``secrets``, kept only as a keyed hash bound to its transaction;
- it expires (``otp.ttl_seconds``); the transaction itself expires later;
- at most ``max_attempts`` (3) wrong tries, then the transaction is locked and the
  *subject* (the Aadhaar, mobile or account it is about) is locked out for
  ``lockout_seconds``: a new transaction for the same subject is refused until then;
- resend only after ``resend_after_seconds`` (60) and at most ``max_resends`` (2) times;
- the SMS goes through the outbox in the same transaction as the OTP row.

A wrong OTP must still count after the request fails, so the errors raised here are
marked ``commit_anyway``: the unit of work commits the attempt counter (the only
change made before ``verify`` raises) and then lets the error through.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.integrations.sms import send_sms
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import (
    NotFound,
    OtpExpired,
    OtpInvalid,
    OtpLocked,
    ResendTooEarly,
    ValidationFailed,
)
from healthstack.settings import OtpSettings


class TxnStatus(StrEnum):
    PENDING = "PENDING"  # OTP sent, not yet verified
    VERIFIED = "VERIFIED"  # OTP verified; the flow may take its next step
    LOCKED = "LOCKED"  # too many wrong OTPs
    COMPLETED = "COMPLETED"  # the flow finished; the txnId cannot be replayed


# What each scope's SMS says the OTP is for (no names or numbers in it).
PURPOSE_TEXT = {
    "abha-enrol": "create your ABHA",
    "mobile-verify": "verify this mobile for your ABHA",
    "login": "log in to your ABHA",
    "profile-mobile": "change the mobile on your ABHA",
    "profile-email": "change the e-mail on your ABHA",
    "re-kyc": "update your ABHA details from Aadhaar",
    "deactivate": "deactivate your ABHA",
    "delete": "delete your ABHA",
    "reactivate": "reactivate your ABHA",
    "consent-pin-reset": "reset your consent PIN",
    "hpr-register": "register in the Health Professional Registry",
    "hpr-mobile": "verify this mobile for your HPR registration",
}


def _locked(exc: OtpLocked) -> OtpLocked:
    exc.commit_anyway = True  # type: ignore[attr-defined]
    return exc


class OtpService:
    def __init__(self, *, settings: OtpSettings, hasher: KeyedHasher, clock: Clock):
        self.settings = settings
        self.hasher = hasher
        self.clock = clock

    # ------------------------------------------------------------------ helpers
    def subject_key(self, kind: str, value: str) -> str:
        return self.hasher.hash(f"otp-subject:{kind}", value)

    def _new_code(self) -> str:
        return f"{secrets.randbelow(10**self.settings.length):0{self.settings.length}d}"

    def _code_hash(self, txn: OtpTransaction, code: str) -> str:
        return self.hasher.hash("otp", f"{txn.public_id}:{code}")

    def _send(self, session: Session, txn: OtpTransaction, code: str) -> None:
        minutes = self.settings.ttl_seconds // 60
        purpose = PURPOSE_TEXT.get(txn.scope, "continue")
        text = (
            f"{code} is your OTP to {purpose}. It is valid for {minutes} minutes. "
            "Do not share it with anyone. - HealthStack"
        )
        if txn.sent_to and "@" in txn.sent_to:
            # E-mail OTPs use the same outbox; the dev page shows them too.
            send_sms(
                session,
                mobile=txn.sent_to,
                text=text,
                template=f"otp.{txn.scope}.email",
                clock=self.clock,
            )
        elif txn.sent_to:
            send_sms(
                session,
                mobile=txn.sent_to,
                text=text,
                template=f"otp.{txn.scope}",
                clock=self.clock,
            )

    def _issue(self, session: Session, txn: OtpTransaction) -> str:
        now = self.clock.now()
        code = self._new_code()
        txn.otp_hash = self._code_hash(txn, code)
        txn.otp_expires_at = now + timedelta(seconds=self.settings.ttl_seconds)
        txn.last_sent_at = now
        self._send(session, txn, code)
        return code

    def assert_not_locked_out(self, session: Session, subject_key: str) -> None:
        now = self.clock.now()
        until = session.scalar(
            select(OtpTransaction.locked_until)
            .where(OtpTransaction.subject_key == subject_key)
            .where(OtpTransaction.locked_until > now)
            .order_by(OtpTransaction.locked_until.desc())
            .limit(1)
        )
        if until is not None:
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            raise OtpLocked(
                "Too many wrong OTPs were entered. For your safety OTPs are blocked for "
                f"about {minutes} more minutes; try again after that.",
            )

    def assert_no_recent_otp(self, session: Session, subject_key: str, scope: str) -> None:
        """No new transaction while an unused OTP for the same person and purpose is
        younger than the resend interval: otherwise opening transaction after
        transaction would bypass the resend rule (60 s, twice) and flood a phone."""
        now = self.clock.now()
        gap = self.settings.resend_after_seconds
        last = session.scalar(
            select(func.max(OtpTransaction.last_sent_at))
            .where(OtpTransaction.subject_key == subject_key)
            .where(OtpTransaction.scope == scope)
            .where(OtpTransaction.status == TxnStatus.PENDING.value)
            .where(OtpTransaction.last_sent_at > now - timedelta(seconds=gap))
        )
        if last is not None:
            wait = max(1, gap - int((now - last).total_seconds()))
            raise ResendTooEarly(
                f"An OTP was sent for this less than {gap} seconds ago. Enter that OTP, or "
                f"wait {wait} more seconds and ask for it again with the same txnId."
            )

    # ------------------------------------------------------------------ API
    def start(
        self,
        session: Session,
        *,
        scope: str,
        otp_system: str,
        subject_key: str,
        send_to: str | None,
        state: dict[str, Any] | None = None,
        account_id: int | None = None,
        txn_ttl_seconds: int = 1800,
    ) -> OtpTransaction:
        """Open a transaction and send its first OTP (to ``send_to``)."""
        self.assert_not_locked_out(session, subject_key)
        self.assert_no_recent_otp(session, subject_key, scope)
        now = self.clock.now()
        txn = OtpTransaction(
            public_id=uuid.uuid4(),
            scope=scope,
            otp_system=otp_system,
            subject_key=subject_key,
            sent_to=send_to,
            attempts=0,
            resend_count=0,
            status=TxnStatus.PENDING.value,
            state=dict(state or {}),
            account_id=account_id,
            created_at=now,
            expires_at=now + timedelta(seconds=txn_ttl_seconds),
        )
        session.add(txn)
        self._issue(session, txn)
        session.flush()
        return txn

    def get(
        self, session: Session, txn_id: str | uuid.UUID, *, for_update: bool = False
    ) -> OtpTransaction:
        try:
            pid = txn_id if isinstance(txn_id, uuid.UUID) else uuid.UUID(str(txn_id))
        except ValueError as exc:
            raise ValidationFailed(
                "txnId is not a transaction id. Use the txnId returned by the OTP request.",
                field="txnId",
            ) from exc
        query = select(OtpTransaction).where(OtpTransaction.public_id == pid)
        if for_update and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        txn = session.scalar(query)
        if txn is None:
            raise NotFound(
                "This transaction was not found. Start again by requesting a new OTP.",
                field="txnId",
            )
        if txn.expires_at <= self.clock.now():
            raise OtpExpired(
                "This transaction has expired. Start again by requesting a new OTP.",
                code="HS-1105",
            )
        return txn

    def resend(self, session: Session, txn: OtpTransaction) -> OtpTransaction:
        now = self.clock.now()
        if txn.status == TxnStatus.LOCKED.value:
            raise OtpLocked("Too many wrong OTPs were entered. Start again later.")
        if txn.status != TxnStatus.PENDING.value:
            raise ValidationFailed(
                "This OTP was already verified; continue with the next step.", field="txnId"
            )
        if txn.resend_count >= self.settings.max_resends:
            raise ResendTooEarly(
                f"The OTP can be resent at most {self.settings.max_resends} times. "
                "Start again by requesting a new OTP.",
                code="HS-1106",
            )
        assert txn.last_sent_at is not None
        wait = self.settings.resend_after_seconds - int((now - txn.last_sent_at).total_seconds())
        if wait > 0:
            raise ResendTooEarly(f"Wait {wait} more seconds before asking for the OTP again.")
        txn.resend_count += 1
        self._issue(session, txn)
        return txn

    def verify(self, session: Session, txn: OtpTransaction, code: str) -> OtpTransaction:
        """Check ``code``; on success the transaction becomes VERIFIED.

        Call this before making any other change in the unit of work: a wrong OTP is
        committed (attempt counted) even though the request fails.
        """
        now = self.clock.now()
        if txn.status == TxnStatus.LOCKED.value or (
            txn.locked_until is not None and txn.locked_until > now
        ):
            raise _locked(OtpLocked("Too many wrong OTPs were entered. Start again later."))
        if txn.status in (TxnStatus.VERIFIED.value, TxnStatus.COMPLETED.value):
            raise ValidationFailed(
                "This OTP was already used. Continue with the next step or start again.",
                field="txnId",
                code="HS-1107",
            )
        if txn.otp_expires_at is None or txn.otp_expires_at <= now:
            raise OtpExpired("The OTP has expired. Ask for a new OTP (resend) and enter it.")
        code = (code or "").strip()
        if len(code) != self.settings.length or not code.isdigit():
            raise ValidationFailed(
                f"The OTP has {self.settings.length} digits. Enter the OTP from the SMS.",
                field="otp",
                code="HS-1108",
            )
        if not self.hasher.matches("otp", f"{txn.public_id}:{code}", txn.otp_hash):
            txn.attempts += 1
            left = self.settings.max_attempts - txn.attempts
            if left <= 0:
                txn.status = TxnStatus.LOCKED.value
                txn.locked_until = now + timedelta(seconds=self.settings.lockout_seconds)
                minutes = self.settings.lockout_seconds // 60
                raise _locked(
                    OtpLocked(
                        "The OTP was wrong too many times. For safety, OTPs for this person "
                        f"are blocked for {minutes} minutes; try again after that."
                    )
                )
            exc = OtpInvalid(
                f"The OTP is not correct. Check the SMS and try again ({left} "
                f"{'try' if left == 1 else 'tries'} left)."
            )
            exc.commit_anyway = True  # type: ignore[attr-defined]
            raise exc
        txn.status = TxnStatus.VERIFIED.value
        txn.otp_hash = None  # single use
        return txn

    def complete(self, txn: OtpTransaction) -> None:
        txn.status = TxnStatus.COMPLETED.value

    def require_verified(self, txn: OtpTransaction, *, scope: str | None = None) -> None:
        if scope is not None and txn.scope != scope:
            raise ValidationFailed(
                "This transaction is for a different step. Start again.", field="txnId"
            )
        if txn.status != TxnStatus.VERIFIED.value:
            raise ValidationFailed(
                "Verify the OTP first, then continue.", field="txnId", code="HS-1109"
            )
