"""The facility side's background work: the worker's ``records.push`` handler (a HIP's
data push, page by page, resumable) and the scheduled erase of received records at
their ``dataEraseAt`` (``records.erase_expired``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from healthstack.facility.records import hip, hiu
from healthstack.runtime import Runtime

PUSH_TOPIC = hip.PUSH_TOPIC


def handlers(runtime: Runtime) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The records entries of the worker's handler registry (jobs/worker.py)."""
    return hip.handlers(runtime)


def erase_expired(session: Session, runtime: Runtime) -> int:
    """Received records past dataEraseAt lose their content; ended artefacts their keys."""
    return hiu.erase_expired(session, clock=runtime.clock)
