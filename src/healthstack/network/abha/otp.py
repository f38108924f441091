"""The OTP service (``identity.otp``) wired to a process's settings, keyed hasher and
clock: for the edges that hold the ``Runtime`` (the ABHA and PHR routes and pages)."""

from __future__ import annotations

# Named here too for the callers that import it from this module.
from healthstack.identity.otp import OtpService as OtpService
from healthstack.runtime import Runtime


def otp_service(runtime: Runtime) -> OtpService:
    return OtpService(settings=runtime.settings.otp, hasher=runtime.hasher, clock=runtime.clock)
