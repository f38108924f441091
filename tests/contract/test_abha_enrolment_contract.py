"""Contract: our v3 enrolment requests and responses against ABDM's published spec
(``openapi/kiranma72-abdm-docs/abha_enrollment_api.yml``).

The spec declares most bodies only as ``type: object`` (and the byAadhaar and
abha-address request bodies as ``type: string`` while giving an object example), so a
schema check alone would accept anything. Where the declared schema has no structure,
the schema is derived from the spec's own examples: every key an example shows is
required, with the JSON type of its value (a ``<placeholder>`` string may be null, a
``null`` example may be anything). Extra fields are allowed. Declared schemas with
structure are converted from OpenAPI 3.0 (``$ref`` within the document, ``nullable``)
and used as they are. A renamed or retyped field therefore fails the check; the last
test proves it does.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml

from healthstack.kernel.context import Role
from tests.conftest import shared_path
from tests.factories_abha_enrolment import (
    TS,
    Enc,
    add_resident,
    enrol_body,
    headers,
    last_otp,
    otp_body,
)

SPEC_FILE = ("openapi", "kiranma72-abdm-docs", "abha_enrollment_api.yml")
# The operations HealthStack implements (enrol/byDocument, the DL route, is not offered).
IMPLEMENTED = {
    ("/v3/enrollment/request/otp", "post"),
    ("/v3/enrollment/enrol/byAadhaar", "post"),
    ("/v3/enrollment/auth/byAbdm", "post"),
    ("/v3/enrollment/enrol/suggestion", "get"),
    ("/v3/enrollment/enrol/abha-address", "post"),
    ("/v1/auth/cert", "get"),
}
_OPENAPI_ONLY = {
    "example",
    "examples",
    "xml",
    "discriminator",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
    "nullable",
}


# --------------------------------------------------------------------------- converter


def _resolve(ref: str, doc: dict[str, Any]) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only references within the document are supported: {ref}")
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def openapi_to_jsonschema(node: Any, doc: dict[str, Any], _depth: int = 0) -> Any:
    """OpenAPI 3.0 Schema Object -> JSON Schema (refs inlined, nullable as a null type)."""
    if _depth > 50:
        raise ValueError("schema nesting too deep (a $ref cycle?)")
    if isinstance(node, list):
        return [openapi_to_jsonschema(n, doc, _depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return openapi_to_jsonschema(_resolve(node["$ref"], doc), doc, _depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {k: openapi_to_jsonschema(v, doc, _depth + 1) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "oneOf", "anyOf"):
            out[key] = openapi_to_jsonschema(value, doc, _depth + 1)
        else:
            out[key] = value
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def schema_from_example(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {
            "type": "object",
            "required": sorted(value),
            "properties": {k: schema_from_example(v) for k, v in value.items()},
        }
    if isinstance(value, list):
        return (
            {"type": "array", "items": schema_from_example(value[0])}
            if value
            else {"type": "array"}
        )
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        placeholder = value.strip().startswith("<") and value.strip().endswith(">")
        return {"type": ["string", "null"]} if placeholder else {"type": "string"}
    return {}  # null in the example: the key must be there, its value may be anything


def _has_structure(schema: dict[str, Any]) -> bool:
    return any(k in schema for k in ("properties", "items", "allOf", "oneOf", "anyOf", "$ref"))


def _named_examples(media: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "example" in media:
        found["example"] = media["example"]
    declared = media.get("schema") or {}
    if "example" in declared:
        found["schema-example"] = declared["example"]
    for name, ex in (media.get("examples") or {}).items():
        found[name] = ex.get("value")
        if ex.get("summary"):
            found[ex["summary"]] = ex.get("value")
    return found


class Spec:
    def __init__(self) -> None:
        with shared_path(*SPEC_FILE).open() as fh:
            self.doc = yaml.safe_load(fh)

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return self.doc["paths"][path][method]

    def _media(self, path: str, method: str, where: str) -> dict[str, Any]:
        op = self.operation(path, method)
        if where == "request":
            return op["requestBody"]["content"]["application/json"]
        return op["responses"]["200"]["content"]["application/json"]

    def schema(self, path: str, method: str, where: str, example: str | None = None):
        media = self._media(path, method, where)
        declared = openapi_to_jsonschema(media.get("schema") or {}, self.doc)
        if _has_structure(declared):
            return declared
        examples = _named_examples(media)
        if example is not None:
            return schema_from_example(examples[example])
        objects = [v for v in examples.values() if isinstance(v, dict | list)]
        if objects:
            # The examples describe the body (even where the declared type says string).
            return {"anyOf": [schema_from_example(v) for v in objects]}
        assert declared, f"{method.upper()} {path} {where}: no schema and no example"
        return declared  # a scalar body, such as the PEM key

    def check(
        self, instance: Any, path: str, method: str, where: str, example: str | None = None
    ) -> None:
        schema = self.schema(path, method, where, example)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)

    def required_headers(self, path: str, method: str) -> list[str]:
        params = self.operation(path, method).get("parameters", [])
        return [p["name"] for p in params if p.get("in") == "header" and p.get("required")]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


# --------------------------------------------------------------------------- tests


def test_converter_handles_refs_and_nullable():
    doc = {
        "components": {
            "schemas": {
                "Tokens": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string"},
                        "expiresIn": {"type": "integer", "nullable": True},
                    },
                },
                "Profile": {
                    "type": "object",
                    "required": ["ABHANumber", "tokens"],
                    "properties": {
                        "ABHANumber": {"type": "string", "example": "91-..."},
                        "tokens": {"$ref": "#/components/schemas/Tokens"},
                        "status": {"type": "string", "enum": ["ACTIVE"], "nullable": True},
                    },
                },
            }
        },
    }
    schema = openapi_to_jsonschema({"$ref": "#/components/schemas/Profile"}, doc)
    good = {"ABHANumber": "91-1", "tokens": {"token": "t", "expiresIn": None}, "status": None}
    jsonschema.validate(good, schema)
    for bad in (
        {"ABHANumber": "91-1", "tokens": {"expiresIn": 1}},
        {"ABHANumber": "91-1", "tokens": {"token": "t", "expiresIn": "soon"}},
        {"ABHANumber": "91-1", "tokens": {"token": "t"}, "status": "GONE"},
        {"abhaNumber": "91-1", "tokens": {"token": "t"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_spec_lists_what_we_implement_at_our_base_path(spec, app):
    servers = [s["url"] for s in spec.doc["servers"]]
    assert any(url.endswith("/abha/api") for url in servers)
    ours = app.openapi()["paths"]
    for path, method in IMPLEMENTED:
        assert method in spec.doc["paths"][path], (path, method)
        assert method in ours.get(f"/abha/api{path}", {}), f"we do not serve {method} {path}"


def test_required_headers_of_the_spec_are_enforced(spec, client, runtime, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    enc = Enc(client)
    aadhaar = add_resident(runtime)
    path = "/v3/enrollment/request/otp"
    required = spec.required_headers(path, "post")
    assert {"REQUEST-ID", "TIMESTAMP"} <= set(required)
    for name in required:
        hdrs = headers(desk)
        del hdrs[name]
        r = client.post(f"/abha/api{path}", json=otp_body(enc, aadhaar), headers=hdrs)
        assert r.status_code == 400 and name in r.json()["error"]["message"], (name, r.text)
    assert "TRANSACTION_ID" in spec.required_headers("/v3/enrollment/enrol/suggestion", "get")


def test_enrolment_flow_matches_the_spec(spec, client, runtime, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    enc = Enc(client)
    aadhaar = add_resident(runtime)

    # request/otp (Aadhaar)
    p = "/v3/enrollment/request/otp"
    body = otp_body(enc, aadhaar)
    spec.check(body, p, "post", "request", "Request OTP Aadhaar based enrollment")
    r = client.post(f"/abha/api{p}", json=body, headers=headers(desk))
    assert r.status_code == 200, r.text
    spec.check(r.json(), p, "post", "response", "Request OTP Aadhaar based enrollment")
    txn = r.json()["txnId"]

    # enrol/byAadhaar, with a communication mobile other than the Aadhaar mobile
    p = "/v3/enrollment/enrol/byAadhaar"
    body = enrol_body(enc, txn, last_otp(client, "9876500011"), mobile="9988776655")
    spec.check(body, p, "post", "request")
    r = client.post(f"/abha/api{p}", json=body, headers=headers(desk))
    assert r.status_code == 200, r.text
    enrolled = r.json()
    spec.check(enrolled, p, "post", "response", "SUCCESS")

    # request/otp (communication mobile) and auth/byAbdm
    p = "/v3/enrollment/request/otp"
    body = {
        "txnId": txn,
        "scope": ["abha-enrol", "mobile-verify"],
        "loginHint": "mobile",
        "loginId": enc("9988776655"),
        "otpSystem": "abdm",
    }
    spec.check(body, p, "post", "request")
    r = client.post(f"/abha/api{p}", json=body, headers=headers(desk))
    assert r.status_code == 200, r.text
    spec.check(r.json(), p, "post", "response", "Request OTP For DL based enrollment")
    mobile_txn = r.json()["txnId"]

    p = "/v3/enrollment/auth/byAbdm"
    body = {
        "scope": ["abha-enrol", "mobile-verify"],
        "authData": {
            "authMethods": ["otp"],
            "otp": {
                "timeStamp": TS,
                "txnId": mobile_txn,
                "otpValue": enc(last_otp(client, "9988776655")),
            },
        },
    }
    spec.check(body, p, "post", "request", "Request Verify Mobile")
    r = client.post(f"/abha/api{p}", json=body, headers=headers(desk))
    assert r.status_code == 200, r.text
    spec.check(r.json(), p, "post", "response", "Request Verify Mobile")

    # enrol/suggestion and enrol/abha-address
    p = "/v3/enrollment/enrol/suggestion"
    r = client.get(f"/abha/api{p}", headers=headers(desk, TRANSACTION_ID=txn))
    assert r.status_code == 200, r.text
    spec.check(r.json(), p, "get", "response")
    handle = r.json()["abhaAddressList"][0]

    p = "/v3/enrollment/enrol/abha-address"
    body = {"txnId": txn, "abhaAddress": handle, "preferred": 1}
    spec.check(body, p, "post", "request")
    r = client.post(f"/abha/api{p}", json=body, headers=headers(desk))
    assert r.status_code == 200, r.text
    spec.check(r.json(), p, "post", "response")

    # The public key, as PEM text (the spec's schema is a string).
    r = client.get("/abha/api/v1/auth/cert")
    assert r.status_code == 200 and r.text.startswith("-----BEGIN PUBLIC KEY-----")
    spec.check(r.text, "/v1/auth/cert", "get", "response")

    # A renamed or retyped field fails the check: the check is real.
    p = "/v3/enrollment/enrol/byAadhaar"
    for mutate in (
        lambda b: b["ABHAProfile"].__setitem__("abhaNumber", b["ABHAProfile"].pop("ABHANumber")),
        lambda b: b["tokens"].__setitem__("accessToken", b["tokens"].pop("id_token")),
        lambda b: b.__setitem__("profile", b.pop("ABHAProfile")),
        lambda b: b["ABHAProfile"].__setitem__("phrAddress", "one@sbx"),
        lambda b: b["tokens"].__setitem__("expires_in", "1800"),
        lambda b: b.pop("txnId"),
    ):
        broken = copy.deepcopy(enrolled)
        mutate(broken)
        with pytest.raises(jsonschema.ValidationError):
            spec.check(broken, p, "post", "response", "SUCCESS")
