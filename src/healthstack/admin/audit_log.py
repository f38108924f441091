"""The audit log as an auditor reads it: filters, keyset paging and the CSV export.

Rows name their actors at query time: a staff row's ``actor_id`` is the staff user's
public id, joined to ``staff_user`` for the full name and username (the role is the
one the row recorded, as it was then). Patients are shown as "patient" with a masked
ABHA number, never in clear; the system, API clients and the gateway by what they are.

The patient filter takes what an auditor has in hand (an ABHA number, an ABHA address
or a resource id) and finds every row about that person: rows where they acted (the
actor id is their ABHA number) and rows about their account, their records at a
facility and their consent requests, artefacts and link transactions (the services
record each of these by its public id).

Paging is keyset on (``occurred_at``, ``id``), newest first, so a page deep in a large
log costs what the first one does and a row written meanwhile never shifts a page.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, sessionmaker

from healthstack.accounts.models import StaffUser
from healthstack.kernel.audit import AuditEvent, Outcome
from healthstack.kernel.context import ActorKind
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import AbhaNumber, looks_like_abha_number
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.web.timefmt import IST, local_time

PAGE_SIZE = 200
EXPORT_BATCH = 1000
MAX_ID = 2**63 - 1
# Wide enough for any real audit question; keeps date arithmetic far from its limits.
FIRST_YEAR, LAST_YEAR = 1900, 9998

_HANDLE = re.compile(r"^[a-z][a-z0-9._]{2,31}$")
_FACILITY = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,15}$")
_PATIENT_HELP = (
    "Enter the patient as an ABHA number (14 digits), an ABHA address (name@sbx) or a "
    "patient's resource id (as shown in the Resource column)."
)
_CURSOR_HELP = (
    "This link to older rows is not one this server gave out. Start again from the first "
    "page: open the Audit log again."
)
KNOWN_CLIENTS = {"abdm-gateway": "ABDM gateway", "hip-data-push": "HIP data push"}


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class PatientKeys:
    """What the patient filter matches: their ABHA numbers (rows they acted in) and the
    public ids of everything about them (rows about it)."""

    numbers: frozenset[str] = frozenset()
    resource_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    actor: str | None = None
    action: str | None = None
    patient: PatientKeys | None = None
    facility: str | None = None
    outcome: Outcome | None = None
    resource_id: str | None = None


def as_utc(value: datetime | None, field_name: str) -> datetime | None:
    """An API time as UTC (a time without an offset is taken as UTC)."""
    if value is None:
        return None
    try:
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        result = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        result = None
    if result is None or not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise ValidationFailed(
            f"{field_name} must be a time between the years {FIRST_YEAR} and {LAST_YEAR}, "
            "in ISO 8601 (for example 2026-12-01T00:00:00Z).",
            field=field_name,
        )
    return result


def check_range(since: datetime | None, until: datetime | None, *, names: tuple[str, str]) -> None:
    if since is not None and until is not None and since >= until:
        raise ValidationFailed(
            f"{names[0]} must be before {names[1]}. Swap them, or leave one empty.",
            field=names[0],
        )


def parse_ist_day(raw: str | None, label: str) -> date | None:
    """A day typed on the page (YYYY-MM-DD, as the date picker sends it)."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationFailed(
            f"{label}: enter a day as YYYY-MM-DD (for example 2026-12-01).", field=label.lower()
        )
    return day


