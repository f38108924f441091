"""Shared benchmark plumbing: the machine's description, scratch PostgreSQL
databases, a real server process, and percentile helpers."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "benchmark-secret-not-for-production"  # noqa: S105


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    pg = None
    with suppress(OSError):
        pg = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "os": platform.platform(),
        "postgresql_client": pg,
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def scratch_pg(
    base_url: str = DEFAULT_PG, name: str | None = None, keep: bool = False
) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``base_url``; dropped afterwards."""
    dbname = name or f"hs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield f"{base_url.rsplit('/', 1)[0]}/{dbname}"
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(env: dict[str, str], *, workers: int = 2, port: int | None = None) -> Iterator[str]:
    """``healthstack serve`` as its own process(es), as in production; on ``port`` when
    the caller must know it beforehand (a deployment whose base URL names it)."""
    port = port or free_port()
    exe = Path(sys.executable).with_name("healthstack")
    proc = subprocess.Popen(  # noqa: S603 - our own entry point
        [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def pgbench_tps(url: str, clients: int, seconds: int = 10) -> float:
    """pgbench's TPC-B-like write transactions per second at ``clients`` connections."""
    dbname = url.rsplit("/", 1)[1]
    args = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
    subprocess.run(  # noqa: S603
        ["pgbench", *args, "-i", "-q", "-s", "10", dbname],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(  # noqa: S603
        [
            "pgbench",
            *args,
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            dbname,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split("=")[1].split()[0])
    raise RuntimeError("pgbench printed no tps line")
