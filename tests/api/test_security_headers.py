"""The headers every response carries: a strict Content-Security-Policy (no inline
script, no eval, nothing framed or embedded), a Permissions-Policy with the powerful
features off (the camera only on the desk's card scan), and HSTS on https."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from healthstack.kernel.context import Role
from tests.factories_pages import log_in


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/login", "/", "/patient/login", "/healthz"])
def test_every_response_has_the_strict_policy(client, path):
    r = client.get(path, follow_redirects=False)
    csp = _directives(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    raw = r.headers["content-security-policy"]
    assert "unsafe-inline" not in raw and "unsafe-eval" not in raw
    policy = r.headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in policy, (feature, policy)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # http, and base_url is http


def test_only_the_card_scan_may_use_the_camera(client, make_staff):
    log_in(client, make_staff, Role.REGISTRATION_DESK)
    r = client.get("/desk/scan")
    assert r.status_code == 200
    policy = r.headers["permissions-policy"]
    assert "camera=(self)" in policy and "microphone=()" in policy
    assert "camera=()" in client.get("/desk").headers["permissions-policy"]


def test_hsts_on_an_https_request(app):
    with TestClient(app, base_url="https://testserver") as https:
        r = https.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert int(r.headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 15552000


def test_hsts_when_the_deployment_is_https(settings, runtime):
    from healthstack.app import create_app

    https = settings.model_copy(update={"base_url": "https://abha.jk.gov.in"})
    with TestClient(create_app(https, runtime=runtime, run_worker=False)) as c:
        # The request reached the app as http (a TLS proxy in front): HSTS all the same.
        r = c.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_the_dashboard_allows_only_plotlys_own_style_elements(client, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    r = client.get("/dashboard")
    assert r.status_code == 200
    csp = _directives(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    style = csp["style-src"]
    assert style[0] == "'self'" and "'unsafe-inline'" not in style
    # The empty element plotly.js fills through the CSSOM, and the sheets it carries.
    assert "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='" in style
    assert all(s.startswith("'sha256-") for s in style[1:])
