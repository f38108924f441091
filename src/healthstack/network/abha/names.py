"""Name normalisation shared by enrolment, search and seeding."""

from __future__ import annotations

import re
import unicodedata

_NON_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """Lower-case ASCII letters and single spaces: ``"Mohd.  Yousuf"`` -> ``"mohd yousuf"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SPACES.sub(" ", _NON_LETTERS.sub(" ", ascii_name.lower())).strip()


def split_name(name: str) -> tuple[str, str | None, str | None]:
    """First, middle and last name from a full name as UIDAI returns it."""
    parts = _SPACES.sub(" ", name.strip()).split(" ")
    if len(parts) == 1:
        return parts[0], None, None
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], " ".join(parts[1:-1]), parts[-1]
