"""A real uvicorn server for the tests that need one (the browser tests' live server, the
log policy under ``healthstack serve``'s configuration, the demo on a chosen port): a free
loopback port, and the app served on a background thread until the block ends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, port: int | None = None, **config: Any) -> Iterator[str]:
    """``app`` served on 127.0.0.1 (``port``, or a free one; ``config``: more
    ``uvicorn.Config`` options) once the server has started; yields its base URL."""
    port = port or free_port()
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # the server's own start, not the work under test
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
