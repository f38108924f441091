"""The demo state's ABHA coverage: spread over the districts (about 45 % to 90 %,
placed by the seed) while the state still totals 94.49 lakh of 1.356 crore, and each
ABHA credited to the public facility of its holder's district that made it (or to
none, for self-service), so the dashboard's drill-down has something to act on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from healthstack.seed import jk
from healthstack.seed.generator import (
    SELF_SERVICE_SHARE,
    coverage_rates,
    iter_residents,
    make_plan,
)

AS_OF = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _coverage(plan) -> list[float]:  # type: ignore[no-untyped-def]
    return [a / n for a, n in zip(plan.district_accounts, plan.district_residents, strict=True)]


def test_full_scale_spreads_the_districts_and_keeps_the_state_total():
    plan = make_plan("jk", 1)
    assert plan.accounts == sum(plan.district_accounts) == 9_449_000
    assert plan.residents == 13_560_000
    cover = _coverage(plan)
    assert 0.43 <= min(cover) <= 0.48 and 0.88 <= max(cover) <= 0.93
    # Spread evenly, not bunched: every ten-point band from 50 % to 90 % has a district.
    for low in (0.5, 0.6, 0.7, 0.8):
        assert any(low <= c < low + 0.1 for c in cover), low
    assert len({round(c, 3) for c in cover}) == len(jk.DISTRICTS)


@pytest.mark.parametrize("scale", [0.1, 0.002, 0.0002])
def test_every_scale_keeps_the_spread_and_the_exact_total(scale):
    plan = make_plan("jk", scale)
    assert sum(plan.district_accounts) == plan.accounts
    assert all(0 <= a <= n for a, n in zip(plan.district_accounts, plan.district_residents))
    cover = _coverage(plan)
    assert min(cover) < 0.5 and max(cover) > 0.85
    full = coverage_rates("jk")
    for got, want in zip(cover, full, strict=True):
        assert abs(got - want) < (0.01 if scale >= 0.002 else 0.05)


def test_the_spread_is_deterministic_by_seed():
    assert coverage_rates("jk") == coverage_rates("jk")
    assert make_plan("jk", 0.002) == make_plan("jk", 0.002)
    other = coverage_rates("jk", seed=7)
    assert other != coverage_rates("jk")
    assert abs(sum(make_plan("jk", 1, seed=7).district_accounts) - 9_449_000) == 0


def _sites() -> dict[int, list[tuple[str, float]]]:
    """Two sites per district: a hospital (weight 9) and a sub-centre (weight 1)."""
    return {
        d.lgd: [(f"IN01{d.lgd:04d}0001", 9.0), (f"IN01{d.lgd:04d}0002", 1.0)] for d in jk.DISTRICTS
    }


def test_each_abha_is_credited_to_a_site_of_its_district_or_to_self_service():
    plan = make_plan("jk", 0.002)
    sites = _sites()
    residents = list(iter_residents(plan, as_of=AS_OF, sites=sites))
    accounts = [r for r in residents if r.has_abha]
    assert all(r.abha_facility is None for r in residents if not r.has_abha)
    self_service = sum(r.abha_facility is None for r in accounts) / len(accounts)
    assert abs(self_service - SELF_SERVICE_SHARE) < 0.02
    for r in accounts:
        if r.abha_facility is not None:
            assert r.abha_facility in {h for h, _ in sites[r.district_lgd]}
    made = Counter(r.abha_facility for r in accounts if r.abha_facility)
    hospitals = sum(n for hfr, n in made.items() if hfr.endswith("0001"))
    centres = sum(n for hfr, n in made.items() if hfr.endswith("0002"))
    assert 7 < hospitals / centres < 11  # weighted 9 : 1
    # The same residents with or without sites: only the credit differs.
    plain = list(iter_residents(plan, as_of=AS_OF))
    assert [r._replace(abha_facility=None) for r in residents] == plain
    assert list(iter_residents(plan, as_of=AS_OF, sites=sites)) == residents
