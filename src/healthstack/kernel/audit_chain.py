"""The tamper-evident chain over the audit trail (docs/adr/0012).

Writers add ``audit_event`` rows unsealed and take no lock. ``seal`` (the worker's
``audit.seal`` job, or ``healthstack audit seal``) gives the committed unsealed rows,
one sealer at a time, the next sequence numbers and
``chain_hash = HMAC(chain key, previous hash || canonical row)``; the one-row table
``audit_chain`` keeps the end of the chain. ``verify`` walks the chain by sequence and
reports the first broken link, and rows left unsealed for longer than expected.

The keys are derived from the deployment's secret key by ``KeyedHasher``, one per use
(the chain, the per-field tags, the head's MAC), never the bare secret.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, String, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.db import Base
from healthstack.kernel.errors import DomainError

log = logging.getLogger("healthstack.audit")

GENESIS = "0" * 64  # the "previous hash" of the first row
HEAD_ID = 1
SEAL_BATCH = 5000
TAG_HEX = 4  # 2 bytes of keyed tag per field: enough to name the field that changed

# The columns an auditor reads, in the order they enter the canonical row. Adding one
# is a new chain format: a new key label, and verify taught both.
CHAINED = (
    "public_id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_role",
    "facility_id",
    "purpose",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "reason_code",
    "request_id",
    "client_address",
)
TAGGED = ("chain_seq", *CHAINED)
LABELS = {
    "chain_seq": "its sequence number",
    "public_id": "event id",
    "occurred_at": "time",
    "actor_kind": "actor kind",
    "actor_id": "actor",
    "actor_role": "actor role",
    "facility_id": "facility",
    "purpose": "purpose",
    "action": "action",
    "resource_type": "resource type",
    "resource_id": "resource id",
    "outcome": "outcome",
    "reason_code": "reason",
    "request_id": "request id",
    "client_address": "client address",
}


class AuditChain(Base):
    """The end of the chain: what the sealer continues from and verify checks the last
    row against. One row (``id`` 1); its MAC stops the end being moved back by hand."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    head_mac: Mapped[str] = mapped_column(String(64))
    # A fingerprint of the chain key, so verify can tell "another key" from tampering.
    key_id: Mapped[str] = mapped_column(String(16))
    sealed_at: Mapped[datetime | None]


class ChainKeyMismatch(DomainError):
    """The chain was sealed under another key: the deployment's secret key changed."""

    code = "HS-1801"


