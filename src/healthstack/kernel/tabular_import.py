"""The CSV preview-and-confirm that the state's uploaded lists share (the HFR facility
master, the HR roster): the file read and checked as a dry run, the preview kept, the
confirm that makes its rows the list in force.

A state uploads a file and reads the preview (every broken row named), then confirms.

- Reading (``parse_csv``): the file is decoded (``decode_csv``: UTF-8, UTF-8 with a
  BOM or Windows-1252 as Excel saves it; anything else is refused with what to do),
  its header checked (missing columns named, unknown ones ignored with a warning,
  repeated ones refused), every row checked by the list's own rule and against the
  rows before it (``Unique``: one employee id, one state code per file). Each broken
  row is listed by its line in the file (the header is line 1) with every reason.
- The preview (``CsvImport``, ``new_preview``): the good rows wait server-side in
  the import row, keyed by its public id; nothing else is written.
- The confirm (``confirm_preview``) is refused when the preview is no longer the thing
  the person read: already confirmed, replaced, expired, a different file, older than
  the list now in force, or with no good row at all (``assert_confirmable``).
  Otherwise the list in force is marked superseded and the previewed rows become the
  entries of the new one, in the same transaction.

Each list keeps its own columns, row rule, words and error codes (``CsvForm``,
``ConfirmCodes``), its permission and its audit.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import JSON, ColumnElement, Integer, String, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from healthstack.kernel.clock import Clock
from healthstack.kernel.db import Base, IdMixin
from healthstack.kernel.errors import Conflict, ValidationFailed

# A preview can be confirmed for this long after the upload.
PREVIEW_TTL = timedelta(hours=24)
# Entries are inserted this many at a time.
_CHUNK = 1000


def _refuse_file(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", code=code)


def decode_csv(data: bytes, *, what: str) -> tuple[str, str]:
    """The text of an uploaded CSV file and the encoding found: ``utf-8-sig``, ``utf-8``
    or ``windows-1252`` (what Excel writes for "CSV" on Windows). ``what`` names the
    list in the messages ("the facility list"). Anything else is refused saying how to
    save the file."""
    if not data.strip():
        raise _refuse_file(
            f"The file is empty. Export {what} again and upload the CSV file.",
            "HS-1350",
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse_file(
            "This is an Excel workbook, not a CSV file. In Excel choose File > Save As > "
            "'CSV UTF-8 (Comma delimited)' and upload that file.",
            "HS-1351",
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        raise _refuse_file(
            "The file is saved as UTF-16 ('Unicode text') or is not text at all. Save it as "
            "'CSV UTF-8 (Comma delimited)' and upload again.",
            "HS-1352",
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass  # a BOM and then something else: report it below
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                return data.decode("windows-1252"), "windows-1252"
            except UnicodeDecodeError:
                pass
    raise _refuse_file(
        "The file's text encoding is neither UTF-8 nor Windows-1252. Open it in a "
        "spreadsheet and save it as 'CSV UTF-8 (Comma delimited)', then upload again.",
        "HS-1353",
    )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CsvCodes:
    """A list's error codes for the refusals of the whole file."""

    header: str  # no header, or columns separated by semicolons
    repeated_column: str
    missing_column: str
    too_large: str  # the file's size, or its number of rows
    unreadable: str  # not CSV (quotes)
    no_rows: str


@dataclass(frozen=True)
class CsvForm:
    """What one kind of list looks like and how its messages speak of it."""

    what: str  # "the facility list": the decoding messages name it
    things: str  # "facilities": what each row is
    split_by: str  # "division": how a file too long is cut
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # Other names of a column -> its name (after lower case, "_" for spaces and "-").
    aliases: Mapping[str, str]
    max_bytes: int
    too_large: str  # the message for a file over ``max_bytes``
    max_rows: int
    codes: CsvCodes

    def column(self, raw: str) -> str:
        key = "_".join(raw.strip().lower().replace("-", " ").replace(".", " ").split())
        return self.aliases.get(key, key)


Row = dict[str, Any]
# (the reasons a row is broken, or the row ready to keep); ``columns`` are the
# header's column names, ``record`` the row's cells.
RowCheck = Callable[[list[str], list[str]], tuple[list[str], Row | None]]


@dataclass(frozen=True)
class Unique:
    """What may appear once per file: ``key`` of a good row (None: nothing to compare),
    and what a repeat says, given the row and the line it repeats."""

    key: Callable[[Row], Hashable | None]
    says: Callable[[Row, int], str]


