"""``healthstack serve`` and ``healthstack worker``."""

from __future__ import annotations

import signal

import typer
import uvicorn

from healthstack.cli.common import console, settings_or_exit
from healthstack.kernel.logs import configure as configure_logging
from healthstack.kernel.logs import log_config
from healthstack.web.server import NoDelayH11Protocol


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1, max=32, help="Server processes."),
) -> None:
    """Serve the web app (and, in the embedded default, the outbox worker)."""
    settings = settings_or_exit()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from healthstack.web.app import create_app

    if workers > 1:
        uvicorn.run(
            "healthstack.web.asgi:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            log_config=log_config(settings.log_level),
            http=NoDelayH11Protocol,
        )
        return
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        log_config=log_config(settings.log_level),
        http=NoDelayH11Protocol,
    )


def worker() -> None:
    """Run the outbox relay until interrupted."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    from healthstack.jobs.worker import create_worker

    w = create_worker(settings)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    console.print("[green]Worker running; Ctrl-C stops it.[/green]")
    try:
        w.run_forever()
    except KeyboardInterrupt:
        w.stop()
