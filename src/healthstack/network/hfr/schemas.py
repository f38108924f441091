"""Request and response shapes of the facility registry API (``/api/v1/facilities``).
Requests refuse unknown fields; lengths here are generous bounds, the service's rules
(names, PIN, phone, ...) give the precise messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from healthstack.network.hfr.enums import (
    FacilityStatus,
    FacilityType,
    MatchMethod,
    MatchStatus,
    Ownership,
    Service,
    SystemOfMedicine,
)
from healthstack.settings import StateProfile


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FacilityCreate(Strict):
    name: str = Field(max_length=300)
    facility_type: FacilityType
    ownership: Ownership
    department: str | None = Field(default=None, max_length=300)
    system_of_medicine: SystemOfMedicine
    state_lgd: int
    district_lgd: int
    sub_district_lgd: int | None = None
    address_line: str | None = Field(default=None, max_length=300)
    pincode: str = Field(max_length=12)
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = Field(default=None, max_length=24)
    contact_email: str | None = Field(default=None, max_length=300)
    services: list[Service] = Field(max_length=len(Service))
    beds: int = 0
    hmis: str | None = Field(default=None, max_length=300)
    master_code: str | None = Field(default=None, max_length=60)


class FacilityUpdate(Strict):
    """Only the fields sent change; ``null`` clears an optional one."""

    change_reason: str = Field(max_length=1000)
    name: str | None = Field(default=None, max_length=300)
    facility_type: FacilityType | None = None
    ownership: Ownership | None = None
    department: str | None = Field(default=None, max_length=300)
    system_of_medicine: SystemOfMedicine | None = None
    state_lgd: int | None = None
    district_lgd: int | None = None
    sub_district_lgd: int | None = None
    address_line: str | None = Field(default=None, max_length=300)
    pincode: str | None = Field(default=None, max_length=12)
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = Field(default=None, max_length=24)
    contact_email: str | None = Field(default=None, max_length=300)
    services: list[Service] | None = Field(default=None, max_length=len(Service))
    beds: int | None = None
    hmis: str | None = Field(default=None, max_length=300)
    master_code: str | None = Field(default=None, max_length=60)


class FacilityVerify(Strict):
    note: str | None = Field(default=None, max_length=1000)


class FacilityReject(Strict):
    reason: str = Field(default="", max_length=1000)


class FacilityRead(BaseModel):
    hfr_id: str
    name: str
    facility_type: FacilityType
    ownership: Ownership
    department: str | None
    system_of_medicine: SystemOfMedicine
    state_lgd: int
    district_lgd: int
    district_name: str | None
    sub_district_lgd: int | None
    address_line: str | None
    pincode: str
    latitude: float | None
    longitude: float | None
    contact_phone: str | None
    contact_email: str | None
    services: list[Service]
    beds: int
    hmis: str | None
    master_code: str | None
    status: FacilityStatus
    rejection_reason: str | None
    registered_at: datetime
    verified_at: datetime | None
    updated_at: datetime
    version: int
    # With ?as_of=: the moment asked about and the period this version was valid.
    as_of: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class FacilityChanged(FacilityRead):
    """A registration or an edit: the facility and anything worth a second look."""

    warnings: list[str] = []
    # An edit of a key field sent a verified facility back for verification.
    reverification: bool = False


class FacilityPage(BaseModel):
    items: list[FacilityRead]
    total: int
    page: int
    page_size: int


class FacilityVersionRead(BaseModel):
    version: int
    status: FacilityStatus
    change_kind: str
    change_reason: str | None
    changed_fields: list[str]
    changed_by: str  # username (or "system")
    changed_by_role: str | None
    valid_from: datetime
    valid_to: datetime | None


class BrokenRow(BaseModel):
    line: int
    reason: str


class ReconciliationSummary(BaseModel):
    import_id: str
    state_lgd: int
    matched: int
    master_only: int
    hfr_only: int
    ambiguous: int
    # Master entries matched to a verified HFR facility, of all entries.
    registered: int
    total: int


class MasterImportRead(BaseModel):
    id: str
    state_lgd: int
    status: str  # previewed | confirmed | superseded | expired
    filename: str
    sha256: str
    encoding: str
    data_rows: int
    valid_rows: int
    broken: list[BrokenRow]
    warnings: list[str]
    diff: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None
    reconciliation: ReconciliationSummary | None = None


class MasterImportConfirm(Strict):
    # The SHA-256 of the file the caller means; refused if the preview was of another.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class ReconcileRun(Strict):
    # Unset: the deployment's state (its state profile).
    state_lgd: int | None = Field(default=None, ge=1, le=99)


class MasterEntryRead(BaseModel):
    state_code: str
    name: str
    facility_type: FacilityType
    district_lgd: int
    district_name: str | None
    sub_district: str | None
    department: str | None
    line: int


class FacilityBrief(BaseModel):
    hfr_id: str
    name: str
    facility_type: FacilityType
    district_lgd: int
    district_name: str | None
    status: FacilityStatus
    master_code: str | None


class CandidateRead(FacilityBrief):
    score: float


class MatchRead(BaseModel):
    id: str
    status: MatchStatus
    method: MatchMethod | None
    score: float | None
    master: MasterEntryRead | None
    facility: FacilityBrief | None
    candidates: list[CandidateRead]
    settled_by: str | None
    settled_at: datetime | None


class MatchPage(BaseModel):
    items: list[MatchRead]
    total: int
    page: int
    page_size: int


class MatchSettle(Strict):
    # The HFR id of the candidate that is the same facility; null: none of them.
    hfr_id: str | None = Field(max_length=20)


class CoverageRead(BaseModel):
    district_lgd: int | None
    registered: int
    total: int


# --------------------------------------------------------------------------- builders


def district_name(profile: StateProfile, state_lgd: int, district_lgd: int) -> str | None:
    """The district's name where it is one of the deployment's state; else None."""
    return profile.district_name(district_lgd) if state_lgd == profile.state_lgd else None


def facility_read(snapshot: dict[str, Any], *, profile: StateProfile, **extra: Any) -> FacilityRead:
    """From ``service.snapshot`` (the current state or a history version)."""
    data = dict(snapshot)
    data["district_name"] = district_name(profile, data["state_lgd"], data["district_lgd"])
    return FacilityRead.model_validate(data | extra)


def facility_brief(f: Any, *, profile: StateProfile) -> FacilityBrief:
    return FacilityBrief(
        hfr_id=f.hfr_id,
        name=f.name,
        facility_type=f.facility_type,
        district_lgd=f.district_lgd,
        district_name=district_name(profile, f.state_lgd, f.district_lgd),
        status=f.status,
        master_code=f.master_code,
    )
