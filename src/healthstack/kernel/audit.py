"""The audit trail of every read and write of personal health information.

An ``audit_event`` says who (actor kind, id, role, facility), what (action and the
public id of the resource), when, why (purpose) and how it ended (outcome). It never
holds the payload.

Success rows are written in the caller's transaction, so they commit with the change
they describe. A failure rolls that transaction back, so ``audited`` hangs the failure
row on the exception and the edge (``persist_failed``, called by the unit of work)
writes it in a fresh transaction after the rollback.

Rows are written unsealed; ``kernel.audit_chain`` seals the committed ones into a keyed
hash chain shortly after (``chain_seq``, ``chain_hash``; ADR 0012).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from healthstack.kernel.clock import Clock, SystemClock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.db import Base, IdMixin
from healthstack.kernel.errors import DomainError, NotFound, PermissionDenied


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    FAILED = "failed"


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_resource", "resource_type", "resource_id"),
        Index("ix_audit_event_actor", "actor_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    facility_id: Mapped[str | None] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # Where the request came from (the connecting address as the server saw it): who
    # tried a password from where is what an auditor asks first.
    client_address: Mapped[str | None] = mapped_column(String(64))
    # Set by the sealer, never by the writer (ADR 0012): the row's place in the chain,
    # HMAC(key, previous hash || canonical row), and short keyed tags of each field that
    # let verify say which one was changed.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    chain_tags: Mapped[str | None] = mapped_column(String(64))


def _event(
    ctx: RequestContext,
    *,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: Outcome,
    reason_code: str | None,
    at: datetime,
) -> AuditEvent:
    return AuditEvent(
        occurred_at=at,
        actor_kind=ctx.actor.kind.value,
        actor_id=ctx.actor.id[:64],
        actor_role=ctx.actor.role.value if ctx.actor.role else None,
        facility_id=ctx.actor.facility_id,
        purpose=ctx.purpose.value,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome.value,
        reason_code=reason_code,
        request_id=ctx.request_id[:64],
        client_address=(ctx.ip or "")[:64] or None,
    )


def record_access(
    session: Session,
    ctx: RequestContext,
    *,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: Outcome = Outcome.SUCCESS,
    reason_code: str | None = None,
    clock: Clock | None = None,
) -> None:
    at = (clock or SystemClock()).now()
    session.add(
        _event(
            ctx,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            reason_code=reason_code,
            at=at,
        )
    )


def _outcome_for(exc: BaseException) -> Outcome:
    if isinstance(exc, PermissionDenied):
        return Outcome.DENIED
    if isinstance(exc, NotFound):
        return Outcome.NOT_FOUND
    return Outcome.FAILED


class AuditTarget:
    """Lets the body of ``audited`` name the resource once it is known."""

    def __init__(self, resource_id: str | None):
        self.resource_id = resource_id


@contextmanager
def audited(
    session: Session,
    ctx: RequestContext,
    *,
    action: str,
    resource_type: str,
    resource_id: str | None = None,
    clock: Clock | None = None,
) -> Iterator[AuditTarget]:
    """Audit the block: a success row on exit, a failure row carried by the exception."""
    target = AuditTarget(resource_id)
    clk = clock or SystemClock()
    try:
        yield target
    except BaseException as exc:
        event = _event(
            ctx,
            action=action,
            resource_type=resource_type,
            resource_id=target.resource_id,
            outcome=_outcome_for(exc),
            reason_code=getattr(exc, "code", type(exc).__name__)[:32],
            at=clk.now(),
        )
        pending: list[AuditEvent] = getattr(exc, "audit_events", [])
        pending.append(event)
        with suppress(AttributeError):  # exotic exceptions without __dict__
            exc.audit_events = pending  # type: ignore[attr-defined]
        raise
    record_access(
        session,
        ctx,
        action=action,
        resource_type=resource_type,
        resource_id=target.resource_id,
        clock=clk,
    )


def keep_failures(session: Session, exc: BaseException) -> None:
    """Add the failure rows ``exc`` carries to ``session``: for a refusal that is
    answered or shown rather than raised, so it never reaches the unit of work."""
    events: list[AuditEvent] = getattr(exc, "audit_events", [])
    if events:
        session.add_all(events)
        exc.audit_events = []  # type: ignore[attr-defined]


def absorb(session: Session, exc: BaseException) -> None:
    """What the unit of work does with an exception, for a caller that handles it
    itself (a page showing the message): undo the changes, unless the error keeps them
    (``commit_anyway``: a counted OTP try), and keep its failure audit rows."""
    if not getattr(exc, "commit_anyway", False):
        session.rollback()
    keep_failures(session, exc)


def persist_failed(factory: sessionmaker[Session], exc: BaseException) -> None:
    """Write the failure rows an exception carries, after its transaction rolled back."""
    events: list[AuditEvent] = getattr(exc, "audit_events", [])
    if not events:
        return
    session = factory()
    try:
        session.add_all(events)
        session.commit()
    finally:
        session.close()
    exc.audit_events = []  # type: ignore[attr-defined]


__all__ = [
    "AuditEvent",
    "DomainError",
    "Outcome",
    "absorb",
    "audited",
    "keep_failures",
    "persist_failed",
    "record_access",
]
