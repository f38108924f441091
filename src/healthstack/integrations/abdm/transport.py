"""``AsgiLoopback``: a synchronous httpx transport that hands each request to an ASGI
app in this process, chosen by host, through ``httpx.ASGITransport``. Both sides run in
one process in the tests and may in the demo; they still talk HTTP (headers, status
codes, bodies as bytes), never Python calls. Put it in the runtime's ports
(``runtime.ports.gateway_transport`` and ``runtime.ports.abdm_transport``).

The worker and the sync routes call it from threads without an event loop; from a
thread that runs one, the request is made on a helper thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx


class AsgiLoopback(httpx.BaseTransport):
    def __init__(self, hosts: Mapping[str, Any]):
        # host name → ASGI app; a host not listed is unreachable (httpx.ConnectError).
        self.hosts = dict(hosts)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        app = self.hosts.get(request.url.host)
        if app is None:
            raise httpx.ConnectError(f"no app at {request.url.host}", request=request)
        content = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            # Unhandled app errors come back as 500s, as from a real server.
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await transport.handle_async_request(inner)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            status, headers, body = anyio.run(call)
        else:
            with ThreadPoolExecutor(max_workers=1) as pool:
                status, headers, body = pool.submit(anyio.run, call).result()
        return httpx.Response(status, headers=headers, content=body, request=request)
