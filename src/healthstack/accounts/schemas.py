"""Request and response shapes of the staff API. HealthStack's own API refuses
unknown fields (``extra="forbid"``); the ABDM-shaped routes tolerate them."""

from __future__ import annotations

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
    note: str = "Shown once. Send it as 'Authorization: Bearer <token>'."


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
