"""Logging for the server and the worker: one line per record, never a traceback.

The policy (docs/architecture.md, "Errors"): a failure is logged as its type and where
it happened (``log_unexpected``), because a traceback's exception text and
a server's access line carry request data (SQL parameters, a key, a query string with
a mobile number). ``OneLine`` drops ``exc_info`` and ``stack_info`` from every record
it formats, so a library that logs with ``exc_info`` (uvicorn's "Exception in ASGI
application", for one) still prints only its message. uvicorn's access log stays off.
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import IO, Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return super().format(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return ""


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def where(exc: BaseException) -> str:
    """The innermost line of HealthStack's own code the exception passed through: enough
    to find the fault, with none of the values."""
    found = "?"
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(_PACKAGE_ROOT):
            found = f"{os.path.relpath(filename, os.path.dirname(_PACKAGE_ROOT))}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def log_unexpected(
    log: logging.Logger, exc: BaseException, what: str, *, level: int = logging.ERROR
) -> None:
    """The one line an unexpected failure of a request or a job leaves: its type, what
    failed and ``where``; never the exception's text."""
    log.log(level, "unhandled %s in %s at %s", type(exc).__name__, what, where(exc))


def log_config(level: str = "INFO", *, stream: IO[str] | None = None) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of ``healthstack serve`` (uvicorn's
    ``log_config``) and ``healthstack worker``."""
    handler: dict[str, Any] = {"class": "logging.StreamHandler", "formatter": "one_line"}
    handler["stream"] = stream if stream is not None else "ext://sys.stderr"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"one_line": {"()": OneLine, "format": FORMAT}},
        "handlers": {"default": handler},
        # Everything reaches the one handler through the root; libraries (SQLAlchemy,
        # httpx, ...) at warnings only.
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "healthstack": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn": {"level": "WARNING", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "WARNING", "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def configure(level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(level))
