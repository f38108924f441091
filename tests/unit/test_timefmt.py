"""Times shown to people are IST; storage stays UTC."""

from datetime import UTC, date, datetime

from healthstack.web.timefmt import local_date, local_time, today_ist


def test_an_utc_instant_is_shown_in_ist() -> None:
    at = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    assert local_time(at) == "08 Dec 2026, 01:30 IST"
    assert local_date(at) == "08 Dec 2026"
    assert today_ist(at) == date(2026, 12, 8)


def test_naive_values_are_taken_as_utc_and_none_is_empty() -> None:
    assert local_time(datetime(2026, 1, 1, 0, 0)) == "01 Jan 2026, 05:30 IST"
    assert local_time(None) == "" and local_date(None) == ""
    assert local_date(date(2026, 3, 4), "%d-%m-%Y") == "04-03-2026"
