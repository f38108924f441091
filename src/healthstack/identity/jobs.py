"""Scheduled housekeeping of the OTP transactions, run by the worker.

``purge_expired_transactions`` deletes OTP transactions a day after they expired:
they hold OTP hashes and, during an Aadhaar OTP flow, the sealed Aadhaar number or
e-KYC, which must not linger once the flow is dead. A transaction whose subject is
still locked out is kept until the lock-out ends, because the lock-out is read from it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.kernel.clock import Clock

KEEP_AFTER_EXPIRY = timedelta(days=1)


def purge_expired_transactions(session: Session, *, clock: Clock) -> int:
    now = clock.now()
    result = session.execute(
        delete(OtpTransaction)
        .where(OtpTransaction.expires_at < now - KEEP_AFTER_EXPIRY)
        .where(or_(OtpTransaction.locked_until.is_(None), OtpTransaction.locked_until < now))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
