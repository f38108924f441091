"""ASGI middleware: body size limit, input limits (JSON depth, NUL) and security headers."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from healthstack.kernel.jsonlimit import MAX_DEPTH, too_deep
from healthstack.web.errors import error_response, is_protocol


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        limit_kb = self.max_bytes // 1000
        message = (
            f"The request is larger than {limit_kb} kB. Send a smaller file "
            "(a photo of the card at a lower resolution works)."
        )
        body: dict[str, Any]
        if is_protocol(path):
            body = {"error": {"code": "HS-413", "message": message}}
        else:
            body = {
                "type": "about:blank",
                "title": "Request too large",
                "status": 413,
                "detail": message,
                "code": "HS-413",
            }
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})


# The pages' policy: scripts and styles only from files of this site (no inline script,
# no event handler attribute, no eval), images also as data: (the patient's photo),
# nothing framed, embedded or posted elsewhere. A route may send its own policy (the
# record attachments' sandbox, the API docs' pages); this is the default for the rest.
def content_security_policy(
    *, style_hashes: tuple[str, ...] = (), inline_styles: bool = False, blob_workers: bool = False
) -> str:
    """The pages' policy. ``style_hashes``: the dashboard's allowance for the <style>
    elements plotly.js adds (``vendor.plotly_style_sources``); ``inline_styles`` and
    ``blob_workers``: the API docs pages' (``web/apidocs.py``). None is a script's."""
    style = ["'self'", *style_hashes, *(["'unsafe-inline'"] if inline_styles else [])]
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src " + " ".join(style),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    if blob_workers:
        directives.append("worker-src 'self' blob:")
    return "; ".join(directives)


CONTENT_SECURITY_POLICY = content_security_policy()


def _policy_for(path: str) -> str:
    if path == "/dashboard" or path.startswith("/dashboard/"):
        from healthstack.web.vendor import plotly_style_sources

        return content_security_policy(style_hashes=plotly_style_sources())
    return CONTENT_SECURITY_POLICY


# Powerful browser features, all off; the desk's card scan may use the camera (a photo
# of the QR through the file input), and only that page.
_FEATURES_OFF = (
    "accelerometer",
    "browsing-topics",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{f}=()" for f in ("camera", *_FEATURES_OFF))
CAMERA_PERMISSIONS_POLICY = ", ".join(("camera=(self)", *(f"{f}=()" for f in _FEATURES_OFF)))
CAMERA_PATHS = ("/desk/scan",)

HSTS = b"max-age=31536000"


# Uploads: files may hold any byte, and python-multipart parses the rest flat.
_MULTIPART = b"multipart/form-data"
_URLENCODED = b"application/x-www-form-urlencoded"
# A NUL in JSON (raw, or \u0000 after an even run of backslashes) or in a URL or form.
_JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
_NUL_MESSAGE = (
    "The request contains a NUL character (\\u0000 or %00), which no field may hold "
    "(the database refuses it). Remove it and send the request again."
)


def _nul_parameter(scope: Scope) -> str:
    """The name of the query parameter that holds the NUL (else "query"), so the 400
    names the field to fix as validation errors do."""
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in value or "\x00" in name:
            return name.replace("\x00", "")[:64] or "query"
    return "query"


def _nul_form_field(body: bytes) -> str:
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if "\x00" in value or "\x00" in name:
            return name.replace("\x00", "")[:64] or "body"
    return "body"


def _nul_json_field(body: bytes, max_depth: int) -> str:
    """The dotted path of the first JSON string holding a NUL (``full_name``,
    ``consents.0.hip.id``), so the 400 names the field as validation errors do; "body"
    when the body is not JSON or too deep to walk."""
    if too_deep(body, max_depth):
        return "body"
    try:
        value = json.loads(body)
    except ValueError:
        return "body"
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if "\x00" in key:
                    return path or "body"
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            for index in reversed(range(len(item))):
                stack.append((f"{path}.{index}" if path else str(index), item[index]))
        elif isinstance(item, str) and "\x00" in item:
            return path[:64] or "body"
    return "body"


class InputLimits:
    """What no route can take, refused with a 400 before any route parses the request:
    JSON nested deeper than ``max_depth`` (kernel.jsonlimit) and NUL characters, which
    PostgreSQL cannot store in text (SQLite would keep them). Sits inside
    ``BodySizeLimit``, which bounds what it reads. Every body but a multipart upload may
    reach a JSON parser (the protocol routes parse theirs whatever the Content-Type
    says), so every other body is checked."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH):
        self.app = app
        self.max_depth = max_depth

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, **problem: Any) -> None:
        response = error_response(Request(scope), status=400, **problem)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            where = "path" if "\x00" in scope.get("path", "") else _nul_parameter(scope)
            await self._refuse(
                scope, receive, send, code="HS-1008", message=_NUL_MESSAGE, field=where
            )
            return
        ctype = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
        if ctype.startswith(_MULTIPART):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        held: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                held = message  # the client went away: the app hears it after the body
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        form = ctype.startswith(_URLENCODED)
        if (b"%00" in body) if form else bool(_JSON_NUL.search(body)):
            field = _nul_form_field(body) if form else _nul_json_field(body, self.max_depth)
            await self._refuse(
                scope, receive, send, code="HS-1008", message=_NUL_MESSAGE, field=field
            )
            return
        if not form and too_deep(body, self.max_depth):
            await self._refuse(
                scope,
                receive,
                send,
                code="HS-1005",
                message=f"The body nests arrays or objects more than {self.max_depth} levels "
                "deep, which no request needs. Send the JSON the API documents.",
                field="body",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed, held
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            if held is not None:
                message, held = held, None
                return message
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    """The headers every response carries unless its route set its own. ``https``:
    the deployment's base URL is https, so HSTS goes on every response (behind a TLS
    proxy the request itself may arrive as http); a request made over https gets it
    anyway."""

    def __init__(self, app: ASGIApp, *, https: bool = False):
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        defaults: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", _policy_for(path).encode()),
            (
                b"permissions-policy",
                (
                    CAMERA_PERMISSIONS_POLICY if path in CAMERA_PATHS else PERMISSIONS_POLICY
                ).encode(),
            ),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            # no-store unless the route chose its own (vendored libraries are cached).
            (b"cache-control", b"no-store"),
        ]
        if self.https or scope.get("scheme") == "https":
            defaults.append((b"strict-transport-security", HSTS))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in defaults if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
