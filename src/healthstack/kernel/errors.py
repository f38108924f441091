"""The one domain error tree. ``web/errors.py`` alone maps it to HTTP.

::

    DomainError                      (400)  something the caller can fix
    ├── ValidationFailed             (400)  input breaks a rule; ``field`` names it
    ├── NotFound                     (404)  missing, or hidden from this actor's scope
    ├── Conflict                     (409)  duplicate or state clash (address taken, ...)
    ├── PermissionDenied             (403)  authenticated, but the role may not do this
    ├── AuthenticationRequired       (401)  no or bad credentials
    ├── OtpError                     (400/422)
    │   ├── OtpInvalid               wrong OTP, tries left
    │   ├── OtpExpired               OTP or transaction past its expiry
    │   ├── OtpLocked        (429)   too many wrong tries; wait
    │   └── ResendTooEarly   (429)   resend before 60 s, or more than twice
    ├── RateLimited                  (429)
    └── ServiceUnavailable           (503)  a dependency (KYC, SMS) is down

Messages are written for a person at a front desk: they say what to do next, and
they never carry personal health information (no names, numbers or OTPs).
``code`` is a stable machine code; protocol routes render ABDM codes where one exists.
"""

from __future__ import annotations


class DomainError(Exception):
    status_hint = 400
    code = "HS-400"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class ValidationFailed(DomainError):
    code = "HS-1001"


class NotFound(DomainError):
    status_hint = 404
    code = "HS-1004"


class Conflict(DomainError):
    status_hint = 409
    code = "HS-1009"


class PermissionDenied(DomainError):
    status_hint = 403
    code = "HS-1003"


class AuthenticationRequired(DomainError):
    status_hint = 401
    code = "HS-1002"


class OtpError(DomainError):
    code = "HS-1100"


class OtpInvalid(OtpError):
    # ABDM uses ABDM-1035 "Incorrect OTP" for a wrong OTP.
    code = "ABDM-1035"


class OtpExpired(OtpError):
    code = "HS-1102"


class OtpLocked(OtpError):
    status_hint = 429
    code = "HS-1103"


class ResendTooEarly(OtpError):
    status_hint = 429
    code = "HS-1104"


class RateLimited(DomainError):
    status_hint = 429
    code = "ABDM-1027"


class ServiceUnavailable(DomainError):
    status_hint = 503
    code = "ABDM-1024"
