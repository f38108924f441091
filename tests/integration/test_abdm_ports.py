"""The facility side's ABDM ports as the process wires them: the runtime builds each
client of ``Ports`` once, on the transport the ports name (or uses the one set there),
and the outbox hands every queued call to the process's ``AbdmClient`` (here the
fake, which records what it is given)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from healthstack.integrations.abdm import (
    AbdmCallFailed,
    AbdmCallRejected,
    FakeAbdmClient,
    HttpAbdmClient,
)
from healthstack.integrations.abdm.models import AbdmMessage
from healthstack.jobs.worker import handlers_for
from healthstack.kernel import tokens
from healthstack.kernel.relay import drain
from healthstack.kernel.uow import unit_of_work

HIP = "IN0110000001"


def _queue(runtime, **extra_headers: str) -> str:
    with unit_of_work(runtime.session_factory) as s:
        return runtime.abdm_outbox().enqueue(
            s,
            path="/v3/test/call",
            body={"answer": 42},
            headers={"X-HIP-ID": HIP, **extra_headers},
            context={"kind": "tests.call"},
        )


def _work(runtime) -> int:
    return drain(runtime.session_factory, handlers_for(runtime), clock=runtime.clock)


def _call(runtime, request_id: str) -> AbdmMessage:
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(
            select(AbdmMessage).where(
                AbdmMessage.direction == "outbound", AbdmMessage.request_id == request_id
            )
        )
        assert row is not None
        s.expunge(row)
        return row


def test_a_queued_call_goes_once_through_the_process_client(runtime):
    fake = FakeAbdmClient()
    runtime.ports.abdm_client = fake
    rid = _queue(runtime, **{"X-LINK-TOKEN": "link-token"})
    assert fake.sent == []  # queued in the caller's transaction, sent by the worker
    _work(runtime)
    [sent] = fake.sent
    assert (sent.path, sent.body, sent.request_id) == ("/v3/test/call", {"answer": 42}, rid)
    assert sent.headers == {"X-HIP-ID": HIP, "X-LINK-TOKEN": "link-token"}
    call = _call(runtime, rid)
    assert (call.status, call.attempts, call.http_status) == ("sent", 1, 202)
    # The body and the link token were kept only until sent.
    assert call.body is None and call.extra_headers is None
    _work(runtime)
    assert len(fake.sent) == 1


def test_a_refused_call_is_closed_and_a_failed_one_tried_again(runtime, clock):
    fake = FakeAbdmClient(fail_with=AbdmCallRejected("refused", status=404, code="ABDM-1110"))
    runtime.ports.abdm_client = fake
    refused = _queue(runtime)
    _work(runtime)
    call = _call(runtime, refused)
    assert (call.status, call.http_status, call.last_error) == ("rejected", 404, "ABDM-1110")
    assert fake.sent == []

    fake.fail_with = AbdmCallFailed("gateway down", status=503)
    rid = _queue(runtime)
    _work(runtime)
    call = _call(runtime, rid)
    assert (call.status, call.attempts, call.http_status) == ("retrying", 1, 503)
    fake.fail_with = None
    clock.advance(hours=1)
    _work(runtime)
    assert [c.request_id for c in fake.sent] == [rid]  # the same REQUEST-ID on every try
    assert _call(runtime, rid).status == "sent"


def test_the_runtime_builds_each_client_once_on_its_ports_transport(runtime):
    seen: list[str] = []
    published = tokens.jwks(runtime.keyring)

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.path.endswith("/gateway/v3/certs"):
            return httpx.Response(200, json=published)
        return httpx.Response(202)

    runtime.ports.abdm_transport = httpx.MockTransport(network)
    runtime.ports.gateway_transport = httpx.MockTransport(network)

    keys = runtime.gateway_keys()
    assert runtime.gateway_keys() is keys
    # Fetched on the facility side's transport, once.
    assert keys.key(tokens.key_id(runtime.keyring)) is not None and keys.fetches == 1
    client = runtime.abdm_client()
    assert isinstance(client, HttpAbdmClient) and runtime.abdm_client() is client
    assert client.base_url == runtime.settings.abdm_gateway_url
    push = runtime.data_push_http()
    assert runtime.data_push_http() is push
    push.post("http://hiu.test/api/v3/hiu/data/push", json={})
    callbacks = runtime.gateway_http()
    assert runtime.gateway_http() is callbacks
    callbacks.post("http://bridge.test/api/v3/hip/on-echo", json={})
    assert seen == [
        f"GET {runtime.settings.abdm_gateway_url}/gateway/v3/certs",
        "POST http://hiu.test/api/v3/hiu/data/push",
        "POST http://bridge.test/api/v3/hip/on-echo",
    ]

    # A client set on the ports is used as it is; set back to None, it is built again.
    fake = FakeAbdmClient()
    runtime.ports.abdm_client = fake
    assert runtime.abdm_client() is fake
    runtime.ports.abdm_client = None
    rebuilt = runtime.abdm_client()
    assert rebuilt is not client and isinstance(rebuilt, HttpAbdmClient)
