"""Request and response shapes of ABHA enrolment.

Two families:

- ABDM v3 enrolment (``/abha/api/v3/enrollment/...``), named and nested exactly as
  ``abha_enrollment_api.yml`` (kiranma72/abdm-docs). These tolerate unknown fields
  (``extra="ignore"``), as ABDM does. Where the published example and the live ABDM
  sandbox spell a response field differently, both spellings are sent so a client
  written against either works: ``tokens`` carries ``token``/``expiresIn``/
  ``refreshToken``/``refreshExpiresIn`` (sandbox) and ``id_token``/``expires_in``/
  ``refresh_token`` (the spec's example); ``ABHAProfile`` carries ``abhatype`` and
  ``abhaType``, ``addressLine1`` and ``address``.
- HealthStack's own API (``/api/v1/abha/...``): snake_case, unknown fields refused
  (``extra="forbid"``).

Other ABHA helpers keep their shapes in their own schema modules.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AbdmRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- v3 requests

# RSA-4096 ciphertext is 512 bytes, 684 characters of base64; leave room for padding
# variants but refuse anything absurd before trying to decrypt it.
CIPHERTEXT_MAX = 1024


class OtpRequest(AbdmRequest):
    """``POST /v3/enrollment/request/otp``.

    Aadhaar OTP: ``scope [abha-enrol]``, ``loginHint aadhaar``, ``loginId`` = the
    encrypted Aadhaar, ``otpSystem aadhaar``. Communication mobile: ``scope
    [abha-enrol, mobile-verify]``, ``loginHint mobile``, ``loginId`` = the encrypted
    mobile, ``otpSystem abdm`` and ``txnId`` of the enrolment. Resend: the same request
    again with the ``txnId`` the first one returned.
    """

    scope: list[str] = Field(min_length=1, max_length=5)
    loginHint: str | None = Field(default=None, max_length=32)
    loginId: str | None = Field(default=None, max_length=CIPHERTEXT_MAX)
    otpSystem: str | None = Field(default=None, max_length=16)
    txnId: str | None = Field(default=None, max_length=64)


class OtpAuth(AbdmRequest):
    timeStamp: str | None = Field(default=None, max_length=64)
    txnId: str = Field(min_length=1, max_length=64)
    otpValue: str = Field(min_length=1, max_length=CIPHERTEXT_MAX)
    mobile: str | None = Field(default=None, max_length=16)


class AuthData(AbdmRequest):
    authMethods: list[str] = Field(min_length=1, max_length=5)
    otp: OtpAuth


class ConsentIn(AbdmRequest):
    code: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=16)


class EnrolByAadhaarRequest(AbdmRequest):
    """``POST /v3/enrollment/enrol/byAadhaar``."""

    authData: AuthData
    consent: ConsentIn


class AuthByAbdmRequest(AbdmRequest):
    """``POST /v3/enrollment/auth/byAbdm`` (the communication-mobile OTP)."""

    scope: list[str] = Field(min_length=1, max_length=5)
    authData: AuthData


class AbhaAddressRequest(AbdmRequest):
    """``POST /v3/enrollment/enrol/abha-address``."""

    txnId: str = Field(min_length=1, max_length=64)
    abhaAddress: str = Field(min_length=1, max_length=64)
    # 1: make it the preferred address. The first address chosen is preferred anyway.
    preferred: int = Field(default=0, ge=0, le=1)


# --------------------------------------------------------------------------- v3 responses


class OtpResponse(BaseModel):
    txnId: str
    message: str


class Tokens(BaseModel):
    token: str
    expiresIn: int
    refreshToken: str
    refreshExpiresIn: int
    # The spellings of the spec's example; same values.
    id_token: str
    expires_in: int
    refresh_token: str


class AbhaProfile(BaseModel):
    """ABDM's ``ABHAProfile`` as the enrolment response carries it."""

    firstName: str
    middleName: str
    lastName: str
    dob: str  # DD-MM-YYYY, as ABDM sends it
    gender: str
    photo: str | None  # base64 JPEG, when the KYC has one
    mobile: str | None  # only a verified mobile is shown
    email: str | None
    phrAddress: list[str]
    addressLine1: str | None
    address: str | None
    districtCode: str | None
    districtName: str | None
    stateCode: str | None
    stateName: str | None
    pinCode: str | None
    abhatype: str
    abhaType: str
    ABHANumber: str  # XX-XXXX-XXXX-XXXX
    abhaStatus: str


class EnrolByAadhaarResponse(BaseModel):
    txnId: str
    message: str
    tokens: Tokens
    ABHAProfile: AbhaProfile
    isNew: bool


class LinkedAccount(BaseModel):
    ABHANumber: str


class AuthByAbdmResponse(BaseModel):
    txnId: str
    authResult: Literal["success", "failure"]
    message: str
    accounts: list[LinkedAccount]


class SuggestionResponse(BaseModel):
    txnId: str
    abhaAddressList: list[str]


class AbhaAddressResponse(BaseModel):
    txnId: str
    healthIdNumber: str
    preferredAbhaAddress: str


# --------------------------------------------------------------------------- own API


class DemographicConsent(Strict):
    code: Literal["abha-enrollment"]
    version: str = Field(min_length=1, max_length=16)


class DemographicEnrolCreate(Strict):
    """Camp-mode enrolment by an authorised operator (CRT_ABHA_301/302).

    The Aadhaar number is still checked (Verhoeff) and de-duplicated; name, gender and
    date (or year) of birth must match the Aadhaar records.
    """

    aadhaar: str = Field(min_length=12, max_length=14)
    name: str = Field(min_length=1, max_length=128)
    gender: Literal["M", "F", "O"]
    birth_date: date | None = None
    year_of_birth: int | None = Field(default=None, ge=1900, le=2100)
    mobile: str = Field(min_length=10, max_length=14)
    address_line: str = Field(min_length=1, max_length=256)
    district_lgd: int = Field(ge=1, le=999999)
    state_lgd: int = Field(ge=1, le=99)
    pincode: str = Field(pattern=r"^[1-9]\d{5}$")
    consent: DemographicConsent | None = None


class DemographicEnrolRead(BaseModel):
    id: str
    abha_number: str
    abha_number_display: str
    abha_address: str
    is_new: bool
    kyc_method: str
    mobile_verified: bool
    message: str
