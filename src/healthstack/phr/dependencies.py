"""The typed parts the PHR's services take (``phr.service``, the consent manager's
``consents``, ``linking`` and ``pin``), unpacked once from the process's ``Runtime`` at
the PHR's edges: ``Parts`` for the API's routes, ``PhrParts.of`` for the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from healthstack.identity.otp import OtpService
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.gateway.config import callback_sender
from healthstack.network.gateway.routing import CallbackSender
from healthstack.runtime import Runtime
from healthstack.settings import ConsentSettings
from healthstack.web.deps import RuntimeDep


@dataclass(frozen=True)
class PhrParts:
    clock: Clock
    sender: CallbackSender  # to the HIPs and HIUs, through the gateway
    keyring: KeyRing  # signs consent artefacts
    hasher: KeyedHasher  # the consent PIN's keyed hash
    cm_id: str  # the consent manager's id, the suffix of its ABHA addresses
    consent: ConsentSettings
    otp_service: OtpService  # the PIN reset's OTP to the ABHA mobile
    txn_ttl_seconds: int  # how long that OTP's transaction lasts (the ABHA service's)

    @classmethod
    def of(cls, runtime: Runtime) -> PhrParts:
        settings = runtime.settings
        return cls(
            clock=runtime.clock,
            sender=callback_sender(runtime),
            keyring=runtime.keyring,
            hasher=runtime.hasher,
            cm_id=settings.abha.cm_id,
            consent=settings.consent,
            otp_service=AbhaParts.of(runtime).otp_service(),
            txn_ttl_seconds=settings.abha.txn_ttl_seconds,
        )


def phr_parts(runtime: RuntimeDep) -> PhrParts:
    return PhrParts.of(runtime)


Parts = Annotated[PhrParts, Depends(phr_parts)]
