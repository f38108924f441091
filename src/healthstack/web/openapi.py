"""The OpenAPI document as the app really behaves (``/openapi.json``, ``/docs``).

FastAPI's generated document knows neither how callers authenticate (routes read their
credentials from the request, see ``web/deps.py``) nor that ``web/errors.py`` answers
invalid input with 400 and our own bodies. This module adds:

- the security schemes the app uses, attached to each operation that needs one: the
  staff API token (``Authorization: Bearer hst_...``), the ABHA holder's user token
  (``X-token: Bearer <jwt>``), the bridge's gateway session on the consent manager's
  routes and the gateway's signed token on the facility bridge's callbacks;
- 400 (and 401/403 where a credential is needed, 4XX for the other refusals) with the
  body the path gets: ABDM's ``{"error": {"code", "message"}}`` on protocol routes, the
  problem body elsewhere; FastAPI's 422 is never sent, so it is not documented;
- the protocol routes' JSON body and ABDM's request headers, which those routes read
  themselves.

Pages (HTML forms, cookie sessions) are left out: the document describes the APIs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from healthstack.web.errors import is_api, is_protocol

STAFF = "StaffToken"
HOLDER = "AbhaUserToken"
GATEWAY_SESSION = "GatewaySession"
GATEWAY_CALLBACK = "GatewayCallback"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    STAFF: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "hst_...",
        "description": "A staff API token (`Authorization: Bearer hst_...`), created with "
        "POST /api/v1/auth/tokens or from the account page. The JSON APIs take no "
        "cookies.",
    },
    HOLDER: {
        "type": "apiKey",
        "in": "header",
        "name": "X-token",
        "description": "The ABHA holder's user token as ABDM's profile API takes it: "
        "`X-token: Bearer <token>` from /abha/api/v3/profile/login/verify.",
    },
    GATEWAY_SESSION: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A bridge's gateway session: the accessToken from POST "
        "/api/hiecm/gateway/v3/sessions with the bridge's client credentials.",
    },
    GATEWAY_CALLBACK: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The gateway's signed callback token (RS256, keys at "
        "/api/hiecm/gateway/v3/certs), bound to the REQUEST-ID and the body's digest.",
    },
}

# Operations that take no credential, by path prefix. The rest of /api/v1 and ABHA
# enrolment (/abha/api/v3/enrollment: the desk enrols) take the staff token.
PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/.well-known/",
    "/api/v1/auth/login",  # username and password in the body
    "/api/v1/professionals/registration/",  # self-registration: X-Flow-Token per flow
    "/api/hiecm/gateway/v3/sessions",  # client credentials in the body
    "/api/hiecm/gateway/v3/certs",
    "/api/hiecm/gateway/v3/.well-known/",
    "/abha/api/v3/profile/",  # login (OTP transactions); the account takes X-token
    "/abha/api/v1/auth/cert",
)

PROBLEM = {
    "type": "object",
    "description": "HealthStack's error body: `detail` says what to do next; `field` "
    "names the input at fault.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["HS-1000"]},
        "field": {"type": "string"},
    },
}
ABDM_ERROR = {
    "type": "object",
    "description": "ABDM's error body on protocol routes.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["ABDM-1111"]},
                "message": {"type": "string"},
            },
        }
    },
}
_ERROR_TEXT = {
    "400": "Invalid input: the body says which field and what to do.",
    "401": "No credential, or one that is unknown, revoked or expired.",
    "403": "The credential may not do this.",
    "4XX": "Any other refusal (not found, conflict, too large, too many requests, ...), "
    "with the same body.",
}
# ABDM's request headers, read by the protocol routes themselves (gateway.accept and
# integrations.abdm.callbacks check each and answer with ABDM's error codes).
PROTOCOL_HEADERS = (
    ("REQUEST-ID", {"type": "string", "format": "uuid"}, "A new random UUID per request."),
    ("TIMESTAMP", {"type": "string", "format": "date-time"}, "Now, in UTC (ISO-8601)."),
    ("X-CM-ID", {"type": "string", "maxLength": 32}, "The consent manager's id."),
)


def _security_of(path: str, op: dict[str, Any], data_push: str) -> str | None:
    names = [p.get("name", "").lower() for p in op.get("parameters", []) if p.get("in") == "header"]
    if "x-token" in names:
        return HOLDER
    if path.startswith(PUBLIC_PREFIXES):
        return None
    if path.startswith("/api/hiecm/") or path == data_push:
        # The HIP pushes to the HIU directly, with its own gateway session (ABDM's
        # data push; the transaction id alone is no credential).
        return GATEWAY_SESSION
    if path.startswith("/api/v3/"):
        return GATEWAY_CALLBACK
    if path.startswith(("/api/v1/", "/abha/api/")):
        return STAFF
    return None


def _error_response(status: str, protocol: bool) -> dict[str, Any]:
    ref = "#/components/schemas/" + ("AbdmError" if protocol else "Problem")
    return {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }


def build_openapi(app: FastAPI, *, data_push_path: str) -> dict[str, Any]:
    """The document of ``app``; ``data_push_path`` is the HIU's data-push route, which
    takes a HIP bridge's gateway session rather than a gateway callback token."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    data_push = data_push_path
    paths: dict[str, Any] = {}
    for path, ops in doc.get("paths", {}).items():
        if not (is_api(path) or path in ("/healthz", "/readyz")):
            continue  # a page
        protocol = is_protocol(path)
        for method, op in ops.items():
            scheme = _security_of(path, op, data_push)
            params = [p for p in op.get("parameters", []) if p.get("name", "").lower() != "x-token"]
            if scheme in (GATEWAY_SESSION, GATEWAY_CALLBACK) and path != data_push:
                known = {p["name"].lower() for p in params}
                # A callback from the gateway carries no X-CM-ID (the gateway is the CM).
                wanted = PROTOCOL_HEADERS if scheme == GATEWAY_SESSION else PROTOCOL_HEADERS[:2]
                params += [
                    {"name": n, "in": "header", "required": True, "schema": s, "description": d}
                    for n, s, d in wanted
                    if n.lower() not in known
                ]
            if protocol and method in ("post", "put", "patch") and "requestBody" not in op:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            if params:
                op["parameters"] = params
            else:
                op.pop("parameters", None)
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if protocol and "202" in responses:
                # ABDM's acknowledgement: an empty body, the answer comes as a callback.
                responses["202"] = {"description": "Accepted; the answer follows as a callback."}
            responses["400"] = _error_response("400", protocol)
            if scheme is not None:
                op["security"] = [{scheme: []}]
                responses["401"] = _error_response("401", protocol)
                if scheme == STAFF:
                    responses["403"] = _error_response("403", protocol)
            responses["4XX"] = _error_response("4XX", protocol)
        paths[path] = ops
    doc["paths"] = paths
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM
    schemas["AbdmError"] = ABDM_ERROR
    components["securitySchemes"] = SECURITY_SCHEMES
    return doc


def install_openapi(app: FastAPI, *, data_push_path: str) -> None:
    """Serve ``build_openapi``'s document (the composition root passes the data-push
    path: web knows no side's routes)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, data_push_path=data_push_path)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
