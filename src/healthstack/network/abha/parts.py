"""What the ABHA services work with besides the session and the caller (``AbhaParts``).

The services that send an OTP or reach UIDAI (``enrolment``, ``login``, ``profile``,
``household``) take it whole; the small token and read helpers (``auth``, ``card``,
``search``, ``read_profile``) take the one or two parts they use. The edges (routes,
pages, the PHR) build it from their ``Runtime`` with ``AbhaParts.of``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from healthstack.identity.otp import OtpService
from healthstack.integrations.aadhaar.port import KycProvider
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.runtime import Runtime
from healthstack.settings import AbhaSettings, OtpSettings


@dataclass(frozen=True)
class AbhaParts:
    kyc: KycProvider  # UIDAI: the e-KYC and the Aadhaar-registered mobile
    clock: Clock
    hasher: KeyedHasher  # the Aadhaar hash, OTP hashes, seals
    keyring: KeyRing  # user tokens; the RSA-OAEP client fields
    otp: OtpSettings  # the OTP rules
    abha: AbhaSettings
    secret_key: SecretStr  # the ABHA number permutation's key (ADR 0003)

    @property
    def txn_ttl_seconds(self) -> int:
        return self.abha.txn_ttl_seconds

    @property
    def suffix(self) -> str:
        """The ABHA address suffix: the consent manager's id."""
        return self.abha.cm_id

    def otp_service(self) -> OtpService:
        return OtpService(settings=self.otp, hasher=self.hasher, clock=self.clock)

    @classmethod
    def of(cls, runtime: Runtime) -> AbhaParts:
        return cls(
            kyc=runtime.kyc,
            clock=runtime.clock,
            hasher=runtime.hasher,
            keyring=runtime.keyring,
            otp=runtime.settings.otp,
            abha=runtime.settings.abha,
            secret_key=runtime.settings.secret_key,
        )
