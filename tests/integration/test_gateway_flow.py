"""The whole round trip over HTTP semantics, both sides in this process
(``AsgiLoopback`` in place of the network): a facility bridge registers, the facility
side queues a call (HttpAbdmClient through the outbox), the gateway accepts it, the
worker runs the echo handler and delivers the callback, and the bridge verifies it and
finds its context. Then what goes wrong: retries, dead letters, late, forged, unsigned,
replayed and duplicate callbacks."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Body, FastAPI, Request, Response
from sqlalchemy import func, select

from healthstack.facility.records.dependencies import VerifiedCallback
from healthstack.facility.records.dependencies import install as install_callbacks
from healthstack.integrations.abdm import find_context
from healthstack.integrations.abdm.models import AbdmMessage
from healthstack.integrations.abdm.transport import AsgiLoopback
from healthstack.jobs.worker import handlers_for
from healthstack.kernel import tokens
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import system_context
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.relay import drain, relay_once
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.accept import accept
from healthstack.network.gateway.diagnostics import ECHO_PATH, ON_ECHO_PATH
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.routing import register_handler, reply
from healthstack.network.gateway.service import add_service, register_bridge
from healthstack.settings import AbdmSettings, GatewaySettings
from healthstack.web.deps import DbSession, RuntimeDep
from healthstack.web.errors import install_error_handlers

GATEWAY = "gateway.test"
BRIDGE = "hmis.test"
CLIENT_ID = "jk-hmis"
SECRET = "a-bridge-secret-for-tests-only"  # noqa: S105
HIP = "IN0110000001"


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={
            "abdm": AbdmSettings(
                gateway_url=f"http://{GATEWAY}/api/hiecm", client_id=CLIENT_ID, client_secret=SECRET
            ),
            "gateway": GatewaySettings(callback_max_attempts=3),
        }
    )


class Bridge:
    """The facility's bridge endpoint: a tiny app that verifies every callback."""

    def __init__(self, runtime):
        self.received = []
        self.requests: list[httpx.Request] = []
        self.fail_next = 0  # answer this many deliveries 503 before the app sees them
        self.down = False  # refuse connections
        app = FastAPI()
        app.state.runtime = runtime
        install_error_handlers(app)
        install_callbacks(app)

        @app.post(ON_ECHO_PATH, status_code=202)
        def on_echo(ctx: VerifiedCallback) -> Response:
            self.received.append(ctx)
            return Response(status_code=202)

        self.app = app


class Network(httpx.BaseTransport):
    """The loopback, plus a way to make the bridge fail and to see what it was sent."""

    def __init__(self, gateway_app, bridge: Bridge):
        self.bridge = bridge
        self.loop = AsgiLoopback({GATEWAY: gateway_app, BRIDGE: bridge.app})

    def handle_request(self, request):
        if request.url.host == BRIDGE:
            if self.bridge.down:
                raise httpx.ConnectError("connection refused", request=request)
            request.read()
            self.bridge.requests.append(request)
            if self.bridge.fail_next > 0:
                self.bridge.fail_next -= 1
                return httpx.Response(503, request=request)
        return self.loop.handle_request(request)


@pytest.fixture
def bridge(runtime, app):
    b = Bridge(runtime)
    network = Network(app, b)
    runtime.ports.gateway_transport = network
    runtime.ports.abdm_transport = network
    with unit_of_work(runtime.session_factory) as s:
        register_bridge(
            s,
            system_context(),
            client_id=CLIENT_ID,
            name="J&K HMIS",
            url=f"http://{BRIDGE}",
            secret=SECRET,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        )
        add_service(
            s,
            system_context(),
            client_id=CLIENT_ID,
            service_id=HIP,
            service_type="HIP",
            name="PHC Khag",
            clock=runtime.clock,
        )
    yield b
    runtime.ports.abdm_client = None
    runtime.ports.gateway_keys = None
    runtime.ports.gateway_http = None


def call_echo(runtime, echo="ping", context=None) -> str:
    with unit_of_work(runtime.session_factory) as s:
        return runtime.abdm_outbox().enqueue(
            s,
            path=ECHO_PATH,
            body={"echo": echo},
            headers={"X-HIP-ID": HIP},
            context=context or {"kind": "echo", "ref": 7},
        )


