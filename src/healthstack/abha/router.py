"""ABDM-shaped ABHA v3 routes under ``/abha/api/v3`` (thin: the service does the work)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from healthstack.web.deps import RuntimeDep

router = APIRouter(prefix="/abha/api", tags=["abha-v3"])


@router.get("/v3/profile/public/certificate")
def public_certificate(runtime: RuntimeDep) -> dict[str, str]:
    """The RSA public key (4096-bit) clients use to encrypt Aadhaar numbers and OTPs."""
    return {
        "publicKey": runtime.keyring.public_der_b64("enrolment"),
        "encryptionAlgorithm": "RSA/ECB/OAEPWithSHA-1AndMGF1Padding",
    }


@router.get("/v1/auth/cert", response_class=PlainTextResponse)
def public_certificate_pem(runtime: RuntimeDep) -> str:
    """The same key as PEM, at the path the v3 enrolment spec lists."""
    return runtime.keyring.public_pem("enrolment")
