"""``make bench``: every benchmark, one after another; JSON results in
``benchmarks/results/`` (not committed) and the figures in ``docs/benchmarks.md``.

    .venv/bin/python -m benchmarks.run [--quick]

``--quick`` runs each at a small size (minutes) to check the harness; the full run
seeds scale 1 into PostgreSQL (about ten minutes on a 2-core machine) and keeps that
database (``hs_bench_scale1``) for the lookup benchmark's later runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _run(name: str, module: str, *args: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    print(f"== {name}: python -m {module} {' '.join(args)}", flush=True)
    started = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    ).stdout
    (RESULTS / f"{name}.json").write_text(out)
    summary = json.loads(out).get("summary")
    print(json.dumps(summary, indent=1), f"({time.perf_counter() - started:.0f} s)", flush=True)


SQLITE_DEMO = (
    "seed_sqlite_demo",
    "benchmarks.seed_bench",
    ("--db", "sqlite", "--scale", "0.002", "--runs", "3"),
)
QUICK = [
    SQLITE_DEMO,
    ("enrol", "benchmarks.enrol_bench", ("--runs", "1", "--per-level", "16")),
    ("lookup", "benchmarks.lookup_bench", ("--scale", "0.002", "--runs", "1", "--samples", "50")),
    ("dashboard", "benchmarks.dashboard_bench", ("--scale", "0.002", "--runs", "1")),
    ("reconcile", "benchmarks.reconcile_bench", ("--db", "sqlite", "--runs", "1")),
    ("fidelius", "benchmarks.fidelius_bench", ("--runs", "1", "--seconds", "0.1")),
    ("fhir_validate", "benchmarks.fhir_validate_bench", ("--runs", "1")),
    (
        "exchange",
        "benchmarks.exchange_bench",
        ("--runs", "1", "--contexts", "10", "--db", "sqlite"),
    ),
    ("login_attack", "benchmarks.login_bench", ("--runs", "1", "--searches", "100")),
]
FULL = [
    SQLITE_DEMO,
    ("enrol", "benchmarks.enrol_bench", ("--runs", "3", "--per-level", "120")),
    (
        "lookup",
        "benchmarks.lookup_bench",
        ("--scale", "1", "--runs", "3", "--samples", "500", "--reuse-db", "hs_bench_scale1"),
    ),
    (
        "dashboard",
        "benchmarks.dashboard_bench",
        ("--scale", "1", "--runs", "3", "--reuse-db", "hs_bench_scale1"),
    ),
    ("reconcile", "benchmarks.reconcile_bench", ("--db", "both", "--runs", "5")),
    ("fidelius", "benchmarks.fidelius_bench", ("--runs", "7", "--seconds", "0.3")),
    ("fhir_validate", "benchmarks.fhir_validate_bench", ("--runs", "5")),
    ("exchange", "benchmarks.exchange_bench", ("--runs", "5", "--db", "both")),
    ("login_attack", "benchmarks.login_bench", ("--runs", "5", "--searches", "500")),
    (
        "seed_pg_scale1",
        "benchmarks.seed_bench",
        ("--db", "postgres", "--scale", "1", "--runs", "3"),
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for name, module, module_args in QUICK if args.quick else FULL:
        _run(name, module, *module_args)


if __name__ == "__main__":
    main()