@dataclass(frozen=True)
class ChainKey:
    chain: bytes
    tags: bytes
    head: bytes
    key_id: str

    @classmethod
    def from_hasher(cls, hasher: KeyedHasher) -> ChainKey:
        return cls(
            chain=bytes.fromhex(hasher.hash("audit-chain", "chain-v1")),
            tags=bytes.fromhex(hasher.hash("audit-chain", "tags-v1")),
            head=bytes.fromhex(hasher.hash("audit-chain", "head-v1")),
            key_id=hasher.hash("audit-chain", "key-id-v1")[:16],
        )

    def link(self, previous: str, seq: int, row: Any) -> str:
        message = bytes.fromhex(previous) + canonical(seq, row)
        return hmac.digest(self.chain, message, "sha256").hex()

    def tags_of(self, seq: int, row: Any) -> str:
        values = [str(seq), *(_value(row, name) for name in CHAINED)]
        return "".join(self._tag(name, value) for name, value in zip(TAGGED, values, strict=True))

    def _tag(self, name: str, value: str | None) -> str:
        # "name NUL" for an empty value, "name NUL = value" otherwise: never ambiguous.
        message = f"{name}\x00" if value is None else f"{name}\x00={value}"
        return hmac.digest(self.tags, message.encode(), "sha256")[: TAG_HEX // 2].hex()

    def head_mac(self, seq: int, last_hash: str) -> str:
        message = f"{seq}:{last_hash}".encode()
        return hmac.digest(self.head, message, "sha256").hex()


def _value(row: Any, name: str) -> str | None:
    value = getattr(row, name)
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return str(value)


def canonical(seq: int, row: Any) -> bytes:
    """The row as the chain sees it: its sequence number and every chained column, as a
    compact JSON array (unambiguous: no separator can be forged inside a value)."""
    values = [seq, *(_value(row, name) for name in CHAINED)]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


_COLUMNS = [getattr(AuditEvent, name) for name in ("id", "chain_seq", "chain_hash", "chain_tags")]
_ROW = [*_COLUMNS, *(getattr(AuditEvent, name) for name in CHAINED)]


# --------------------------------------------------------------------------- sealing


def _claim_head(session: Session, key: ChainKey) -> AuditChain | None:
    """Lock the chain's end for this transaction, creating it on first use; None when
    another sealer holds it. On SQLite the insert is the transaction's first statement,
    so it takes the database's write lock before anything is read."""
    values = {
        "id": HEAD_ID,
        "last_seq": 0,
        "last_hash": GENESIS,
        "head_mac": key.head_mac(0, GENESIS),
        "key_id": key.key_id,
        "sealed_at": None,
    }
    dialect = session.get_bind().dialect.name
    query = select(AuditChain).where(AuditChain.id == HEAD_ID)
    if dialect == "postgresql":
        session.execute(pg_insert(AuditChain).values(values).on_conflict_do_nothing())
        query = query.with_for_update(skip_locked=True)
    elif dialect == "sqlite":
        session.execute(sqlite_insert(AuditChain).values(values).on_conflict_do_nothing())
    elif session.get(AuditChain, HEAD_ID) is None:  # pragma: no cover - other databases
        session.add(AuditChain(**values))
        session.flush()
    return session.scalar(query.execution_options(populate_existing=True))


def seal(session: Session, *, key: ChainKey, clock: Clock, limit: int = SEAL_BATCH) -> int:
    """Seal up to ``limit`` committed unsealed rows, oldest first; how many it sealed
    (0 when there are none, or another sealer is at work)."""
    head = _claim_head(session, key)
    if head is None:
        return 0
    if head.key_id != key.key_id:
        if head.last_seq:
            raise ChainKeyMismatch(
                "The audit chain was sealed under another key: HEALTHSTACK_SECRET_KEY is "
                "not the one it was sealed with. Restore that key; nothing is sealed "
                "until then."
            )
        head.key_id = key.key_id  # an empty chain: nothing sealed under the old key
    rows = session.execute(
        select(*_ROW)
        .where(AuditEvent.chain_seq.is_(None))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    previous, seq = head.last_hash, head.last_seq
    changes = []
    for row in rows:
        seq += 1
        previous = key.link(previous, seq, row)
        changes.append(
            {
                "id": row.id,
                "chain_seq": seq,
                "chain_hash": previous,
                "chain_tags": key.tags_of(seq, row),
            }
        )
    session.execute(update(AuditEvent), changes)
    head.last_seq, head.last_hash = seq, previous
    head.head_mac = key.head_mac(seq, previous)
    head.sealed_at = clock.now()
    session.flush()
    return len(rows)


def seal_job(session: Session, runtime: Any) -> int:
    """The worker's ``audit.seal``: a key mismatch is logged, not raised, so the other
    jobs still run (verify reports it)."""
    try:
        return seal(session, key=ChainKey.from_hasher(runtime.hasher), clock=runtime.clock)
    except ChainKeyMismatch:
        log.error(
            "audit chain sealed under another key: sealing stopped; run healthstack audit verify"
        )
        return 0


# --------------------------------------------------------------------------- verifying


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link: at which sequence number, which row, and what is wrong."""

    seq: int | None
    what: str
    event_id: str | None = None
    occurred_at: datetime | None = None
    fields: list[str] = field(default_factory=list)
    # For a missing row: the event and time are those of the next row found.
    of_next_row: bool = False


@dataclass(frozen=True)
class ChainReport:
    rows: int  # rows found intact, in order, from the start of the chain
    problem: ChainBreak | None
    unsealed: int
    overdue: int  # unsealed for longer than the grace
    grace: timedelta
    head_seq: int
    head_hash: str

    @property
    def intact(self) -> bool:
        return self.problem is None and self.overdue == 0

    def summary(self, show_time: Callable[[datetime], str] = _utc) -> str:
        """What an auditor reads; ``show_time`` writes the broken row's time (the CLI
        gives IST and UTC)."""
        parts = []
        if self.problem is None:
            parts.append(f"{_rows(self.rows)}, chain intact.")
        else:
            parts.append(describe(self.problem, intact_before=self.rows, show_time=show_time))
        if self.overdue:
            minutes = int(self.grace.total_seconds() // 60)
            parts.append(
                f"{_rows(self.overdue)} unsealed for more than {minutes} minutes: is the "
                "worker running? (`healthstack audit seal` seals them now)."
            )
        elif self.unsealed:
            parts.append(f"{_rows(self.unsealed)} written in the last minutes not sealed yet.")
        return " ".join(parts)


def describe(
    problem: ChainBreak, *, intact_before: int, show_time: Callable[[datetime], str] = _utc
) -> str:
    where = f" at row {problem.seq}" if problem.seq is not None else ""
    detail = []
    if problem.event_id:
        detail.append(f"event {problem.event_id}")
    if problem.occurred_at is not None:
        detail.append(show_time(problem.occurred_at))
    said = ""
    if detail:
        said = f" ({'next row: ' if problem.of_next_row else ''}{', '.join(detail)})"
    text = f"Chain broken{where}{said}: {problem.what}."
    if problem.seq is not None:
        text += f" {_rows(intact_before)} before it {'is' if intact_before == 1 else 'are'} intact."
    return text


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _sealed(session: Session, batch: int) -> Iterator[Any]:
    last = 0
    while True:
        rows = session.execute(
            select(*_ROW)
            .where(AuditEvent.chain_seq > last)
            .order_by(AuditEvent.chain_seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].chain_seq


def _changed_fields(key: ChainKey, seq: int, row: Any) -> list[str]:
    stored = row.chain_tags or ""
    now = key.tags_of(seq, row)
    if len(stored) != len(now):
        return []
    return [
        name
        for i, name in enumerate(TAGGED)
        if stored[i * TAG_HEX : (i + 1) * TAG_HEX] != now[i * TAG_HEX : (i + 1) * TAG_HEX]
    ]


def _broken_row(key: ChainKey, seq: int, row: Any) -> ChainBreak:
    fields = _changed_fields(key, seq, row)
    if "chain_seq" in fields:
        what = "the row is out of its place: its sequence number was changed (rows reordered)"
    elif fields:
        what = "changed after it was sealed: " + ", ".join(LABELS[f] for f in fields)
    else:
        what = (
            "its link to the row before does not hold: its stored hash was altered, or the "
            "row before it was replaced"
        )
    return ChainBreak(
        seq=seq,
        what=what,
        event_id=str(row.public_id),
        occurred_at=row.occurred_at,
        fields=fields,
    )


def _walk(session: Session, key: ChainKey, batch: int) -> tuple[int, str, ChainBreak | None]:
    expected, previous, count = 1, GENESIS, 0
    for row in _sealed(session, batch):
        if row.chain_seq != expected:
            span = (
                f"row {expected} is missing"
                if row.chain_seq == expected + 1
                else f"rows {expected} to {row.chain_seq - 1} are missing"
            )
            return (
                count,
                previous,
                ChainBreak(
                    seq=expected,
                    what=f"{span} (deleted, or its sequence number changed); the next row is "
                    f"row {row.chain_seq}",
                    event_id=str(row.public_id),
                    occurred_at=row.occurred_at,
                ),
            )
        if not hmac.compare_digest(key.link(previous, expected, row), row.chain_hash or ""):
            return count, previous, _broken_row(key, expected, row)
        previous, expected, count = row.chain_hash, expected + 1, count + 1
    return count, previous, None


def verify(
    session: Session,
    *,
    key: ChainKey,
    clock: Clock,
    grace: timedelta = timedelta(minutes=5),
    batch: int = SEAL_BATCH,
) -> ChainReport:
    """Walk the whole chain by sequence; the first broken link, if any."""
    unsealed = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None))
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.chain_seq.is_(None), AuditEvent.occurred_at < clock.now() - grace)
    )
    head = session.get(AuditChain, HEAD_ID)
    report: dict[str, Any] = {
        "unsealed": unsealed or 0,
        "overdue": overdue or 0,
        "grace": grace,
        "head_seq": head.last_seq if head else 0,
        "head_hash": head.last_hash if head else GENESIS,
    }
    if head is not None and head.key_id != key.key_id:
        return ChainReport(
            rows=0,
            problem=ChainBreak(
                seq=None,
                what="the rows were sealed under another key (HEALTHSTACK_SECRET_KEY is not "
                "the one they were sealed with); verify with that key",
            ),
            **report,
        )
    count, last_hash, problem = _walk(session, key, batch)
    if problem is None:
        problem = _check_end(key, head, count, last_hash)
    return ChainReport(rows=count, problem=problem, **report)


def _check_end(
    key: ChainKey, head: AuditChain | None, count: int, last_hash: str
) -> ChainBreak | None:
    if head is None:
        if count:
            return ChainBreak(seq=count, what="the chain's head record is missing (deleted)")
        return None
    if count < head.last_seq:
        span = (
            f"row {count + 1} is missing"
            if head.last_seq == count + 1
            else f"rows {count + 1} to {head.last_seq} are missing"
        )
        return ChainBreak(
            seq=count + 1,
            what=f"{span}: deleted from the end of the chain (its head says "
            f"{head.last_seq:,} rows were sealed)",
        )
    if count > head.last_seq or last_hash != head.last_hash:
        return ChainBreak(
            seq=head.last_seq,
            what="the chain's head does not match its last row (the head was moved back "
            "by hand, or rows were sealed outside the sealer)",
        )
    if not hmac.compare_digest(key.head_mac(head.last_seq, head.last_hash), head.head_mac):
        return ChainBreak(
            seq=head.last_seq,
            what="the chain's head was altered by hand (its MAC does not hold): rows after "
            f"row {head.last_seq} may have been deleted",
        )
    return None
