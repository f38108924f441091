"""Verification by the council / state verifier (``professional.verify``: registry
verifier, state admin).

SUBMITTED → VERIFIED, or SUBMITTED → REJECTED with a reason the professional can act
on. Only a SUBMITTED record is decided; a rejected one comes back by an edit
(``editing``), which resubmits it. Nobody verifies a record they registered
themselves (maker-checker). Each decision writes the next history version and emits
``professional.verified`` / ``professional.rejected`` in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from healthstack.network.hpr.enums import Status
from healthstack.network.hpr.models import Professional
from healthstack.network.hpr.service import RESOURCE, emit_event, load_for, record_version

REASON_MIN = 10
REASON_MAX = 500


def check_reason(raw: str | None) -> str:
    reason = " ".join((raw or "").split())
    if len(reason) < REASON_MIN:
        raise ValidationFailed(
            f"Give the reason for the rejection (at least {REASON_MIN} characters), for "
            "example 'Registration number not found in the council register'; the "
            "professional needs it to correct the record.",
            field="reason",
            code="HS-1760",
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            f"Keep the reason under {REASON_MAX} characters.", field="reason", code="HS-1760"
        )
    return reason


def _decide(
    session: Session,
    ctx: RequestContext,
    *,
    hpr_id: str,
    verdict: Status,
    reason: str | None,
    clock: Clock,
) -> Professional:
    action = "professional.verify" if verdict is Status.VERIFIED else "professional.reject"
    with audited(session, ctx, action=action, resource_type=RESOURCE, clock=clock) as target:
        require(ctx.actor, "professional.verify")
        cleaned = check_reason(reason) if verdict is Status.REJECTED else None
        professional = load_for(session, actor=ctx.actor, raw_hpr_id=hpr_id, for_update=True)
        target.resource_id = str(professional.public_id)
        if professional.status != Status.SUBMITTED.value:
            state = professional.status.lower()
            raise Conflict(
                f"This record is {state}, not waiting for verification. "
                + (
                    "A rejected record comes back for verification when it is corrected."
                    if professional.status == Status.REJECTED.value
                    else "Nothing more to do."
                ),
                code="HS-1761",
            )
        if professional.registered_by == ctx.actor.id:
            raise PermissionDenied(
                "You registered this professional, so another verifier must decide it "
                "(maker-checker).",
                code="HS-1762",
            )
        now = clock.now()
        professional.status = verdict.value
        professional.rejection_reason = cleaned
        professional.status_changed_at = now
        professional.status_changed_by = ctx.actor.id[:64]
        professional.updated_at = now
        record_version(
            session,
            ctx,
            professional=professional,
            change="verified" if verdict is Status.VERIFIED else "rejected",
            at=now,
            changed_fields=["status"] if cleaned is None else ["status", "rejection_reason"],
        )
        emit_event(
            session,
            professional=professional,
            name="professional.verified" if verdict is Status.VERIFIED else "professional.rejected",
            clock=clock,
        )
        return professional


def verify_professional(
    session: Session, ctx: RequestContext, *, hpr_id: str, clock: Clock
) -> Professional:
    return _decide(session, ctx, hpr_id=hpr_id, verdict=Status.VERIFIED, reason=None, clock=clock)


def reject_professional(
    session: Session, ctx: RequestContext, *, hpr_id: str, reason: str, clock: Clock
) -> Professional:
    return _decide(session, ctx, hpr_id=hpr_id, verdict=Status.REJECTED, reason=reason, clock=clock)
