"""Bad input an attacker or a broken client sends gets a 400 that names the problem,
never a 500: JSON nested a thousand levels deep on every route that takes a body (the
consent manager's, the facility bridge's and the data push among them), and integers
beyond what the database holds in every integer parameter of the OpenAPI."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from healthstack.kernel.context import Role
from healthstack.kernel.jsonlimit import MAX_DEPTH, loads, too_deep
from healthstack.web.errors import is_api, is_protocol

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
# Unclosed brackets recurse in the parser just the same.
DEEP_UNCLOSED = '{"a":[' + "[" * 1000


@pytest.fixture
def raw_client(app):
    # A 500 is an answer to inspect here, not an exception to raise in the test.
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _body_routes(app) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(routes, prefix: str = "") -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None):
                path = re.sub(r"\{[^}]+\}", "IN0110000001", prefix + r.path)
                found.extend((m, path) for m in sorted(set(r.methods) & {"POST", "PUT", "PATCH"}))

    walk(app.router.routes)
    return found


def _assert_depth_refusal(r, path: str) -> None:
    assert r.status_code == 400, (path, r.status_code, r.text[:300])
    if is_protocol(path):
        body = r.json()
        assert set(body) == {"error"}, (path, body)
        message = body["error"]["message"]
    elif is_api(path):
        body = r.json()
        assert body["status"] == 400 and body["code"] == "HS-1005", (path, body)
        message = body["detail"]
    else:
        message = r.text
    assert f"more than {MAX_DEPTH} levels" in message, (path, message[:300])


def test_deep_json_is_400_on_every_route_with_a_body(app, raw_client):
    routes = _body_routes(app)
    # the gateway and CM, the facility bridge and its data push, ABHA v3, the app API, pages
    for family in ("/api/hiecm/", "/api/v3/", "/abha/api/", "/api/v1/", "/hpr/"):
        assert any(p.startswith(family) for _, p in routes), family
    assert ("POST", "/api/v3/hiu/data/push") in routes
    for method, path in routes:
        for body in (DEEP_ARRAY, DEEP_OBJECT, DEEP_UNCLOSED):
            r = raw_client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            _assert_depth_refusal(r, path)


def test_deep_json_without_a_content_type_is_refused_too(raw_client):
    # The data push and the CM routes parse the body whatever the content type says.
    for path in ("/api/v3/hiu/data/push", "/api/hiecm/consent/v3/request/init"):
        for ctype in (None, "text/plain", "application/octet-stream"):
            headers = {"content-type": ctype} if ctype else {}
            r = raw_client.post(path, content=DEEP_ARRAY.encode(), headers=headers)
            _assert_depth_refusal(r, path)


def test_ordinary_nesting_and_brackets_in_strings_pass(client, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    # A name full of brackets is text, not nesting: the route's own rules answer.
    body = {"username": "x", "full_name": "[" * 2000, "role": "nobody", "password": "p"}
    r = client.post("/api/v1/staff", json=body, headers=admin.headers)
    assert r.status_code == 400 and "levels" not in r.json()["detail"]
    assert not too_deep(json.dumps({"a": [[{"b": [1, 2]}]] * 10}))
    assert too_deep("[" * (MAX_DEPTH + 1))
    assert not too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)


def test_nested_json_inside_other_input_is_refused_as_invalid():
    with pytest.raises(ValueError, match="levels deep"):
        loads(DEEP_ARRAY)
    assert loads('{"a": [1]}') == {"a": [1]}


def test_deep_json_in_a_card_qr_is_a_clear_400(client, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    for kwargs in (
        {"files": {"qr_text": (None, DEEP_ARRAY)}},
        {"json": {"qr_text": DEEP_ARRAY}},
    ):
        r = client.post("/api/v1/abha/scan", headers=desk.headers, **kwargs)
        assert r.status_code == 400, r.text
        assert r.json()["field"] == "qr_text"


# --------------------------------------------------------------------------- integers

BEYOND_ANY_COLUMN = (2**63, 2**64 + 1, -(2**63) - 1, 10**30)


def _integer_parameters(app) -> list[tuple[str, str, str, str, dict]]:
    found = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                for s in [schema, *schema.get("anyOf", [])]:
                    if s.get("type") == "integer":
                        found.append((method.upper(), path, p["in"], p["name"], s))
    return found


def test_every_integer_parameter_declares_bounds_the_database_holds(app):
    params = _integer_parameters(app)
    assert len(params) >= 20, params
    for _, path, _, name, s in params:
        assert "maximum" in s and s["maximum"] <= 2**63 - 1, (path, name, s)
        assert "minimum" in s and s["minimum"] >= -(2**63), (path, name, s)


def test_integers_beyond_the_bounds_are_400_naming_the_parameter(app, raw_client, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    for method, path, where, name, s in _integer_parameters(app):
        for value in (*BEYOND_ANY_COLUMN, s["maximum"] + 1, s["minimum"] - 1):
            url = path.replace("{" + name + "}", str(value)).replace("{hfr_id}", "IN0110000001")
            kwargs: dict = {"headers": dict(admin.headers)}
            if where == "query":
                kwargs["params"] = {name: str(value)}
            elif where == "header":
                kwargs["headers"][name] = str(value)
            r = raw_client.request(method, url, **kwargs)
            assert r.status_code == 400, (method, path, name, value, r.status_code, r.text[:200])
            assert name in r.json()["detail"], (path, name, r.text[:300])


def test_a_page_far_beyond_the_end_is_an_empty_page_not_an_overflow(client, make_staff):
    admin = make_staff(Role.STATE_ADMIN)
    for path in ("/api/v1/facilities", "/api/v1/facilities/master/reconciliation"):
        r = client.get(path, params={"page": 2**31 - 1, "page_size": 500}, headers=admin.headers)
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []


# --------------------------------------------------------------------------- NUL, and the backstop


def test_a_nul_character_is_400_on_both_databases_and_nothing_is_written(client, make_staff, db):
    from healthstack.network.hfr.models import Facility
    from tests.factories_facilities import api_body

    admin = make_staff(Role.STATE_ADMIN)
    for body in (
        json.dumps(api_body(address_line="Main\u0000Road")),
        json.dumps(api_body()).replace("Main Road", "Main\\u0000Road"),
    ):
        r = client.post(
            "/api/v1/facilities",
            content=body,
            headers={**admin.headers, "content-type": "application/json"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "HS-1008" and "NUL" in r.json()["detail"]
    # an escaped backslash before u0000 is text, not a NUL
    r = client.post(
        "/api/v1/facilities",
        json=api_body(address_line="C:\\u0000 Road"),
        headers=admin.headers,
    )
    assert r.status_code != 500 and "NUL" not in r.text
    r = client.get("/api/v1/facilities", params={"q": "PHC\x00"}, headers=admin.headers)
    assert r.status_code == 400 and r.json()["field"] == "q"  # the parameter that holds it
    r = client.get("/api/v1/facilities/IN01%0010001", headers=admin.headers)
    assert r.status_code == 400 and r.json()["field"] == "path"
    assert db.query(Facility).filter(Facility.address_line.like("Main%")).count() == 0


def test_a_nul_in_a_page_form_is_a_400_page(client, make_staff):
    from tests.factories_abha_pages import log_in

    log_in(client, make_staff)
    r = client.post("/desk/search", data={"mode": "name", "name": "Ravi\x00"})
    assert r.status_code == 400 and "NUL" in r.text


def test_what_the_database_cannot_store_is_a_400_without_the_values(app, raw_client):
    from sqlalchemy.exc import DataError

    def data_error() -> None:
        raise DataError("INSERT INTO t (mobile) VALUES (%s)", {"mobile": "9876543210"}, None)

    def overflow() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER: 9876543210")

    app.add_api_route("/api/v1/test-data-error", data_error)
    app.add_api_route("/api/v1/test-overflow", overflow)
    for path in ("/api/v1/test-data-error", "/api/v1/test-overflow"):
        r = raw_client.get(path)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "HS-1006" and "9876543210" not in r.text
