"""Browser libraries served from installed Python wheels, never committed here.

``/static/vendor/plotly.min.js`` is plotly.js as the ``plotly`` wheel ships it
(``plotly/package_data/plotly.min.js``). It is read once, kept in memory with a gzip
copy (about a third of the size), and sent with a long cache lifetime and an ETag
from its digest, so a browser fetches it once per upgrade. Pages link it with
``?v=<digest>``. Without the wheel the route answers 404 and the pages keep
their plain tables.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from healthstack.kernel.errors import NotFound

router = APIRouter(include_in_schema=False)

CACHE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    raw: bytes
    gzipped: bytes
    tag: str  # first hex digits of the SHA-256: the ETag and the links' ?v=

    @property
    def etag(self) -> str:
        return f'"{self.tag}"'


_lock = threading.Lock()
_cache: dict[str, Asset | None] = {}


def _plotly() -> Asset | None:
    """Read and compress once per process (about 0.2 s), on first use."""
    with _lock:
        if "plotly" not in _cache:
            try:
                raw = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
            except (ModuleNotFoundError, FileNotFoundError):
                _cache["plotly"] = None
            else:
                tag = hashlib.sha256(raw).hexdigest()[:16]
                _cache["plotly"] = Asset(raw, gzip.compress(raw, 6), tag)
        return _cache["plotly"]


def plotly_tag() -> str | None:
    """What the pages put in ``?v=`` (changes with the installed plotly.js), or None
    when the wheel is not installed (the pages then link no script)."""
    asset = _plotly()
    return asset.tag if asset else None


@router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    asset = _plotly()
    if asset is None:
        raise NotFound(
            "Charts need the plotly package (pip install plotly); the tables work without it.",
            code="HS-1720",
        )
    headers = {
        "ETag": asset.etag,
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = asset.gzipped
    else:
        body = asset.raw
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
