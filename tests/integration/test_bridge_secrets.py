"""Bridge secrets: the demo's bridge gets a random secret of its own (kept in the data
directory, 0600, reused on the next run, read by the facility side's client), never
the public placeholder; a placeholder secret is refused outside development, both as
the client's setting and as a bridge's credential."""

from __future__ import annotations

import stat

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from healthstack.demo import ensure_bridge
from healthstack.integrations.abdm.client import demo_secret_path
from healthstack.kernel.context import system_context
from healthstack.kernel.errors import AuthenticationRequired, ServiceUnavailable, ValidationFailed
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.models import GatewayBridge
from healthstack.network.gateway.service import issue_session, register_bridge, update_bridge
from healthstack.settings import DEV_SECRET_PLACEHOLDER, AbdmSettings, Environment

SESSIONS = "/api/hiecm/gateway/v3/sessions"


def _session(client, client_id: str, secret: str):
    return client.post(
        SESSIONS,
        json={"clientId": client_id, "clientSecret": secret, "grantType": "client_credentials"},
    )


def test_the_demo_bridge_gets_a_random_secret_kept_for_the_next_run(client, runtime, settings):
    client_id = settings.abdm.client_id
    assert settings.abdm.client_secret.get_secret_value() == DEV_SECRET_PLACEHOLDER
    ensure_bridge(runtime)

    path = demo_secret_path(settings)
    secret = path.read_text().strip()
    assert len(secret) >= 32 and secret != DEV_SECRET_PLACEHOLDER
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The public placeholder opens nothing; the generated secret does.
    assert _session(client, client_id, DEV_SECRET_PLACEHOLDER).status_code == 401
    assert _session(client, client_id, secret).status_code == 200
    # The facility side's client reads it from the data directory.
    runtime.ports.abdm_client = None
    assert runtime.abdm_client()._secret == secret  # type: ignore[attr-defined]

    # The next run keeps it.
    ensure_bridge(runtime)
    assert path.read_text().strip() == secret
    assert _session(client, client_id, secret).status_code == 200


def test_a_demo_bridge_registered_with_the_placeholder_gets_a_new_secret(client, runtime):
    """A database from before: its bridge was registered with the public placeholder."""
    client_id = runtime.settings.abdm.client_id
    with unit_of_work(runtime.session_factory) as s:
        register_bridge(
            s,
            system_context(),
            client_id=client_id,
            name="old demo",
            url="http://127.0.0.1:8000",
            secret=DEV_SECRET_PLACEHOLDER,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        )
    assert _session(client, client_id, DEV_SECRET_PLACEHOLDER).status_code == 200
    ensure_bridge(runtime)
    secret = demo_secret_path(runtime.settings).read_text().strip()
    assert _session(client, client_id, DEV_SECRET_PLACEHOLDER).status_code == 401
    assert _session(client, client_id, secret).status_code == 200


def test_a_configured_secret_is_used_as_it_is(client, runtime):
    runtime.settings = runtime.settings.model_copy(
        update={"abdm": AbdmSettings(client_id="state-hmis", client_secret=SecretStr("s" * 40))}
    )
    ensure_bridge(runtime)
    assert not demo_secret_path(runtime.settings).exists()
    assert _session(client, "state-hmis", "s" * 40).status_code == 200


def test_the_placeholder_is_refused_outside_development(runtime):
    with unit_of_work(runtime.session_factory) as s:
        register_bridge(
            s,
            system_context(),
            client_id="old-hmis",
            name="registered while in development",
            url="https://hmis.example.org",
            secret=DEV_SECRET_PLACEHOLDER,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        )
    runtime.settings = runtime.settings.model_copy(update={"env": Environment.PRODUCTION})
    runtime.ports.abdm_client = None
    # The client's default secret.
    with pytest.raises(ServiceUnavailable) as refused:
        runtime.abdm_client()
    assert refused.value.code == "HS-1900"
    with unit_of_work(runtime.session_factory) as s:
        # A bridge registered with it: its credentials no longer open a session.
        with pytest.raises(AuthenticationRequired):
            issue_session(
                s,
                client_id="old-hmis",
                client_secret=DEV_SECRET_PLACEHOLDER,
                keyring=runtime.keyring,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
                development=runtime.settings.is_development,
            )
        # Nor may one be registered, or given it.
        for act in (
            lambda: register_bridge(
                s,
                system_context(),
                client_id="new-hmis",
                name="new",
                url="https://hmis.example.org",
                secret=DEV_SECRET_PLACEHOLDER,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
                development=runtime.settings.is_development,
            ),
            lambda: update_bridge(
                s,
                system_context(),
                client_id="old-hmis",
                secret=DEV_SECRET_PLACEHOLDER,
                clock=runtime.clock,
                development=runtime.settings.is_development,
            ),
        ):
            with pytest.raises(ValidationFailed) as bad:
                act()
            assert "placeholder" in bad.value.message
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(GatewayBridge).where(GatewayBridge.client_id == "new-hmis")) is None


def test_the_demo_secret_file_is_not_read_outside_development(runtime):
    ensure_bridge(runtime)
    assert demo_secret_path(runtime.settings).exists()
    runtime.settings = runtime.settings.model_copy(update={"env": Environment.PRODUCTION})
    runtime.ports.abdm_client = None
    with pytest.raises(ServiceUnavailable):
        runtime.abdm_client()
