"""Bridge administration: the admin API (state admin only, bad input with clear
errors, duplicates refused, the ledger without bodies) and ``healthstack gateway``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from healthstack.cli.main import app as cli
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.models import GatewayBridge
from tests.conftest import TEST_SECRET

API = "/api/v1/gateway"
GOOD = {"client_id": "jk-hmis", "name": "J&K HMIS", "url": "https://hmis.jk.example.org/"}


@pytest.fixture
def admin(make_staff):
    return make_staff(Role.STATE_ADMIN)


def test_register_add_services_and_use_the_secret(client, admin, runtime):
    r = client.post(f"{API}/bridges", json=GOOD, headers=admin.headers)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["url"] == "https://hmis.jk.example.org"  # the trailing slash is dropped
    assert got["services"] == [] and got["is_active"] is True
    secret = got["client_secret"]
    assert len(secret) >= 40
    with unit_of_work(runtime.session_factory) as s:
        stored = s.scalar(select(GatewayBridge.secret_hash))
    assert secret not in stored and stored.startswith("$argon2")
    for kind in ("HIP", "HIU"):
        r = client.post(
            f"{API}/bridges/jk-hmis/services",
            json={"service_id": "in0110000001", "type": kind, "name": "PHC Khag"},
            headers=admin.headers,
        )
        assert r.status_code == 201, r.text
    assert [(s["service_id"], s["type"]) for s in r.json()["services"]] == [
        ("IN0110000001", "HIP"),
        ("IN0110000001", "HIU"),
    ]
    session = client.post(
        "/api/hiecm/gateway/v3/sessions", json={"clientId": "jk-hmis", "clientSecret": secret}
    )
    assert session.status_code == 200
    listed = client.get(f"{API}/bridges", headers=admin.headers).json()
    assert [b["client_id"] for b in listed] == ["jk-hmis"] and "client_secret" not in listed[0]
    with unit_of_work(runtime.session_factory) as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["gateway.bridge.register", "gateway.service.add", "gateway.service.add"]


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"url": "ftp://hmis.example.org"}, "url", "http"),
        ({"url": "hmis.example.org"}, "url", "http"),
        ({"url": "https://"}, "url", "host"),
        ({"url": "https://user:pw@hmis.example.org"}, "url", "password"),
        ({"url": "https://hmis.example.org/cb?x=1"}, "url", "query"),
        ({"client_id": "a b"}, "client_id", "letters"),
        ({"client_id": "x"}, "client_id", "3 to 64"),
        ({"client_id": "hiecm-gateway"}, "client_id", "reserved"),
        ({"name": " "}, "name", "name"),
        ({"secret": "short"}, "secret", "16"),
    ],
)
def test_bad_bridge_input(client, admin, change, field, needle):
    r = client.post(f"{API}/bridges", json={**GOOD, **change}, headers=admin.headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] == field and needle in body["detail"]


def test_duplicates_are_refused(client, admin):
    assert client.post(f"{API}/bridges", json=GOOD, headers=admin.headers).status_code == 201
    r = client.post(f"{API}/bridges", json=GOOD, headers=admin.headers)
    assert r.status_code == 409 and "already registered" in r.json()["detail"]
    other = {**GOOD, "client_id": "other-hmis"}
    assert client.post(f"{API}/bridges", json=other, headers=admin.headers).status_code == 201
    service = {"service_id": "IN0110000001", "type": "HIP", "name": "PHC Khag"}
    url = f"{API}/bridges/jk-hmis/services"
    assert client.post(url, json=service, headers=admin.headers).status_code == 201
    r = client.post(url, json=service, headers=admin.headers)
    assert r.status_code == 409 and "already a HIP" in r.json()["detail"]
    r = client.post(
        f"{API}/bridges/other-hmis/services",
        json={**service, "type": "HIU"},
        headers=admin.headers,
    )
    assert r.status_code == 409 and "another bridge (jk-hmis)" in r.json()["detail"]


def test_bad_service_input(client, admin):
    client.post(f"{API}/bridges", json=GOOD, headers=admin.headers)
    url = f"{API}/bridges/jk-hmis/services"
    r = client.post(
        url, json={"service_id": "IN01", "type": "HIP", "name": "x"}, headers=admin.headers
    )
    assert r.status_code == 400 and "IN followed by 10 digits" in r.json()["detail"]
    r = client.post(
        url, json={"service_id": "IN0110000001", "type": "LAB", "name": "x"}, headers=admin.headers
    )
    assert r.status_code == 400 and r.json()["field"] == "type"
    # A HIP is a facility: an application id is refused; an HIU may be an application.
    r = client.post(
        url,
        json={"service_id": "HEALTHSTACK-PHR", "type": "HIP", "name": "x"},
        headers=admin.headers,
    )
    assert r.status_code == 400 and "IN followed by 10 digits" in r.json()["detail"]
    for bad in ("PHR APP", "9PHR", "A-PHR-APPLICATION-ID", "IN01", "ph"):
        r = client.post(
            url, json={"service_id": bad, "type": "HIU", "name": "x"}, headers=admin.headers
        )
        assert r.status_code == 400, bad
        assert "application's id" in r.json()["detail"] and r.json()["field"] == "service_id"
    r = client.post(
        url,
        json={"service_id": "healthstack-phr", "type": "HIU", "name": "PHR"},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert {"service_id": "HEALTHSTACK-PHR", "type": "HIU"}.items() <= r.json()["services"][
        0
    ].items()
    r = client.post(
        f"{API}/bridges/nobody/services",
        json={"service_id": "IN0110000001", "type": "HIP", "name": "x"},
        headers=admin.headers,
    )
    assert r.status_code == 404


def test_update_url_and_switch_off(client, admin):
    client.post(f"{API}/bridges", json=GOOD, headers=admin.headers)
    r = client.patch(
        f"{API}/bridges/jk-hmis", json={"url": "http://10.0.0.5:8080"}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["url"] == "http://10.0.0.5:8080"
    r = client.patch(f"{API}/bridges/jk-hmis", json={"url": "nope"}, headers=admin.headers)
    assert r.status_code == 400 and r.json()["field"] == "url"
    r = client.patch(f"{API}/bridges/jk-hmis", json={"is_active": False}, headers=admin.headers)
    assert r.json()["is_active"] is False


def test_only_the_state_admin(client, make_staff):
    assert client.get(f"{API}/bridges").status_code == 401
    for role in (Role.DISTRICT_OFFICER, Role.FACILITY_ADMIN):
        who = make_staff(role)
        assert client.get(f"{API}/bridges", headers=who.headers).status_code == 403
        assert client.post(f"{API}/bridges", json=GOOD, headers=who.headers).status_code == 403


def test_ledger_listing_has_no_bodies(client, admin, runtime):
    secret = client.post(f"{API}/bridges", json=GOOD, headers=admin.headers).json()["client_secret"]
    token = client.post(
        "/api/hiecm/gateway/v3/sessions", json={"clientId": "jk-hmis", "clientSecret": secret}
    ).json()["accessToken"]
    h = {
        "Authorization": f"Bearer {token}",
        "REQUEST-ID": "0f4bd5a6-4f53-4c39-9d43-cc0e3b6a0b11",
        "TIMESTAMP": "2026-11-26T09:00:00.000Z",
        "X-CM-ID": "sbx",
    }
    assert (
        client.post(
            "/api/hiecm/gateway/v3/diagnostics/echo", json={"echo": "secret"}, headers=h
        ).status_code
        == 202
    )
    [row] = client.get(f"{API}/messages?client_id=jk-hmis", headers=admin.headers).json()
    assert row["request_id"] == h["REQUEST-ID"] and row["status"] == "accepted"
    assert "body" not in row and "secret" not in json.dumps(row)
    assert client.get(f"{API}/messages?status=dead", headers=admin.headers).json() == []


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.fixture
def cli_env(settings, runtime, monkeypatch):
    """The CLI on the test database (SQLite or PostgreSQL), as a user would point it."""
    monkeypatch.setenv("HEALTHSTACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HEALTHSTACK_ENV", "test")
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", TEST_SECRET)
    return runtime


def test_cli_register_add_list(cli_env):
    r = runner.invoke(
        cli,
        [
            "gateway",
            "register-bridge",
            "jk-hmis",
            "--url",
            "http://127.0.0.1:8000",
            "--name",
            "HMIS",
        ],
    )
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip().splitlines()[-1]
    assert len(secret) >= 40
    r = runner.invoke(
        cli, ["gateway", "add-service", "jk-hmis", "IN0110000001", "--type", "hip", "--name", "PHC"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["gateway", "list", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout) == [
        {
            "client_id": "jk-hmis",
            "name": "HMIS",
            "url": "http://127.0.0.1:8000",
            "is_active": True,
            "services": [{"service_id": "IN0110000001", "type": "HIP", "name": "PHC"}],
        }
    ]
    with unit_of_work(cli_env.session_factory) as s:
        actors = set(s.scalars(select(AuditEvent.actor_id)))
    assert actors == {"cli:gateway"}


def test_cli_given_secret_and_bad_input(cli_env):
    args = [
        "gateway",
        "register-bridge",
        "jk-hmis",
        "--url",
        "http://127.0.0.1:8000",
        "--name",
        "H",
    ]
    r = runner.invoke(cli, [*args, "--secret", "dev-only-change-me"])
    assert r.exit_code == 0 and "dev-only-change-me" not in r.stdout
    r = runner.invoke(cli, args)
    assert r.exit_code == 1 and "already registered" in r.output
    r = runner.invoke(
        cli, ["gateway", "register-bridge", "x2-hmis", "--url", "localhost:8000", "--name", "H"]
    )
    assert r.exit_code == 1 and "http://" in r.output
    r = runner.invoke(
        cli, ["gateway", "add-service", "jk-hmis", "IN0110000001", "--type", "lab", "--name", "P"]
    )
    assert r.exit_code == 1 and "HIP" in r.output
    r = runner.invoke(
        cli, ["gateway", "add-service", "nobody", "IN0110000001", "--type", "HIP", "--name", "P"]
    )
    assert r.exit_code == 1 and "No bridge" in r.output
