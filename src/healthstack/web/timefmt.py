"""Times as a person in India reads them. Storage and APIs stay in UTC; every page,
PDF and SMS shows Asia/Kolkata (IST, UTC+05:30 all year: India keeps no summer time).

Registered on the templates as the filters ``local_time`` and ``local_date``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def to_ist(value: datetime) -> datetime:
    """An aware instant in IST (a naive one is taken as UTC, as the database gives it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(IST)


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """``07 Dec 2026, 21:22 IST``; empty for None."""
    if value is None:
        return ""
    return to_ist(value).strftime(fmt) + " IST"


def local_date(value: datetime | date | None, fmt: str = "%d %b %Y") -> str:
    """The calendar day in IST of an instant (a date is shown as it is)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_ist(value).date()
    return value.strftime(fmt)


def today_ist(now: datetime) -> date:
    return to_ist(now).date()
