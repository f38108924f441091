"""Request and response shapes of the HPR API (``/api/v1/professionals``).

HealthStack's own API: unknown fields are refused (``extra="forbid"``). Codes
(category, council, role, ...) are plain strings here so the service can say which
values fit (``credentials``) instead of a bare enum error. Responses never carry the
Aadhaar (masked only) and show the mobile masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from healthstack.kernel.ids import mask_aadhaar, mask_mobile
from healthstack.network.hpr.address import full_address
from healthstack.network.hpr.enums import (
    council_name,
    role_label,
    subcategory_label,
)
from healthstack.network.hpr.models import Professional, ProfessionalVersion
from healthstack.network.hpr.numbers import format_hpr_id


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- registration


class RegistrationOtpRequest(Strict):
    """A new registration (``aadhaar``) or a resend (``txnId``, aadhaar optional)."""

    aadhaar: str | None = Field(default=None, max_length=16)
    txnId: str | None = Field(default=None, max_length=64)  # noqa: N815 - ABDM's name


class RegistrationOtpRead(BaseModel):
    txnId: str  # noqa: N815
    message: str
    # Returned once to an anonymous self-registrant: send it as X-Flow-Token on every
    # later step of this registration (it binds the transaction to this client).
    flow_token: str | None = None


class OtpVerify(Strict):
    txnId: str = Field(max_length=64)  # noqa: N815
    otp: str = Field(max_length=12)


class RegistrationVerifyRead(BaseModel):
    txnId: str  # noqa: N815
    name: str
    gender: str
    year_of_birth: int
    mobile: str  # masked
    hpr_address_suggestions: list[str]
    message: str


class MobileOtpRequest(Strict):
    """``txnId`` of the registration (with ``mobile``), or of the mobile OTP to resend."""

    txnId: str = Field(max_length=64)  # noqa: N815
    mobile: str | None = Field(default=None, max_length=16)


class OtpSentRead(BaseModel):
    txnId: str  # noqa: N815
    message: str


class MobileVerifyRead(BaseModel):
    txnId: str  # noqa: N815 - the registration's, to continue with
    mobile: str  # masked
    message: str


class QualificationIn(Strict):
    degree: str = Field(max_length=64)
    university: str = Field(max_length=128)
    year: int


class WorkplaceIn(Strict):
    hfr_id: str = Field(max_length=16)
    role: str = Field(max_length=32)
    sector: str = Field(max_length=8)


class RegistrationComplete(Strict):
    txnId: str = Field(max_length=64)  # noqa: N815
    hpr_address: str = Field(max_length=40)
    category: str = Field(max_length=16)
    subcategory: str = Field(max_length=32)
    council: str = Field(max_length=8)
    registration_number: str = Field(max_length=40)
    registration_year: int
    qualifications: list[QualificationIn] = Field(default_factory=list, max_length=20)
    workplaces: list[WorkplaceIn] = Field(default_factory=list, max_length=10)


# --------------------------------------------------------------------------- records


class ProfessionalUpdate(Strict):
    """The fields to change; those left out stay as they are."""

    category: str | None = Field(default=None, max_length=16)
    subcategory: str | None = Field(default=None, max_length=32)
    council: str | None = Field(default=None, max_length=8)
    registration_number: str | None = Field(default=None, max_length=40)
    registration_year: int | None = None
    qualifications: list[QualificationIn] | None = Field(default=None, max_length=20)
    workplaces: list[WorkplaceIn] | None = Field(default=None, max_length=10)


class ProfessionalVerify(Strict):
    """No fields: the decision is the route. Present so unknown fields are refused."""


class ProfessionalReject(Strict):
    reason: str = Field(max_length=500)


class QualificationRead(BaseModel):
    degree: str
    university: str
    year: int


class WorkplaceRead(BaseModel):
    hfr_id: str
    role: str
    role_label: str
    sector: str
    district_lgd: int | None


class ProfessionalRead(BaseModel):
    id: str
    hpr_id: str
    hpr_id_display: str
    hpr_address: str
    name: str
    gender: str
    year_of_birth: int
    mobile: str  # masked
    aadhaar: str  # masked
    category: str
    subcategory: str
    subcategory_label: str
    council: str
    council_name: str
    registration_number: str
    registration_year: int
    qualifications: list[QualificationRead]
    workplaces: list[WorkplaceRead]
    status: str
    rejection_reason: str | None
    status_changed_at: datetime
    registered_via: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Professional) -> ProfessionalRead:
        return cls(
            id=str(p.public_id),
            hpr_id=p.hpr_id,
            hpr_id_display=format_hpr_id(p.hpr_id),
            hpr_address=full_address(p.hpr_handle),
            name=p.name,
            gender=p.gender,
            year_of_birth=p.year_of_birth,
            mobile=mask_mobile(p.mobile),
            aadhaar=mask_aadhaar(p.aadhaar_last4),
            category=p.category,
            subcategory=p.subcategory,
            subcategory_label=subcategory_label(p.category, p.subcategory),
            council=p.council,
            council_name=council_name(p.council),
            registration_number=p.registration_number,
            registration_year=p.registration_year,
            qualifications=[
                QualificationRead(degree=q.degree, university=q.university, year=q.year)
                for q in p.qualifications
            ],
            workplaces=[
                WorkplaceRead(
                    hfr_id=w.hfr_id,
                    role=w.role,
                    role_label=role_label(p.category, w.role),
                    sector=w.sector,
                    district_lgd=w.district_lgd,
                )
                for w in p.workplaces
            ],
            status=p.status,
            rejection_reason=p.rejection_reason,
            status_changed_at=p.status_changed_at,
            registered_via=p.registered_via,
            version=p.version,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class ProfessionalSummary(BaseModel):
    id: str
    hpr_id: str
    hpr_id_display: str
    name: str
    category: str
    subcategory: str
    council: str
    registration_number: str
    status: str
    hfr_ids: list[str]
    district_lgd: int | None  # of the first work place
    created_at: datetime

    @classmethod
    def of(cls, p: Professional) -> ProfessionalSummary:
        return cls(
            id=str(p.public_id),
            hpr_id=p.hpr_id,
            hpr_id_display=format_hpr_id(p.hpr_id),
            name=p.name,
            category=p.category,
            subcategory=p.subcategory,
            council=p.council,
            registration_number=p.registration_number,
            status=p.status,
            hfr_ids=[w.hfr_id for w in p.workplaces],
            district_lgd=p.workplaces[0].district_lgd if p.workplaces else None,
            created_at=p.created_at,
        )


class ProfessionalPage(BaseModel):
    items: list[ProfessionalSummary]
    total: int
    page: int
    page_size: int


class ProfessionalVersionRead(BaseModel):
    version: int
    change: str
    changed_fields: list[str]
    changed_by: str
    changed_by_role: str | None
    valid_from: datetime
    valid_to: datetime | None
    snapshot: dict[str, Any]

    @classmethod
    def of(cls, v: ProfessionalVersion) -> ProfessionalVersionRead:
        return cls(
            version=v.version,
            change=v.change,
            changed_fields=list(v.changed_fields or []),
            changed_by=v.changed_by,
            changed_by_role=v.changed_by_role,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            snapshot=v.snapshot,
        )


class ProfessionalHistoryRead(BaseModel):
    hpr_id: str
    versions: list[ProfessionalVersionRead]
