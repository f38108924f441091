"""Browser libraries served from installed Python wheels, never committed here.

- ``/static/vendor/plotly.min.js``: plotly.js as the ``plotly`` wheel ships it
  (``plotly/package_data/plotly.min.js``), for the dashboard's charts.
- ``/static/vendor/swagger-ui-bundle.js``, ``swagger-ui.css`` and
  ``redoc.standalone.js``: Swagger UI and ReDoc as the ``fastapi-standalone-docs``
  wheel ships them (``fastapi_standalone_docs/static/``), for ``/docs`` and ``/redoc``
  (``web/apidocs.py``), so a state data centre without internet has its API docs.

Each file is read once, kept in memory with a gzip copy (about a third of the size),
and sent with a long cache lifetime and an ETag from its digest, so a browser fetches
it once per upgrade. Pages link it with ``?v=<digest>``. Without the wheel the route
answers 404 with what to install, and the pages that use it say so or keep their
plain tables.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
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
    media_type: str

    @property
    def etag(self) -> str:
        return f'"{self.tag}"'


@dataclass(frozen=True)
class Source:
    package: str
    path: tuple[str, ...]  # inside the package
    media_type: str
    missing: str  # the 404's message: what to install, what works without it


_JS = "text/javascript; charset=utf-8"
_DOCS_MISSING = (
    "The API docs pages need the fastapi-standalone-docs package "
    "(pip install fastapi-standalone-docs); /openapi.json works without it."
)
SOURCES: dict[str, Source] = {
    "plotly.min.js": Source(
        "plotly",
        ("package_data", "plotly.min.js"),
        _JS,
        "Charts need the plotly package (pip install plotly); the tables work without it.",
    ),
    "swagger-ui-bundle.js": Source(
        "fastapi_standalone_docs", ("static", "swagger", "swagger-ui-bundle.js"), _JS, _DOCS_MISSING
    ),
    "swagger-ui.css": Source(
        "fastapi_standalone_docs",
        ("static", "swagger", "swagger-ui.css"),
        "text/css; charset=utf-8",
        _DOCS_MISSING,
    ),
    "redoc.standalone.js": Source(
        "fastapi_standalone_docs", ("static", "redoc", "redoc.standalone.js"), _JS, _DOCS_MISSING
    ),
    # ReDoc's sidebar links its logo relative to the page: /redoc/logo-mini.svg.
    "redoc-logo-mini.svg": Source(
        "fastapi_standalone_docs",
        ("static", "redoc", "logo-mini.svg"),
        "image/svg+xml",
        _DOCS_MISSING,
    ),
}

_lock = threading.Lock()
_cache: dict[str, Asset | None] = {}


def asset(name: str) -> Asset | None:
    """Read and compress once per process (plotly.js: about 0.2 s), on first use."""
    source = SOURCES[name]
    with _lock:
        if name not in _cache:
            try:
                file = resources.files(source.package).joinpath(*source.path)
                raw = file.read_bytes()
            except (ModuleNotFoundError, FileNotFoundError):
                _cache[name] = None
            else:
                tag = hashlib.sha256(raw).hexdigest()[:16]
                _cache[name] = Asset(raw, gzip.compress(raw, 6), tag, source.media_type)
        return _cache[name]


def tag(name: str) -> str | None:
    """What the pages put in ``?v=`` (changes with the installed wheel), or None when
    the wheel is not installed (the pages then link no script)."""
    found = asset(name)
    return found.tag if found else None


def plotly_tag() -> str | None:
    return tag("plotly.min.js")


# A stylesheet plotly.js carries as a string literal and adds as a <style> element when
# it loads (maplibre's, for map traces), as the minified bundle writes it.
_PLOTLY_STYLE = re.compile(
    r'createElement\("style"\);(\w+)\.id="[^"]*",\1\.textContent=\'([^\'\\]*)\''
)
_style_sources: dict[str, tuple[str, ...]] = {}


def _csp_hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def plotly_style_sources() -> tuple[str, ...]:
    """The dashboard's style-src allowance: the hashes of the <style> elements the
    installed plotly.js adds as it loads. One is created empty and filled through the
    CSSOM (its addStyleRule; a policy does not govern the CSSOM, so allowing the empty
    text's hash lets in exactly that empty element); the others are the stylesheets it
    carries. An injected <style> with any other rule in it, or a style attribute, is
    still refused. Nothing when plotly is not installed (no chart, no allowance)."""
    found = asset("plotly.min.js")
    if found is None:
        return ()
    with _lock:
        if found.tag not in _style_sources:
            texts = [""] + [m.group(2) for m in _PLOTLY_STYLE.finditer(found.raw.decode())]
            _style_sources[found.tag] = tuple(dict.fromkeys(_csp_hash(t) for t in texts))
        return _style_sources[found.tag]


def serve(name: str, request: Request) -> Response:
    found = asset(name)
    if found is None:
        raise NotFound(SOURCES[name].missing, code="HS-1720")
    headers = {
        "ETag": found.etag,
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = found.gzipped
    else:
        body = found.raw
    return Response(body, media_type=found.media_type, headers=headers)


@router.get("/static/vendor/{name}")
def vendored(name: str, request: Request) -> Response:
    if name not in SOURCES:
        raise NotFound("No such library is served here.", code="HS-1720")
    return serve(name, request)
