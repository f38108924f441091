"""The one place that maps domain errors to HTTP.

Three renderings of the same error:
- protocol routes (``/abha/api/...``, later the gateway): ABDM's body
  ``{"error": {"code", "message"}}``;
- HealthStack's own API (``/api/...``): a JSON problem body
  ``{"type", "title", "status", "detail", "code", "field"}``;
- pages: an HTML page that says what to do next.

No message carries PHI: domain messages are written that way, and validation errors
name the field and the rule, never the value received.

Nothing else answers an error. ``UnexpectedErrors`` turns whatever nothing mapped into
the 500 answer and logs one line (the exception's type, the request's method and path,
and the line of our code that raised it): never the traceback or the exception's text,
which carry request data (a driver error quotes the SQL parameters; a KeyError, the
key). It does not re-raise, so no server or framework logger prints it again.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from healthstack.kernel.db import INT_MAX
from healthstack.kernel.errors import DomainError
from healthstack.kernel.logs import log_unexpected

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

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # The input passed validation but the database cannot hold it (a number beyond
        # its column, text it refuses): the caller's to fix, not a server fault. The
        # driver's message quotes the values, so none of it is shown or logged.
        return error_response(
            request,
            status=400,
            code="HS-1006",
            message="A value in the request cannot be stored: a number larger than "
            f"{INT_MAX:,} or text with a character that is not allowed (such as NUL). "
            "Correct it and send the request again.",
        )


class UnexpectedErrors:
    """Outermost middleware: an exception nothing mapped is answered with the 500 page
    (or, once the answer has started, the connection is left to close) and logged by
    ``log_unexpected``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request = Request(scope)
            log_unexpected(log, exc, f"{request.method} {request.url.path}")
            if started:
                return
            response = error_response(
                request,
                status=500,
                code="HS-500",
                message="Something went wrong on our side. Try again; if it repeats, "
                "tell the support desk the time it happened.",
            )
            await response(scope, receive, send)