def ist_day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in India (IST) as a UTC range: from the start of ``first`` to the end
    of ``last``."""
    if first and last and first > last:
        raise ValidationFailed("From must be on or before To.", field="from")
    since = datetime.combine(first, datetime.min.time(), IST).astimezone(UTC) if first else None
    until = (
        datetime.combine(last + timedelta(days=1), datetime.min.time(), IST).astimezone(UTC)
        if last
        else None
    )
    return since, until


def parse_facility(raw: str | None) -> str | None:
    text = (raw or "").strip().upper()
    if not text:
        return None
    if not _FACILITY.match(text):
        raise ValidationFailed(
            "facility: enter the facility's HFR id (IN followed by 10 digits, for example "
            "IN0110000123).",
            field="facility",
        )
    return text


def parse_outcome(raw: str | None) -> Outcome | None:
    text = (raw or "").strip().lower()
    if not text:
        return None
    try:
        return Outcome(text)
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        raise ValidationFailed(f"outcome must be one of: {choices}.", field="outcome") from None


def _text(raw: str | None, name: str, limit: int) -> str | None:
    text = (raw or "").strip()
    if len(text) > limit:
        raise ValidationFailed(f"{name} is at most {limit} characters.", field=name)
    if not text.isprintable():  # a NUL would reach PostgreSQL, which refuses it
        raise ValidationFailed(f"{name} may hold printable characters only.", field=name)
    return text or None


def actor_text(raw: str | None) -> str | None:
    return _text(raw, "actor", 128)


def action_text(raw: str | None) -> str | None:
    return _text(raw, "action", 64)


def resource_text(raw: str | None) -> str | None:
    return _text(raw, "resource_id", 64)


# --------------------------------------------------------------------------- patient


def resolve_patient(session: Session, *, raw: str | None) -> PatientKeys | None:
    """What the patient filter matches for what the auditor typed (see the module
    docstring); an empty match when nobody has that number or address."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > 64 or not text.isprintable():
        raise ValidationFailed(_PATIENT_HELP, field="patient")
    lowered = text.lower()
    handle = lowered.split("@", 1)[0] if lowered.count("@") == 1 else lowered
    numbers: set[str] = set()
    ids: set[str] = set()
    accounts: list[AbhaAccount] = []
    handles: set[str] = set()
    public_id = _uuid(text)
    if looks_like_abha_number(handle):
        numbers.add(re.sub(r"\D", "", handle))
    elif public_id is not None:
        ids.add(str(public_id))
        accounts += session.scalars(
            select(AbhaAccount).where(AbhaAccount.public_id == public_id)
        ).all()
        linked_numbers, linked_handles = _facility_patient_keys(session, public_id)
        numbers |= linked_numbers
        handles |= linked_handles
    elif _HANDLE.match(handle):
        handles.add(handle)
    else:
        raise ValidationFailed(_PATIENT_HELP, field="patient")
    if handles:
        accounts += session.scalars(
            select(AbhaAccount)
            .join(AbhaAddress, AbhaAddress.account_id == AbhaAccount.id)
            .where(AbhaAddress.handle.in_(handles))
        ).all()
    if numbers:
        accounts += session.scalars(
            select(AbhaAccount).where(AbhaAccount.abha_number.in_(numbers))
        ).all()
    for account in {a.id: a for a in accounts}.values():
        numbers.add(account.abha_number)
        ids.add(str(account.public_id))
        handles |= set(
            session.scalars(select(AbhaAddress.handle).where(AbhaAddress.account_id == account.id))
        )
        ids |= _account_resource_ids(session, account.id)
    ids |= _facility_patient_ids(session, numbers, handles)
    return PatientKeys(frozenset(numbers), frozenset(ids))


def _uuid(text: str) -> uuid.UUID | None:
    if len(text) not in (32, 36):
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _facility_patient_keys(session: Session, public_id: uuid.UUID) -> tuple[set[str], set[str]]:
    from healthstack.facility.records.models import FacilityPatient

    patient = session.scalar(select(FacilityPatient).where(FacilityPatient.public_id == public_id))
    if patient is None:
        return set(), set()
    numbers = {patient.abha_number} if patient.abha_number else set()
    handles = {patient.abha_address.split("@", 1)[0]} if patient.abha_address else set()
    return numbers, handles


def _facility_patient_ids(session: Session, numbers: set[str], handles: set[str]) -> set[str]:
    from healthstack.facility.records.models import FacilityPatient

    conditions: list[ColumnElement[bool]] = []
    if numbers:
        conditions.append(FacilityPatient.abha_number.in_(numbers))
    conditions += [
        func.lower(FacilityPatient.abha_address).startswith(f"{h}@", autoescape=True)
        for h in sorted(handles)
    ]
    conditions += [
        func.lower(FacilityPatient.abha_address).startswith(f"{n}@", autoescape=True)
        for n in sorted(numbers)
    ]
    if not conditions:
        return set()
    found = session.scalars(select(FacilityPatient.public_id).where(or_(*conditions)))
    return {str(p) for p in found}


def _account_resource_ids(session: Session, account_id: int) -> set[str]:
    from healthstack.network.consent.models import ConsentArtefact, ConsentRequest, LinkTransaction

    ids: set[str] = set()
    for model in (ConsentRequest, ConsentArtefact, LinkTransaction):
        found = session.scalars(select(model.public_id).where(model.account_id == account_id))
        ids |= {str(p) for p in found}
    return ids


