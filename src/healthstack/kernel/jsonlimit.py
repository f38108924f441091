"""How deep JSON may nest before anything parses it.

Python's ``json`` module (and everything that walks the result: pydantic, the FHIR
validator, ``json.dumps`` for digests) recurses once per level, so about a thousand
levels of ``[[[[...`` in a 2 kB body end in ``RecursionError`` wherever the walk happens
to be. No message HealthStack reads nests anywhere near ``MAX_DEPTH`` (an ABDM message
about 8 levels, an NRCeS FHIR bundle about 20), so anything deeper is refused before
parsing: by ``web.middleware.InputLimits`` for every request body, and by ``loads``
for JSON that arrives inside something else (a decrypted bundle, a QR code).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64

# A JSON string (escapes included): brackets inside strings do not nest anything.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


class TooDeep(ValueError):
    """JSON nested deeper than the limit (a ValueError, as invalid JSON is)."""

    def __init__(self, limit: int):
        super().__init__(f"JSON nested more than {limit} levels deep")
        self.limit = limit


def too_deep(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``raw`` opens more than ``limit`` arrays or objects inside each other
    (counted as a parser descends, so unclosed brackets count too)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case, without a scan
    skeleton = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, skeleton)), default=0) > limit


def loads(raw: bytes | str, *, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ``TooDeep`` (a ValueError) instead of recursing
    without bound."""
    import json

    if too_deep(raw, limit):
        raise TooDeep(limit)
    return json.loads(raw)
