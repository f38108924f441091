"""``/openapi.json`` says how each operation authenticates and what its errors look
like, and the app behaves as it says: the security schemes the app uses, attached to
the operations that need them; 400 with our problem body (ABDM's error body on protocol
routes) documented instead of FastAPI's 422, which is never sent."""

from __future__ import annotations

import re

import jsonschema

from healthstack.kernel.context import Role

SCHEMES = {"StaffToken", "AbhaUserToken", "GatewaySession", "GatewayCallback"}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/hiecm/gateway/v3/sessions"),
    ("GET", "/api/hiecm/gateway/v3/certs"),
    ("GET", "/api/hiecm/gateway/v3/.well-known/openid-configuration"),
}


def _ops(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def _scheme(op) -> str | None:
    security = op.get("security") or []
    assert len(security) <= 1
    return next(iter(security[0])) if security else None


def test_security_schemes_are_declared_and_attached(client):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == SCHEMES
    assert schemes["StaffToken"] == {**schemes["StaffToken"], "type": "http", "scheme": "bearer"}
    assert "hst_" in schemes["StaffToken"]["bearerFormat"]
    assert schemes["AbhaUserToken"]["in"] == "header"
    assert schemes["AbhaUserToken"]["name"] == "X-token"
    seen = set()
    for method, path, op in _ops(doc):
        scheme = _scheme(op)
        seen.add(scheme)
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "x-token" not in names, (path, "the user token is a credential, not a parameter")
        if path.startswith("/api/v1/phr/") or path.startswith("/abha/api/v3/profile/account"):
            assert scheme == "AbhaUserToken", (method, path, scheme)
        elif (method, path) in PUBLIC or path.startswith(
            ("/abha/api/v3/profile/", "/api/v1/professionals/registration/")
        ):
            assert scheme is None, (method, path, scheme)
        elif path == "/api/v3/hiu/data/push":
            assert scheme == "GatewaySession", (method, path, scheme)
        elif path.startswith("/api/hiecm/"):
            assert scheme == "GatewaySession", (method, path, scheme)
            assert {"request-id", "timestamp", "x-cm-id"} <= set(names), (path, names)
        elif path.startswith("/api/v3/"):
            assert scheme == "GatewayCallback", (method, path, scheme)
            assert {"request-id", "timestamp"} <= set(names), (path, names)
        elif path.startswith(("/api/v1/", "/abha/api/v3/enrollment/")):
            assert scheme == "StaffToken", (method, path, scheme)
    assert seen >= SCHEMES
    # pages are not API operations
    assert not {p for p in doc["paths"] if p in ("/", "/login", "/logout", "/admin/audit")}


def test_400_with_our_bodies_is_documented_and_422_nowhere(client):
    doc = client.get("/openapi.json").json()
    assert '"422"' not in str(doc).replace("'", '"')
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for _, path, op in _ops(doc):
        ref = op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
        protocol = path.startswith(("/abha/api/", "/api/hiecm/", "/api/v3/"))
        assert ref.endswith("/AbdmError" if protocol else "/Problem"), (path, ref)
        if op.get("security"):
            assert "401" in op["responses"], path


def _schema(doc, name):
    return {**doc["components"]["schemas"][name], "components": doc["components"]}


def test_the_app_answers_as_documented(client, make_staff):
    doc = client.get("/openapi.json").json()
    admin = make_staff(Role.STATE_ADMIN)
    problem, abdm = _schema(doc, "Problem"), _schema(doc, "AbdmError")
    # invalid input: 400 with the documented body, on the app API and a protocol route
    r = client.get("/api/v1/facilities", params={"page": "x"}, headers=admin.headers)
    assert r.status_code == 400
    jsonschema.validate(r.json(), problem)
    r = client.post("/abha/api/v3/profile/login/request/otp", json={})
    assert r.status_code == 400
    jsonschema.validate(r.json(), abdm)
    # every GET that declares a credential refuses a caller without one (401, the
    # documented body); one that declares none does not ask for one
    for method, path, op in _ops(doc):
        if method != "GET" or re.search(r"\{", path):
            continue
        r = client.get(path)
        body = abdm if path.startswith(("/abha/api/", "/api/hiecm/", "/api/v3/")) else problem
        if op.get("security"):
            assert r.status_code == 401, (path, r.status_code)
            jsonschema.validate(r.json(), body)
        else:
            assert r.status_code != 401, (path, r.text[:200])
