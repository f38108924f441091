"""ASGI middleware: body size limit, input limits (JSON depth, NUL) and security headers."""

from __future__ import annotations

import json
import re
from typing import Any

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


# Uploads: files may hold any byte, and python-multipart parses the rest flat.
_MULTIPART = b"multipart/form-data"
_URLENCODED = b"application/x-www-form-urlencoded"
# A NUL in JSON (raw, or \u0000 after an even run of backslashes) or in a URL or form.
_JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
_NUL_MESSAGE = (
    "The request contains a NUL character (\\u0000 or %00), which no field may hold "
    "(the database refuses it). Remove it and send the request again."
)


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
            where = "path" if "\x00" in scope.get("path", "") else "query"
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
            await self._refuse(
                scope, receive, send, code="HS-1008", message=_NUL_MESSAGE, field="body"
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
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                # no-store unless the route chose its own (vendored libraries are cached).
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
