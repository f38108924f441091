"""Calls to the gateway through the outbox, and the context their answers find.

``AbdmOutbox`` is the gateway client as the facility's services use it: its
``enqueue`` writes the call (ledger row) and an outbox row in the caller's transaction
and returns the REQUEST-ID the gateway will answer with ``response.requestId``. The
worker's ``abdm.send`` handler (``send``) sends it through the ``AbdmClient`` with the
same REQUEST-ID on every attempt (the gateway treats a repeat as a no-op). A refusal
(4xx) closes the call as ``rejected``; anything else is retried with the relay's
backoff and the call is ``dead`` after the last attempt.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from healthstack.integrations.abdm.client import AbdmCallFailed, AbdmCallRejected, AbdmClient
from healthstack.integrations.abdm.models import AbdmMessage, CallStatus, Direction
from healthstack.kernel.clock import Clock
from healthstack.kernel.outbox import enqueue
from healthstack.kernel.uow import unit_of_work
from healthstack.settings import AbdmSettings

SEND_TOPIC = "abdm.send"
SERVICE_HEADERS = {"X-HIP-ID": "HIP", "X-HIU-ID": "HIU"}


def canonical_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class OutboundCall:
    """A call this side made, as a callback's handler needs it."""

    request_id: str
    path: str
    service_type: str | None  # HIP or HIU
    service_id: str | None  # the facility (HFR id) it was made for
    context: dict[str, Any]  # what the caller stored with it
    status: str
    created_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class AbdmOutbox:
    """Queues the facility side's calls to the gateway (``enqueue``): the clock that
    stamps them and how often the worker tries each."""

    clock: Clock
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: AbdmSettings, *, clock: Clock) -> AbdmOutbox:
        return cls(clock=clock, max_attempts=settings.call_max_attempts)

    def enqueue(
        self,
        session: Session,
        *,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue ``POST {gateway}{path}``; returns its REQUEST-ID (see ``enqueue_call``)."""
        return enqueue_call(
            session,
            clock=self.clock,
            max_attempts=self.max_attempts,
            path=path,
            body=body,
            headers=headers,
            context=context,
        )


def enqueue_call(
    session: Session,
    *,
    clock: Clock,
    max_attempts: int,
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    context: Mapping[str, Any] | None = None,
) -> str:
    """Queue ``POST {gateway}{path}``; returns its REQUEST-ID. ``headers`` carries
    X-HIP-ID or X-HIU-ID (the facility acting) and e.g. X-LINK-TOKEN; the client adds
    Authorization, REQUEST-ID, TIMESTAMP and X-CM-ID. ``context`` (JSON, no PHI: ids of
    your own rows) comes back with ``find_context`` when the answer arrives. The worker
    tries the call ``max_attempts`` times."""
    if not path.startswith("/"):
        raise ValueError(f"gateway path {path!r} must start with '/'")
    kind = next((SERVICE_HEADERS[h] for h in SERVICE_HEADERS if headers.get(h)), None)
    service_id = next((headers[h] for h in SERVICE_HEADERS if headers.get(h)), None)
    now = clock.now()
    attempts = max_attempts
    row = AbdmMessage(
        direction=Direction.OUTBOUND.value,
        request_id=str(uuid.uuid4()),
        path=path,
        service_type=kind,
        service_id=service_id,
        status=CallStatus.PENDING.value,
        context=dict(context or {}),
        body_digest=hashlib.sha256(canonical_json(body)).hexdigest(),
        body=dict(body),
        extra_headers=dict(headers),
        attempts=0,
        max_attempts=attempts,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    enqueue(
        session,
        topic=SEND_TOPIC,
        payload={"message_id": str(row.public_id)},
        dedupe_key=f"{SEND_TOPIC}:{row.public_id}",
        max_attempts=attempts,
        clock=clock,
    )
    return row.request_id


def _outbound(row: AbdmMessage) -> OutboundCall:
    return OutboundCall(
        request_id=row.request_id,
        path=row.path,
        service_type=row.service_type,
        service_id=row.service_id,
        context=dict(row.context or {}),
        status=row.status,
        created_at=row.created_at,
        answered_at=row.answered_at,
    )


def find_call_row(session: Session, request_id: str) -> AbdmMessage | None:
    return session.scalar(
        select(AbdmMessage).where(
            AbdmMessage.direction == Direction.OUTBOUND.value,
            AbdmMessage.request_id == request_id,
        )
    )


def find_context(session: Session, in_reply_to: str | None) -> OutboundCall | None:
    """The call a callback answers (its ``response.requestId``), however late it comes."""
    if not in_reply_to:
        return None
    row = find_call_row(session, in_reply_to)
    return _outbound(row) if row is not None else None


def send(
    session_factory: sessionmaker[Session],
    payload: dict[str, Any],
    *,
    clock: Clock,
    client: Callable[[], AbdmClient],
) -> None:
    """The ``abdm.send`` outbox handler: one try of one call, through the process's
    client (``client()``: built when first needed, so a call already done needs none)."""
    failure: AbdmCallFailed | None = None
    with unit_of_work(session_factory) as session:
        row = session.scalar(
            select(AbdmMessage)
            .where(
                AbdmMessage.public_id == uuid.UUID(str(payload["message_id"])),
                AbdmMessage.direction == Direction.OUTBOUND.value,
            )
            .with_for_update()
        )
        if row is None or row.status not in (CallStatus.PENDING.value, CallStatus.RETRYING.value):
            return
        now = clock.now()
        row.attempts += 1
        row.updated_at = now
        try:
            client().send(
                row.path,
                row.body or {},
                {str(k): str(v) for k, v in (row.extra_headers or {}).items()},
                request_id=row.request_id,
            )
        except AbdmCallRejected as exc:
            _close(row, CallStatus.REJECTED, now)
            row.http_status, row.last_error = exc.status, exc.code or str(exc)[:200]
        except AbdmCallFailed as exc:
            row.http_status, row.last_error = exc.status, exc.code or str(exc)[:200]
            if row.attempts >= row.max_attempts:
                _close(row, CallStatus.DEAD, now)
            else:
                row.status = CallStatus.RETRYING.value
            failure = exc
        else:
            _close(row, CallStatus.SENT, now)
            row.http_status, row.last_error = 202, None
    if failure is not None:
        raise failure


def _close(row: AbdmMessage, status: CallStatus, now: datetime) -> None:
    row.status = status.value
    row.done_at = now
    # The body may carry PHI and X-LINK-TOKEN is a credential: kept only until sent.
    row.body = None
    row.extra_headers = None


def handlers(
    session_factory: sessionmaker[Session], *, clock: Clock, client: Callable[[], AbdmClient]
) -> dict[str, Any]:
    """The facility side's entry for the worker's handler registry (jobs/worker.py).
    ``client`` gives the process's client when a call is sent (``Runtime.abdm_client``)."""
    return {SEND_TOPIC: lambda payload: send(session_factory, payload, clock=clock, client=client)}
