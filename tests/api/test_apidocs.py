"""/docs and /redoc come whole from this server: no public CDN, no inline script, the
viewers from the installed wheel with a long cache life."""

from __future__ import annotations

import re

import pytest

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
        ("/redoc", ["redoc.standalone.js"]),
    ],
)
def test_docs_pages_need_nothing_from_elsewhere(client, path, assets):
    r = client.get(path)
    assert r.status_code == 200
    assert INLINE_SCRIPT.search(r.text) is None
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text), "a link to another site"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    for name in assets:
        link = re.search(rf"/static/vendor/{re.escape(name)}\?v=[0-9a-f]+", r.text)
        assert link, name
        got = client.get(link.group(0))
        assert got.status_code == 200 and len(got.content) > 100_000, name
        assert got.headers["cache-control"].startswith("public, max-age=")
    assert '<script src="/static/apidocs.js"' in r.text
    assert client.get("/static/apidocs.js").status_code == 200


def test_only_redoc_gets_a_style_allowance(client):
    docs = client.get("/docs").headers["content-security-policy"]
    redoc = client.get("/redoc").headers["content-security-policy"]
    assert "unsafe-inline" not in docs
    assert "style-src 'self' 'unsafe-inline'" in redoc and "worker-src 'self' blob:" in redoc
    assert "unsafe-inline" not in redoc.split("script-src", 1)[1].split(";", 1)[0]


def test_redoc_logo_and_unknown_vendor_files(client):
    assert client.get("/redoc/logo-mini.svg").headers["content-type"] == "image/svg+xml"
    assert client.get("/static/vendor/nothing.js").status_code == 404
