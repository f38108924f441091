"""The indicator registry's rules and the dashboard's arithmetic, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from healthstack.kernel.events import EVENT_TOPICS, day_of, parse_day
from healthstack.kernel.relay import handler_for
from healthstack.programme.monitoring import indicators
from healthstack.programme.monitoring.indicators import (
    INDICATORS,
    Count,
    Enter,
    Figures,
    Leave,
    district_of,
    first_facility,
)
from healthstack.programme.monitoring.pages import indian
from healthstack.programme.monitoring.service import percent_of

IST = timezone(timedelta(hours=5, minutes=30))


def test_registry_keys_events_and_dimensions():
    keys = [i.key for i in INDICATORS]
    assert keys == [
        "abha.accounts",
        "hfr.public_facilities",
        "hpr.doctors",
        "hpr.nurses",
        "hpr.overdue",
    ]
    assert len(set(keys)) == len(keys)
    for ind in INDICATORS:
        assert ind.dimensions == ("state", "district_lgd", "facility_id")
        assert ind.label and ind.unit and ind.description
    abha = indicators.indicator("abha.accounts")
    assert abha is not None and abha.kind == "count"
    assert [(r.event, r.delta) for r in abha.rules if isinstance(r, Count)] == [
        ("abha.account.created", 1),
        ("abha.account.deleted", -1),
        ("abha.account.moved", -1),
        ("abha.account.moved", 1),
    ]
    assert indicators.indicator("hfr.public_facilities").kind == "members"
    overdue = indicators.indicator("hpr.overdue")
    assert overdue.rules == () and overdue.wired and overdue.denominator_label is None
    assert indicators.indicator("nope") is None


def test_events_find_their_indicators():
    assert [i.key for i in indicators.indicators_for("abha.account.created")] == ["abha.accounts"]
    assert [i.key for i in indicators.indicators_for("professional.verified")] == [
        "hpr.doctors",
        "hpr.nurses",
    ]
    assert indicators.indicators_for("facility.registered") == []


def test_facility_rule_qualifies_public_only_and_rejection_leaves():
    ind = indicators.indicator("hfr.public_facilities")
    [enter] = ind.rules_for("facility.verified")
    assert isinstance(enter, Enter) and enter.key == "hfr_id"
    assert enter.qualifies({"ownership": "public"})
    assert not enter.qualifies({"ownership": "private"})
    assert enter.facility({"hfr_id": "IN0110000009"}) == "IN0110000009"
    [leave] = ind.rules_for("facility.rejected")
    assert isinstance(leave, Leave)


@pytest.mark.parametrize(
    ("payload", "doctor", "nurse"),
    [
        ({"category": "doctor", "sector": "public"}, True, False),
        ({"category": "doctor", "sector": "both"}, True, False),
        ({"category": "doctor", "sector": "private"}, False, False),
        ({"category": "nurse", "sector": "public"}, False, True),
        ({"category": "other", "sector": "public"}, False, False),
    ],
)
def test_professional_rules_count_public_doctors_and_nurses(payload, doctor, nurse):
    [d] = indicators.indicator("hpr.doctors").rules_for("professional.verified")
    [n] = indicators.indicator("hpr.nurses").rules_for("professional.verified")
    assert d.qualifies(payload) is doctor
    assert n.qualifies(payload) is nurse


def test_dimensions_of_a_payload():
    assert district_of({"district_lgd": 13}) == 13
    assert district_of({"district_lgd": None}) == 0
    assert district_of({}) == 0
    for bad in ("13", True, -1, 1.5):
        with pytest.raises(ValueError, match="district_lgd"):
            district_of({"district_lgd": bad})
    assert first_facility({"hfr_ids": ["IN0110000002", "IN0110000001"]}) == "IN0110000002"
    assert first_facility({"hfr_ids": []}) == ""
    assert first_facility({}) == ""
    with pytest.raises(ValueError, match="hfr_ids"):
        first_facility({"hfr_ids": "IN0110000002"})
    count = Count("abha.account.created", 1)
    assert count.facility({"facility_id": None}) == ""
    with pytest.raises(ValueError, match="facility"):
        count.facility({"facility_id": "X" * 17})


def test_figures_from_members_add_up():
    day = date(2026, 11, 1)
    figures = Figures.from_members(
        [
            ("IN0110000001", 13, "IN0110000001", day),
            ("IN0110000002", 13, "IN0110000002", day),
            ("IN0110000003", 2, "IN0110000003", day + timedelta(days=1)),
        ]
    )
    assert sum(figures.totals.values()) == 3
    assert figures.totals[(13, "IN0110000001")] == 1
    assert figures.daily[(day, 13, "IN0110000002")] == 1
    assert len(figures.members) == 3


def test_percentages():
    # The review's figure: 94.49 lakh of 1.356 crore.
    assert percent_of(9_449_000, 13_560_000) == 69.7
    assert percent_of(6_713, 7_730) == 86.8
    assert percent_of(5_149, 5_149) == 100.0
    assert percent_of(5, None) is None
    assert percent_of(5, 0) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1,000"),
        (100_000, "1,00,000"),
        (9_449_000, "94,49,000"),
        (13_560_000, "1,35,60,000"),
        (-12_345, "-12,345"),
        (None, "—"),
    ],
)
def test_indian_digit_grouping(value, text):
    assert indian(value) == text


def test_event_day_is_the_day_in_india():
    assert day_of(datetime(2026, 11, 26, 20, 0, tzinfo=IST)) == "2026-11-26"
    # 02:00 in India is the new day there, though still the previous one in UTC.
    assert day_of(datetime(2026, 11, 27, 2, 0, tzinfo=IST)) == "2026-11-27"
    assert day_of(datetime(2026, 11, 26, 18, 29, tzinfo=UTC)) == "2026-11-26"
    assert day_of(datetime(2026, 11, 26, 18, 30, tzinfo=UTC)) == "2026-11-27"
    assert parse_day("2026-11-26") == date(2026, 11, 26)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("26/11/2026")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(None)


def test_relay_matches_exact_topics_before_prefixes():
    def exact(p):
        return None

    def events(p):
        return None

    def facility(p):
        return None

    handlers = {"sms.send": exact, EVENT_TOPICS: events, "event.facility.*": facility}
    assert handler_for(handlers, "sms.send") is exact
    assert handler_for(handlers, "event.abha.account.created") is events
    assert handler_for(handlers, "event.facility.verified") is facility  # the longest prefix
    assert handler_for(handlers, "sms.other") is None
    assert handler_for(handlers, "event") is None
