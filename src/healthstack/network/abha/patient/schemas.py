"""Request and response shapes of the ABHA v3 login and profile routes.

They follow ABDM's ``/v3/profile/...`` bodies. Being protocol shapes they ignore
fields they do not know (``extra="ignore``), but the fields they know have strict
types: a number where a string belongs is refused, not coerced.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LoginHint = Literal["abha-number", "abha-address", "mobile", "aadhaar"]
ProfileHint = Literal["mobile", "email", "aadhaar"]
OtpSystem = Literal["aadhaar", "abdm"]

# An RSA-4096 ciphertext is 684 base64 characters; leave room, refuse megabytes.
Cipher = Field(min_length=1, max_length=2048)


class AbdmRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class LoginOtpRequest(AbdmRequest):
    scope: list[str] = Field(min_length=1, max_length=6)
    loginHint: LoginHint
    loginId: str = Cipher
    otpSystem: OtpSystem


class ProfileOtpRequest(AbdmRequest):
    scope: list[str] = Field(min_length=1, max_length=6)
    # Deactivate and delete need neither: their OTP goes to the verified mobile.
    loginHint: ProfileHint | None = None
    loginId: str | None = Field(default=None, min_length=1, max_length=2048)
    otpSystem: OtpSystem | None = None


class OtpValue(AbdmRequest):
    txnId: str = Field(min_length=1, max_length=64)
    otpValue: str = Cipher
    timeStamp: str | None = Field(default=None, max_length=64)


class AuthData(AbdmRequest):
    authMethods: list[Literal["otp"]] = Field(min_length=1, max_length=1)
    otp: OtpValue


class OtpVerifyRequest(AbdmRequest):
    scope: list[str] = Field(min_length=1, max_length=6)
    authData: AuthData


class LoginUserRequest(AbdmRequest):
    """Pick one ABHA after a mobile login: its number, or its ``accountRef`` from the list."""

    txnId: str = Field(min_length=1, max_length=64)
    ABHANumber: str | None = Field(default=None, min_length=1, max_length=20)
    accountRef: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_choice(self) -> LoginUserRequest:
        if (self.ABHANumber is None) == (self.accountRef is None):
            raise ValueError("send exactly one of ABHANumber and accountRef")
        return self


class ResendOtpRequest(AbdmRequest):
    txnId: str = Field(min_length=1, max_length=64)


# --------------------------------------------------------------------------- responses


class OtpSentRead(BaseModel):
    txnId: str
    message: str


class LoginAccountRead(BaseModel):
    """One ABHA in a login answer: in full for the holder, masked in a mobile's list."""

    ABHANumber: str
    # Set in a mobile's list: send it to /login/verify/user to pick this ABHA.
    accountRef: str | None = None
    preferredAbhaAddress: str
    name: str
    gender: str
    dob: str | None = None
    status: str
    profilePhoto: str | None = None
    kycVerified: bool


class LoginVerifyRead(BaseModel):
    txnId: str
    authResult: Literal["success"] = "success"
    message: str
    # The user token (one ABHA) or the T-token to pick one (a mobile).
    token: str
    expiresIn: int
    refreshToken: str | None = None
    refreshExpiresIn: int | None = None
    accounts: list[LoginAccountRead]


class AbhaProfileRead(BaseModel):
    """ABDM's ``ABHAProfile`` with the v3 profile's additions.

    ``mobile`` and ``email`` are shown once verified. ``address``/``addressLine1``,
    ``pinCode``/``pincode`` and ``abhaType``/``abhatype`` are both spellings ABDM uses.
    """

    ABHANumber: str
    abhaStatus: str
    status: str
    abhaType: str
    abhatype: str
    preferredAbhaAddress: str
    phrAddress: list[str]
    firstName: str
    middleName: str
    lastName: str
    name: str
    gender: str
    dob: str
    dayOfBirth: str | None
    monthOfBirth: str | None
    yearOfBirth: str
    mobile: str | None
    mobileVerified: bool
    email: str | None
    emailVerified: bool
    address: str | None
    addressLine1: str | None
    districtCode: str | None
    districtName: str | None
    stateCode: str | None
    stateName: str | None
    pinCode: str | None
    pincode: str | None
    photo: str | None
    kycVerified: bool
    authMethods: list[str]
    createdDate: str


class AccountRef(BaseModel):
    ABHANumber: str
    status: str


class ProfileChangeRead(BaseModel):
    txnId: str
    authResult: Literal["success"] = "success"
    message: str
    accounts: list[AccountRef]