def run_worker(runtime) -> int:
    return drain(runtime.session_factory, handlers_for(runtime), clock=runtime.clock)


def ledger(runtime, direction):
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(
                select(GatewayMessage)
                .where(GatewayMessage.direction == direction)
                .order_by(GatewayMessage.id)
            )
        )


def facility_rows(runtime, direction):
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(
                select(AbdmMessage)
                .where(AbdmMessage.direction == direction)
                .order_by(AbdmMessage.id)
            )
        )


# --------------------------------------------------------------------------- the round trip


def test_round_trip_request_to_verified_callback(runtime, bridge):
    rid = call_echo(runtime)
    assert bridge.received == []  # nothing leaves before the worker runs
    assert run_worker(runtime) == 3  # abdm.send, gateway.process, gateway.deliver

    [ctx] = bridge.received
    assert ctx.in_reply_to == rid and ctx.hip_id == HIP and ctx.hiu_id is None
    assert ctx.body["echo"] == "ping" and ctx.body["status"] == "OK"
    assert ctx.call is not None and ctx.call.context == {"kind": "echo", "ref": 7}
    assert ctx.call.path == ECHO_PATH and ctx.call.service_id == HIP

    # What went over the wire to the bridge: ABDM's headers, a gateway-signed token.
    [sent] = bridge.requests
    assert sent.headers["X-HIP-ID"] == HIP and sent.headers["X-CM-ID"] == "sbx"
    assert sent.headers["TIMESTAMP"] == "2026-11-26T09:00:00.000Z"
    assert uuid.UUID(sent.headers["REQUEST-ID"]) and sent.headers["REQUEST-ID"] != rid
    claims = jwt.decode(
        sent.headers["Authorization"][7:],
        runtime.keyring.private_key("signing").public_key(),
        algorithms=["RS256"],
        audience=CLIENT_ID,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["typ"] == "callback" and claims["requestId"] == sent.headers["REQUEST-ID"]
    assert claims["bodyDigest"] == hashlib.sha256(sent.content).hexdigest()

    # Both ledgers: every exchange, bodies gone once done, digests kept.
    [inbound] = ledger(runtime, "inbound")
    [outbound] = ledger(runtime, "outbound")
    assert (inbound.request_id, inbound.status, inbound.body) == (rid, "processed", None)
    assert inbound.service_id == HIP and inbound.extra_headers is None
    assert outbound.status == "delivered" and outbound.in_reply_to == rid
    assert outbound.body is None and outbound.http_status == 202 and outbound.attempts == 1
    [call] = facility_rows(runtime, "outbound")
    assert call.status == "sent" and call.body is None and call.answered_at is not None
    [received] = facility_rows(runtime, "inbound")
    assert received.request_id == sent.headers["REQUEST-ID"] and received.in_reply_to == rid

    # The facility's client took one session and reuses it.
    call_echo(runtime, "again")
    run_worker(runtime)
    assert len(bridge.received) == 2
    assert runtime.abdm_client().sessions_taken == 1
    assert runtime.gateway_keys().fetches == 1


def test_duplicate_callback_is_a_no_op(runtime, bridge, app):
    call_echo(runtime)
    run_worker(runtime)
    [sent] = bridge.requests
    again = _send(
        bridge, httpx.Request("POST", sent.url, headers=sent.headers, content=sent.content)
    )
    assert again.status_code == 202 and again.content == b""
    assert len(bridge.received) == 1
    assert len(facility_rows(runtime, "inbound")) == 1
    with unit_of_work(runtime.session_factory) as s:
        refused = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "abdm.callback.receive", AuditEvent.outcome != "success"
            )
        ).all()
    assert [e.reason_code for e in refused] == ["ABDM-1112"]


