"""The gateway's protocol routes: sessions (good, wrong secret, refresh, expiry), the
certs and OpenID configuration, and accepting a request (each header missing or
malformed → its ABDM error, a service of another bridge, a replayed REQUEST-ID, the rate
limit with ABDM's 429 body)."""

from __future__ import annotations

import uuid
from typing import Annotated

import jwt
import pytest
from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import func, select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import system_context
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.accept import accept
from healthstack.network.gateway.diagnostics import ECHO_PATH
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.routing import register_handler
from healthstack.network.gateway.service import add_service, register_bridge, update_bridge
from healthstack.settings import GatewaySettings
from healthstack.web.deps import DbSession, RuntimeDep

SESSIONS = "/api/hiecm/gateway/v3/sessions"
ECHO = "/api/hiecm" + ECHO_PATH
SECRET = "first-bridge-secret-0001"  # noqa: S105
OTHER_SECRET = "other-bridge-secret-0002"  # noqa: S105
HIP = "IN0110000001"
OTHER_HIP = "IN0110000002"
NOW = "2026-11-26T09:00:00.000Z"  # the frozen clock


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={"gateway": GatewaySettings(rate_burst=5, rate_per_second=0.5)}
    )


@pytest.fixture
def bridges(runtime):
    with unit_of_work(runtime.session_factory) as s:
        for cid, secret, hip in (("jk-hmis", SECRET, HIP), ("other-hmis", OTHER_SECRET, OTHER_HIP)):
            register_bridge(
                s,
                system_context(),
                client_id=cid,
                name=cid,
                url=f"http://{cid}.test",
                secret=secret,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
                development=runtime.settings.is_development,
            )
            for kind in ("HIP", "HIU"):
                add_service(
                    s,
                    system_context(),
                    client_id=cid,
                    service_id=hip,
                    service_type=kind,
                    name="facility",
                    clock=runtime.clock,
                )


