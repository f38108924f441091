"""``healthstack jobs``: list the schedule and run one job, also with the clock moved on
(development only), against the test database of either engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from healthstack.cli.main import app
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.compliance.models import EscalationStep
from tests.conftest import TEST_SECRET
from tests.factories_compliance import API, import_roster, roster_csv, row
from tests.factories_professionals import make_facilities

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, settings, runtime):
    monkeypatch.setenv("HEALTHSTACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HEALTHSTACK_ENV", "development")
    return monkeypatch


def test_list_names_every_scheduled_job(cli_env):
    result = runner.invoke(app, ["jobs", "list"])
    assert result.exit_code == 0, result.output
    for name in ("compliance.escalate", "monitoring.reconcile", "abha.purge_expired_transactions"):
        assert name in result.output


def test_an_overdue_doctor_climbs_when_the_job_runs_at_later_dates(
    cli_env, client, runtime, clock, make_staff
):
    make_facilities(runtime)
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, roster_csv(row("E9", "Tariq Bhat", mobile="9811100005")))
    deadline = clock.now().date() + timedelta(days=30)
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": deadline.isoformat()},
        headers=state.headers,
    )
    # Today: before the deadline, nobody is chased.
    result = runner.invoke(app, ["jobs", "run", "compliance.escalate"])
    assert result.exit_code == 0, result.output
    assert "compliance.escalate: 0." in " ".join(result.output.split())

    # The clock moved on (development only): a day past the deadline, again the same
    # day, then a week later each time.
    for days, climbed in ((31, 1), (31, 0), (38, 1), (45, 1)):
        cli_env.setenv("HEALTHSTACK_CLOCK_OFFSET_DAYS", str(days))
        result = runner.invoke(app, ["jobs", "run", "compliance.escalate"])
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert f"({days:+d} days): {climbed}." in said
    with unit_of_work(runtime.session_factory) as session:
        steps = session.scalars(select(EscalationStep).order_by(EscalationStep.id)).all()
        real_today = datetime.now(UTC).date()
        assert [(s.name, s.at.date()) for s in steps] == [
            ("sms_reminder", real_today + timedelta(days=31)),
            ("second_reminder", real_today + timedelta(days=38)),
            ("facility_head_notice", real_today + timedelta(days=45)),
        ]


def test_an_unknown_job_is_refused_with_the_list(cli_env):
    result = runner.invoke(app, ["jobs", "run", "no.such.job"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "There is no job 'no.such.job'" in said and "compliance.escalate" in said


@pytest.mark.parametrize(("value", "says"), [("soon", "valid number"), ("31", "production")])
def test_a_moved_clock_is_refused_outside_development(cli_env, value, says):
    cli_env.setenv("HEALTHSTACK_ENV", "production")
    cli_env.setenv("HEALTHSTACK_KYC_PROVIDER", "uidai")  # production refuses the sandbox
    cli_env.setenv("HEALTHSTACK_CLOCK_OFFSET_DAYS", value)
    result = runner.invoke(app, ["jobs", "run", "compliance.escalate"])
    assert result.exit_code == 2
    assert "Configuration error" in result.output and says in " ".join(result.output.split())
