"""Request and response shapes of the registration desk's ABHA API (search, profile,
card, scan). HealthStack's own API: unknown fields and query parameters are refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from healthstack.kernel.ids import AbhaNumber, format_abha_number, mask_aadhaar, mask_mobile
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.search import mask_name, preferred_address

Gender = Literal["M", "F", "O", "T", "U"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AbhaSearchQuery(Strict):
    """One of: number, address, mobile, or name with year_of_birth and/or district_lgd."""

    number: str | None = Field(default=None, max_length=24, description="14 digits; hyphens ok")
    address: str | None = Field(default=None, max_length=80, description="@suffix optional")
    mobile: str | None = Field(default=None, max_length=16)
    name: str | None = Field(default=None, max_length=120)
    gender: Gender | None = None
    year_of_birth: int | None = Field(default=None, ge=1900, le=2100)
    year_tolerance: int = Field(default=2, ge=0, le=5, description="years either side")
    district_lgd: int | None = Field(default=None, ge=1, le=99999)
    limit: int = Field(default=50, ge=1, le=50)
    offset: int = Field(default=0, ge=0, le=2000, description="matches to skip (paging)")

    @field_validator("gender", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class AbhaAccountSummary(BaseModel):
    """A masked list entry: enough to pick the right person, not to identify them."""

    id: str = Field(description="public id: GET /api/v1/abha/accounts/{id} for the profile")
    abha_number: str = Field(description="masked, XX-XXXX-XXXX-1234")
    name: str = Field(description="masked, initials kept")
    gender: str
    year_of_birth: int
    district_name: str | None
    district_lgd: int | None
    mobile: str | None = Field(description="masked, XXXXXX1234")
    status: str
    deactivated: bool
    score: float | None = Field(default=None, description="name similarity, name search only")

    @classmethod
    def from_account(cls, account: AbhaAccount, score: float | None = None) -> AbhaAccountSummary:
        return cls(
            id=str(account.public_id),
            abha_number=AbhaNumber(account.abha_number).masked,
            name=mask_name(account.name),
            gender=account.gender,
            year_of_birth=account.year_of_birth,
            district_name=account.district_name,
            district_lgd=account.district_lgd,
            mobile=mask_mobile(account.mobile) if account.mobile else None,
            status=account.status,
            deactivated=account.status == "DEACTIVATED",
            score=score,
        )


class AbhaSearchPage(BaseModel):
    mode: Literal["number", "address", "mobile", "demographics"]
    count: int = Field(description="entries on this page")
    total: int = Field(description="every match; page on with offset")
    offset: int = 0
    items: list[AbhaAccountSummary]
    hint: str | None = None


class AbhaProfileRead(BaseModel):
    """The full profile of one account, for the desk that has picked it."""

    id: str
    abha_number: str
    abha_address: str
    abha_addresses: list[str]
    name: str
    first_name: str
    middle_name: str | None
    last_name: str | None
    gender: str
    date_of_birth: date | None
    year_of_birth: int
    mobile: str | None
    mobile_verified: bool
    email: str | None
    address: str | None
    district_name: str | None
    district_lgd: int | None
    state_name: str | None
    state_lgd: int | None
    pincode: str | None
    aadhaar: str | None = Field(description="masked, XXXX XXXX 1234")
    kyc_method: str
    kyc_verified: bool
    has_photo: bool
    status: str
    created_at: datetime

    @classmethod
    def from_account(cls, account: AbhaAccount, *, suffix: str) -> AbhaProfileRead:
        preferred = preferred_address(account, suffix=suffix)
        addresses = [preferred] + sorted(
            f"{a.handle}@{suffix}" for a in account.addresses if f"{a.handle}@{suffix}" != preferred
        )
        default = f"{account.abha_number}@{suffix}"
        if default not in addresses:
            addresses.append(default)
        return cls(
            id=str(account.public_id),
            abha_number=format_abha_number(account.abha_number),
            abha_address=preferred,
            abha_addresses=addresses,
            name=account.name,
            first_name=account.first_name,
            middle_name=account.middle_name,
            last_name=account.last_name,
            gender=account.gender,
            date_of_birth=account.birth_date,
            year_of_birth=account.year_of_birth,
            mobile=account.mobile,
            mobile_verified=account.mobile_verified,
            email=account.email,
            address=account.address_line,
            district_name=account.district_name,
            district_lgd=account.district_lgd,
            state_name=account.state_name,
            state_lgd=account.state_lgd,
            pincode=account.pincode,
            aadhaar=mask_aadhaar(account.aadhaar_last4) if account.aadhaar_last4 else None,
            kyc_method=account.kyc_method,
            kyc_verified=account.kyc_verified,
            has_photo=bool(account.photo),
            status=account.status,
            created_at=account.created_at,
        )


class AbhaScanText(Strict):
    qr_text: str = Field(min_length=1, max_length=4096, description="the QR's text as scanned")


class AbhaScanResult(BaseModel):
    source: Literal["image", "text"]
    matched_by: Literal["number", "address"] = Field(
        description="number: the QR's ABHA Number; address: its ABHA address (an app QR "
        "whose address is not linked to a number)"
    )
    account: AbhaAccountSummary
    differs: list[str] = Field(
        description="QR fields that differ from the record (hidn, name, gender, dob): "
        "check the person's identity before going on"
    )
