"""The rules every previewed CSV import obeys before its confirm writes anything.

A state uploads a file, reads the preview (every broken row named), then confirms. The
confirm is refused when the preview is no longer the thing the person read: already
confirmed, replaced, expired, a different file, older than the list now in force, or
with no good row at all. The facility master and the HR roster share these rules, and
the decoding of the uploaded file (``decode_csv``).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from healthstack.kernel.errors import Conflict, ValidationFailed


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


class Preview(Protocol):
    status: str
    expires_at: datetime
    created_at: datetime
    confirmed_at: datetime | None
    sha256: str
    valid_rows: int
    rows: Any


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
