"""The gateway's and the facility client's rules without a database: header parsing,
the token bucket, bridge URL and client id rules, the HTTP client's session cache and
error classes (httpx.MockTransport), the JWKS cache, the loopback transport."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from healthstack.integrations.abdm.callbacks import JwksCache
from healthstack.integrations.abdm.client import (
    AbdmCallFailed,
    AbdmCallRejected,
    HttpAbdmClient,
    stamp,
)
from healthstack.integrations.abdm.transport import AsgiLoopback
from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.errors import ServiceUnavailable, ValidationFailed
from healthstack.network.gateway.accept import (
    check_cm_id,
    parse_request_id,
    parse_timestamp,
    take_token,
)
from healthstack.network.gateway.exceptions import GatewayRateLimited, HeaderInvalid
from healthstack.network.gateway.routing import canonical_json, digest, register_handler
from healthstack.network.gateway.service import normalise_client_id, normalise_url

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- headers


def test_request_id():
    assert parse_request_id(" 839EDE87-6bad-48df-a0d5-e93305c88e75 ") == (
        "839ede87-6bad-48df-a0d5-e93305c88e75"
    )
    for bad in (None, "", "839ede87", "not-a-uuid"):
        with pytest.raises(HeaderInvalid) as err:
            parse_request_id(bad)
        assert err.value.code == "ABDM-1104" and err.value.field == "REQUEST-ID"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "ABDM-1105"),
        ("", "ABDM-1105"),
        ("26-11-2026", "ABDM-1105"),
        ("2026-11-26T08:49:59.999Z", "ABDM-1106"),
        ("2026-11-26T09:02:00.001Z", "ABDM-1106"),
        ("2026-11-26T20:00:00.000+05:30", "ABDM-1106"),  # 14:30 UTC
    ],
)
def test_timestamp_refused(raw, code):
    with pytest.raises(HeaderInvalid) as err:
        parse_timestamp(raw, now=NOW, past=600, future=120)
    assert err.value.code == code


def test_timestamp_accepted():
    for raw in ("2026-11-26T08:50:00.000Z", "2026-11-26T09:02:00Z", "2026-11-26T14:30:00+05:30"):
        assert parse_timestamp(raw, now=NOW, past=600, future=120).tzinfo is not None


def test_cm_id():
    check_cm_id("sbx", "sbx")
    for bad in (None, "", "abdm", "SBX"):
        with pytest.raises(HeaderInvalid):
            check_cm_id(bad, "sbx")


def test_abdm_timestamp_form():
    assert (
        stamp(datetime(2026, 11, 26, 14, 30, 0, 123456, tzinfo=UTC)) == "2026-11-26T14:30:00.123Z"
    )


# --------------------------------------------------------------------------- rate limit


def test_token_bucket():
    bridge = SimpleNamespace(rate_tokens=3.0, rate_checked_at=NOW)
    for _ in range(3):
        take_token(bridge, now=NOW, rate=1.0, burst=3)
    with pytest.raises(GatewayRateLimited) as err:
        take_token(bridge, now=NOW, rate=1.0, burst=3)
    assert err.value.code == "ABDM-1100" and err.value.status_hint == 429
    assert err.value.headers == {"Retry-After": "1"}
    take_token(bridge, now=NOW + timedelta(seconds=1), rate=1.0, burst=3)
    # A long pause refills to the burst, not beyond.
    take_token(bridge, now=NOW + timedelta(hours=1), rate=1.0, burst=3)
    assert bridge.rate_tokens == 2.0
    # A clock that steps back does not mint tokens.
    take_token(bridge, now=NOW, rate=1.0, burst=3)
    assert bridge.rate_tokens == 1.0


# --------------------------------------------------------------------------- bridges


def test_bridge_url_rules():
    assert normalise_url(" https://hmis.example.org/abdm/ ") == "https://hmis.example.org/abdm"
    assert normalise_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in (
        "",
        "hmis.example.org",
        "ftp://x.org",
        "https://",
        "https://u:p@x.org",
        "https://x.org/#f",
    ):
        with pytest.raises(ValidationFailed) as err:
            normalise_url(bad)
        assert err.value.field == "url"


def test_client_id_rules():
    assert normalise_client_id(" jk-hmis.v3_1 ") == "jk-hmis.v3_1"
    for bad in ("", "ab", "-lead", "has space", "x" * 65, "gateway", "abha-user", "HIECM-GATEWAY"):
        with pytest.raises(ValidationFailed):
            normalise_client_id(bad)


def test_canonical_json_is_stable():
    a = canonical_json({"b": 1, "a": {"y": "ū", "x": [1, 2]}})
    assert a == '{"a":{"x":[1,2],"y":"ū"},"b":1}'.encode()
    assert digest(a) == digest(canonical_json(json.loads(a)))


def test_handler_paths_are_unique():
    def one(session, message, runtime):
        return []

    def two(session, message, runtime):
        return []

    register_handler("/test/v3/unique", one)
    register_handler("/test/v3/unique", one)  # the same function again is fine
    with pytest.raises(ValueError, match="already has a handler"):
        register_handler("/test/v3/unique", two)
    with pytest.raises(ValueError):
        register_handler("no-slash", one)


# --------------------------------------------------------------------------- HTTP client


class FakeGateway:
    """Plays the gateway's sessions endpoint and one call endpoint."""

    def __init__(self):
        self.sessions: list[dict] = []
        self.calls: list[httpx.Request] = []
        self.answers: list[int] = []  # status codes for the next calls (default 202)
        self.n = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/gateway/v3/sessions"):
            body = json.loads(request.content)
            self.sessions.append(body)
            if body.get("grantType") == "refresh_token" and body["refreshToken"] == "dead":
                return httpx.Response(401, json={"error": {"code": "ABDM-1103", "message": "x"}})
            self.n += 1
            return httpx.Response(
                200,
                json={
                    "accessToken": f"access-{self.n}",
                    "expiresIn": 1800,
                    "refreshExpiresIn": 86400,
                    "refreshToken": "dead" if self.n == 2 else f"refresh-{self.n}",
                    "tokenType": "bearer",
                },
            )
        self.calls.append(request)
        status = self.answers.pop(0) if self.answers else 202
        if status == 202:
            return httpx.Response(202)
        return httpx.Response(status, json={"error": {"code": f"ABDM-{status}", "message": "no"}})