def test_delivery_fails_twice_then_succeeds(runtime, bridge, clock):
    rid = call_echo(runtime)
    bridge.fail_next = 2
    run_worker(runtime)
    [out] = ledger(runtime, "outbound")
    assert (out.status, out.attempts, out.http_status) == ("retrying", 1, 503)
    assert out.body is not None  # kept for the next try
    assert run_worker(runtime) == 0  # not due before the backoff
    clock.advance(seconds=10)
    run_worker(runtime)
    assert ledger(runtime, "outbound")[0].attempts == 2
    clock.advance(seconds=30)
    run_worker(runtime)
    [out] = ledger(runtime, "outbound")
    assert (out.status, out.attempts, out.body) == ("delivered", 3, None)
    [ctx] = bridge.received
    assert ctx.in_reply_to == rid
    # One REQUEST-ID over all three tries: a bridge that did get an earlier one sees a
    # duplicate, not a second callback.
    assert len({r.headers["REQUEST-ID"] for r in bridge.requests}) == 1
    assert len({r.headers["Authorization"] for r in bridge.requests}) == 3  # signed per try


def test_dead_after_max_attempts(runtime, bridge, clock):
    call_echo(runtime)
    bridge.down = True
    for _ in range(6):
        run_worker(runtime)
        clock.advance(minutes=5)
    [out] = ledger(runtime, "outbound")
    assert (out.status, out.attempts, out.body) == ("dead", 3, None)
    assert out.last_error.startswith("ConnectError")
    with unit_of_work(runtime.session_factory) as s:
        topics = dict(s.execute(select(OutboxMessage.topic, OutboxMessage.status)).all())
    assert topics["gateway.deliver"] == "dead"
    assert bridge.received == []


def test_late_callback_still_finds_its_context(runtime, bridge, clock):
    rid = call_echo(runtime, context={"kind": "link-token", "patient": 42})
    # Only the facility's call goes out now; the gateway's worker is slow.
    relay_once(runtime.session_factory, handlers_for(runtime), clock=clock, limit=1)
    assert [m.status for m in ledger(runtime, "inbound")] == ["accepted"]
    clock.advance(minutes=10)
    run_worker(runtime)
    [ctx] = bridge.received
    assert ctx.in_reply_to == rid and ctx.call.context == {"kind": "link-token", "patient": 42}
    with unit_of_work(runtime.session_factory) as s:
        assert find_context(s, rid).created_at < find_context(s, rid).answered_at


def test_replayed_request_from_the_facility_is_processed_once(runtime, bridge):
    """The facility's send got no answer (lost response) and tried again: same REQUEST-ID."""
    call_echo(runtime)
    run_worker(runtime)
    [call] = facility_rows(runtime, "outbound")
    client = runtime.abdm_client()
    client.send(ECHO_PATH, {"echo": "ping"}, {"X-HIP-ID": HIP}, request_id=call.request_id)
    run_worker(runtime)
    assert len(ledger(runtime, "inbound")) == 1 and len(bridge.received) == 1


# --------------------------------------------------------------------------- forgeries