@dataclass
class ParsedCsv:
    encoding: str
    data_rows: int
    rows: list[Row]  # the good rows, each with its ``line``
    broken: list[dict[str, Any]]  # {"line": n, "reason": "..."}
    warnings: list[str] = field(default_factory=list)


def _header(reader: Any, form: CsvForm) -> tuple[list[str], list[str]]:
    codes = form.codes
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or not any(cell.strip() for cell in header):
        raise _refuse_file(
            f"The first line must name the columns ({', '.join(form.required)}, ...), "
            "but it is empty.",
            codes.header,
        )
    if len(header) == 1 and ";" in header[0]:
        raise _refuse_file(
            "The columns are separated by semicolons. Save the file as CSV with commas "
            "('CSV UTF-8 (Comma delimited)') and upload again.",
            codes.header,
        )
    columns = [form.column(c) for c in header]
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise _refuse_file(
            f"The column {', '.join(repeated)} appears more than once in the first line. "
            "Keep one of each.",
            codes.repeated_column,
        )
    missing = [c for c in form.required if c not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise _refuse_file(
            f"The file lacks the column(s) {', '.join(missing)}. The first line must name "
            f"the columns {', '.join(form.required)} (optionally "
            f"{', '.join(form.optional)}); this file has: {found[:300]}.",
            codes.missing_column,
        )
    return header, columns


def parse_csv(
    data: bytes, *, form: CsvForm, check_row: RowCheck, unique: Sequence[Unique] = ()
) -> ParsedCsv:
    """Check an uploaded list without writing anything (the dry run)."""
    codes = form.codes
    if len(data) > form.max_bytes:
        raise _refuse_file(form.too_large, codes.too_large)
    text, encoding = decode_csv(data, what=form.what)
    reader = csv.reader(io.StringIO(text, newline=""))
    header, columns = _header(reader, form)
    result = ParsedCsv(encoding=encoding, data_rows=0, rows=[], broken=[])
    known = form.required + form.optional
    ignored = [h.strip() for h, c in zip(header, columns, strict=True) if c not in known]
    if ignored:
        result.warnings.append(
            f"These columns are not used and were ignored: {', '.join(ignored)[:300]}."
        )
    seen: list[dict[Hashable, int]] = [{} for _ in unique]
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            result.data_rows += 1
            if result.data_rows > form.max_rows:
                raise _refuse_file(
                    f"The file has more than {form.max_rows} {form.things}; split it by "
                    f"{form.split_by}.",
                    codes.too_large,
                )
            reasons, row = check_row(record, columns)
            if row is None:
                result.broken.append({"line": start, "reason": "; ".join(reasons)})
                continue
            keys = [rule.key(row) for rule in unique]
            repeat = next(
                (
                    rule.says(row, lines[key])
                    for rule, key, lines in zip(unique, keys, seen, strict=True)
                    if key is not None and key in lines
                ),
                None,
            )
            if repeat is not None:
                result.broken.append({"line": start, "reason": repeat})
                continue
            for key, lines in zip(keys, seen, strict=True):
                if key is not None:
                    lines[key] = start
            row["line"] = start
            result.rows.append(row)
    except csv.Error as exc:
        raise _refuse_file(
            f"The file is not a readable CSV near line {reader.line_num} ({exc}). Check the "
            "quotes around that line, save as CSV again and upload.",
            codes.unreadable,
        ) from None
    if result.data_rows == 0:
        raise _refuse_file(
            f"The file has the column names but no {form.things} under them.", codes.no_rows
        )
    return result


# --------------------------------------------------------------------------- the preview


class CsvImport(IdMixin):
    """The columns every import model has (mixed into the model): one upload, a
    preview until confirmed. The parsed good rows wait in ``rows`` (server-side), so
    what is confirmed is exactly what was previewed; a changed file needs a new
    preview."""

    # previewed | confirmed | superseded (a later import replaced it) | expired
    status: Mapped[str] = mapped_column(String(12), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(16))
    data_rows: Mapped[int] = mapped_column(Integer)
    valid_rows: Mapped[int] = mapped_column(Integer)
    # [{"line": n, "reason": "..."}]: reasons name columns and rules, never values.
    broken: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None]


class Preview(Protocol):
    status: str
    expires_at: datetime
    created_at: datetime
    confirmed_at: datetime | None
    sha256: str
    valid_rows: int
    rows: Any


ImportT = TypeVar("ImportT", bound=CsvImport)


