"""Schemathesis over every operation of ``/openapi.json``, against the ASGI app, on the
test database (SQLite or PostgreSQL, whichever the run uses).

Each operation is fuzzed as an anonymous caller and, where it declares a credential,
with the one it declares: a state admin's API token (staff APIs), an ABHA holder's user
token in ``X-token`` (ABHA profile and PHR APIs), a registered bridge's gateway session
(the consent manager's routes, with valid ABDM headers so the body is what gets
tested) or a gateway-signed callback token bound to the request (the facility bridge's
routes). Data is generated from the schema (positive) and against it (negative), with a
fixed seed (``derandomize``) and a fixed number of examples per operation, so a run is
the same every time and bounded in time.

A failure is a server error (5xx), a status the operation does not document, a body or
content type that does not match what it documents, or schema-violating input that
was accepted. Every failure of every operation is reported at the end, with the request
to reproduce it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from healthstack.integrations.abdm.callbacks import JwksCache
from healthstack.integrations.abdm.client import stamp
from healthstack.kernel import tokens
from healthstack.kernel.context import Role, system_context
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.service import add_service, callback_token, register_bridge
from healthstack.settings import GatewaySettings
from tests.factories_abha import create_account, login_token

# Examples per operation and identity. The whole run is about two minutes per database
# on a 2-core machine; HEALTHSTACK_FUZZ_EXAMPLES raises it for a longer hunt.
EXAMPLES = int(os.environ.get("HEALTHSTACK_FUZZ_EXAMPLES", "8"))
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]
BRIDGE = "fuzz-hmis"
BRIDGE_SECRET = "fuzz-bridge-secret-0001"  # noqa: S105 - a test credential
SERVICE = "IN0110000001"  # the bridge's HIP and HIU


@pytest.fixture
def settings(settings):
    # The frozen clock never refills the bridge's rate bucket: room for the whole run.
    return settings.model_copy(
        update={"gateway": GatewaySettings(rate_burst=1_000_000, rate_per_second=1_000)}
    )


@dataclass
class Identity:
    name: str
    # (operation id, headers as generated, body) -> the credential headers
    credentials: Callable[[str, dict[str, str], bytes], dict[str, str]]
    # valid values of the protocol headers, put over the generated ones in positive cases
    protocol: Callable[[], dict[str, str]] = dict


@pytest.fixture
def fuzz_client(app) -> Iterator[TestClient]:
    # A 500 is a finding to report with the others, not an exception in the test.
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def identities(app, runtime, fuzz_client, make_staff) -> dict[str | None, Identity]:
    admin = make_staff(Role.STATE_ADMIN)
    holder = create_account(runtime, handle="fuzz.holder")
    user_token = login_token(fuzz_client, runtime, holder)
    with unit_of_work(runtime.session_factory) as s:
        register_bridge(
            s,
            system_context(),
            client_id=BRIDGE,
            name="Fuzz HMIS",
            url="http://fuzz-hmis.test",
            secret=BRIDGE_SECRET,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        )
        for kind in ("HIP", "HIU"):
            add_service(
                s,
                system_context(),
                client_id=BRIDGE,
                service_id=SERVICE,
                service_type=kind,
                name="Fuzz facility",
                clock=runtime.clock,
            )
    r = fuzz_client.post(
        "/api/hiecm/gateway/v3/sessions",
        json={"clientId": BRIDGE, "clientSecret": BRIDGE_SECRET, "grantType": "client_credentials"},
    )
    assert r.status_code == 200, r.text
    session_token = r.json()["accessToken"]
    # The facility side checks callbacks with the gateway's published keys: this
    # deployment's own, served without a network hop.
    jwks = tokens.jwks(runtime.keyring)
    runtime.ports.gateway_keys = JwksCache(
        "http://gateway.test/certs",
        httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=jwks))),
        runtime.clock,
    )

    def session_protocol() -> dict[str, str]:
        return {
            "REQUEST-ID": str(uuid.uuid4()),
            "TIMESTAMP": stamp(runtime.clock.now()),
            "X-CM-ID": runtime.settings.abha.cm_id,
            "X-HIP-ID": SERVICE,
            "X-HIU-ID": SERVICE,
        }

    def callback_protocol() -> dict[str, str]:
        return {"REQUEST-ID": str(uuid.uuid4()), "TIMESTAMP": stamp(runtime.clock.now())}

    def callback_credentials(operation_id: str, headers: dict[str, str], body: bytes) -> dict:
        header = "X-HIU-ID" if operation_id.startswith("hiu_") else "X-HIP-ID"
        token = callback_token(
            runtime.keyring,
            audience=runtime.settings.abdm.client_id,
            request_id=headers.get("REQUEST-ID", ""),
            body_digest=hashlib.sha256(body).hexdigest(),
            service_header=header,
            service_id=SERVICE,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
        )
        return {header: SERVICE, "Authorization": f"Bearer {token}"}

    return {
        None: Identity("anonymous", lambda *_: {}),
        "StaffToken": Identity(
            "state admin", lambda *_: {"Authorization": f"Bearer {admin.token}"}
        ),
        "AbhaUserToken": Identity("ABHA holder", lambda *_: {"X-token": f"Bearer {user_token}"}),
        "GatewaySession": Identity(
            "bridge", lambda *_: {"Authorization": f"Bearer {session_token}"}, session_protocol
        ),
        "GatewayCallback": Identity("gateway", callback_credentials, callback_protocol),
    }


def _send(client: TestClient, case: Any, identity: Identity, mode: GenerationMode) -> Any:
    """The case as schemathesis would send it (requests prepares the bytes), with the
    identity's credentials, through the app's test client."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    if mode.is_positive:
        # Valid REQUEST-ID, TIMESTAMP, ...: the body is what a positive case tests.
        kwargs["headers"] = {**kwargs["headers"], **identity.protocol()}
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = dict(prepared.headers)
    # A negative case may be "the credential left out": then it is sent without one.
    if not case.operation.schema.is_security_param_negated(case):
        operation_id = case.operation.definition.raw.get("operationId", "")
        headers.update(identity.credentials(operation_id, headers, body))
    return client.request(prepared.method or "GET", prepared.url, headers=headers, content=body)


