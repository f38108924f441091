"""The facility side's background work: the worker's ``records.push`` handler (a HIP's
data push, page by page, resumable) and the scheduled erase of received records at
their ``dataEraseAt`` (``records.erase_expired``). Both unpack the worker's runtime for
the services, which take what they use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from healthstack.facility.records.hip import transfer
from healthstack.facility.records.hiu import erasure
from healthstack.runtime import Runtime

PUSH_TOPIC = transfer.PUSH_TOPIC


def handlers(runtime: Runtime) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The records entries of the worker's handler registry (jobs/worker.py)."""

    def push(payload: dict[str, Any]) -> None:
        transfer.push(
            runtime.session_factory,
            payload,
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            client=runtime.abdm_client,
            http=runtime.data_push_http,
        )

    return {PUSH_TOPIC: push}


def erase_expired(session: Session, runtime: Runtime) -> int:
    """Received records past dataEraseAt lose their content; ended artefacts their keys."""
    return erasure.erase_expired(session, clock=runtime.clock)
