"""The one place that maps domain errors to HTTP.

Three renderings of the same error:
- protocol routes (``/abha/api/...``, later the gateway): ABDM's body
  ``{"error": {"code", "message"}}``;
- HealthStack's own API (``/api/...``): a JSON problem body
  ``{"type", "title", "status", "detail", "code", "field"}``;
- pages: an HTML page that says what to do next.

No message carries PHI: domain messages are written that way, and validation errors
name the field and the rule, never the value received.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthstack.kernel.errors import DomainError

log = logging.getLogger("healthstack.web")

# ABDM protocol routes: ABHA v3, the gateway and CM (/api/hiecm), and the facility
# side's bridge endpoints (/api/v3/...).
PROTOCOL_PREFIXES = ("/abha/api/", "/api/hiecm/", "/api/v3/")


def is_protocol(path: str) -> bool:
    return path.startswith(PROTOCOL_PREFIXES)


def is_api(path: str) -> bool:
    return path.startswith("/api/") or path.endswith(".json") or is_protocol(path)


def error_response(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    path = request.url.path
    if is_protocol(path):
        return JSONResponse(
            {"error": {"code": code, "message": message}}, status_code=status, headers=headers
        )
    if is_api(path):
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "detail": message,
            "code": code,
        }
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=status, headers=headers)
    templates = request.app.state.templates
    return HTMLResponse(
        templates.get_template("error.html").render(
            request=request, status=status, message=message, code=code, staff=None
        ),
        status_code=status,
        headers=headers,
    )


_TITLES = {
    400: "Bad request",
    401: "Log in required",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    503: "Service unavailable",
}


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    parts = []
    first_field = None
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "body"
        first_field = first_field or where
        kind = err.get("type", "")
        if kind == "missing":
            parts.append(f"{where} is required")
        elif kind == "extra_forbidden":
            parts.append(f"{where} is not a known field; remove it")
        elif kind == "json_invalid":
            parts.append("the body is not valid JSON; check quotes, commas and brackets")
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            parts.append(f"{where} has the wrong type ({err.get('msg', '').lower()})")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "Fix the request and send it again: " + "; ".join(parts) + ".", first_field


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return error_response(
            request,
            status=exc.status_hint,
            code=exc.code,
            message=exc.message,
            field=exc.field,
            # e.g. Retry-After on the gateway's rate limit
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        message, field = _describe_validation(exc)
        return error_response(request, status=400, code="HS-1000", message=message, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            detail = (
                "There is nothing at this address. Check the link or go back to the start page."
            )
        if exc.status_code == 405:
            detail = "This address does not accept that method."
        return error_response(
            request,
            status=exc.status_code,
            code=f"HS-{exc.status_code}",
            message=detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the type and where, never the request body (it may hold PHI).
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_response(
            request,
            status=500,
            code="HS-500",
            message="Something went wrong on our side. Try again; if it repeats, "
            "tell the support desk the time it happened.",
        )
