"""The server protocol sets TCP_NODELAY on every accepted connection."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.config import Config
from uvicorn.server import ServerState

from healthstack.web.server import NoDelayH11Protocol


class _Transport:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def get_extra_info(self, name: str, default=None):
        return {
            "socket": self.sock,
            "peername": ("127.0.0.1", 1),
            "sockname": ("127.0.0.1", 2),
        }.get(name, default)

    def is_closing(self) -> bool:
        return False

    def set_protocol(self, protocol) -> None:  # pragma: no cover - not called here
        pass


def test_nodelay_is_set_on_accepted_sockets():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    # Rebuilt from a file descriptor, as uvicorn's worker processes do: protocol 0.
    rebuilt = socket.socket(fileno=accepted.detach())
    # A loop of its own: another test may have left this thread without one.
    loop = asyncio.new_event_loop()
    try:
        assert rebuilt.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        config = Config(app=lambda *a: None)
        config.load()
        protocol = NoDelayH11Protocol(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
        protocol.connection_made(_Transport(rebuilt))
        assert rebuilt.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        loop.close()
        rebuilt.close()
        client.close()
        server.close()
