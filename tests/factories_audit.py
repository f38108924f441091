"""Audit rows as the services write them, for the audit log's and the chain's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from healthstack.accounts.service import actor_for, create_staff
from healthstack.kernel.audit import Outcome, record_access
from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.context import (
    SYSTEM_ACTOR,
    Actor,
    ActorKind,
    Purpose,
    RequestContext,
    Role,
)
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime

PASSWORD = "correct horse battery"  # noqa: S105 - test password


@dataclass(frozen=True)
class Row:
    actor: Actor = SYSTEM_ACTOR
    action: str = "thing.read"
    resource_type: str = "thing"
    resource_id: str | None = None
    outcome: Outcome = Outcome.SUCCESS
    at: datetime | None = None
    ip: str | None = "203.0.113.7"


def write(runtime: Runtime, *rows: Row) -> None:
    """Each row in one committed unit of work, at its own time (or the clock's)."""
    with unit_of_work(runtime.session_factory) as session:
        for row in rows:
            ctx = RequestContext(actor=row.actor, purpose=Purpose.ADMINISTRATION, ip=row.ip)
            record_access(
                session,
                ctx,
                action=row.action,
                resource_type=row.resource_type,
                resource_id=row.resource_id,
                outcome=row.outcome,
                clock=FrozenClock(row.at) if row.at else runtime.clock,
            )


def named_staff(
    runtime: Runtime,
    *,
    username: str,
    full_name: str,
    role: Role,
    facility_id: str | None = None,
    district_lgd: int | None = None,
    kind: ActorKind = ActorKind.STAFF,
) -> Actor:
    with unit_of_work(runtime.session_factory) as session:
        user = create_staff(
            session,
            username=username,
            full_name=full_name,
            role=role,
            password=PASSWORD,
            facility_id=facility_id,
            district_lgd=district_lgd,
            clock=runtime.clock,
        )
        return actor_for(user, kind)


def patient(abha_number: str) -> Actor:
    return Actor(kind=ActorKind.PATIENT, id=abha_number, display="self")


GATEWAY = Actor(kind=ActorKind.CLIENT, id="abdm-gateway", display="ABDM gateway")
BRIDGE = Actor(kind=ActorKind.CLIENT, id="jk-hmis", display="jk-hmis")
