"""Bulk loading of a seeding plan: the KYC sandbox and the ABHA registry.

One seed run is one transaction: either every resident, account and address of the
plan is written or nothing is (a failure rolls back; only the reserved block of ABHA
counter values is spent, which is harmless since numbers are never reused anyway).

- PostgreSQL: text ``COPY ... FROM STDIN`` through psycopg 3, the rows formatted in
  Python (faster than per-value adaptation; the vocabularies never contain tab,
  newline or backslash, so nothing needs escaping). For large runs the secondary
  indexes and unique constraints of the three tables are dropped inside the
  transaction and rebuilt after the load (sorting once beats millions of random
  B-tree inserts); DDL is transactional, so a failure restores them untouched. The
  tables are locked against writers meanwhile.
- SQLite: batched ``executemany`` in the same transaction.

Account ids are assigned here (the table is locked, the sequence moved past them
after), so ``abha_address`` rows can point at their account without a lookup.
ABHA numbers come from one ``reserve(session, n)`` block through the deployment's
``NumberPermutation``; ``aadhaar_hash`` is ``runtime.hasher.hash("aadhaar", ...)``,
exactly what enrolment computes, so a seeded resident enrolling again finds the
account the seed made for them.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy.exc
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.audit import record_access
from healthstack.kernel.context import SYSTEM_ACTOR, Purpose, RequestContext
from healthstack.kernel.errors import Conflict, ValidationFailed
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import BulkNumberPermutation, reserve
from healthstack.runtime import Runtime
from healthstack.seed.generator import (
    DEFAULT_SEED,
    Plan,
    Resident,
    iter_batches,
    make_plan,
)

_INTEGRITY_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.IntegrityError,
    sqlite3.IntegrityError,
    psycopg.IntegrityError,
)

DEFAULT_BATCH = 20_000
# From this many residents on, PostgreSQL drops and rebuilds secondary indexes.
REBUILD_INDEXES_FROM = 100_000
SEEDED_BY = "seed"
KYC_METHOD = "aadhaar_otp"

ProgressFn = Callable[[int], None]

_RESIDENT_COLUMNS = (
    "aadhaar",
    "name",
    "gender",
    "birth_date",
    "address_line",
    "locality",
    "district_name",
    "district_lgd",
    "state_name",
    "state_lgd",
    "pincode",
    "mobile",
)
_ACCOUNT_COLUMNS = (
    "id",
    "public_id",
    "abha_number",
    "aadhaar_hash",
    "aadhaar_last4",
    "first_name",
    "middle_name",
    "last_name",
    "name",
    "name_key",
    "gender",
    "birth_date",
    "year_of_birth",
    "mobile",
    "mobile_verified",
    "email_verified",
    "address_line",
    "district_name",
    "district_lgd",
    "state_name",
    "state_lgd",
    "pincode",
    "kyc_method",
    "kyc_verified",
    "status",
    "enrolled_by",
    "enrolled_at_facility",
    "created_at",
    "updated_at",
)
_ADDRESS_COLUMNS = ("public_id", "account_id", "handle", "is_preferred", "created_at")


@dataclass
class SeedResult:
    profile: str
    scale: float
    residents: int = 0
    accounts: int = 0
    addresses: int = 0
    elapsed_seconds: float = 0.0
    skipped: bool = False
    existing_residents: int = 0
    rebuilt_indexes: bool = False
    phases: dict[str, float] = field(default_factory=dict)
    # What ``seed_registries`` wrote (facilities, master, professionals), when asked.
    registries: Any = None

    @property
    def rows(self) -> int:
        return self.residents + self.accounts + self.addresses

    @property
    def resident_seconds(self) -> float:
        """The time spent on residents and ABHA accounts (the registries excluded)."""
        return max(self.elapsed_seconds - self.phases.get("registries", 0.0), 0.0)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.resident_seconds if self.resident_seconds else 0.0


# --------------------------------------------------------------------------- rows


def _public_ids(count: int) -> list[str]:
    """Random version-4 UUIDs as 32 hex digits (both databases accept the form)."""
    raw = os.urandom(16 * count).hex()
    out = []
    for i in range(0, 32 * count, 32):
        h = raw[i : i + 32]
        out.append(f"{h[:12]}4{h[13:16]}{'89ab'[int(h[16], 16) & 3]}{h[17:]}")
    return out


@dataclass
class _Formatter:
    """Turns residents into rows for one database (PostgreSQL text COPY or SQLite)."""

    postgres: bool
    numbers: BulkNumberPermutation
    hasher: Any
    first_counter: int
    first_account_id: int
    accounts_done: int = 0
    addresses_done: int = 0

    def _datetime(self, value: datetime) -> str:
        if self.postgres:
            return value.isoformat(" ")
        # SQLAlchemy's SQLite storage format for DateTime (UTC, no offset).
        return value.isoformat(" ", "microseconds")[:26]

    def rows(self, batch: list[Resident]) -> tuple[list[Any], list[Any], list[Any]]:
        pg = self.postgres
        null = "\\N" if pg else None
        true, false = ("t", "f") if pg else (1, 0)
        residents: list[Any] = []
        accounts: list[Any] = []
        addresses: list[Any] = []
        with_abha = [r for r in batch if r.abha_created_at is not None]
        ids = _public_ids(len(with_abha) + sum(1 for r in with_abha if r.abha_handle))
        next_id = 0
        for r in batch:
            born = r.birth_date.isoformat()
            if pg:
                residents.append(
                    f"{r.aadhaar}\t{r.name}\t{r.gender}\t{born}\t{r.address_line}\t"
                    f"{r.locality}\t{r.district_name}\t{r.district_lgd}\t{r.state_name}\t"
                    f"{r.state_lgd}\t{r.pincode}\t{r.mobile or null}\n"
                )
            else:
                residents.append(
                    (
                        r.aadhaar,
                        r.name,
                        r.gender,
                        born,
                        r.address_line,
                        r.locality,
                        r.district_name,
                        r.district_lgd,
                        r.state_name,
                        r.state_lgd,
                        r.pincode,
                        r.mobile,
                    )
                )
            created = r.abha_created_at
            if created is None:
                continue
            account_id = self.first_account_id + self.accounts_done
            number = self.numbers.number_for(self.first_counter + self.accounts_done)
            self.accounts_done += 1
            digest = self.hasher.hash("aadhaar", r.aadhaar)
            first, middle, last = split_name(r.name)
            key = name_key(r.name)
            at = self._datetime(created)
            public_id = ids[next_id]
            next_id += 1
            mobile_verified = true if r.mobile else false
            if pg:
                accounts.append(
                    f"{account_id}\t{public_id}\t{number}\t{digest}\t{r.aadhaar[-4:]}\t"
                    f"{first}\t{middle or null}\t{last or null}\t{r.name}\t{key}\t"
                    f"{r.gender}\t{born}\t{r.birth_date.year}\t{r.mobile or null}\t"
                    f"{mobile_verified}\t{false}\t{r.address_line}\t{r.district_name}\t"
                    f"{r.district_lgd}\t{r.state_name}\t{r.state_lgd}\t{r.pincode}\t"
                    f"{KYC_METHOD}\t{true}\tACTIVE\t{SEEDED_BY}\t{r.abha_facility or null}\t"
                    f"{at}\t{at}\n"
                )
            else:
                accounts.append(
                    (
                        account_id,
                        public_id,
                        number,
                        digest,
                        r.aadhaar[-4:],
                        first,
                        middle,
                        last,
                        r.name,
                        key,
                        r.gender,
                        born,
                        r.birth_date.year,
                        r.mobile,
                        mobile_verified,
                        false,
                        r.address_line,
                        r.district_name,
                        r.district_lgd,
                        r.state_name,
                        r.state_lgd,
                        r.pincode,
                        KYC_METHOD,
                        true,
                        "ACTIVE",
                        SEEDED_BY,
                        r.abha_facility,
                        at,
                        at,
                    )
                )
            if r.abha_handle:
                address_id = ids[next_id]
                next_id += 1
                self.addresses_done += 1
                if pg:
                    addresses.append(f"{address_id}\t{account_id}\t{r.abha_handle}\tt\t{at}\n")
                else:
                    addresses.append((address_id, account_id, r.abha_handle, 1, at))
        return residents, accounts, addresses


# --------------------------------------------------------------------------- sinks


def _insert_sql(table: str, columns: tuple[str, ...], marker: str) -> str:
    values = ", ".join([marker] * len(columns))
    # Table and column names are this module's constants, never input.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"  # noqa: S608


class _SqliteSink:
    def __init__(self, dbapi: Any):
        self._cur = dbapi.cursor()

    def write(self, residents: list[Any], accounts: list[Any], addresses: list[Any]) -> None:
        cur = self._cur
        cur.executemany(_insert_sql("kyc_resident", _RESIDENT_COLUMNS, "?"), residents)
        if accounts:
            cur.executemany(_insert_sql("abha_account", _ACCOUNT_COLUMNS, "?"), accounts)
        if addresses:
            cur.executemany(_insert_sql("abha_address", _ADDRESS_COLUMNS, "?"), addresses)


class _PostgresSink:
    """One COPY per table per batch, all on the seed's one connection and transaction."""

    def __init__(self, dbapi: Any):
        self._cur = dbapi.cursor()

    def _copy(self, table: str, columns: tuple[str, ...], lines: list[str]) -> None:
        with self._cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write("".join(lines))

    def write(self, residents: list[Any], accounts: list[Any], addresses: list[Any]) -> None:
        self._copy("kyc_resident", _RESIDENT_COLUMNS, residents)
        if accounts:
            self._copy("abha_account", _ACCOUNT_COLUMNS, accounts)
        if addresses:
            self._copy("abha_address", _ADDRESS_COLUMNS, addresses)


