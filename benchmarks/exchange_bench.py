"""Consent-to-displayed-records time: from the patient's approve call in the PHR to the
doctor's record page listing records from all 50 of her care contexts.

    .venv/bin/python -m benchmarks.exchange_bench [--runs 5] [--contexts 50] [--db both]

The server is ``healthstack serve`` in its own process on loopback, with its embedded
worker (polling every ``--poll`` seconds, the production default 1 s), serving both
sides of the exchange: the gateway and consent manager at ``/api/hiecm`` and the state
HMIS bridge at the root, which reach each other over real HTTP through that same
server, exactly as a one-machine deployment runs. Set-up (in this process, before the
server starts, except linking): the bridge and its HIP and HIU registered with the
gateway, an ABHA holder with ``--contexts`` visits at the HIP, each with two documents
of mixed types (consultation, prescription, lab and imaging reports, immunization,
wellness record, invoice, scanned records; every bundle validated when stored), then
HIP-initiated linking through the running server.

Each run: the doctor asks on the record page (all eight HI types, three years); once
the request is pending in the patient's PHR the clock starts; the patient approves
(PHR JSON API); the doctor's request page is polled every 50 ms until it lists a
received record for every care context. In between, over HTTP: the consent artefact
to the HIP and the HIU, the HIU's fetch, its HI request, the CM's forward, the HIP's
Fidelius-encrypted paged push, the HIU's decryption, checksums, validation and
storage. Prints one JSON document with a "summary" (medians per database).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select

from benchmarks.common import DEFAULT_PG, SECRET, free_port, machine, median, scratch_pg, server
from healthstack.accounts.service import create_api_token, create_staff
from healthstack.app import HfrFacilityNames
from healthstack.demo import queue_pending_links
from healthstack.facility.records import care_contexts as cc
from healthstack.facility.records.config import ig_for
from healthstack.facility.records.fhir import Practitioner
from healthstack.facility.records.models import CareContext, HiuReceivedRecord
from healthstack.kernel import migrate
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.auth import issue_user_tokens
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, reserve
from healthstack.network.gateway.service import add_service, register_bridge
from healthstack.protocol.fhir.terminology import EncounterClass
from healthstack.runtime import Runtime, build_runtime
from healthstack.seed import records as samples
from healthstack.settings import AbdmSettings, Environment, Settings

CLIENT_ID = "bench-hmis"
CLIENT_SECRET = "bench-bridge-secret-0123456789"  # noqa: S105 - a benchmark's own bridge
HIP = "IN0110000001"
HIU = "IN0110000002"
HI_TYPES = (
    "OPConsultation",
    "Prescription",
    "DiagnosticReport",
    "DischargeSummary",
    "ImmunizationRecord",
    "HealthDocumentRecord",
    "WellnessRecord",
    "Invoice",
)
DOCTOR = Practitioner(hpr_id="71-4321-8765-2109", name="Dr. Bench Doctor")
RECORD_ROW = re.compile(r'<td class="mono">([^<]+)</td>\s*<td><a href="/records/received/')


# --------------------------------------------------------------------------- set-up


def _staff_ctx(facility: str, role: Role) -> RequestContext:
    return RequestContext(
        actor=Actor(kind=ActorKind.STAFF, id=f"bench-{facility}", role=role, facility_id=facility),
        purpose=Purpose.CARE_MANAGEMENT,
    )


def _contents(rng: random.Random, n: int, at: datetime) -> tuple[EncounterClass, list[Any]]:
    """Two documents per visit, the mix turning over every five visits."""
    kind = n % 5
    if kind == 0:
        return EncounterClass.OPD, [samples.op_consultation(rng, at), samples.prescription(rng, at)]
    if kind == 1:
        return EncounterClass.OPD, [samples.prescription(rng, at), samples.lab_report(rng, at)]
    if kind == 2:
        return EncounterClass.OPD, [samples.immunization(rng, at), samples.wellness(rng, at)]
    if kind == 3:
        return EncounterClass.IPD, [
            samples.imaging_report(rng, at, n),
            samples.invoice(rng, at, f"B/{n}", ipd=True),
        ]
    return EncounterClass.OPD, [samples.health_documents(rng, at), samples.lab_report(rng, at)]


def _account(session: Any, runtime: Runtime) -> AbhaAccount:
    """An ABHA holder as enrolment leaves one (verified mobile, an ABHA address)."""
    now = runtime.clock.now()
    name = "Bench Patient Devi"
    first, middle, last = split_name(name)
    number = NumberPermutation(runtime.settings.secret_key.get_secret_value()).number_for(
        reserve(session)
    )
    account = AbhaAccount(
        abha_number=number,
        aadhaar_hash=runtime.hasher.hash("aadhaar", "999941057058"),
        aadhaar_last4="7058",
        first_name=first,
        middle_name=middle,
        last_name=last,
        name=name,
        name_key=name_key(name),
        gender="F",
        birth_date=date(1984, 5, 6),
        year_of_birth=1984,
        mobile="9876543210",
        mobile_verified=True,
        address_line="Ward 4",
        district_name="Srinagar",
        district_lgd=620,
        state_name="Jammu and Kashmir",
        state_lgd=1,
        pincode="190008",
        kyc_method="aadhaar_otp",
        kyc_verified=True,
        status="ACTIVE",
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    session.add(
        AbhaAddress(
            account_id=account.id, handle="bench.patient", is_preferred=True, created_at=now
        )
    )
    session.flush()
    return account


def prepare(url: str, data_dir: str, base: str, contexts: int, poll: float) -> dict[str, Any]:
    migrate.upgrade(url)
    settings = _settings(url, data_dir, base, poll)
    rt = build_runtime(settings)
    rt.keyring.private_key("signing")  # the keys exist before the server starts
    system = RequestContext(
        actor=Actor(kind=ActorKind.SYSTEM, id="bench"), purpose=Purpose.ADMINISTRATION
    )
    with unit_of_work(rt.session_factory) as s:
        register_bridge(
            s,
            system,
            client_id=CLIENT_ID,
            name="Bench HMIS",
            url=base,
            secret=CLIENT_SECRET,
            clock=rt.clock,
            settings=rt.settings.gateway,
            development=rt.settings.is_development,
        )
        for sid, name in ((HIP, "Bench District Hospital"), (HIU, "Bench Medical College")):
            for kind in ("HIP", "HIU"):
                add_service(
                    s,
                    system,
                    client_id=CLIENT_ID,
                    service_id=sid,
                    service_type=kind,
                    name=name,
                    clock=rt.clock,
                )
        account = _account(s, rt)
        user = create_staff(
            s,
            username="benchdoctor",
            full_name="Dr. Bench Doctor",
            role=Role.DOCTOR,
            password="benchmark password",
            facility_id=HIU,
            clock=rt.clock,
        )
        doctor_token = create_api_token(s, user=user, name="bench", clock=rt.clock)
        patient_token = issue_user_tokens(
            account, keyring=rt.keyring, clock=rt.clock, abha_settings=rt.settings.abha
        ).token
        abha_number = account.abha_number
    rng = random.Random(50)
    now = rt.clock.now()
    documents = 0
    names, ig = HfrFacilityNames(), ig_for(rt.settings)
    with unit_of_work(rt.session_factory) as s:
        patient = cc.ensure_patient(
            s,
            _staff_ctx(HIP, Role.REGISTRATION_DESK),
            clock=rt.clock,
            hip_id=HIP,
            mrn="BENCH-0001",
            name="Bench Patient Devi",
            gender="F",
            year_of_birth=1984,
            abha_number=abha_number,
            abha_address="bench.patient@sbx",
        )
        for n in range(contexts):
            at = now - timedelta(days=10 + 14 * n)
            kind, contents = _contents(rng, n, at)
            visit = cc.open_care_context(
                s,
                _staff_ctx(HIP, Role.DOCTOR),
                clock=rt.clock,
                names=names,
                patient=patient,
                kind=kind,
                start=at,
            )
            for k, content in enumerate(contents):
                cc.record_document(
                    s,
                    _staff_ctx(HIP, Role.DOCTOR),
                    clock=rt.clock,
                    ig=ig,
                    outbox=rt.abdm_outbox(),
                    hasher=rt.hasher,
                    names=names,
                    care_context=visit,
                    content=content,
                    practitioner=DOCTOR,
                    now=at + timedelta(minutes=10 * (k + 1)),
                    link=False,  # linked below, in one link call, once the server runs
                )
                documents += 1
    rt.close()
    return {
        "doctor_token": doctor_token,
        "patient_token": patient_token,
        "documents": documents,
        "oldest_days": 10 + 14 * (contexts - 1),
    }


def _settings(url: str, data_dir: str, base: str, poll: float) -> Settings:
    return Settings(
        env=Environment.DEVELOPMENT,
        database_url=url,
        data_dir=Path(data_dir),
        secret_key=SecretStr(SECRET),
        base_url=base,
        worker_poll_seconds=poll,
        abdm=AbdmSettings(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET)),
    )


def _env(url: str, data_dir: str, base: str, poll: float) -> dict[str, str]:
    return {
        "HEALTHSTACK_DATABASE_URL": url,
        "HEALTHSTACK_DATA_DIR": data_dir,
        "HEALTHSTACK_SECRET_KEY": SECRET,
        "HEALTHSTACK_ENV": "development",
        "HEALTHSTACK_BASE_URL": base,
        "HEALTHSTACK_WORKER_POLL_SECONDS": str(poll),
        "HEALTHSTACK_ABDM_CLIENT_ID": CLIENT_ID,
        "HEALTHSTACK_ABDM_CLIENT_SECRET": CLIENT_SECRET,
    }


# --------------------------------------------------------------------------- one run


def _wait(what: str, check: Any, *, timeout: float = 300, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}")


def wait_linked(rt: Runtime, contexts: int) -> float:
    start = time.perf_counter()

    def linked() -> bool:
        with unit_of_work(rt.session_factory) as s:
            n = s.scalar(
                select(func.count())
                .select_from(CareContext)
                .where(CareContext.link_status == "linked")
            )
        return n == contexts

    _wait("HIP-initiated linking", linked, timeout=600, every=0.2)
    return time.perf_counter() - start


def one_run(http: httpx.Client, prep: dict[str, Any], contexts: int, rt: Runtime) -> dict[str, Any]:
    doctor = {"Authorization": f"Bearer {prep['doctor_token']}"}
    phr = {"X-token": f"Bearer {prep['patient_token']}"}
    today = datetime.now(UTC).date()
    r = http.post(
        "/records/requests",
        headers=doctor,
        data={
            "abha_address": "bench.patient@sbx",
            "date_from": (today - timedelta(days=3 * 365)).isoformat(),
            "date_to": today.isoformat(),
            "expiry": (today + timedelta(days=30)).isoformat(),
            "hi_types": list(HI_TYPES),
        },
        follow_redirects=False,
    )
    if r.status_code != 303:
        raise RuntimeError(f"the doctor's request failed: HTTP {r.status_code}")
    page = r.headers["location"]

    def pending() -> str | None:
        rows = http.get("/api/v1/phr/consents", headers=phr, params={"status": "REQUESTED"})
        rows.raise_for_status()
        return rows.json()[0]["id"] if rows.json() else None

    consent_request = _wait("the request in the PHR", pending)
    start = time.perf_counter()
    r = http.post(
        f"/api/v1/phr/consents/{consent_request}/approve",
        headers=phr,
        json={"consents": [{"hip": {"id": HIP}}]},
    )
    r.raise_for_status()
    approved = time.perf_counter() - start
    seen: dict[str, int] = {}

    def listed() -> bool:
        text = http.get(page, headers=doctor).text
        refs = RECORD_ROW.findall(text)
        seen["records"] = len(refs)
        return len(set(refs)) >= contexts

    _wait("the records on the doctor's page", listed, timeout=600)
    elapsed = time.perf_counter() - start
    with unit_of_work(rt.session_factory) as s:
        errored = s.scalar(
            select(func.count())
            .select_from(HiuReceivedRecord)
            .where(HiuReceivedRecord.status != "OK", HiuReceivedRecord.status != "ERASED")
        )
    return {
        "seconds": round(elapsed, 3),
        "approve_call_ms": round(approved * 1000, 1),
        "records_listed": seen["records"],
        "records_errored": int(errored or 0),
    }


def run_database(label: str, url: str, runs: int, contexts: int, poll: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        prep = prepare(url, data_dir, base, contexts, poll)
        rt = build_runtime(_settings(url, data_dir, base, poll))
        try:
            # One process: the embedded worker runs with it.
            with server(_env(url, data_dir, base, poll), workers=1, port=port) as server_url:
                queue_pending_links(rt)
                link_seconds = wait_linked(rt, contexts)
                results = []
                with httpx.Client(base_url=server_url, timeout=60) as http:
                    for _ in range(runs):
                        results.append(one_run(http, prep, contexts, rt))
        finally:
            rt.close()
    seconds = [r["seconds"] for r in results]
    return {
        "database": label,
        "care_contexts": contexts,
        "documents": prep["documents"],
        "runs": runs,
        "median_seconds": round(median(seconds), 3),
        "min_seconds": min(seconds),
        "max_seconds": max(seconds),
        "stdev_seconds": round(statistics.stdev(seconds), 3) if len(seconds) > 1 else 0.0,
        "documents_per_second_median": round(prep["documents"] / median(seconds), 1),
        "hip_initiated_linking_seconds": round(link_seconds, 2),
        "runs_detail": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contexts", type=int, default=50)
    parser.add_argument("--poll", type=float, default=1.0, help="worker poll seconds")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    results = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
            results.append(run_database("sqlite", url, args.runs, args.contexts, args.poll))
    if args.db in ("postgresql", "both"):
        with scratch_pg(args.pg_url) as url:
            results.append(run_database("postgresql", url, args.runs, args.contexts, args.poll))
    summary = {
        r["database"]: {
            "consent_to_displayed_median_s": r["median_seconds"],
            "min_s": r["min_seconds"],
            "max_s": r["max_seconds"],
            "documents": r["documents"],
            "documents_per_second": r["documents_per_second_median"],
        }
        for r in results
    }
    if "sqlite" in summary and "postgresql" in summary:
        summary["postgresql_over_sqlite"] = round(
            summary["postgresql"]["consent_to_displayed_median_s"]
            / summary["sqlite"]["consent_to_displayed_median_s"],
            2,
        )
    print(
        json.dumps(
            {
                "benchmark": "consent_to_displayed_records",
                "care_contexts": args.contexts,
                "worker_poll_seconds": args.poll,
                "server": "healthstack serve (1 process, embedded worker), loopback HTTP",
                "summary": summary,
                "results": results,
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