@pytest.fixture
def gw():
    return FakeGateway()


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def client(gw, clock):
    return HttpAbdmClient(
        base_url="https://dev.example.org/api/hiecm/",
        client_id="jk-hmis",
        client_secret="s3cret-s3cret-s3cret",
        cm_id="sbx",
        clock=clock,
        transport=httpx.MockTransport(gw),
    )


def test_client_headers_and_session_reuse(client, gw, clock):
    rid = client.send("/v3/token/generate-token", {"abhaNumber": "1"}, {"X-HIP-ID": "IN0110000001"})
    [call] = gw.calls
    assert str(call.url) == "https://dev.example.org/api/hiecm/v3/token/generate-token"
    assert call.headers["Authorization"] == "Bearer access-1"
    assert call.headers["REQUEST-ID"] == rid and call.headers["X-HIP-ID"] == "IN0110000001"
    assert (
        call.headers["TIMESTAMP"] == "2026-11-26T09:00:00.000Z" and call.headers["X-CM-ID"] == "sbx"
    )
    assert json.loads(call.content) == {"abhaNumber": "1"}
    assert gw.sessions == [
        {
            "clientId": "jk-hmis",
            "clientSecret": "s3cret-s3cret-s3cret",
            "grantType": "client_credentials",
        }
    ]
    clock.advance(seconds=1700)
    client.send("/v3/x", {}, {}, request_id="6b1b5e9e-0000-4000-8000-000000000001")
    assert len(gw.sessions) == 1  # still 100 s before expiry
    clock.advance(seconds=50)  # within a minute of expiry: refreshed
    client.send("/v3/x", {}, {})
    assert gw.sessions[-1] == {
        "clientId": "jk-hmis",
        "grantType": "refresh_token",
        "refreshToken": "refresh-1",
    }
    assert gw.calls[-1].headers["Authorization"] == "Bearer access-2"
    # The second session's refresh token is refused: the client starts over.
    clock.advance(seconds=1790)
    client.send("/v3/x", {}, {})
    assert [s["grantType"] for s in gw.sessions[-2:]] == ["refresh_token", "client_credentials"]
    assert gw.calls[-1].headers["Authorization"] == "Bearer access-3"


