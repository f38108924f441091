"""Reconciliation time over the state's full lists: the facility master (3,607 public
facilities) against HFR, and the HR roster (12,879 public doctor and nurse posts)
against HPR.

    .venv/bin/python -m benchmarks.reconcile_bench [--db sqlite|postgres|both] [--runs 5]

Each database gets the ``jk`` registries as the seed makes them (every facility,
professional, the master and the roster; residents at the smallest scale, since
neither reconciliation reads them). Then, ``--runs`` times each:

- ``master``: ``reconcile_master``, which rebuilds the whole state's matching (exact
  code, then name similarity within district and type).
- ``roster``: every entry's link reset, then ``reconcile_roster`` over the full roster
  (council number, then mobile, then name and birth year among thousands of namesakes).
- ``roster_names_only``: the same roster with its council numbers and mobiles blanked,
  so every entry takes the name path: the worst case, as a ratio of the real one.
- ``roster_import``: preview (parse and check the CSV) and confirm (insert and
  reconcile) of the full roster file, as the state admin's upload does.

Each figure is the median of the runs, with the runs beside it. Times are for the
service call inside one transaction, rolled back after each run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from benchmarks.common import DEFAULT_PG, SECRET, machine, median, scratch_pg
from healthstack.kernel import migrate
from healthstack.kernel.context import system_context
from healthstack.network.hfr.models import Facility
from healthstack.network.hfr.reconcile import reconcile_master
from healthstack.programme.compliance import roster as roster_import
from healthstack.programme.compliance.models import RosterEntry
from healthstack.programme.compliance.reconcile import current_roster, link_counts, reconcile_roster
from healthstack.runtime import Runtime, build_runtime
from healthstack.seed import registries
from healthstack.seed.loader import seed_state
from healthstack.settings import Environment, Settings

SCALE = 0.0001  # residents: unread by either reconciliation


def _blank_keys(data: bytes) -> bytes:
    """The roster with its council numbers and mobiles removed (names and years kept)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header = rows[0]
    blank = [header.index(c) for c in ("Mobile", "Council", "Registration No")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows[1:]:
        writer.writerow(["" if i in blank else v for i, v in enumerate(row)])
    return out.getvalue().encode("utf-8")


def _timed(rt: Runtime, work: Callable[[Session], Any]) -> tuple[float, Any]:
    """``work`` in a transaction that is rolled back afterwards; (seconds, result)."""
    session = rt.session_factory()
    try:
        started = time.perf_counter()
        result = work(session)
        session.flush()
        return time.perf_counter() - started, result
    finally:
        session.rollback()
        session.close()


def _import(data: bytes, rt: Runtime) -> Callable[[Session], dict[str, int]]:
    def work(session: Session) -> dict[str, int]:
        ctx = system_context()
        preview = roster_import.create_preview(
            session,
            ctx,
            clock=rt.clock,
            profile=rt.settings.profile,
            filename="roster.csv",
            data=data,
        )
        assert not preview.broken, preview.broken[:3]
        confirmed = roster_import.confirm_import(
            session, ctx, clock=rt.clock, import_id=preview.public_id, sha256=preview.sha256
        )
        return link_counts(session, confirmed)  # confirm_import reconciled

    return work


def _reconcile_all(rt: Runtime) -> Callable[[Session], dict[str, int]]:
    def work(session: Session) -> dict[str, int]:
        roster = current_roster(session)
        assert roster is not None
        session.execute(
            update(RosterEntry)
            .where(RosterEntry.import_id == roster.id)
            .values(link="none", professional_id=None, method=None, score=None, candidates=[])
        )
        started = time.perf_counter()
        counts = reconcile_roster(session, system_context(), roster=roster, clock=rt.clock)
        counts["seconds_without_reset"] = round(time.perf_counter() - started, 3)
        return counts

    return work


def _master(rt: Runtime) -> Callable[[Session], dict[str, Any]]:
    def work(session: Session) -> dict[str, Any]:
        summary = reconcile_master(
            session, system_context(), clock=rt.clock, state_lgd=rt.settings.profile.state_lgd
        )
        return {"counts": summary.counts, "registered": summary.registered, "total": summary.total}

    return work


def run_one(url: str, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        migrate.upgrade(url)
        settings = Settings(
            env=Environment.DEVELOPMENT, database_url=url, data_dir=data_dir, secret_key=SECRET
        )
        rt = build_runtime(settings)
        try:
            started = time.perf_counter()
            seeded = seed_state(rt, profile="jk", scale=SCALE, registries=True)
            seed_seconds = time.perf_counter() - started
            assert seeded.registries is not None
            plans = registries.facility_plans()
            for plan, hfr in zip(plans, _hfr_ids(rt), strict=True):
                plan.hfr_id = hfr
            people = registries.professional_seeds(plans, now=rt.clock.now())
            roster_file = registries.roster_csv(plans, people)
            cases: dict[str, Callable[[Session], Any]] = {
                "master": _master(rt),
                "roster": _reconcile_all(rt),
                "roster_names_only": _import(_blank_keys(roster_file), rt),
                "roster_import": _import(roster_file, rt),
            }
            results: dict[str, Any] = {}
            for name, work in cases.items():
                _timed(rt, work)  # warm the caches once
                timings, outcome = [], None
                for _ in range(runs):
                    seconds, outcome = _timed(rt, work)
                    timings.append(seconds)
                results[name] = {
                    "median_s": round(median(timings), 3),
                    "runs_s": [round(t, 3) for t in timings],
                    "outcome": outcome,
                }
            return {
                "seed_seconds": round(seed_seconds, 1),
                "roster_entries": sum(seeded.registries.roster.values()),
                "master_entries": seeded.registries.master_entries,
                **results,
            }
        finally:
            rt.close()


def _hfr_ids(rt: Runtime) -> list[str]:
    """The seeded facilities' HFR ids in plan order (the registry's insertion order)."""
    with rt.session_factory() as s:
        return list(s.scalars(select(Facility.hfr_id).order_by(Facility.id)))


def _database(kind: str, pg_url: str) -> AbstractContextManager[str]:
    if kind == "postgres":
        return scratch_pg(pg_url)
    directory = tempfile.mkdtemp(prefix="hs-reconcile-")
    return nullcontext(f"sqlite:///{directory}/bench.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    detail = {}
    for kind in kinds:
        with _database(kind, args.pg_url) as url:
            detail[kind] = run_one(url, args.runs)
    summary = {
        kind: {
            case: d[case]["median_s"]
            for case in ("master", "roster", "roster_names_only", "roster_import")
        }
        | {
            "names_only_over_real": round(
                d["roster_names_only"]["median_s"] / d["roster_import"]["median_s"], 2
            ),
            "roster_entries": d["roster_entries"],
            "master_entries": d["master_entries"],
        }
        for kind, d in detail.items()
    }
    print(
        json.dumps(
            {
                "benchmark": "reconciliation",
                "runs": args.runs,
                "summary": summary,
                "detail": detail,
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