class _BackgroundWriter:
    """Writes batches on a second thread while the next batch is generated.

    The database driver waits on the socket without the GIL (psycopg, and sqlite3
    inside its C calls), so the server ingests one batch while Python formats the
    next instead of each waiting for the other. Only this thread touches the
    connection until ``close``; a write error is re-raised in the caller's thread.
    """

    def __init__(self, sink: _SqliteSink | _PostgresSink, depth: int = 2):
        self._sink = sink
        self._queue: queue.Queue[tuple[list[Any], list[Any], list[Any]] | None] = queue.Queue(
            maxsize=depth
        )
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="seed-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._sink.write(*item)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc

    def put(self, item: tuple[list[Any], list[Any], list[Any]]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


# --------------------------------------------------------------------------- indexes


_TABLES = ("kyc_resident", "abha_account", "abha_address")


@dataclass(frozen=True)
class _IndexDef:
    table: str
    index: str  # schema-qualified where needed; "" for a foreign key
    constraint: str | None
    definition: str  # CREATE INDEX ... or the constraint definition


def _secondary_indexes(session: Session) -> list[_IndexDef]:
    """Secondary indexes, unique constraints and foreign keys of the seeded tables.

    Primary keys stay (ids arrive in order, so their index is cheap to maintain, and
    other tables' foreign keys hang on them). Constraints come back with their
    original names and definitions, straight from the catalogue.
    """
    rows = session.execute(
        text(
            """
            SELECT t.relname, i.indexrelid::regclass::text, c.conname,
                   CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
                        ELSE pg_get_constraintdef(c.oid) END
            FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid
            LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid
                 AND c.contype IN ('u', 'x')
            WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary
              -- an index another table's foreign key hangs on must stay
              AND NOT EXISTS (
                  SELECT 1 FROM pg_constraint f
                  WHERE f.contype = 'f' AND f.conindid = i.indexrelid
              )
            UNION ALL
            SELECT t.relname, '', c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype = 'f'
            """
        ),
        {"tables": list(_TABLES)},
    )
    defs = [_IndexDef(*row) for row in rows]
    # Foreign keys last when rebuilding (and first when dropping): they check data.
    return sorted(defs, key=lambda d: (d.index == "", d.table, d.constraint or d.index))


def _drop_indexes(session: Session, defs: list[_IndexDef]) -> None:
    for d in reversed(defs):
        if d.constraint:
            session.execute(text(f'ALTER TABLE {d.table} DROP CONSTRAINT "{d.constraint}"'))
        else:
            session.execute(text(f"DROP INDEX {d.index}"))


def _rebuild_indexes(session: Session, defs: list[_IndexDef]) -> None:
    # A generous sort memory turns each build into one in-memory or few-run sort.
    session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for d in defs:
        if d.constraint:
            session.execute(
                text(f'ALTER TABLE {d.table} ADD CONSTRAINT "{d.constraint}" {d.definition}')
            )
        else:
            session.execute(text(d.definition))


# --------------------------------------------------------------------------- entry


def has_residents(session: Session) -> bool:
    return session.scalar(select(KycResident.id).limit(1)) is not None


def seed_state(
    runtime: Runtime,
    *,
    profile: str,
    scale: float,
    batch_size: int = DEFAULT_BATCH,
    if_empty: bool = False,
    seed: int = DEFAULT_SEED,
    progress: ProgressFn | None = None,
    rebuild_indexes: bool | None = None,
    registries: bool = False,
) -> SeedResult:
    """Seed ``profile`` at ``scale`` into the KYC sandbox and the ABHA registry.

    With ``registries`` the profile's facilities, state master, professionals and
    their targets (``seed.registries``, the same at every scale) are seeded in the
    same transaction, so a failure leaves nothing behind.

    Refuses (``Conflict``) when the sandbox already holds residents, unless
    ``if_empty`` is set, in which case it returns a skipped result and writes nothing.
    ``progress`` is called with the number of residents written after each batch.
    """
    plan = make_plan(profile, scale, seed)
    if not 1 <= batch_size <= 1_000_000:
        raise ValidationFailed(
            "The batch size must be between 1 and 1,000,000 rows (20,000 is a good start).",
            field="batch",
        )
    started = time.perf_counter()
    result = SeedResult(profile=plan.profile, scale=plan.scale)
    with unit_of_work(runtime.session_factory) as session:
        if has_residents(session):
            existing = int(session.execute(text("SELECT count(*) FROM kyc_resident")).scalar_one())
            if if_empty:
                result.skipped = True
                result.existing_residents = existing
                result.elapsed_seconds = time.perf_counter() - started
                return result
            raise Conflict(
                f"The KYC sandbox already holds {existing:,} residents, so this database "
                "was seeded before. Run with --if-empty to keep them, or start from an "
                "empty database (healthstack db downgrade base, then healthstack db "
                "upgrade) to seed afresh.",
                code="HS-1900",
            )
    # The counter block commits on its own: holding the counter row for the whole load
    # would stall every enrolment meanwhile. Unused values on failure are harmless.
    first_counter = 0
    t_reserve = time.perf_counter()
    if plan.accounts:
        with unit_of_work(runtime.session_factory) as session:
            first_counter = reserve(session, plan.accounts)
    result.phases["reserve"] = time.perf_counter() - t_reserve
    numbers = BulkNumberPermutation(runtime.settings.secret_key.get_secret_value())
    try:
        _load(
            runtime,
            plan,
            result,
            numbers,
            first_counter,
            batch_size,
            seed,
            progress,
            rebuild_indexes,
            registries,
        )
    except _INTEGRITY_ERRORS as exc:
        # The driver's message would quote the clashing value; it stays out of the error.
        raise Conflict(
            "Seeding stopped because a generated row clashes with data already in the "
            "database (an ABHA number, Aadhaar or ABHA address). Nothing was written. "
            "Seed into an empty database (healthstack db downgrade base, then healthstack "
            "db upgrade).",
            code="HS-1901",
        ) from exc
    result.elapsed_seconds = time.perf_counter() - started
    return result


def _load(
    runtime: Runtime,
    plan: Plan,
    result: SeedResult,
    numbers: BulkNumberPermutation,
    first_counter: int,
    batch_size: int,
    seed: int,
    progress: ProgressFn | None,
    rebuild_indexes: bool | None,
    registries: bool = False,
) -> None:
    t0 = time.perf_counter()
    as_of = runtime.clock.now()
    with unit_of_work(runtime.session_factory) as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        ctx = RequestContext(actor=SYSTEM_ACTOR, purpose=Purpose.SEEDING)
        # The audit row is the first write: on SQLite it takes the write lock before
        # the account ids are read, so no other writer can slip in between.
        record_access(
            session,
            ctx,
            action="seed.load",
            resource_type="kyc_resident",
            resource_id=f"{plan.profile}:{plan.scale:g}",
            clock=runtime.clock,
        )
        session.flush()
        rebuild = postgres and (
            rebuild_indexes
            if rebuild_indexes is not None
            else plan.residents >= REBUILD_INDEXES_FROM
        )
        defs: list[_IndexDef] = []
        if postgres:
            tables = ", ".join(_TABLES)
            # Writers wait; readers go on (until the index drop, if any).
            session.execute(text(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE"))
            if rebuild:
                defs = _secondary_indexes(session)
                _drop_indexes(session, defs)
        facilities = None
        sites = None
        if registries:
            from healthstack.seed.registries import enrolment_sites, seed_facilities

            # Facilities first: each ABHA is credited to the facility that made it.
            facilities = seed_facilities(session, runtime, profile=plan.profile, seed=seed)
            sites = enrolment_sites(facilities.plans)
        first_id = _next_account_id(session, postgres)
        dbapi = session.connection().connection.driver_connection
        sink: _SqliteSink | _PostgresSink = _PostgresSink(dbapi) if postgres else _SqliteSink(dbapi)
        fmt = _Formatter(
            postgres=postgres,
            numbers=numbers,
            hasher=runtime.hasher,
            first_counter=first_counter,
            first_account_id=first_id,
        )
        done = 0
        writer = _BackgroundWriter(sink)
        try:
            for batch in iter_batches(plan, as_of=as_of, size=batch_size, seed=seed, sites=sites):
                writer.put(fmt.rows(batch))
                done += len(batch)
                if progress:
                    progress(done)
        finally:
            # Always wait for the writer: the rollback must not race an open COPY.
            writer.close()
        spent = facilities.seconds if facilities is not None else 0.0
        result.phases["load"] = time.perf_counter() - t0 - spent
        if fmt.accounts_done != plan.accounts:  # pragma: no cover - generator invariant
            raise RuntimeError("the generator produced a different number of accounts")
        if postgres:
            if plan.accounts:
                _move_sequence_past(session, first_id + plan.accounts - 1)
            if defs:
                t1 = time.perf_counter()
                _rebuild_indexes(session, defs)
                result.phases["indexes"] = time.perf_counter() - t1
                result.rebuilt_indexes = True
            t2 = time.perf_counter()
            session.execute(text(f"ANALYZE {', '.join(_TABLES)}"))
            result.phases["analyze"] = time.perf_counter() - t2
        result.residents = done
        result.accounts = fmt.accounts_done
        result.addresses = fmt.addresses_done
        if registries:
            from healthstack.seed.registries import seed_registries

            t4 = time.perf_counter()
            result.registries = seed_registries(
                session, runtime, profile=plan.profile, seed=seed, facilities=facilities
            )
            seconds = facilities.seconds if facilities is not None else 0.0
            result.phases["registries"] = time.perf_counter() - t4 + seconds
        t3 = time.perf_counter()
    result.phases["commit"] = time.perf_counter() - t3


def _move_sequence_past(session: Session, last_id: int) -> None:
    session.execute(
        text(
            "SELECT setval(s.seq, GREATEST(:last, COALESCE(pg_sequence_last_value(s.seq), 0))) "
            "FROM (SELECT CAST(pg_get_serial_sequence('abha_account', 'id') AS regclass) AS seq) s"
        ),
        {"last": last_id},
    )


def _next_account_id(session: Session, postgres: bool) -> int:
    """The first free account id; the table is locked (PostgreSQL) or write-locked (SQLite)."""
    if postgres:
        # nextval moves past anything ever handed out, including rolled-back inserts.
        return int(
            session.execute(
                text("SELECT nextval(pg_get_serial_sequence('abha_account', 'id'))")
            ).scalar_one()
        )
    top = session.scalar(select(AbhaAccount.id).order_by(AbhaAccount.id.desc()).limit(1))
    return int(top or 0) + 1


# --------------------------------------------------------------------------- progress


@contextmanager
def rich_progress(total: int, *, description: str = "Seeding residents") -> Iterator[ProgressFn]:
    """A Rich progress bar on stderr; yields the callback ``seed_state`` takes."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def _update(done: int) -> None:
            bar.update(task, completed=done)

        yield _update


__all__ = [
    "DEFAULT_BATCH",
    "BulkNumberPermutation",
    "SeedResult",
    "has_residents",
    "rich_progress",
    "seed_state",
]
