"""Coverage dashboard page latency (p50, p99) for the state, district and facility pages,
through HTTP, with the J&K state loaded at a given scale in PostgreSQL (scale 1: 94.49
lakh ABHA accounts) and the aggregates rebuilt after seeding.

    .venv/bin/python -m benchmarks.dashboard_bench [--scale 1] [--runs 3] [--samples 200]
        [--reuse-db hs_bench_lookup]   # seed once, keep, and reuse on later runs

The server is ``healthstack serve`` in its own process (no embedded worker); one
client asks for the pages one after another (latency, not throughput), as the state
admin: ``/dashboard``, ``/dashboard/district/<lgd>`` over the 20 districts and
``/dashboard/facility/<hfr_id>`` over a sample of facilities. When the facility
registry holds no facility yet, 3,607 public facilities (the state's count) are loaded
first, spread over the districts like the population, so the facility pages and the
districts' facility tables have their real size. Prints one JSON document with p50 and
p99 per page: the median over the runs, and the rebuild's time.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from contextlib import nullcontext
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from benchmarks.common import DEFAULT_PG, SECRET, machine, median, percentile, scratch_pg, server
from healthstack.accounts.service import create_api_token, create_staff
from healthstack.kernel import migrate
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.models import metadata
from healthstack.runtime import Runtime, build_runtime
from healthstack.seed import jk
from healthstack.seed.dashboard import after_seed
from healthstack.seed.loader import has_residents, seed_state
from healthstack.settings import Environment, Settings

PAGES = ("state", "district", "facility")
STATE_FACILITIES = 3_607


def _synthetic_facilities(rt: Runtime, count: int) -> int:
    """``count`` public facilities over the districts (by population), when the facility
    registry is installed and empty; returns how many were loaded."""
    try:
        from healthstack.network.hfr.bulk import bulk_load_facilities
        from healthstack.network.hfr.models import Facility
    except ImportError:
        return 0
    with unit_of_work(rt.session_factory) as s:
        if s.execute(text(f"SELECT count(*) FROM {Facility.__tablename__}")).scalar():
            return 0
    shares = jk.district_populations(count)
    kinds = ("sub_centre",) * 7 + ("phc",) * 2 + ("chc",)
    rows = []
    for district, n in zip(jk.DISTRICTS, shares, strict=True):
        for i in range(n):
            kind = kinds[i % len(kinds)]
            rows.append(
                {
                    "name": f"{kind.replace('_', ' ').title()} {district.name} {i + 1:04d}",
                    "facility_type": kind,
                    "ownership": "public",
                    "department": "Health and Family Welfare",
                    "state_lgd": jk.STATE_LGD,
                    "district_lgd": district.lgd,
                    "pincode": district.localities[0].pincode,
                    "services": ["opd"],
                }
            )
    with unit_of_work(rt.session_factory) as s:
        bulk_load_facilities(
            s, rows, clock=rt.clock, profile=rt.settings.profile, registered_by="benchmark"
        )
    return len(rows)


def _prepare(url: str, data_dir: str, scale: float) -> tuple[str, list[str], dict[str, Any]]:
    migrate.upgrade(url)
    # Tables newer than the migrations (the dashboard's, until they are regenerated).
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = Settings(
        env=Environment.DEVELOPMENT, database_url=url, data_dir=data_dir, secret_key=SECRET
    )
    rt = build_runtime(settings)
    info: dict[str, Any] = {}
    with unit_of_work(rt.session_factory) as s:
        seeded = has_residents(s)
    if not seeded:
        started = time.perf_counter()
        result = seed_state(rt, profile="jk", scale=scale)
        info["seed_seconds"] = round(time.perf_counter() - started, 1)
        info["seeded"] = {"residents": result.residents, "accounts": result.accounts}
    info["synthetic_facilities"] = _synthetic_facilities(rt, STATE_FACILITIES)
    report = after_seed(rt.session_factory, clock=rt.clock, profile="jk", scale=scale)
    info["rebuild"] = {
        "seconds": round(report.seconds, 2),
        "cells": report.cells,
        "indicators": report.rebuilt,
        "skipped": report.skipped,
    }
    with unit_of_work(rt.session_factory) as s:
        user = create_staff(
            s,
            username=f"dash{int(time.time())}",
            full_name="Bench",
            role=Role.STATE_ADMIN,
            password="benchmark password",
            clock=rt.clock,
        )
        token = create_api_token(s, user=user, name="bench", clock=rt.clock)
        info["accounts_loaded"] = s.execute(text("SELECT count(*) FROM abha_account")).scalar()
        info["aggregate_rows"] = {
            "indicator_total": s.execute(text("SELECT count(*) FROM indicator_total")).scalar(),
            "indicator_daily": s.execute(text("SELECT count(*) FROM indicator_daily")).scalar(),
        }
        facilities = [
            r[0]
            for r in s.execute(
                text(
                    "SELECT DISTINCT facility_id FROM indicator_total "
                    "WHERE facility_id <> '' ORDER BY facility_id"
                )
            )
        ]
    rt.close()
    info["facilities_with_figures"] = len(facilities)
    return token, facilities, info


def _measure(
    base: str, token: str, facilities: list[str], n: int, rng: random.Random
) -> dict[str, dict[str, float]]:
    districts = [d.lgd for d in jk.DISTRICTS]
    paths = {
        "state": ["/dashboard"] * n,
        "district": [f"/dashboard/district/{rng.choice(districts)}" for _ in range(n)],
        "facility": [f"/dashboard/facility/{rng.choice(facilities)}" for _ in range(n)]
        if facilities
        else [],
    }
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for page in PAGES:
            if not paths[page]:
                continue
            for p in paths[page][:10]:  # warm the connection and the caches a little
                c.get(p)
            times = []
            for p in paths[page]:
                t = time.perf_counter()
                r = c.get(p)
                times.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{p} failed: {r.status_code} {r.text[:200]}")
            out[page] = {
                "p50_ms": percentile(times, 50),
                "p99_ms": percentile(times, 99),
                "count": len(times),
                "bytes": len(r.content),
            }
    return out


def run(pg_url: str, scale: float, runs: int, n: int, reuse: str | None) -> dict[str, Any]:
    db = scratch_pg(pg_url, name=reuse, keep=True) if reuse else scratch_pg(pg_url)
    base_url = f"{pg_url.rsplit('/', 1)[0]}/{reuse}" if reuse else None
    rng = random.Random(20_261_126)
    with tempfile.TemporaryDirectory() as data_dir:
        ctx = nullcontext(base_url) if reuse and _exists(pg_url, reuse) else db
        with ctx as url:
            assert url is not None
            token, facilities, info = _prepare(url, data_dir, scale)
            env = {
                "HEALTHSTACK_DATABASE_URL": url,
                "HEALTHSTACK_DATA_DIR": data_dir,
                "HEALTHSTACK_SECRET_KEY": SECRET,
                "HEALTHSTACK_ENV": "development",
                "HEALTHSTACK_EMBEDDED_WORKER": "false",
            }
            with server(env, workers=1) as base:
                all_runs = [_measure(base, token, facilities, n, rng) for _ in range(runs)]
    measured = [p for p in PAGES if p in all_runs[0]]
    summary = {
        page: {
            "p50_ms_median": round(median([r[page]["p50_ms"] for r in all_runs]), 2),
            "p99_ms_median": round(median([r[page]["p99_ms"] for r in all_runs]), 2),
            "requests_per_run": all_runs[0][page]["count"],
            "page_bytes": all_runs[0][page]["bytes"],
        }
        for page in measured
    }
    for page in PAGES:
        if page not in summary:
            summary[page] = {"skipped": "no facility has figures (no facility registry)"}
    return {
        "benchmark": "dashboard_pages_http",
        "scale": scale,
        **info,
        "runs": runs,
        "summary": summary,
        "runs_detail": all_runs,
        "machine": machine(),
    }


def _exists(pg_url: str, name: str) -> bool:
    eng = create_engine(pg_url)
    with eng.connect() as c:
        found = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    eng.dispose()
    return found is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--reuse-db", default=None, help="keep the seeded database under this name and reuse it"
    )
    args = parser.parse_args()
    print(
        json.dumps(run(args.pg_url, args.scale, args.runs, args.samples, args.reuse_db), indent=2)
    )


if __name__ == "__main__":
    main()