# --------------------------------------------------------------------------- cursor


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: the next page starts strictly older than it."""

    at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.at.astimezone(UTC).isoformat()}~{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        text = (raw or "").strip()
        if not text:
            return None
        try:
            if len(text) > 128:
                raise ValueError
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, _, number = decoded.partition("~")
            at = datetime.fromisoformat(when)
            row_id = int(number) if number.isdigit() else 0
            if at.tzinfo is None or not 1 <= row_id <= MAX_ID:
                raise ValueError
            return cls(at.astimezone(UTC), row_id)
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
            raise ValidationFailed(_CURSOR_HELP, field="cursor") from None


# --------------------------------------------------------------------------- query


@dataclass(frozen=True)
class AuditEntry:
    """One row as an auditor reads it (patients masked, staff named)."""

    row_id: int
    event_id: str
    occurred_at: datetime
    actor_kind: str
    actor_id: str
    actor_role: str | None
    actor_name: str | None
    actor_username: str | None
    actor_display: str
    facility_id: str | None
    purpose: str
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    reason_code: str | None
    request_id: str | None
    client_address: str | None
    chain_seq: int | None

    @property
    def role_label(self) -> str:
        return (self.actor_role or "").replace("_", " ")


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: Cursor | None = None
    notes: list[str] = field(default_factory=list)


def mask_patient_id(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 14:
        return AbhaNumber(digits).masked
    return "XXXX" + value[-4:] if len(value) > 4 else "XXXX"


def _display(kind: str, actor_id: str, name: str | None, username: str | None) -> str:
    if name is not None:
        who = f"{name} ({username})"
        return f"{who}, API token" if kind == ActorKind.CLIENT.value else who
    if kind == ActorKind.PATIENT.value:
        return f"patient {mask_patient_id(actor_id)}"
    if kind == ActorKind.SYSTEM.value:
        return "system" if actor_id == "system" else f"system ({actor_id})"
    if kind == ActorKind.CLIENT.value:
        return KNOWN_CLIENTS.get(actor_id, f"API client {actor_id}")
    if kind == ActorKind.STAFF.value:
        return f"staff account {actor_id} (not on record)"
    return "anonymous (self-service)" if actor_id.startswith("anonymous:") else kind


def _staff_join(session: Session) -> ColumnElement[bool]:
    """Rows of staff (and their API tokens) to their staff user by public id. SQLite
    keeps a UUID as 32 hex digits, PostgreSQL as uuid: compare each in its own form."""
    if session.get_bind().dialect.name == "postgresql":
        same = cast(StaffUser.public_id, String) == AuditEvent.actor_id
    else:
        same = type_coerce(StaffUser.public_id, String) == func.replace(
            AuditEvent.actor_id, "-", ""
        )
    return and_(AuditEvent.actor_kind.in_((ActorKind.STAFF.value, ActorKind.CLIENT.value)), same)


def _conditions(filters: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.since is not None:
        where.append(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        where.append(AuditEvent.occurred_at < filters.until)
    if filters.actor:
        typed = filters.actor.lower()
        where.append(
            or_(
                AuditEvent.actor_id == filters.actor,
                func.lower(StaffUser.username).contains(typed, autoescape=True),
                func.lower(StaffUser.full_name).contains(typed, autoescape=True),
                # The system, clients and the gateway by part of their id; never a
                # patient's number by a fragment, nor a staff row by its UUID's hex.
                and_(
                    AuditEvent.actor_kind.not_in((ActorKind.PATIENT.value, ActorKind.STAFF.value)),
                    StaffUser.id.is_(None),
                    func.lower(AuditEvent.actor_id).contains(typed, autoescape=True),
                ),
            )
        )
    if filters.action:
        typed = filters.action.lower()
        if typed.endswith((".", "*")):
            where.append(AuditEvent.action.startswith(typed.rstrip("*"), autoescape=True))
        else:
            where.append(AuditEvent.action.contains(typed, autoescape=True))
    if filters.patient is not None:
        keys = filters.patient
        matches: list[ColumnElement[bool]] = []
        if keys.numbers:
            matches.append(
                and_(
                    AuditEvent.actor_kind == ActorKind.PATIENT.value,
                    AuditEvent.actor_id.in_(sorted(keys.numbers)),
                )
            )
        if keys.resource_ids:
            matches.append(AuditEvent.resource_id.in_(sorted(keys.resource_ids)))
        where.append(or_(*matches) if matches else false())
    if filters.facility:
        where.append(
            or_(
                AuditEvent.facility_id == filters.facility,
                and_(
                    AuditEvent.resource_type == "facility",
                    AuditEvent.resource_id == filters.facility,
                ),
            )
        )
    if filters.outcome is not None:
        where.append(AuditEvent.outcome == filters.outcome.value)
    if filters.resource_id:
        where.append(AuditEvent.resource_id == filters.resource_id)
    return where


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.public_id,
    AuditEvent.occurred_at,
    AuditEvent.actor_kind,
    AuditEvent.actor_id,
    AuditEvent.actor_role,
    AuditEvent.facility_id,
    AuditEvent.purpose,
    AuditEvent.action,
    AuditEvent.resource_type,
    AuditEvent.resource_id,
    AuditEvent.outcome,
    AuditEvent.reason_code,
    AuditEvent.request_id,
    AuditEvent.client_address,
    AuditEvent.chain_seq,
    StaffUser.full_name,
    StaffUser.username,
)


def _query(
    session: Session, filters: AuditFilter, cursor: Cursor | None
) -> Select[*tuple[Any, ...]]:
    query = (
        select(*_COLUMNS)
        .outerjoin(StaffUser, _staff_join(session))
        .where(*_conditions(filters))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    if cursor is not None:
        query = query.where(
            or_(
                AuditEvent.occurred_at < cursor.at,
                and_(AuditEvent.occurred_at == cursor.at, AuditEvent.id < cursor.id),
            )
        )
    return query


def _entry(row: Any) -> AuditEntry:
    patient = row.actor_kind == ActorKind.PATIENT.value
    return AuditEntry(
        row_id=row.id,
        event_id=str(row.public_id),
        occurred_at=row.occurred_at,
        actor_kind=row.actor_kind,
        actor_id=mask_patient_id(row.actor_id) if patient else row.actor_id,
        actor_role=row.actor_role,
        actor_name=row.full_name,
        actor_username=row.username,
        actor_display=_display(row.actor_kind, row.actor_id, row.full_name, row.username),
        facility_id=row.facility_id,
        purpose=row.purpose,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        outcome=row.outcome,
        reason_code=row.reason_code,
        request_id=row.request_id,
        client_address=row.client_address,
        chain_seq=row.chain_seq,
    )


def search(
    session: Session, *, filters: AuditFilter, cursor: Cursor | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    """One page, newest first, and where the next (older) one starts."""
    rows = session.execute(_query(session, filters, cursor).limit(limit + 1)).all()
    entries = [_entry(r) for r in rows[:limit]]
    more = len(rows) > limit and entries
    notes = []
    if filters.patient is not None and not (
        filters.patient.numbers or filters.patient.resource_ids
    ):
        notes.append("No ABHA account or facility patient has that number, address or id.")
    return AuditPage(
        entries=entries,
        next_cursor=Cursor(entries[-1].occurred_at, entries[-1].row_id) if more else None,
        notes=notes,
    )


def stream(
    factory: sessionmaker[Session], *, filters: AuditFilter, batch: int = EXPORT_BATCH
) -> Iterator[AuditEntry]:
    """Every matching row, newest first, a batch at a time in its own session: memory
    stays flat however large the export, and no read transaction stays open between
    batches."""
    session = factory()
    try:
        cursor: Cursor | None = None
        while True:
            page = search(session, filters=filters, cursor=cursor, limit=batch)
            session.rollback()  # nothing written: ends the batch's read transaction
            yield from page.entries
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
    finally:
        session.close()


# --------------------------------------------------------------------------- CSV

CSV_HEADER = (
    "occurred_at_utc",
    "occurred_at_ist",
    "actor",
    "actor_kind",
    "actor_username",
    "actor_role",
    "facility_id",
    "purpose",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "reason_code",
    "client_address",
    "request_id",
    "chain_seq",
    "event_id",
)
TIME_FORMAT = "%d %b %Y, %H:%M:%S"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula: a staff name is typed by
    # people, so it must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_chunks(entries: Iterable[AuditEntry], *, per_chunk: int = 500) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for n, e in enumerate(entries, start=1):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    e.occurred_at.astimezone(UTC).isoformat(),
                    local_time(e.occurred_at, TIME_FORMAT),
                    e.actor_display,
                    e.actor_kind,
                    e.actor_username,
                    e.actor_role,
                    e.facility_id,
                    e.purpose,
                    e.action,
                    e.resource_type,
                    e.resource_id,
                    e.outcome,
                    e.reason_code,
                    e.client_address,
                    e.request_id,
                    e.chain_seq,
                    e.event_id,
                )
            ]
        )
        if n % per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
