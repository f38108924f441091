"""``healthstack serve`` and ``healthstack worker``.

Where the server listens and the address it tells others (``base_url``: the gateway's
callbacks, the facility's gateway URL, the data-push URL, the SMS links) come from one
place, the settings: ``--host`` / ``--port`` override ``HEALTHSTACK_HOST`` /
``HEALTHSTACK_PORT``, and ``base_url`` follows them unless ``HEALTHSTACK_BASE_URL`` is set.
"""

from __future__ import annotations

import os
import signal
from urllib.parse import urlsplit

import typer
import uvicorn

from healthstack.cli.common import (
    console,
    open_database_or_exit,
    prepare_data_dir,
    settings_or_exit,
)
from healthstack.kernel.logs import configure as configure_logging
from healthstack.kernel.logs import log_config
from healthstack.settings import Settings
from healthstack.web.server import NoDelayH11Protocol

HOST_HELP = "Interface to listen on [default: HEALTHSTACK_HOST, else 127.0.0.1]."
PORT_HELP = "Port to listen on [default: HEALTHSTACK_PORT, else 8000]."
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def server_settings(host: str | None, port: int | None) -> Settings:
    """The settings with the command's --host / --port in force (base_url follows them
    unless set explicitly)."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = settings_or_exit(**overrides)
    _warn_if_base_url_elsewhere(settings)
    return settings


def _warn_if_base_url_elsewhere(settings: Settings) -> None:
    # An explicit base URL wins (a proxy or TLS in front is normal), but one naming this
    # machine on another port is the old trap: the gateway would call a port nobody
    # listens on.
    if "base_url" not in settings.model_fields_set:
        return
    url = urlsplit(settings.base_url)
    if url.hostname in _LOOPBACK and url.port not in (None, settings.port):
        console.print(
            f"[yellow]Warning:[/yellow] HEALTHSTACK_BASE_URL is {settings.base_url}, but "
            f"this server listens on port {settings.port}: the gateway's callbacks and "
            "the SMS links go to the base URL. Unset it to follow the port.",
            soft_wrap=True,
        )


def listen_url(settings: Settings) -> str:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{settings.port}"


def serve(
    host: str | None = typer.Option(None, help=HOST_HELP, show_default=False),
    port: int | None = typer.Option(None, min=1, max=65535, help=PORT_HELP, show_default=False),
    workers: int = typer.Option(1, min=1, max=32, help="Server processes."),
) -> None:
    """Serve the web app (and, in the embedded default, the outbox worker)."""
    settings = server_settings(host, port)
    prepare_data_dir(settings)
    open_database_or_exit(settings)
    run_server(settings, workers=workers)


def run_server(settings: Settings, *, workers: int = 1) -> None:
    """Serve on ``settings.host``:``settings.port`` (the database checked already)."""
    from healthstack.app import create_app

    if workers > 1:
        # The worker processes read their settings from the environment.
        os.environ["HEALTHSTACK_HOST"] = settings.host
        os.environ["HEALTHSTACK_PORT"] = str(settings.port)
        uvicorn.run(
            "healthstack.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="warning",
            log_config=log_config(settings.log_level),
            http=NoDelayH11Protocol,
        )
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        log_config=log_config(settings.log_level),
        http=NoDelayH11Protocol,
    )


def worker() -> None:
    """Run the outbox relay until interrupted."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    prepare_data_dir(settings)
    open_database_or_exit(settings)
    from healthstack.jobs.worker import create_worker

    w = create_worker(settings)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    console.print("[green]Worker running; Ctrl-C stops it.[/green]")
    try:
        w.run_forever()
    except KeyboardInterrupt:
        w.stop()
