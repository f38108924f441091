"""Time as a parameter. Services take a ``Clock``; tests pass a ``FrozenClock``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

# India keeps one time zone and no summer time. A "day" in the state (today's date, a
# deadline, a dashboard day) is a day in IST, midnight to midnight there.
IST = timezone(timedelta(hours=5, minutes=30), "IST")


def ist_date(moment: datetime) -> date:
    """The calendar day in India of an instant (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(IST).date()


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The system clock moved ``offset`` ahead (development: a demo's time machine)."""

    def __init__(self, offset: timedelta):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FrozenClock:
    """A clock that moves only when told to (``advance``)."""

    def __init__(self, at: datetime | None = None):
        self._now = at or datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **kwargs: float) -> None:
        self._now = self._now + timedelta(**kwargs)

    def set(self, at: datetime) -> None:
        self._now = at
