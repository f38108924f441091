"""The dashboard counts days as the people of the state do, in IST: an ABHA made at
01:30 IST (20:00 UTC the day before) counts today, both when its event arrives and when
the nightly rebuild recounts from the registry (on SQLite and PostgreSQL alike), and the
pages say "As of" the IST date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from healthstack.kernel.uow import unit_of_work
from healthstack.programme.monitoring.aggregates import rebuild
from healthstack.programme.monitoring.models import IndicatorDaily
from tests.factories_monitoring import SRINAGAR, accounts, snapshot


def _days(runtime) -> dict[date, int]:
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(select(IndicatorDaily).where(IndicatorDaily.indicator == "abha.accounts"))
        out: dict[date, int] = {}
        for row in rows:
            out[row.day] = out.get(row.day, 0) + row.delta
        return {d: n for d, n in out.items() if n}


def test_a_change_after_midnight_ist_counts_on_the_ist_day(runtime, relay, clock):
    clock.set(datetime(2026, 11, 26, 18, 29, tzinfo=UTC))  # 23:59 IST on the 26th
    accounts(runtime, [{"district_lgd": SRINAGAR}])
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 01:30 IST on the 27th
    accounts(runtime, [{"district_lgd": SRINAGAR}, {"district_lgd": SRINAGAR}])
    relay()
    assert _days(runtime) == {date(2026, 11, 26): 1, date(2026, 11, 27): 2}
    built = snapshot(runtime)
    with unit_of_work(runtime.session_factory) as s:
        rebuild(s, clock=runtime.clock)
    assert snapshot(runtime) == built  # the rebuild buckets the same IST days


def test_the_dashboard_is_as_of_the_ist_date(client, runtime, make_staff, clock):
    from healthstack.kernel.context import Role

    state = make_staff(Role.STATE_ADMIN)
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 01:30 IST on the 27th
    page = client.get("/dashboard", headers=state.headers).text
    assert "As of 27 Nov 2026" in page and "UTC" not in page
    api = client.get("/api/v1/monitoring/summary", headers=state.headers)
    assert api.status_code == 200, api.text
    assert api.json()["as_of"] == "2026-11-27"