def session_for(client, cid="jk-hmis", secret=SECRET) -> dict:
    r = client.post(
        SESSIONS, json={"clientId": cid, "clientSecret": secret, "grantType": "client_credentials"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def headers(token: str, **over) -> dict:
    h = {
        "Authorization": f"Bearer {token}",
        "REQUEST-ID": str(uuid.uuid4()),
        "TIMESTAMP": NOW,
        "X-CM-ID": "sbx",
        "X-HIP-ID": HIP,
    }
    for k, v in over.items():
        key = k.replace("_", "-")
        if v is None:
            h.pop(key, None)
        else:
            h[key] = v
    return h


def error(r) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return r.status_code, body["error"]["code"]


# --------------------------------------------------------------------------- sessions


def test_session_and_its_token(client, bridges, runtime):
    got = session_for(client)
    assert set(got) == {"accessToken", "expiresIn", "refreshExpiresIn", "refreshToken", "tokenType"}
    assert got["tokenType"] == "bearer" and got["expiresIn"] == 1800
    jwks = client.get("/api/hiecm/gateway/v3/certs").json()
    [key] = jwt.PyJWKSet.from_dict(jwks).keys
    assert jwt.get_unverified_header(got["accessToken"])["kid"] == key.key_id
    claims = jwt.decode(
        got["accessToken"],
        key.key,
        algorithms=["RS256"],
        audience="hiecm-gateway",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "jk-hmis" and claims["typ"] == "access"


@pytest.mark.parametrize(
    "body",
    [
        {"clientId": "jk-hmis", "clientSecret": "wrong-secret-wrong-secret"},
        {"clientId": "nobody", "clientSecret": SECRET},
        {"clientId": "jk-hmis", "clientSecret": OTHER_SECRET},
    ],
)
def test_wrong_credentials_are_401_with_abdm_body(client, bridges, body):
    r = client.post(SESSIONS, json={**body, "grantType": "client_credentials"})
    assert error(r) == (401, "ABDM-1103")
    assert "credentials" in r.json()["error"]["message"]


def test_bad_session_requests(client, bridges):
    assert error(client.post(SESSIONS, json={"clientId": "jk-hmis"}))[0] == 400
    r = client.post(
        SESSIONS, json={"clientId": "jk-hmis", "clientSecret": SECRET, "grantType": "password"}
    )
    assert r.status_code == 400 and "grantType" in r.json()["error"]["message"]
    r = client.post(SESSIONS, json={"clientId": "jk-hmis", "grantType": "refresh_token"})
    assert error(r) == (400, "ABDM-1103")


def test_refresh_grant(client, bridges, clock):
    first = session_for(client)
    clock.advance(seconds=1700)
    r = client.post(
        SESSIONS,
        json={
            "clientId": "jk-hmis",
            "grantType": "refresh_token",
            "refreshToken": first["refreshToken"],
        },
    )
    assert r.status_code == 200
    fresh = r.json()["accessToken"]
    assert fresh != first["accessToken"]
    clock.advance(seconds=200)  # the first token has expired, the refreshed one has not
    later = "2026-11-26T09:31:40.000Z"
    assert error(
        client.post(ECHO, json={}, headers=headers(first["accessToken"], TIMESTAMP=later))
    ) == (
        401,
        "ABDM-1102",
    )
    assert client.post(ECHO, json={}, headers=headers(fresh, TIMESTAMP=later)).status_code == 202
    # An access token is no refresh token, and another client's refresh token is refused.
    for cid, token in (("jk-hmis", fresh), ("other-hmis", first["refreshToken"])):
        r = client.post(
            SESSIONS, json={"clientId": cid, "grantType": "refresh_token", "refreshToken": token}
        )
        assert error(r) == (401, "ABDM-1103")


def test_switched_off_bridge_gets_no_session_and_its_tokens_stop(client, bridges, runtime):
    token = session_for(client)["accessToken"]
    with unit_of_work(runtime.session_factory) as s:
        update_bridge(
            s,
            system_context(),
            client_id="jk-hmis",
            is_active=False,
            clock=runtime.clock,
            development=runtime.settings.is_development,
        )
    assert error(client.post(ECHO, json={}, headers=headers(token))) == (401, "ABDM-1101")
    r = client.post(SESSIONS, json={"clientId": "jk-hmis", "clientSecret": SECRET})
    assert error(r) == (401, "ABDM-1103")


def test_certs_and_openid_configuration(client):
    jwks = client.get("/api/hiecm/gateway/v3/certs").json()
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    conf = client.get("/api/hiecm/gateway/v3/.well-known/openid-configuration").json()
    assert conf["jwks_uri"].endswith("/api/hiecm/gateway/v3/certs")
    assert conf["token_endpoint"].endswith("/api/hiecm/gateway/v3/sessions")
    assert "client_credentials" in conf["grant_types_supported"]


# --------------------------------------------------------------------------- accept


def test_accepted_is_202_empty_and_in_the_ledger(client, bridges, runtime):
    token = session_for(client)["accessToken"]
    h = headers(token, X_LINK_TOKEN="link-token-value")
    r = client.post(ECHO, json={"echo": "hi"}, headers=h)
    assert r.status_code == 202 and r.content == b""
    with unit_of_work(runtime.session_factory) as s:
        [msg] = s.scalars(select(GatewayMessage)).all()
        assert (msg.direction, msg.status, msg.request_id) == (
            "inbound",
            "accepted",
            h["REQUEST-ID"],
        )
        assert msg.path == ECHO_PATH and msg.service_id == HIP and msg.service_type == "HIP"
        assert msg.body == {"echo": "hi"} and len(msg.body_digest) == 64
        assert msg.extra_headers == {"X-LINK-TOKEN": "link-token-value", "X-HIP-ID": HIP}
        assert s.scalar(select(OutboxMessage.topic)) == "gateway.process"


BAD_HEADERS = [
    ({"Authorization": None}, 401, "ABDM-1101"),
    ({"Authorization": "Bearer not-a-jwt"}, 401, "ABDM-1101"),
    ({"Authorization": "Basic amstaG1pczpzZWNyZXQ="}, 401, "ABDM-1101"),
    ({"REQUEST_ID": None}, 400, "ABDM-1104"),
    ({"REQUEST_ID": "12345"}, 400, "ABDM-1104"),
    ({"TIMESTAMP": None}, 400, "ABDM-1105"),
    ({"TIMESTAMP": "26/11/2026 09:00"}, 400, "ABDM-1105"),
    ({"TIMESTAMP": "2026-11-26T08:49:59.000Z"}, 400, "ABDM-1106"),  # 10 min past is the edge
    ({"TIMESTAMP": "2026-11-26T09:02:01.000Z"}, 400, "ABDM-1106"),
    ({"X_CM_ID": None}, 400, "ABDM-1107"),
    ({"X_CM_ID": "abdm"}, 400, "ABDM-1107"),
    ({"X_HIP_ID": OTHER_HIP}, 403, "ABDM-1109"),
    ({"X_HIU_ID": OTHER_HIP}, 403, "ABDM-1109"),
    ({"X_HIP_ID": "IN0110000999"}, 404, "ABDM-1110"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_HEADERS)
def test_each_bad_header_gets_its_abdm_error(client, bridges, runtime, change, status, code):
    token = session_for(client)["accessToken"]
    h = headers(token, **{k: v for k, v in change.items() if k != "Authorization"})
    if "Authorization" in change:
        if change["Authorization"] is None:
            h.pop("Authorization")
        else:
            h["Authorization"] = change["Authorization"]
    r = client.post(ECHO, json={"echo": 1}, headers=h)
    assert error(r) == (status, code), r.json()
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(GatewayMessage)) == 0
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.accept")).all()
        assert event.outcome != "success" and event.reason_code == code


def test_timestamp_tolerances(client, bridges):
    token = session_for(client)["accessToken"]
    for stamp in (
        "2026-11-26T08:50:00.000Z",  # 10 minutes old: still in
        "2026-11-26T09:02:00.000Z",  # 2 minutes ahead: still in
        "2026-11-26T14:30:00.000+05:30",  # IST written with its offset
        "2026-11-26T09:00:00",  # no offset: read as UTC
    ):
        assert (
            client.post(ECHO, json={}, headers=headers(token, TIMESTAMP=stamp)).status_code == 202
        )


def test_body_must_be_a_json_object(client, bridges):
    token = session_for(client)["accessToken"]
    for content in (b"[1, 2]", b"not json", b""):
        r = client.post(ECHO, content=content, headers=headers(token))
        assert error(r) == (400, "ABDM-1111")


def test_required_headers_of_a_route(client, bridges, app, runtime):
    """A CM route declares what it needs (here X-HIP-ID and X-LINK-TOKEN, as linking)."""
    path = "/test/v3/needs-link"
    register_handler(path, lambda session, message, rt: [])
    router = APIRouter()

    @router.post("/api/hiecm" + path, status_code=202)
    def needs_link(
        request: Request, session: DbSession, rt: RuntimeDep, body: Annotated[dict, Body()]
    ) -> Response:
        return accept(
            session,
            request=request,
            path=path,
            body=body,
            requires=("X-HIP-ID", "X-LINK-TOKEN"),
            clock=rt.clock,
            keyring=rt.keyring,
            settings=rt.settings.gateway,
            cm_id=rt.settings.abha.cm_id,
        ).response()

    app.include_router(router)
    token = session_for(client)["accessToken"]
    url = "/api/hiecm" + path
    assert error(client.post(url, json={}, headers=headers(token))) == (400, "ABDM-1108")
    r = client.post(url, json={}, headers=headers(token, X_HIP_ID=None, X_LINK_TOKEN="t"))
    assert error(r) == (400, "ABDM-1108") and "X-HIP-ID" in r.json()["error"]["message"]
    assert client.post(url, json={}, headers=headers(token, X_LINK_TOKEN="t")).status_code == 202


def test_replayed_request_id_is_refused_409_and_queues_nothing(client, bridges, runtime):
    """A 202 promises a callback; the one callback of a REQUEST-ID belongs to its first
    copy, so an exact repeat is 409 ABDM-1113, saying it was accepted and when."""
    token = session_for(client)["accessToken"]
    h = headers(token)
    assert client.post(ECHO, json={"echo": 1}, headers=h).status_code == 202
    again = client.post(ECHO, json={"echo": 1}, headers=h)
    assert error(again) == (409, "ABDM-1113")
    message = again.json()["error"]["message"]
    assert "already accepted" in message and "2026-11-26T09:00:00Z" in message
    assert "new REQUEST-ID" in message
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(GatewayMessage)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        replay = s.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.accept")).one()
        assert replay.outcome == "failed" and replay.request_id == h["REQUEST-ID"]
        assert replay.reason_code == "ABDM-1113"
    # The same REQUEST-ID with another body is a client error, not a replay.
    assert error(client.post(ECHO, json={"echo": 2}, headers=h)) == (409, "ABDM-1112")
    # Another bridge may (improbably) use the same UUID: its own request.
    other = session_for(client, "other-hmis", OTHER_SECRET)["accessToken"]
    r = client.post(
        ECHO,
        json={"echo": 1},
        headers={**h, **headers(other, REQUEST_ID=h["REQUEST-ID"], X_HIP_ID=OTHER_HIP)},
    )
    assert r.status_code == 202


def test_rate_limit_per_bridge(client, bridges, clock):
    token = session_for(client)["accessToken"]
    other = session_for(client, "other-hmis", OTHER_SECRET)["accessToken"]
    for _ in range(5):  # the burst
        assert client.post(ECHO, json={}, headers=headers(token)).status_code == 202
    r = client.post(ECHO, json={}, headers=headers(token))
    assert error(r) == (429, "ABDM-1100")
    assert r.headers["Retry-After"] == "2"  # one token every 2 s at 0.5/s
    assert "Wait 2 seconds" in r.json()["error"]["message"]
    # Another bridge has its own bucket.
    assert client.post(ECHO, json={}, headers=headers(other, X_HIP_ID=OTHER_HIP)).status_code == 202
    clock.advance(seconds=2)
    assert client.post(ECHO, json={}, headers=headers(token)).status_code == 202
    assert error(client.post(ECHO, json={}, headers=headers(token)))[0] == 429
