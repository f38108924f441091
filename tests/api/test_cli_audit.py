"""``healthstack audit seal|verify`` through the real command (Typer's CliRunner),
against the test database of either engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from healthstack.cli.main import app
from tests.conftest import TEST_SECRET
from tests.factories_audit import Row, write

runner = CliRunner()
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def cli_env(monkeypatch, settings, runtime):
    monkeypatch.setenv("HEALTHSTACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HEALTHSTACK_ENV", "test")
    return monkeypatch


def _output(result) -> str:
    return " ".join(result.output.split())


def test_seal_then_verify_says_the_chain_is_intact(cli_env, runtime):
    write(runtime, *(Row(action=f"cli.{n}", at=T0 + timedelta(seconds=n)) for n in range(3)))
    sealed = runner.invoke(app, ["audit", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert "3 rows sealed" in _output(sealed)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 rows, chain intact" in _output(result)


def test_verify_reports_the_first_broken_link_and_exits_non_zero(cli_env, runtime):
    write(runtime, *(Row(action=f"cli.{n}", at=T0 + timedelta(seconds=n)) for n in range(4)))
    assert runner.invoke(app, ["audit", "seal"]).exit_code == 0
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET outcome = 'denied' WHERE chain_seq = 2"))
        conn.execute(text("DELETE FROM audit_event WHERE chain_seq = 4"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    out = _output(result)
    assert "row 2" in out and "outcome" in out and "26 Nov 2026" in out
    assert "row 4" not in out  # the first broken link, not every one


def test_verify_with_another_secret_key_says_so(cli_env, runtime):
    write(runtime, Row(action="cli.one"))
    assert runner.invoke(app, ["audit", "seal"]).exit_code == 0
    cli_env.setenv("HEALTHSTACK_SECRET_KEY", "another-secret-key-entirely")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "another key" in _output(result)


def test_verify_fails_when_rows_wait_unsealed_past_the_grace(cli_env, runtime):
    # The command runs on the system clock: an hour ago, and the sealer never came.
    write(runtime, Row(action="cli.old", at=datetime.now(UTC) - timedelta(hours=1)))
    result = runner.invoke(app, ["audit", "verify", "--grace-minutes", "5"])
    assert result.exit_code == 1
    assert "1 row unsealed" in _output(result) and "worker" in _output(result)
    result = runner.invoke(app, ["audit", "verify", "--grace-minutes", "-1"])
    assert result.exit_code == 2
