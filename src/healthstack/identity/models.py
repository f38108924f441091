"""The OTP transaction table (``otp_transaction``): one row per ``txnId``.

Every OTP HealthStack sends lives in one of these rows, whatever it guards: an ABHA
enrolment or login, a profile change, an HPR registration, a consent-PIN reset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class OtpTransaction(IdMixin, Base):
    """One OTP-guarded transaction (``txnId`` is the public id).

    ``state`` carries what the flow learned so far (the resident found by KYC, the
    account being logged in to, a verified mobile); never the OTP or Aadhaar in clear.
    """

    __tablename__ = "otp_transaction"

    # abha-enrol, mobile-verify, login, profile-mobile, profile-email, re-kyc, ...
    scope: Mapped[str] = mapped_column(String(32))
    otp_system: Mapped[str] = mapped_column(String(8))  # aadhaar | abdm
    # Keyed hash of who the OTP is about (Aadhaar, mobile or account): a lock-out
    # holds across new transactions for the same subject.
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    # Where the OTP went (masked form is derived): a mobile or e-mail.
    sent_to: Mapped[str | None] = mapped_column(String(254))
    otp_hash: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resend_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    # PENDING | VERIFIED | LOCKED | COMPLETED
    status: Mapped[str] = mapped_column(String(12), default="PENDING")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The ABHA a transaction is about (a login, a profile change, the account an
    # enrolment made). Named by table, not imported: identity sits below the ABHA
    # package, which sets it.
    account_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("abha_account.id"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