def _callback_request(runtime, *, token: str | None, body: bytes, rid: str | None = None):
    rid = rid or str(uuid.uuid4())
    headers = {
        "REQUEST-ID": rid,
        "TIMESTAMP": "2026-11-26T09:00:00.000Z",
        "X-HIP-ID": HIP,
        "Content-Type": "application/json",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Request("POST", f"http://{BRIDGE}{ON_ECHO_PATH}", headers=headers, content=body)


NOW = 1795683600  # the frozen clock: 2026-11-26T09:00:00Z


def _claims(rid, body, **over):
    return {
        "iss": "healthstack",
        "sub": "gateway",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "typ": "callback",
        "requestId": rid,
        "bodyDigest": hashlib.sha256(body).hexdigest(),
        "X-HIP-ID": HIP,
        **over,
    }


def _send(bridge, request):
    return AsgiLoopback({BRIDGE: bridge.app}).handle_request(request)


@pytest.fixture
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_forged_callbacks_are_refused_and_audited(runtime, bridge, other_key):
    body = json.dumps({"status": "OK", "response": {"requestId": str(uuid.uuid4())}}).encode()
    real_kid = tokens.key_id(runtime.keyring)
    real_key = runtime.keyring.private_key("signing")
    cases = {}

    rid = str(uuid.uuid4())
    cases["unsigned"] = _callback_request(runtime, token=None, body=body, rid=rid)
    rid = str(uuid.uuid4())
    forged = jwt.encode(_claims(rid, body), other_key, algorithm="RS256", headers={"kid": real_kid})
    cases["another key, our kid"] = _callback_request(runtime, token=forged, body=body, rid=rid)
    rid = str(uuid.uuid4())
    forged = jwt.encode(_claims(rid, body), other_key, algorithm="RS256", headers={"kid": "evil"})
    cases["another key, unknown kid"] = _callback_request(runtime, token=forged, body=body, rid=rid)
    rid = str(uuid.uuid4())
    none_alg = jwt.encode(_claims(rid, body), None, algorithm="none")
    cases["alg none"] = _callback_request(runtime, token=none_alg, body=body, rid=rid)
    # Real gateway signatures, but not for this message or this bridge:
    rid = str(uuid.uuid4())
    session_token = tokens.issue(
        runtime.keyring,
        subject=CLIENT_ID,
        audience=CLIENT_ID,
        ttl_seconds=300,
        clock=runtime.clock,
        claims={"typ": "access"},
    )
    cases["a session token"] = _callback_request(runtime, token=session_token, body=body, rid=rid)
    rid = str(uuid.uuid4())
    other_bridge = jwt.encode(
        _claims(rid, body, aud="another-hmis"),
        real_key,
        algorithm="RS256",
        headers={"kid": real_kid},
    )
    cases["another bridge's"] = _callback_request(runtime, token=other_bridge, body=body, rid=rid)
    rid = str(uuid.uuid4())
    signed = jwt.encode(_claims(rid, body), real_key, algorithm="RS256", headers={"kid": real_kid})
    tampered = body.replace(b"OK", b"KO")
    cases["body changed"] = _callback_request(runtime, token=signed, body=tampered, rid=rid)
    cases["REQUEST-ID changed"] = _callback_request(runtime, token=signed, body=body)
    rid = str(uuid.uuid4())
    expired = jwt.encode(
        _claims(rid, body, exp=NOW - 60),
        real_key,
        algorithm="RS256",
        headers={"kid": real_kid},
    )
    cases["expired"] = _callback_request(runtime, token=expired, body=body, rid=rid)

    for name, request in cases.items():
        r = _send(bridge, request)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("ABDM-1101", "ABDM-1102"), name
    assert bridge.received == []
    assert facility_rows(runtime, "inbound") == []
    with unit_of_work(runtime.session_factory) as s:
        refused = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "abdm.callback.receive", AuditEvent.outcome != "success")
        )
    assert refused == len(cases)
    # Fetched once; an unknown kid right after a fetch does not make it fetch again
    # (tests/unit/gateway: it does after a minute).
    assert runtime.gateway_keys().fetches == 1

    # The control: the same construction with the real key and matching claims passes.
    rid = str(uuid.uuid4())
    good = jwt.encode(_claims(rid, body), real_key, algorithm="RS256", headers={"kid": real_kid})
    r = _send(bridge, _callback_request(runtime, token=good, body=body, rid=rid))
    assert r.status_code == 202 and len(bridge.received) == 1
    assert bridge.received[0].call is None  # not an answer to any call of ours


def test_callback_timestamp_window(runtime, bridge):
    body = b'{"status":"OK"}'
    key, kid = runtime.keyring.private_key("signing"), tokens.key_id(runtime.keyring)
    for stamp, status in (
        ("2026-11-26T08:49:00.000Z", 400),  # 11 minutes old
        ("2026-11-26T09:03:00.000Z", 400),  # 3 minutes ahead
        ("yesterday", 400),
        ("2026-11-26T08:51:00.000Z", 202),
    ):
        rid = str(uuid.uuid4())
        token = jwt.encode(_claims(rid, body), key, algorithm="RS256", headers={"kid": kid})
        request = _callback_request(runtime, token=token, body=body, rid=rid)
        request.headers["TIMESTAMP"] = stamp
        r = _send(bridge, request)
        assert r.status_code == status, (stamp, r.text)
        if status == 400:
            assert r.json()["error"]["code"] in ("ABDM-1105", "ABDM-1106")


# --------------------------------------------------------------------------- failures


