"""The ABHA v3 enrolment API as an HMIS calls it, for its API and contract tests: a
sandbox KYC resident, the v3 headers (REQUEST-ID, TIMESTAMP), the client side of ABDM's
RSA-OAEP, the request-OTP and enrol-by-Aadhaar bodies, and the OTP read from
``/dev/sms.json``."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.crypto import encrypt_oaep
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime

TS = "2026-11-26T09:00:00.000Z"


def add_resident(
    runtime: Runtime,
    *,
    first11: str = "23456789012",
    name: str = "Ravi Kumar",
    gender: str = "M",
    birth_date: date = date(1991, 3, 22),
    mobile: str | None = "9876500011",
    photo: bytes | None = None,
) -> str:
    aadhaar = aadhaar_with_check_digit(first11)
    with unit_of_work(runtime.session_factory) as s:
        s.add(
            KycResident(
                aadhaar=aadhaar,
                name=name,
                gender=gender,
                birth_date=birth_date,
                address_line="House 12, Lal Chowk",
                locality="Lal Chowk",
                district_name="Srinagar",
                district_lgd=632,
                state_name="Jammu And Kashmir",
                state_lgd=1,
                pincode="190001",
                mobile=mobile,
                photo=photo,
            )
        )
    return aadhaar


def headers(staff: Any, **extra: str) -> dict[str, str]:
    return {**staff.headers, "REQUEST-ID": str(uuid.uuid4()), "TIMESTAMP": TS, **extra}


class Enc:
    """The client side of ABDM's RSA-OAEP: fetch the certificate once, encrypt with it."""

    def __init__(self, client: Any):
        r = client.get("/abha/api/v3/profile/public/certificate")
        assert r.status_code == 200
        self.key = r.json()["publicKey"]

    def __call__(self, text: str) -> str:
        return encrypt_oaep(self.key, text)


def last_otp(client: Any, mobile: str) -> str:
    r = client.get("/dev/sms.json", params={"mobile": mobile})
    assert r.status_code == 200
    msgs = r.json()["messages"]
    assert msgs, "no SMS was sent to that mobile"
    found = re.match(r"(\d{6}) ", msgs[0]["text"])
    assert found is not None, msgs[0]["text"]
    return found.group(1)


def otp_body(enc: Any, aadhaar: str, **extra: Any) -> dict[str, Any]:
    return {
        "scope": ["abha-enrol"],
        "loginHint": "aadhaar",
        "loginId": enc(aadhaar),
        "otpSystem": "aadhaar",
        **extra,
    }


def enrol_body(
    enc: Any,
    txn_id: str,
    otp: str,
    mobile: str | None = None,
    version: str = "1.4",
    **extra: Any,
) -> dict[str, Any]:
    otp_part = {"timeStamp": "2026-11-26 09:00:00", "txnId": txn_id, "otpValue": enc(otp)}
    if mobile is not None:
        otp_part["mobile"] = mobile
    return {
        "authData": {"authMethods": ["otp"], "otp": otp_part},
        "consent": {"code": "abha-enrollment", "version": version},
        **extra,
    }
