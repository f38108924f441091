"""uvicorn's HTTP protocol with TCP_NODELAY always set.

In multi-process mode uvicorn hands the listening socket to its workers through
``multiprocessing``; the rebuilt socket reports protocol 0, so asyncio does not set
TCP_NODELAY on accepted connections, and Nagle's algorithm meets the client's delayed
ACK: every keep-alive response waited about 40 ms (docs/benchmarks.md). Setting the
option ourselves restores single-process latency.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with suppress(OSError):  # a socket that refuses the option keeps working
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