def test_facility_call_refused_by_the_gateway_is_closed_not_retried(runtime, bridge):
    with unit_of_work(runtime.session_factory) as s:
        runtime.abdm_outbox().enqueue(
            s, path=ECHO_PATH, body={}, headers={"X-HIP-ID": "IN0110000999"}
        )
    run_worker(runtime)
    [call] = facility_rows(runtime, "outbound")
    assert (call.status, call.http_status, call.last_error) == ("rejected", 404, "ABDM-1110")
    assert call.body is None and ledger(runtime, "inbound") == []


def test_gateway_down_retries_then_dead(runtime, bridge, clock, app):
    runtime.ports.abdm_transport = AsgiLoopback({})  # nothing answers
    with unit_of_work(runtime.session_factory) as s:
        runtime.abdm_outbox().enqueue(s, path=ECHO_PATH, body={}, headers={"X-HIP-ID": HIP})
    for _ in range(12):
        run_worker(runtime)
        clock.advance(hours=1)
    [call] = facility_rows(runtime, "outbound")
    assert (call.status, call.attempts, call.body) == ("dead", 8, None)


# --------------------------------------------------------------------------- handler failures

FLAKY_PATH = "/test/v3/flaky"
_flaky = {"crashes": 0}


def _flaky_handler(session, message, runtime):
    if message.body.get("mode") == "refuse":
        raise ValidationFailed("Patient not found.", code="ABDM-1010")
    if _flaky["crashes"] > 0:
        _flaky["crashes"] -= 1
        raise RuntimeError("database hiccup")
    return [reply(message, ON_ECHO_PATH, {"status": "OK"})]


@pytest.fixture
def flaky_route(app):
    register_handler(FLAKY_PATH, _flaky_handler, reply_path=ON_ECHO_PATH)
    router = APIRouter()

    @router.post("/api/hiecm" + FLAKY_PATH, status_code=202)
    def flaky(
        request: Request, session: DbSession, rt: RuntimeDep, body: Annotated[dict, Body()]
    ) -> Response:
        return accept(
            session,
            request=request,
            path=FLAKY_PATH,
            body=body,
            clock=rt.clock,
            keyring=rt.keyring,
            settings=rt.settings.gateway,
            cm_id=rt.settings.abha.cm_id,
        ).response()

    app.include_router(router)
    _flaky["crashes"] = 0


def _call(runtime, body) -> str:
    with unit_of_work(runtime.session_factory) as s:
        return runtime.abdm_outbox().enqueue(
            s, path=FLAKY_PATH, body=body, headers={"X-HIP-ID": HIP}
        )


def test_a_refusal_in_the_handler_becomes_an_error_callback(runtime, bridge, flaky_route):
    rid = _call(runtime, {"mode": "refuse"})
    run_worker(runtime)
    [ctx] = bridge.received
    assert ctx.in_reply_to == rid and ctx.call is not None
    assert ctx.body["error"] == {"code": "ABDM-1010", "message": "Patient not found."}
    [inbound] = ledger(runtime, "inbound")
    assert (inbound.status, inbound.last_error, inbound.body) == ("processed", "ABDM-1010", None)


def test_a_crashing_handler_is_retried_then_answers_1024(runtime, bridge, flaky_route, clock):
    _flaky["crashes"] = 1
    rid = _call(runtime, {"mode": "ok"})
    run_worker(runtime)
    [inbound] = ledger(runtime, "inbound")
    assert (inbound.status, inbound.attempts) == ("accepted", 1)
    assert inbound.last_error == "RuntimeError: database hiccup"
    clock.advance(seconds=10)
    run_worker(runtime)
    [ctx] = bridge.received
    assert ctx.in_reply_to == rid and ctx.body["status"] == "OK"
    assert ledger(runtime, "inbound")[0].status == "processed"

    _flaky["crashes"] = 99
    rid = _call(runtime, {"mode": "ok"})
    for _ in range(8):
        run_worker(runtime)
        clock.advance(minutes=5)
    failed = ledger(runtime, "inbound")[-1]
    assert (failed.status, failed.attempts, failed.body) == ("failed", 5, None)
    assert bridge.received[-1].in_reply_to == rid
    assert bridge.received[-1].body["error"]["code"] == "ABDM-1024"