def _run(case_strategy: Any, check: Callable[[Any], None], examples: int) -> None:
    @hsettings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=case_strategy)
    def run(case: Any) -> None:
        check(case)

    run()


# The run in parts, so that parallel test processes share it.
FAMILIES = {
    "staff API": ("/api/v1/", "/healthz", "/readyz", "/.well-known/"),
    "ABHA": ("/abha/api/",),
    "gateway and consent manager": ("/api/hiecm/",),
    "facility bridge": ("/api/v3/",),
}


def _family(path: str) -> str:
    return next(name for name, prefixes in FAMILIES.items() if path.startswith(prefixes))


def test_the_families_cover_every_operation(app):
    for path in app.openapi()["paths"]:
        assert _family(path), path


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_operation_as_every_caller_it_allows(app, fuzz_client, identities, family):
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if _family(operation.path) != family:
            continue
        operations += 1
        security = operation.definition.raw.get("security") or [{}]
        declared = next(iter(security[0]), None)
        callers = [identities[None]] + ([identities[declared]] if declared else [])
        for identity in callers:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                extra = [st_checks.negative_data_rejection] if mode.is_negative else []

                def check(case: Any, who: Identity = identity, how: Any = mode) -> None:
                    response = _send(fuzz_client, case, who, how)
                    case.validate_response(response, checks=CHECKS + extra)

                try:
                    _run(operation.as_strategy(generation_mode=mode), check, EXAMPLES)
                except Unsatisfiable:
                    continue  # nothing of this mode fits the operation
                except (Exception, BaseExceptionGroup) as exc:  # a check failed: collect
                    failures.append(f"{operation.label} as {identity.name} ({mode}):\n{exc}")
    assert operations >= 10
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
