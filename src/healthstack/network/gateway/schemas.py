"""Request and response shapes: the ABDM session exchange (camelCase, unknown fields
ignored, as ABDM) and the admin API under ``/api/v1/gateway`` (snake_case, unknown
fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from healthstack.network.gateway.enums import ServiceType


class AbdmRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionRequest(AbdmRequest):
    clientId: str = Field(min_length=1, max_length=64)
    clientSecret: str | None = Field(default=None, max_length=256)
    grantType: Literal["client_credentials", "refresh_token"] = "client_credentials"
    refreshToken: str | None = Field(default=None, max_length=4096)


class SessionResponse(BaseModel):
    accessToken: str
    expiresIn: int
    refreshExpiresIn: int
    refreshToken: str
    tokenType: str


class BridgeCreate(Strict):
    client_id: str = Field(max_length=64)
    name: str = Field(max_length=128)
    url: str = Field(max_length=512)
    # Leave out to have a random one generated (the usual way).
    secret: str | None = Field(default=None, max_length=256)


class BridgeUpdate(Strict):
    url: str | None = Field(default=None, max_length=512)
    is_active: bool | None = None


class ServiceCreate(Strict):
    service_id: str = Field(max_length=32, description="The facility's HFR id")
    type: ServiceType
    name: str = Field(max_length=128)


class ServiceRead(BaseModel):
    service_id: str
    type: ServiceType
    name: str
    is_active: bool


class BridgeRead(BaseModel):
    client_id: str
    name: str
    url: str
    is_active: bool
    created_at: datetime
    services: list[ServiceRead]


class BridgeCreated(BridgeRead):
    # Shown once; only a hash is kept.
    client_secret: str


class MessageRead(BaseModel):
    """A ledger row, without its body."""

    id: str
    direction: str
    request_id: str
    path: str
    client_id: str
    service_id: str | None
    service_type: str | None
    in_reply_to: str | None
    status: str
    body_digest: str
    attempts: int
    max_attempts: int
    http_status: int | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
