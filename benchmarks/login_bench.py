"""An unrelated search while 16 clients hammer the staff login with wrong passwords
(issue 8, item 4): the registration desk's ABHA lookup, idle and under the attack.

    .venv/bin/python -m benchmarks.login_bench [--db sqlite|postgres] [--runs 3]
        [--searches 300] [--attackers 16]

The server is ``healthstack serve`` (one process) on loopback; the attackers are 16
threads in a process of their own, each sending ``POST /api/v1/auth/login`` with a
wrong password as fast as the server answers; the searcher, in this process, sends one
``POST /api/v1/abha/search`` by ABHA number at a time (an authenticated search that
writes its audit rows, as the desk's does). Three modes, each on a fresh server:

- ``throttled``: the defaults. One address, one username: after the free failures
  every attempt is refused (429) before any password is hashed;
- ``hashing``: the per-account and per-address limits out of the way (set very high,
  and a new username per attempt), so every attempt costs a password check and only
  the bound on concurrent checks (``HEALTHSTACK_AUTH_HASH_CONCURRENCY``, default one
  less than the cores) protects the search;
- ``unbounded``: as ``hashing`` with the bound lifted (64 at once), to show what
  the bound buys.

Prints one JSON document: per mode the median over the runs of the search's p50 and
p99 idle and under attack, the ratio of the p99s, and what the attackers got.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
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
from healthstack.seed.loader import seed_state
from healthstack.settings import Environment, Settings

RELAXED = str(10**9)
MODES: dict[str, dict[str, str]] = {
    "throttled": {},
    "hashing": {
        "HEALTHSTACK_AUTH_ACCOUNT_FREE_FAILURES": RELAXED,
        "HEALTHSTACK_AUTH_ADDRESS_FREE_FAILURES": RELAXED,
    },
    "unbounded": {
        "HEALTHSTACK_AUTH_ACCOUNT_FREE_FAILURES": RELAXED,
        "HEALTHSTACK_AUTH_ADDRESS_FREE_FAILURES": RELAXED,
        "HEALTHSTACK_AUTH_HASH_CONCURRENCY": "64",
        "HEALTHSTACK_AUTH_HASH_MAX_WAITING": "64",
    },
}


def _prepare(url: str, data_dir: str) -> tuple[str, list[str]]:
    migrate.upgrade(url)
    settings = Settings(
        env=Environment.DEVELOPMENT, database_url=url, data_dir=data_dir, secret_key=SECRET
    )
    rt = build_runtime(settings)
    seed_state(rt, profile="jk", scale=0.002, if_empty=True)
    with unit_of_work(rt.session_factory) as s:
        user = create_staff(
            s,
            username="searcher",
            full_name="Bench desk",
            role=Role.REGISTRATION_DESK,
            password="benchmark password",
            facility_id="IN0110000001",
            clock=rt.clock,
        )
        create_staff(
            s,
            username="victim",
            full_name="Bench victim",
            role=Role.DOCTOR,
            password="the real password",
            facility_id="IN0110000001",
            clock=rt.clock,
        )
        token = create_api_token(s, user=user, name="bench", clock=rt.clock, days=30)
    rt.close()
    eng = create_engine(url)
    with eng.connect() as c:
        numbers = [
            r[0]
            for r in c.execute(
                text("SELECT abha_number FROM abha_account WHERE status = 'ACTIVE' LIMIT 500")
            )
        ]
    eng.dispose()
    return token, numbers


def _attack(base: str, clients: int, distinct: bool, stop: Any, counts: Any) -> None:
    """The attackers (run in their own process): wrong passwords until ``stop``."""

    def one(i: int) -> None:
        seen: Counter[int] = Counter()
        with httpx.Client(base_url=base, timeout=60) as c:
            while not stop.is_set():
                name = f"guess{uuid.uuid4().hex[:10]}" if distinct else "victim"
                try:
                    r = c.post(
                        "/api/v1/auth/login", json={"username": name, "password": "wrong guess"}
                    )
                    seen[r.status_code] += 1
                except httpx.HTTPError:
                    seen[0] += 1
        for code, n in seen.items():
            counts.put((code, n))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _search(c: httpx.Client, numbers: list[str], n: int) -> list[float]:
    times = []
    for i in range(n):
        number = numbers[i % len(numbers)]
        t = time.perf_counter()
        r = c.post("/api/v1/abha/search", json={"number": number})
        times.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"search failed: {r.status_code} {r.text[:200]}")
    return times


def _one_run(
    base: str, token: str, numbers: list[str], searches: int, attackers: int, mode: str
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        _search(c, numbers, 30)  # warm the connection and the caches
        idle = _search(c, numbers, searches)
        stop, counts = ctx.Event(), ctx.Queue()
        proc = ctx.Process(
            target=_attack, args=(base, attackers, mode != "throttled", stop, counts)
        )
        proc.start()
        started = time.perf_counter()
        time.sleep(3)  # let the attack reach its steady state (and the throttle close)
        attacked = _search(c, numbers, searches)
        stop.set()
        attack_seconds = time.perf_counter() - started
        got: Counter[int] = Counter()
        for _ in range(attackers * 6):
            try:
                code, n = counts.get(timeout=30)
            except Exception:  # noqa: BLE001 - a thread that saw only one status
                break
            got[code] += n
            if sum(1 for _ in got) and not proc.is_alive() and counts.empty():
                break
        proc.join(timeout=60)
    return {
        "idle": {"p50_ms": percentile(idle, 50), "p99_ms": percentile(idle, 99)},
        "attack": {
            "p50_ms": percentile(attacked, 50),
            "p99_ms": percentile(attacked, 99),
            "slowest_ms": [round(t, 1) for t in sorted(attacked)[-8:]],
            "slowest_at": [i for i, _ in sorted(enumerate(attacked), key=lambda x: x[1])[-8:]],
        },
        "attempts": {str(k): v for k, v in sorted(got.items())},
        "attempts_per_s": round(sum(got.values()) / attack_seconds, 1),
        "load_avg_at_start": os.getloadavg()[0],
    }


def run(
    db: str, pg_url: str, runs: int, searches: int, attackers: int, modes: list[str]
) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as data_dir:
        ctx = (
            nullcontext(f"sqlite:///{data_dir}/bench.db") if db == "sqlite" else scratch_pg(pg_url)
        )
        with ctx as url:
            assert url is not None
            token, numbers = _prepare(url, data_dir)
            for _ in range(runs):
                for mode in modes:
                    env = {
                        "HEALTHSTACK_DATABASE_URL": url,
                        "HEALTHSTACK_DATA_DIR": data_dir,
                        "HEALTHSTACK_SECRET_KEY": SECRET,
                        "HEALTHSTACK_ENV": "development",
                        "HEALTHSTACK_EMBEDDED_WORKER": "false",
                        **MODES[mode],
                    }
                    with server(env, workers=1) as base:
                        results[mode].append(
                            _one_run(base, token, numbers, searches, attackers, mode)
                        )
                    _clear_throttle(url)
    summary = {}
    for mode, rs in results.items():
        idle99 = median([r["idle"]["p99_ms"] for r in rs])
        attack99 = median([r["attack"]["p99_ms"] for r in rs])
        summary[mode] = {
            "idle_p50_ms": round(median([r["idle"]["p50_ms"] for r in rs]), 1),
            "idle_p99_ms": round(idle99, 1),
            "attack_p50_ms": round(median([r["attack"]["p50_ms"] for r in rs]), 1),
            "attack_p99_ms": round(attack99, 1),
            "p99_ratio": round(attack99 / idle99, 2),
            "attempts_per_s": median([r["attempts_per_s"] for r in rs]),
        }
    return {
        "benchmark": "search_under_login_attack",
        "db": db,
        "runs": runs,
        "searches_per_phase": searches,
        "attackers": attackers,
        "summary": summary,
        "runs_detail": results,
        "machine": machine(),
    }


def _clear_throttle(url: str) -> None:
    """Each run starts with no pause in force (the previous run's are in the database)."""
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DELETE FROM login_throttle"))
    eng.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--attackers", type=int, default=16)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m in MODES]
    result = run(args.db, args.pg_url, args.runs, args.searches, args.attackers, modes)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
