"""Full ABHA enrolment through HTTP, at 1, 8 and 32 concurrent clients, on PostgreSQL.

    .venv/bin/python -m benchmarks.enrol_bench [--runs 3] [--per-level 120]

One enrolment is what a registration desk does: request the Aadhaar OTP (Aadhaar
RSA-OAEP-encrypted by the client), read the OTP from the SMS outbox, enrol by Aadhaar
(OTP encrypted), fetch the address suggestions and choose one. The server is
``healthstack serve --workers 2`` in its own processes against a fresh PostgreSQL
database holding sandbox residents; the clients are threads of this process.

Beside each throughput the same run measures pgbench's TPC-B write transactions per
second at the same number of clients, so the figure also reads as a ratio to what the
database alone sustains on this machine. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import httpx
import psycopg

from benchmarks.common import DEFAULT_PG, SECRET, machine, median, pgbench_tps, scratch_pg, server
from healthstack.accounts.service import create_api_token, create_staff
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel import migrate
from healthstack.kernel.context import Role
from healthstack.kernel.crypto import encrypt_oaep
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import build_runtime
from healthstack.settings import Environment, Settings

V3 = "/abha/api/v3/enrollment"
LEVELS = (1, 8, 32)


def _prepare(url: str, data_dir: str, residents: int) -> tuple[str, list[tuple[str, str]]]:
    migrate.upgrade(url)
    settings = Settings(
        env=Environment.DEVELOPMENT, database_url=url, data_dir=data_dir, secret_key=SECRET
    )
    rt = build_runtime(settings)
    people = []
    with unit_of_work(rt.session_factory) as s:
        for i in range(residents):
            aadhaar = aadhaar_with_check_digit(f"{30000000000 + i * 7919:011d}")
            mobile = f"9{700000000 + i:09d}"
            people.append((aadhaar, mobile))
            s.add(
                KycResident(
                    aadhaar=aadhaar,
                    name=f"Bench Resident {i}",
                    gender="F" if i % 2 else "M",
                    birth_date=date(1970 + i % 40, 1 + i % 12, 1 + i % 28),
                    address_line="Ward 4",
                    locality="Gandhi Nagar",
                    district_name="Jammu",
                    district_lgd=620,
                    state_name="Jammu And Kashmir",
                    state_lgd=1,
                    pincode="180004",
                    mobile=mobile,
                )
            )
        user = create_staff(
            s,
            username="benchdesk",
            full_name="Bench Desk",
            role=Role.REGISTRATION_DESK,
            password="benchmark password",
            facility_id="IN0110000001",
            clock=rt.clock,
        )
        token = create_api_token(s, user=user, name="bench", clock=rt.clock)
    rt.keyring.private_key("enrolment")  # make the keys before the servers start
    rt.close()
    return token, people


def _headers(token: str, **extra: str) -> dict[str, str]:
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "Authorization": f"Bearer {token}",
        "REQUEST-ID": str(uuid.uuid4()),
        "TIMESTAMP": ts,
        **extra,
    }


class Enroller:
    def __init__(self, base: str, token: str, pg_dsn: str):
        self.base = base
        self.token = token
        self.pg_dsn = pg_dsn
        key = httpx.get(f"{base}/abha/api/v3/profile/public/certificate").json()["publicKey"]
        self.key = key
        self.local = threading.local()

    def _client(self) -> httpx.Client:
        c = getattr(self.local, "client", None)
        if c is None:
            c = self.local.client = httpx.Client(base_url=self.base, timeout=60)
            self.local.db = psycopg.connect(self.pg_dsn, autocommit=True)
        return c

    def _otp(self, mobile: str) -> str:
        for _ in range(200):
            row = self.local.db.execute(
                "SELECT payload->>'text' FROM outbox_message WHERE topic = 'sms.send' "
                "AND payload->>'mobile' = %s ORDER BY id DESC LIMIT 1",
                (mobile,),
            ).fetchone()
            if row:
                return re.match(r"(\d{6}) ", row[0]).group(1)  # type: ignore[union-attr]
            time.sleep(0.01)
        raise RuntimeError("no OTP arrived")

    def enrol(self, person: tuple[str, str]) -> float:
        aadhaar, mobile = person
        c = self._client()
        start = time.perf_counter()
        r = c.post(
            f"{V3}/request/otp",
            headers=_headers(self.token),
            json={
                "scope": ["abha-enrol"],
                "loginHint": "aadhaar",
                "loginId": encrypt_oaep(self.key, aadhaar),
                "otpSystem": "aadhaar",
            },
        )
        r.raise_for_status()
        txn = r.json()["txnId"]
        otp = self._otp(mobile)
        r = c.post(
            f"{V3}/enrol/byAadhaar",
            headers=_headers(self.token),
            json={
                "authData": {
                    "authMethods": ["otp"],
                    "otp": {
                        "timeStamp": "2026-11-26 09:00:00",
                        "txnId": txn,
                        "otpValue": encrypt_oaep(self.key, otp),
                        "mobile": mobile,
                    },
                },
                "consent": {"code": "abha-enrollment", "version": "1.4"},
            },
        )
        r.raise_for_status()
        r = c.get(f"{V3}/enrol/suggestion", headers=_headers(self.token, TRANSACTION_ID=txn))
        r.raise_for_status()
        choice = r.json()["abhaAddressList"][0]
        r = c.post(
            f"{V3}/enrol/abha-address",
            headers=_headers(self.token),
            json={"txnId": txn, "abhaAddress": choice, "preferred": 1},
        )
        r.raise_for_status()
        return time.perf_counter() - start


def _level(enroller: Enroller, people: list[tuple[str, str]], clients: int) -> dict[str, Any]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = list(pool.map(enroller.enrol, people))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "clients": clients,
        "enrolments": len(people),
        "per_second": len(people) / elapsed,
        "latency_p50_ms": latencies[len(latencies) // 2] * 1000,
        "latency_p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def run(pg_url: str, runs: int, per_level: int, workers: int) -> dict[str, Any]:
    needed = runs * per_level * len(LEVELS)
    results: dict[int, list[dict[str, Any]]] = {n: [] for n in LEVELS}
    pgbench: dict[int, list[float]] = {n: [] for n in LEVELS}
    with tempfile.TemporaryDirectory() as data_dir, scratch_pg(pg_url) as url:
        token, people = _prepare(url, data_dir, needed)
        env = {
            "HEALTHSTACK_DATABASE_URL": url,
            "HEALTHSTACK_DATA_DIR": data_dir,
            "HEALTHSTACK_SECRET_KEY": SECRET,
            "HEALTHSTACK_ENV": "development",
        }
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with server(env, workers=workers) as base:
            enroller = Enroller(base, token, dsn)
            enroller.enrol(people.pop())  # warm-up: keys loaded, connections open
            for _ in range(runs):
                for n in LEVELS:
                    batch, people = people[:per_level], people[per_level:]
                    results[n].append(_level(enroller, batch, n))
        with scratch_pg(pg_url) as bench_url:
            for _ in range(runs):
                for n in LEVELS:
                    pgbench[n].append(pgbench_tps(bench_url, n))
    summary = []
    for n in LEVELS:
        eps = median([r["per_second"] for r in results[n]])
        tps = median(pgbench[n])
        summary.append(
            {
                "clients": n,
                "enrolments_per_second_median": round(eps, 2),
                "latency_p50_ms_median": round(
                    median([r["latency_p50_ms"] for r in results[n]]), 1
                ),
                "latency_p99_ms_median": round(
                    median([r["latency_p99_ms"] for r in results[n]]), 1
                ),
                "pgbench_tps_median": round(tps, 1),
                "ratio_to_pgbench": round(eps / tps, 4) if tps else None,
            }
        )
    return {
        "benchmark": "abha_enrolment_http",
        "server_workers": workers,
        "runs": runs,
        "per_level": per_level,
        "summary": summary,
        "runs_detail": results,
        "pgbench_detail": pgbench,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-level", type=int, default=120)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.pg_url, args.runs, args.per_level, args.workers), indent=2))


if __name__ == "__main__":
    main()
