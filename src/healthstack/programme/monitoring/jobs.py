"""Scheduled monitoring housekeeping, run by the worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.programme.monitoring.models import AppliedEvent

# Redeliveries happen within the relay's retry window (hours); a week is ample.
KEEP_APPLIED = timedelta(days=7)


def purge_applied_events(session: Session, *, clock: Clock) -> int:
    """Forget applied-event ids once no redelivery of them can still arrive."""
    result = session.execute(
        delete(AppliedEvent).where(AppliedEvent.applied_at < clock.now() - KEEP_APPLIED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
