"""Seeding throughput, beside the database's own bulk-load limit on the same machine.

    .venv/bin/python -m benchmarks.seed_bench --scale 0.01 --db postgres
    .venv/bin/python -m benchmarks.seed_bench --scale 0.002 --db sqlite --runs 3

Each run seeds ``--scale`` of the J&K profile into a fresh database (PostgreSQL: a
scratch database created and dropped on the server of ``--pg-url``; SQLite: a file in
a temporary directory) and times it. Beside it, the same run measures the raw bulk
rate of the database: COPY (PostgreSQL) or executemany (SQLite) of ready-made rows of
the same shape into index-free copies of the tables, so the seeding figure also reads
as a share of what the machine can ingest at all. Prints one JSON document: the
median of the runs, every run, the machine, and an extrapolation to scale 1 (the load
phase grows linearly, index builds as n log n).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.common import machine as common_machine
from healthstack.kernel.db import make_engine
from healthstack.models import metadata
from healthstack.runtime import build_runtime
from healthstack.seed.generator import make_plan
from healthstack.seed.loader import seed_state
from healthstack.settings import Environment, Settings

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "seed-benchmark-secret-not-for-production"  # noqa: S105

# One row of each table's shape, as the loader writes it (text COPY / SQLite tuples).
_RESIDENT = (
    "234567890124",
    "Mohammad Yousuf Bhat",
    "M",
    "1984-03-02",
    "H.No. 12, Mohalla Dar, Soura",
    "Soura",
    "Srinagar",
    "13",
    "Jammu and Kashmir",
    "1",
    "190011",
    "9419012345",
)
_ACCOUNT = (
    "91123456789012",
    "a" * 64,
    "0124",
    "Mohammad",
    "Yousuf",
    "Bhat",
    "Mohammad Yousuf Bhat",
    "mohammad yousuf bhat",
    "M",
    "1984-03-02",
    "1984",
    "9419012345",
    "t",
    "f",
    "H.No. 12, Mohalla Dar, Soura",
    "Srinagar",
    "13",
    "Jammu and Kashmir",
    "1",
    "190011",
    "aadhaar_otp",
    "t",
    "ACTIVE",
    "seed",
    "2025-05-01 10:00:00+00:00",
    "2025-05-01 10:00:00+00:00",
)
_RESIDENT_COLS = (
    "aadhaar, name, gender, birth_date, address_line, locality, district_name, "
    "district_lgd, state_name, state_lgd, pincode, mobile"
)
_ACCOUNT_COLS = (
    "abha_number, aadhaar_hash, aadhaar_last4, first_name, middle_name, last_name, name, "
    "name_key, gender, birth_date, year_of_birth, mobile, mobile_verified, email_verified, "
    "address_line, district_name, district_lgd, state_name, state_lgd, pincode, kyc_method, "
    "kyc_verified, status, enrolled_by, created_at, updated_at"
)


def machine() -> dict[str, Any]:
    return {**common_machine(), "load_average_at_start": os.getloadavg()}


# --------------------------------------------------------------------------- databases


class Postgres:
    def __init__(self, admin_url: str):
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"hs_seedbench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.name}"

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _server_settings(url: str) -> dict[str, str]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            out = {"version": conn.execute(text("SHOW server_version")).scalar_one()}
            for name in ("shared_buffers", "max_wal_size", "synchronous_commit", "wal_level"):
                out[name] = conn.execute(text(f"SHOW {name}")).scalar_one()
            return out
    finally:
        eng.dispose()


def raw_copy_rate(url: str, rows: int) -> dict[str, float]:
    """COPY of ready-made rows into index-free copies of the two big tables."""
    eng = make_engine(url)
    resident = "\t".join(_RESIDENT) + "\n"
    account = "\t".join(_ACCOUNT) + "\n"
    out: dict[str, float] = {}
    try:
        with eng.begin() as conn:
            conn.execute(
                text("CREATE TEMP TABLE raw_resident (LIKE kyc_resident INCLUDING DEFAULTS)")
            )
            conn.execute(text("CREATE TEMP TABLE raw_account (LIKE abha_account)"))
            conn.execute(text("ALTER TABLE raw_account ALTER COLUMN public_id DROP NOT NULL"))
            conn.execute(text("ALTER TABLE raw_account ALTER COLUMN id DROP NOT NULL"))
            cur = conn.connection.driver_connection.cursor()
            for label, table, cols, line in (
                ("kyc_resident", "raw_resident", _RESIDENT_COLS, resident),
                ("abha_account", "raw_account", _ACCOUNT_COLS, account),
            ):
                chunk = line * 20_000
                started = time.perf_counter()
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for _ in range(max(rows // 20_000, 1)):
                        copy.write(chunk)
                elapsed = time.perf_counter() - started
                out[f"{label}_rows_per_s"] = round(max(rows // 20_000, 1) * 20_000 / elapsed)
                out[f"{label}_mb_per_s"] = round(
                    len(chunk) * max(rows // 20_000, 1) / elapsed / 1e6, 1
                )
    finally:
        eng.dispose()
    return out


def raw_sqlite_rate(path: Path, rows: int) -> dict[str, float]:
    """executemany of ready-made tuples into index-free tables (one transaction)."""
    conn = sqlite3.connect(path)
    out: dict[str, float] = {}
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE raw_resident AS SELECT * FROM kyc_resident WHERE 0")
        conn.execute("CREATE TABLE raw_account AS SELECT * FROM abha_account WHERE 0")
        for label, table, cols, row in (
            ("kyc_resident", "raw_resident", _RESIDENT_COLS, _RESIDENT),
            ("abha_account", "raw_account", _ACCOUNT_COLS, _ACCOUNT),
        ):
            marks = ", ".join("?" * len(row))
            data = [row] * rows
            started = time.perf_counter()
            conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", data)  # noqa: S608
            conn.commit()
            out[f"{label}_rows_per_s"] = round(rows / (time.perf_counter() - started))
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------- runs


def one_run(db: str, scale: float, pg_url: str, batch: int) -> dict[str, Any]:
    plan = make_plan("jk", scale)
    with tempfile.TemporaryDirectory() as tmp:
        if db == "postgres":
            ctx = Postgres(pg_url)
            url = ctx.__enter__()
        else:
            ctx = None
            url = f"sqlite:///{tmp}/bench.db"
        try:
            settings = Settings(
                env=Environment.DEVELOPMENT,
                database_url=url,
                data_dir=Path(tmp),
                secret_key=SECRET,
            )
            runtime = build_runtime(settings)
            metadata.create_all(runtime.engine)
            cpu0 = time.process_time()
            result = seed_state(runtime, profile="jk", scale=scale, batch_size=batch)
            cpu = time.process_time() - cpu0
            raw_rows = min(max(plan.residents, 200_000), 1_000_000)
            if db == "postgres":
                raw = raw_copy_rate(url, raw_rows)
                server = _server_settings(url)
            else:
                raw = raw_sqlite_rate(Path(tmp) / "bench.db", raw_rows)
                server = {"sqlite": sqlite3.sqlite_version}
            runtime.close()
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
    return {
        "elapsed_s": round(result.elapsed_seconds, 3),
        "python_cpu_s": round(cpu, 3),
        "residents": result.residents,
        "accounts": result.accounts,
        "addresses": result.addresses,
        "rows_per_s": round(result.rows_per_second),
        "residents_per_s": round(result.residents / result.elapsed_seconds),
        "phases_s": {k: round(v, 3) for k, v in result.phases.items()},
        "rebuilt_indexes": result.rebuilt_indexes,
        "raw_bulk_rows_per_s": raw,
        "database": server,
    }


def extrapolate(run: dict[str, Any], scale: float) -> dict[str, float]:
    """Scale 1 from one run: load phase linear, index builds n log n, the rest fixed."""
    phases = run["phases_s"]
    factor = 1 / scale
    n_small = max(run["accounts"], 2)
    load = phases.get("load", run["elapsed_s"]) * factor
    indexes = phases.get("indexes", 0.0) * factor * math.log(n_small * factor) / math.log(n_small)
    fixed = phases.get("analyze", 0.0) + phases.get("commit", 0.0) + phases.get("reserve", 0.0)
    total = load + indexes + fixed
    return {
        "load_s": round(load, 1),
        "indexes_s": round(indexes, 1),
        "total_s": round(total, 1),
        "total_min": round(total / 60, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--pg-url", default=os.environ.get("HEALTHSTACK_BENCH_PG_URL", DEFAULT_PG))
    args = parser.parse_args(argv)
    info = machine()
    runs = [one_run(args.db, args.scale, args.pg_url, args.batch) for _ in range(args.runs)]
    median = sorted(runs, key=lambda r: r["elapsed_s"])[len(runs) // 2]
    report = {
        "benchmark": "seed",
        "profile": "jk",
        "db": args.db,
        "scale": args.scale,
        "batch": args.batch,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "median": median,
        "median_elapsed_s": statistics.median(r["elapsed_s"] for r in runs),
        "seed_rows_per_s_vs_raw": {
            k.removesuffix("_rows_per_s"): round(median["rows_per_s"] / v, 3)
            for k, v in median["raw_bulk_rows_per_s"].items()
            if k.endswith("_rows_per_s") and v
        },
        "extrapolated_scale_1": extrapolate(median, args.scale) if args.scale < 1 else None,
        "runs": runs,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
