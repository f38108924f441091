"""Registration-desk lookup latency by ABHA number, ABHA address and mobile, through
HTTP, with the J&K registry loaded (scale 1: 94.49 lakh ABHA accounts) in PostgreSQL.

    .venv/bin/python -m benchmarks.lookup_bench [--scale 1] [--runs 3] [--samples 500]
        [--reuse-db hs_bench_lookup]   # seed once, keep, and reuse on later runs

The server is ``healthstack serve`` in its own process; one client sends the lookups one
after another (latency, not throughput), each a random existing value drawn beforehand.
Prints one JSON document with p50 and p99 per kind: the median over the runs.
"""

from __future__ import annotations

import argparse
import json
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
from healthstack.runtime import build_runtime
from healthstack.seed.loader import has_residents, seed_state
from healthstack.settings import Environment, Settings

KINDS = ("number", "address", "mobile")


def _prepare(url: str, data_dir: str, scale: float) -> tuple[str, dict[str, Any]]:
    migrate.upgrade(url)
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
    with unit_of_work(rt.session_factory) as s:
        user = create_staff(
            s,
            username=f"lookup{int(time.time())}",
            full_name="Bench",
            role=Role.REGISTRATION_DESK,
            password="benchmark password",
            facility_id="IN0110000001",
            clock=rt.clock,
        )
        token = create_api_token(s, user=user, name="bench", clock=rt.clock)
        info["accounts_loaded"] = s.execute(text("SELECT count(*) FROM abha_account")).scalar()
    rt.close()
    return token, info


def _samples(url: str, n: int) -> dict[str, list[str]]:
    eng = create_engine(url)
    with eng.connect() as c:
        numbers = [
            r[0]
            for r in c.execute(
                text(
                    "SELECT abha_number FROM abha_account TABLESAMPLE SYSTEM (1) "
                    "WHERE status = 'ACTIVE' LIMIT :n"
                ),
                {"n": n},
            )
        ]
        addresses = [
            r[0]
            for r in c.execute(
                text("SELECT handle FROM abha_address TABLESAMPLE SYSTEM (5) LIMIT :n"), {"n": n}
            )
        ]
        mobiles = [
            r[0]
            for r in c.execute(
                text(
                    "SELECT mobile FROM abha_account TABLESAMPLE SYSTEM (1) "
                    "WHERE mobile IS NOT NULL AND mobile_verified LIMIT :n"
                ),
                {"n": n},
            )
        ]
    eng.dispose()
    return {"number": numbers, "address": addresses, "mobile": mobiles}


def _measure(base: str, token: str, samples: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        for kind in KINDS:
            values = samples[kind]
            for v in values[:20]:  # warm the connection and the caches a little
                c.post("/api/v1/abha/search", json={kind: v})
            times = []
            for v in values:
                t = time.perf_counter()
                r = c.post("/api/v1/abha/search", json={kind: v})
                times.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200 or not r.json().get("items"):
                    raise RuntimeError(f"lookup by {kind} failed: {r.status_code} {r.text[:200]}")
            out[kind] = {
                "p50_ms": percentile(times, 50),
                "p99_ms": percentile(times, 99),
                "count": len(times),
            }
    return out


def run(pg_url: str, scale: float, runs: int, n: int, reuse: str | None) -> dict[str, Any]:
    db = scratch_pg(pg_url, name=reuse, keep=True) if reuse else scratch_pg(pg_url)
    base_url = f"{pg_url.rsplit('/', 1)[0]}/{reuse}" if reuse else None
    with tempfile.TemporaryDirectory() as data_dir:
        ctx = nullcontext(base_url) if reuse and _exists(pg_url, reuse) else db
        with ctx as url:
            assert url is not None
            token, info = _prepare(url, data_dir, scale)
            samples = _samples(url, n)
            env = {
                "HEALTHSTACK_DATABASE_URL": url,
                "HEALTHSTACK_DATA_DIR": data_dir,
                "HEALTHSTACK_SECRET_KEY": SECRET,
                "HEALTHSTACK_ENV": "development",
                "HEALTHSTACK_EMBEDDED_WORKER": "false",
            }
            with server(env, workers=1) as base:
                all_runs = [_measure(base, token, samples) for _ in range(runs)]
    summary = {
        kind: {
            "p50_ms_median": round(median([r[kind]["p50_ms"] for r in all_runs]), 2),
            "p99_ms_median": round(median([r[kind]["p99_ms"] for r in all_runs]), 2),
            "lookups_per_run": all_runs[0][kind]["count"],
        }
        for kind in KINDS
    }
    return {
        "benchmark": "abha_lookup_http",
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
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument(
        "--reuse-db", default=None, help="keep the seeded database under this name and reuse it"
    )
    args = parser.parse_args()
    print(
        json.dumps(run(args.pg_url, args.scale, args.runs, args.samples, args.reuse_db), indent=2)
    )


if __name__ == "__main__":
    main()
