"""What HPR registration works with besides the session and the caller
(``RegistrationParts``): the registration services take it whole; the edges (routes,
pages) build it from their ``Runtime`` with ``RegistrationParts.of``."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from healthstack.integrations.aadhaar.port import KycProvider
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.runtime import Runtime
from healthstack.settings import OtpSettings


@dataclass(frozen=True)
class RegistrationParts:
    kyc: KycProvider  # UIDAI: the e-KYC and the Aadhaar-registered mobile
    clock: Clock
    hasher: KeyedHasher  # the Aadhaar hash, OTP hashes, seals, the flow tokens
    otp: OtpSettings  # the OTP rules
    # How long a registration stays open after its latest step (ABHA's setting).
    txn_ttl_seconds: int
    secret_key: SecretStr  # the HPR id permutation's key (ADR 0007)

    @classmethod
    def of(cls, runtime: Runtime) -> RegistrationParts:
        return cls(
            kyc=runtime.kyc,
            clock=runtime.clock,
            hasher=runtime.hasher,
            otp=runtime.settings.otp,
            txn_ttl_seconds=runtime.settings.abha.txn_ttl_seconds,
            secret_key=runtime.settings.secret_key,
        )
