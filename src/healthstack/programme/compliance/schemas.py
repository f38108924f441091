"""The compliance API's request and response bodies (strict: extra fields refused)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BrokenRow(BaseModel):
    line: int
    reason: str


class RosterImportRead(BaseModel):
    id: str
    status: str
    filename: str
    sha256: str
    encoding: str
    data_rows: int
    valid_rows: int
    broken: list[BrokenRow]
    warnings: list[str]
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None
    reconciliation: dict[str, int] | None = None


class RosterImportConfirm(_Strict):
    sha256: str | None = Field(default=None, min_length=64, max_length=64)


class CandidateRead(BaseModel):
    hpr_id: str
    name: str
    year_of_birth: int
    council: str
    registration_number: str
    status: str
    score: float
    via: str


class ReviewEntryRead(BaseModel):
    id: str
    employee_id: str
    name: str
    cadre: str
    facility: str
    district_lgd: int
    council: str | None
    registration_number: str | None
    birth_year: int | None
    candidates: list[CandidateRead]


class ReviewPage(BaseModel):
    total: int
    items: list[ReviewEntryRead]


class ReviewSettle(_Strict):
    # An HPR id from the candidates, or null: the person is not in HPR.
    hpr_id: str | None = Field(max_length=20)


class SettledRead(BaseModel):
    id: str
    employee_id: str
    link: str
    hpr_id: str | None


class CampaignCreate(_Strict):
    cadre: Literal["doctor", "nurse"]
    deadline: date


class CampaignRead(BaseModel):
    id: str
    cadre: str
    deadline: date
    created_at: datetime
    closed_at: datetime | None


class StatusRead(BaseModel):
    employee_id: str
    name: str
    cadre: str
    facility: str
    district_lgd: int
    hpr_id: str | None
    status: str
    deadline: date | None
    days_overdue: int | None
    escalation_step: str | None
    exemption: str | None


class StatusPage(BaseModel):
    counts: dict[str, int]
    items: list[StatusRead]


class StepRead(BaseModel):
    step: int
    name: str
    channel: str
    at: datetime
    days_overdue: int


class ExemptionCreate(_Strict):
    employee_id: str = Field(min_length=1, max_length=40)
    kind: Literal["leave", "deputation", "vacancy"]
    reason: str = Field(min_length=5, max_length=500)
    until: date | None = None


class ExemptionRead(BaseModel):
    id: str
    employee_id: str
    kind: str
    reason: str
    until: date | None
    approved_by: str
    approver_role: str
    created_at: datetime
    revoked_at: datetime | None


class PersonRead(BaseModel):
    status: StatusRead
    steps: list[StepRead]
    exemptions: list[ExemptionRead]
