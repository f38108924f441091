"""Staff users, their browser sessions and API tokens, and the login throttle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from healthstack.kernel.db import Base, BigIntPK, IdMixin


class StaffUser(IdMixin, Base):
    __tablename__ = "staff_user"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    facility_id: Mapped[str | None] = mapped_column(String(16), index=True)
    district_lgd: Mapped[int | None] = mapped_column(Integer)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(IdMixin, Base):
    """A bearer token for an HMIS or script. Only the SHA-256 of the secret is kept."""

    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # The token that created this one (None: a password login or a browser session).
    # Revoking a token revokes what it created, so a stolen token's offspring die with it.
    parent_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("api_token.id"), index=True)
    # logout, revoked, deactivated, password_reset, parent_revoked
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[StaffUser] = relationship(back_populates="tokens")


class StaffSession(IdMixin, Base):
    """A browser session. The cookie carries an opaque secret; only its SHA-256 is kept,
    so ending the row ends every copy of the cookie at once."""

    __tablename__ = "staff_session"

    user_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_user.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # logout, revoked, deactivated, password_reset
    end_reason: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(160))

    user: Mapped[StaffUser] = relationship()


class LoginThrottle(IdMixin, Base):
    """Consecutive failed logins per account (``kind`` account, ``key`` the username as
    typed, known or not) and per client address, and the pause they earned. Kept in the
    database so every server process sees the same count."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