def test_client_retries_a_401_once_with_a_fresh_session(client, gw):
    gw.answers = [401]
    client.send("/v3/x", {}, {})
    assert [c.headers["Authorization"] for c in gw.calls] == ["Bearer access-1", "Bearer access-2"]
    assert len({c.headers["REQUEST-ID"] for c in gw.calls}) == 1
    gw.answers = [401, 401]
    with pytest.raises(AbdmCallFailed) as err:
        client.send("/v3/x", {}, {})
    assert not isinstance(err.value, AbdmCallRejected) and err.value.status == 401


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (403, True), (404, True), (409, True), (429, False), (500, False), (503, False)],
)
def test_client_error_classes(client, gw, status, permanent):
    gw.answers = [status]
    with pytest.raises(AbdmCallFailed) as err:
        client.send("/v3/x", {}, {})
    assert isinstance(err.value, AbdmCallRejected) is permanent
    assert err.value.status == status and err.value.code == f"ABDM-{status}"


def test_client_unreachable_gateway(clock):
    def down(request):
        raise httpx.ConnectError("refused", request=request)

    c = HttpAbdmClient(
        base_url="http://nowhere",
        client_id="a-b",
        client_secret="x" * 16,
        cm_id="sbx",
        clock=clock,
        transport=httpx.MockTransport(down),
    )
    with pytest.raises(AbdmCallFailed, match="unreachable"):
        c.send("/v3/x", {}, {})


# --------------------------------------------------------------------------- JWKS cache


def _jwk(kid: str) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {**json.loads(RSAAlgorithm.to_jwk(key)), "kid": kid, "alg": "RS256", "use": "sig"}


def test_jwks_cache_fetches_again_for_a_new_kid_at_most_once_a_minute(clock):
    published = {"keys": [_jwk("k1")]}
    fetched = []

    def certs(request):
        fetched.append(request.url.path)
        return httpx.Response(200, json=published)

    cache = JwksCache(
        "http://gw/api/hiecm/gateway/v3/certs",
        httpx.Client(transport=httpx.MockTransport(certs)),
        clock,
    )
    assert cache.key("k1") is not None and cache.key("k1") is not None
    assert len(fetched) == 1
    published["keys"].append(_jwk("k2"))  # the gateway rotates its key
    assert cache.key("k2") is None  # right after a fetch: not again
    clock.advance(seconds=61)
    assert cache.key("k2") is not None and len(fetched) == 2
    assert cache.key("k3") is None and len(fetched) == 2


def test_jwks_cache_gateway_down(clock):
    cache = JwksCache(
        "http://gw/certs",
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(502))),
        clock,
    )
    with pytest.raises(ServiceUnavailable):
        cache.key("k1")


# --------------------------------------------------------------------------- loopback


def test_loopback_unknown_host_and_inside_an_event_loop():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"pong": True}

    loop = AsgiLoopback({"a.test": app})
    with httpx.Client(transport=loop) as c:
        assert c.get("http://a.test/ping").json() == {"pong": True}
        with pytest.raises(httpx.ConnectError):
            c.get("http://b.test/ping")

    async def from_async() -> int:
        with httpx.Client(transport=loop) as c:
            return c.get("http://a.test/ping").status_code

    # On a thread of its own: this one may hold a running loop already (Playwright's
    # sync API keeps one for the browser tests' session).
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, from_async()).result() == 200


def test_the_facility_side_checks_the_session_tokens_the_gateway_issues():
    """The HIU verifies a data push's session token without importing the gateway."""
    from healthstack.integrations.abdm.callbacks import SESSION_AUDIENCE, SESSION_TOKEN_TYPE
    from healthstack.network.gateway.service import ACCESS_AUDIENCE

    assert (SESSION_AUDIENCE, SESSION_TOKEN_TYPE) == (ACCESS_AUDIENCE, "access")
