"""The gateway's refusals, each with the ABDM-style code a client sees in
``{"error": {"code", "message"}}``. ABDM does not publish its gateway's own codes, so
HealthStack uses the ABDM-11xx block for them (docs/adr/0009):

=========  ======  =============================================================
code       status  meaning
=========  ======  =============================================================
ABDM-1100  429     rate limit of this client reached (Retry-After says when)
ABDM-1101  401     Authorization missing, or not a valid gateway session token
ABDM-1102  401     the session token has expired
ABDM-1103  401     clientId / clientSecret (or refresh token) wrong
ABDM-1104  400     REQUEST-ID missing or not a UUID
ABDM-1105  400     TIMESTAMP missing or not ISO-8601
ABDM-1106  400     TIMESTAMP outside the accepted window
ABDM-1107  400     X-CM-ID missing or not this consent manager
ABDM-1108  400     a header this request needs (X-HIP-ID, X-LINK-TOKEN...) is missing
ABDM-1109  403     that HIP / HIU is not a service of this client
ABDM-1110  404     that HIP / HIU is not registered with the gateway
ABDM-1111  400     the body is not a JSON object
ABDM-1112  409     REQUEST-ID already used for a different request
ABDM-1113  409     this very request (same REQUEST-ID, path and body) was accepted
                   before; its one answer goes to the callback URL (docs/adr/0013)
=========  ======  =============================================================
"""

from __future__ import annotations

from healthstack.kernel.errors import (
    AuthenticationRequired,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)

RATE_LIMITED = "ABDM-1100"
TOKEN_INVALID = "ABDM-1101"  # noqa: S105 - an error code
TOKEN_EXPIRED = "ABDM-1102"  # noqa: S105 - an error code
CREDENTIALS_WRONG = "ABDM-1103"
REQUEST_ID_BAD = "ABDM-1104"
TIMESTAMP_BAD = "ABDM-1105"
TIMESTAMP_STALE = "ABDM-1106"
CM_ID_BAD = "ABDM-1107"
HEADER_MISSING = "ABDM-1108"
SERVICE_NOT_YOURS = "ABDM-1109"
SERVICE_UNKNOWN = "ABDM-1110"
BODY_BAD = "ABDM-1111"
REQUEST_ID_REUSED = "ABDM-1112"
ALREADY_ACCEPTED = "ABDM-1113"


class GatewayUnauthorized(AuthenticationRequired):
    code = TOKEN_INVALID


class HeaderInvalid(ValidationFailed):
    """A protocol header is missing or malformed; ``field`` names the header."""


class ServiceNotYours(PermissionDenied):
    code = SERVICE_NOT_YOURS


class ServiceUnknown(NotFound):
    code = SERVICE_UNKNOWN


class RequestIdReused(Conflict):
    code = REQUEST_ID_REUSED


class AlreadyAccepted(Conflict):
    """An exact repeat of an accepted request. Not 202: a 202 promises a callback, and
    the one callback a request gets was (or is being) made for the first copy; its body
    is not kept to be sent again (ADR 0009), and the handler does not run twice."""

    code = ALREADY_ACCEPTED


class GatewayRateLimited(RateLimited):
    code = RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        # web/errors.py sends these with the error body.
        self.headers = {"Retry-After": str(retry_after)}
