"""Request and response shapes of the staff API. HealthStack's own API refuses
unknown fields (``extra="forbid"``); the ABDM-shaped routes tolerate them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from healthstack.kernel.context import Role


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    token_name: str = Field(default="api login", max_length=64)


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=64)
    days: int = Field(default=365, ge=1, le=730)


class TokenRead(BaseModel):
    token: str
    name: str
    id: str | None = None
    expires_at: datetime | None = None
    note: str = "Shown once. Send it as 'Authorization: Bearer <token>'."


class TokenInfo(BaseModel):
    """A token as listed: never the secret, only its first characters."""

    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    # Created by another token (so it cannot outlive it, and ends with it).
    from_token: bool
    current: bool = False


class SessionInfo(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_address: str | None
    user_agent: str | None
    current: bool = False


class CredentialsRead(BaseModel):
    sessions: list[SessionInfo]
    tokens: list[TokenInfo]


class Ended(BaseModel):
    sessions: int = 0
    tokens: int = 0


class StaffCreate(Strict):
    username: str = Field(min_length=3, max_length=64)
    full_name: str = Field(min_length=1, max_length=128)
    role: Role
    password: str = Field(min_length=10, max_length=256)
    facility_id: str | None = Field(default=None, max_length=16)
    district_lgd: int | None = Field(default=None, ge=1, le=99999)


class StaffRead(BaseModel):
    id: str
    username: str
    full_name: str
    role: Role
    facility_id: str | None
    district_lgd: int | None
    is_active: bool = True
    created_at: datetime | None = None
    last_login_at: datetime | None = None
    # Logins refused until then after too many wrong passwords (a reset lifts it).
    paused_until: datetime | None = None


class StaffPage(BaseModel):
    items: list[StaffRead]
    total: int


class StaffUpdate(Strict):
    """Only the fields sent change; sending ``facility_id`` or ``district_lgd`` (even
    null) sets the account's scope anew."""

    full_name: str | None = Field(default=None, min_length=1, max_length=128)
    role: Role | None = None
    facility_id: str | None = Field(default=None, max_length=16)
    district_lgd: int | None = Field(default=None, ge=1, le=99999)


class PasswordReset(Strict):
    password: str = Field(min_length=10, max_length=256)