def new_preview(
    session: Session,
    *,
    model: type[ImportT],
    parsed: ParsedCsv,
    data: bytes,
    filename: str,
    created_by: str,
    now: datetime,
    **columns: Any,
) -> ImportT:
    """Keep ``parsed`` as a preview (``model``'s own ``columns`` beside the shared ones)."""
    preview = model()
    preview.status = "previewed"
    preview.filename = filename[:200]
    preview.sha256 = hashlib.sha256(data).hexdigest()
    preview.encoding = parsed.encoding
    preview.data_rows = parsed.data_rows
    preview.valid_rows = len(parsed.rows)
    preview.broken = parsed.broken
    preview.warnings = parsed.warnings
    preview.rows = parsed.rows
    preview.created_by = created_by[:64]
    preview.created_at = now
    preview.expires_at = now + PREVIEW_TTL
    for name, value in columns.items():
        setattr(preview, name, value)
    session.add(preview)
    session.flush()
    return preview


def find_preview(
    session: Session, *, model: type[ImportT], import_id: str | uuid.UUID
) -> ImportT | None:
    """The import with this public id (as typed in an address: maybe not a UUID)."""
    try:
        pid = import_id if isinstance(import_id, uuid.UUID) else uuid.UUID(str(import_id))
    except ValueError:
        return None
    found: ImportT | None = session.scalar(select(model).where(model.public_id == pid))
    return found


def import_status(preview: Preview, *, now: datetime) -> str:
    """``previewed``, ``confirmed``, ``superseded`` or ``expired`` (a stale preview)."""
    if preview.status == "previewed" and preview.expires_at <= now:
        return "expired"
    return preview.status


@dataclass(frozen=True)
class ConfirmCodes:
    """Each domain's error codes for the four refusals, in this order."""

    not_previewed: str
    file_changed: str
    older_than_current: str
    nothing_valid: str


def assert_confirmable(
    preview: Preview,
    *,
    now: datetime,
    sha256: str | None,
    current: Preview | None,
    noun: str,
    codes: ConfirmCodes,
) -> None:
    """Raise unless ``preview`` may be confirmed now; ``noun`` names the list."""
    status = import_status(preview, now=now)
    if status != "previewed":
        raise Conflict(
            {
                "confirmed": f"This {noun} is already imported.",
                "superseded": f"This {noun} was imported and has since been replaced.",
                "expired": "This preview is more than a day old. Upload the file again "
                "for a new preview.",
            }.get(status, "This upload cannot be imported. Upload the file again."),
            code=codes.not_previewed,
        )
    if sha256 is not None and sha256.lower() != preview.sha256:
        raise Conflict(
            "The file changed since its preview. Upload it again and check the new "
            "preview before confirming.",
            field="sha256",
            code=codes.file_changed,
        )
    if current is not None and (current.confirmed_at or now) > preview.created_at:
        raise Conflict(
            f"Another {noun} was imported after this preview was made. Upload the file "
            f"again so the preview is checked against the {noun} now in force.",
            code=codes.older_than_current,
        )
    if not preview.valid_rows or not preview.rows:
        raise ValidationFailed(
            "Every row of this file is broken, so there is nothing to import. Fix the "
            "rows listed in the preview and upload the file again.",
            code=codes.nothing_valid,
        )


def confirm_preview(
    session: Session,
    *,
    preview: ImportT,
    in_force: Callable[[], ImportT | None],
    scope: Sequence[ColumnElement[bool]] = (),
    entry: type[Base],
    entry_columns: Mapping[str, Any],
    confirmed_by: str,
    clock: Clock,
    sha256: str | None,
    noun: str,
    codes: ConfirmCodes,
) -> datetime:
    """Make ``preview``'s rows the list in force: lock it (a second confirm of the same
    upload waits here, then finds it confirmed), check it may be confirmed against the
    list ``in_force`` in the same ``scope`` (a state's master), mark that one
    superseded, and insert the rows as ``entry`` rows of this import (with
    ``entry_columns`` beside each row's own). Returns the time of the confirm; the
    caller reconciles afterwards."""
    session.refresh(preview, with_for_update=True)
    now = clock.now()
    assert_confirmable(preview, now=now, sha256=sha256, current=in_force(), noun=noun, codes=codes)
    model = type(preview)
    session.execute(
        update(model).where(*scope, model.status == "confirmed").values(status="superseded")
    )
    entries = [
        {**r, "public_id": uuid.uuid4(), "import_id": preview.id, **entry_columns}
        for r in preview.rows or ()  # never empty: assert_confirmable checked
    ]
    for start in range(0, len(entries), _CHUNK):
        session.execute(insert(entry), entries[start : start + _CHUNK])
    preview.status = "confirmed"
    preview.confirmed_by = confirmed_by[:64]
    preview.confirmed_at = now
    preview.rows = None  # now in the entry table
    session.flush()
    return now
