"""ABDM's published specs as JSON Schemas, for the contract tests of either side: the
shared OpenAPI files loaded (``gateway_spec``, ``hiu_spec``, ``link_token_spec`` and the
``endpoint_map``: fixtures, a pytest plugin of tests/conftest.py), OpenAPI 3.0 converted
to closed JSON Schema (``to_json_schema``), a v0.5 schema as v3 sends it (``to_v3``: the
REQUEST-ID / TIMESTAMP headers out of the body, ``resp`` as ``response``, string
``ABDM-xxxx`` error codes), a schema drawn from an endpoint-map example, and ``check``.
tests/contract/test_abdm_messages.py says why each adjustment is made."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import shared_path

KD = ("openapi", "kiranma72-abdm-docs")
_OPENAPI_ONLY = {"example", "examples", "xml", "discriminator", "readOnly", "writeOnly"}
_OPENAPI_ONLY |= {"deprecated", "externalDocs", "nullable", "format", "minimum", "maximum"}


def load_spec(*parts: str) -> dict[str, Any]:
    """One of the shared OpenAPI files (or the test is skipped with the reason)."""
    with shared_path(*KD, *parts).open() as fh:
        spec: dict[str, Any] = yaml.safe_load(fh)
    return spec


# The specs as fixtures (loaded once per test module).


@pytest.fixture(scope="module")
def gateway_spec() -> dict[str, Any]:
    return load_spec("ndhm-gateway-v1.yml")


@pytest.fixture(scope="module")
def hiu_spec() -> dict[str, Any]:
    return load_spec("ndhm-hiu.yml")


@pytest.fixture(scope="module")
def link_token_spec() -> dict[str, Any]:
    return load_spec("HIECM-LinkTokenService.yml")


@pytest.fixture(scope="module")
def endpoint_map() -> dict[str, Any]:
    with shared_path("registries", "abdm-endpoint-map.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def to_json_schema(node: Any, spec: dict[str, Any]) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``$ref`` inlined, ``nullable`` as a null type, the
    OpenAPI-only keywords dropped, every object with properties closed."""
    if isinstance(node, list):
        return [to_json_schema(n, spec) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return to_json_schema(target, spec)
    out = {k: to_json_schema(v, spec) for k, v in node.items() if k not in _OPENAPI_ONLY}
    if "properties" in node:
        # The property names are keys, not schemas: keep them as they are.
        out["properties"] = {k: to_json_schema(v, spec) for k, v in node["properties"].items()}
        if "additionalProperties" not in node:
            out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "allOf" in out:
        # ``type: object, allOf: [X, {xml}]``: X alone (the xml part is dropped).
        parts = [p for p in out.pop("allOf") if p]
        if len(parts) == 1:
            out.update(parts[0])
        else:
            out["allOf"] = parts
    return out


V3_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "pattern": "^ABDM-[0-9]{4}$"},
        "message": {"type": "string"},
    },
    "additionalProperties": False,
}


def to_v3(schema: dict[str, Any]) -> dict[str, Any]:
    """A v0.5 message schema as v3 sends it (see the module docstring)."""
    s = copy.deepcopy(schema)
    props = s.get("properties", {})
    props.pop("requestId", None)
    props.pop("timestamp", None)
    if "resp" in props:
        props["response"] = props.pop("resp")
    if "error" in props:
        props["error"] = V3_ERROR
    s["required"] = [
        "response" if r == "resp" else r
        for r in s.get("required", [])
        if r not in ("requestId", "timestamp")
    ]
    if not s["required"]:
        del s["required"]
    return s


def component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    converted: dict[str, Any] = to_json_schema(spec["components"]["schemas"][name], spec)
    return converted


def v3_component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return to_v3(component(spec, name))


def check(schema: dict[str, Any], body: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def schema_from_example(example: Any) -> dict[str, Any]:
    """A closed schema from an endpoint-map example: keys as shown, JSON types as shown
    (an empty-string placeholder is any string; an example list gives the item shape)."""
    if isinstance(example, dict):
        return {
            "type": "object",
            "properties": {k: schema_from_example(v) for k, v in example.items()},
            "additionalProperties": False,
        }
    if isinstance(example, list):
        return {"type": "array", "items": schema_from_example(example[0]) if example else {}}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int | float):
        return {"type": ["integer", "number"]}
    return {"type": "string"}


def link_token_schemas(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The link token request's schema and the on-generate-token answers' (oneOf)."""
    request = spec["paths"]["/v3/token/generate-token"]["post"]["requestBody"]
    callback = spec["paths"]["/{callback_url}/v3/hip/token/on-generate-token"]["post"]
    answer = to_json_schema(callback["requestBody"]["content"]["application/json"]["schema"], spec)
    return to_json_schema(request["content"]["application/json"]["schema"], spec), answer["oneOf"]
