"""``healthstack seed``, ``healthstack kyc sample`` and ``healthstack demo`` through the CLI.

Each test points the CLI at its own SQLite file through the environment, as a user
would (HEALTHSTACK_DATABASE_URL / HEALTHSTACK_DATA_DIR / HEALTHSTACK_ENV).
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from stdnum import verhoeff
from typer.testing import CliRunner

from healthstack.accounts.models import StaffUser
from healthstack.cli.main import app
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.db import make_engine
from healthstack.models import metadata

runner = CliRunner()
SCALE = "0.0002"  # 2,712 residents


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HEALTHSTACK_DATABASE_URL", url)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEALTHSTACK_ENV", "development")
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", "cli-test-secret-not-for-production")
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(cli_db):
    # Residents only: the registries add seconds and are tested with the summary below.
    result = runner.invoke(app, ["seed", "--profile", "jk", "--scale", SCALE, "--no-registries"])
    assert result.exit_code == 0, result.output
    return cli_db


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def _production(monkeypatch) -> None:
    monkeypatch.setenv("HEALTHSTACK_ENV", "production")
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", "a-long-random-production-secret-0123456789")
    monkeypatch.setenv("HEALTHSTACK_KYC_PROVIDER", "uidai")


# ----------------------------------------------------------------------- seed


@pytest.mark.parametrize("scale", ["0", "-1", "1.5", "2", "1e-9"])
def test_seed_refuses_a_bad_scale(cli_db, scale):
    result = runner.invoke(app, ["seed", "--profile", "jk", "--scale", scale])
    assert result.exit_code == 2
    assert "scale" in result.output.lower()
    assert _count(cli_db, KycResident) == 0


def test_seed_refuses_a_scale_that_is_not_a_number(cli_db):
    result = runner.invoke(app, ["seed", "--scale", "lots"])
    assert result.exit_code == 2
    assert "scale" in result.output.lower()


def test_seed_refuses_an_unknown_profile(cli_db):
    result = runner.invoke(app, ["seed", "--profile", "kerala", "--scale", "0.001"])
    assert result.exit_code == 2
    assert "Unknown seeding profile" in result.output and "jk" in result.output
    assert _count(cli_db, KycResident) == 0


def test_seed_needs_a_scale(cli_db):
    result = runner.invoke(app, ["seed", "--profile", "jk"])
    assert result.exit_code == 2


def test_seed_prints_a_summary_then_if_empty_does_nothing(seeded):
    residents = _count(seeded, KycResident)
    assert residents == 2712
    again = runner.invoke(app, ["seed", "--profile", "jk", "--scale", SCALE, "--if-empty"])
    assert again.exit_code == 0, again.output
    assert "Skipped" in again.output
    refused = runner.invoke(app, ["seed", "--profile", "jk", "--scale", SCALE])
    assert refused.exit_code == 1
    assert "already holds" in refused.output and "--if-empty" in refused.output
    assert _count(seeded, KycResident) == residents


def test_seed_summary_has_counts_and_time(cli_db):
    result = runner.invoke(app, ["seed", "--scale", SCALE, "--batch", "700"])
    assert result.exit_code == 0, result.output
    summary = " ".join(result.output.split())  # the console wraps at its width
    assert "Seeded 2,712 residents, 1,890 ABHA accounts and" in summary
    assert re.search(r"in \d+\.\d s \([\d,]+ rows/s\)", summary)
    # The registries are seeded in full at every scale.
    assert "Registries: 3,607 public facilities (3,607 of 3,607 master entries matched)" in summary
    assert "6,713 of 7,730 public doctors and 5,149 public nurses verified in HPR" in summary
    assert re.search(r"HR roster of 12,879 posts: [\d,]+ matched to HPR", summary)
    # The demo then wires the HMIS to the gateway and names whose records to ask for.
    demo = runner.invoke(app, ["demo", "--no-serve"])
    assert demo.exit_code == 0, demo.output
    said = " ".join(demo.stdout.split())
    assert "ABDM bridge healthstack-hmis" in said and "HIP-initiated linking queued" in said
    assert "Patients with records at HMIS facilities" in said and "@sbx" in said


def test_seed_refuses_a_bad_batch(cli_db):
    result = runner.invoke(app, ["seed", "--scale", SCALE, "--batch", "0"])
    assert result.exit_code == 2


# ----------------------------------------------------------------------- kyc sample


def test_kyc_sample_json_lists_residents_who_exist(seeded):
    result = runner.invoke(app, ["kyc", "sample", "--count", "4", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4
    assert len({r["aadhaar"] for r in rows}) == 4
    with seeded.connect() as conn:
        for r in rows:
            assert verhoeff.is_valid(r["aadhaar"])
            stored = conn.execute(
                select(KycResident).where(KycResident.aadhaar == r["aadhaar"])
            ).one()
            assert stored.name == r["name"] and stored.mobile == r["mobile"]
            assert stored.birth_date.isoformat() == r["birth_date"]
            assert set(r) >= {
                "aadhaar",
                "name",
                "gender",
                "birth_date",
                "district_name",
                "district_lgd",
                "mobile",
                "has_abha",
                "abha_number",
            }
    # Every resident shown is audited, never with the payload.
    with seeded.connect() as conn:
        events = (
            conn.execute(select(AuditEvent.resource_id).where(AuditEvent.action == "kyc.sample"))
            .scalars()
            .all()
        )
    assert len(events) == 4
    assert all(r["aadhaar"] not in (e or "") for e in events for r in rows)


def test_kyc_sample_filters_by_abha_and_district(seeded):
    with_abha = json.loads(
        runner.invoke(app, ["kyc", "sample", "--count", "3", "--json", "--with-abha"]).stdout
    )
    assert len(with_abha) == 3
    assert all(r["has_abha"] and len(r["abha_number"]) == 14 for r in with_abha)
    without = json.loads(
        runner.invoke(app, ["kyc", "sample", "--count", "3", "--json", "--without-abha"]).stdout
    )
    assert len(without) == 3 and not any(r["has_abha"] or r["abha_number"] for r in without)
    srinagar = json.loads(
        runner.invoke(
            app, ["kyc", "sample", "--count", "5", "--json", "--district", "13", "--with-mobile"]
        ).stdout
    )
    assert len(srinagar) == 5
    assert all(r["district_lgd"] == 13 and r["mobile"] for r in srinagar)


def test_kyc_sample_table_output(seeded):
    result = runner.invoke(app, ["kyc", "sample", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert "Aadhaar" in result.stdout and "District" in result.stdout


def test_kyc_sample_says_what_to_do_when_nothing_matches(cli_db):
    empty = runner.invoke(app, ["kyc", "sample", "--json"])
    assert empty.exit_code == 1
    assert "healthstack seed" in empty.output


def test_kyc_sample_unknown_district(seeded):
    result = runner.invoke(app, ["kyc", "sample", "--district", "999"])
    assert result.exit_code == 1
    assert "district" in result.output


@pytest.mark.parametrize("count", ["0", "1001", "many"])
def test_kyc_sample_refuses_a_bad_count(seeded, count):
    assert runner.invoke(app, ["kyc", "sample", "--count", count]).exit_code == 2


def test_kyc_sample_is_refused_in_production(seeded, monkeypatch):
    _production(monkeypatch)
    result = runner.invoke(app, ["kyc", "sample", "--json"])
    assert result.exit_code == 2
    assert "development mode only" in result.output
    assert result.stdout.strip() == "" or "[" not in result.stdout


def test_sandbox_settings_are_refused_in_production_before_anything_runs(cli_db, monkeypatch):
    monkeypatch.setenv("HEALTHSTACK_ENV", "production")
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", "a-long-random-production-secret-0123456789")
    result = runner.invoke(app, ["kyc", "sample"])
    assert result.exit_code == 2
    assert "sandbox KYC provider" in result.output


# ----------------------------------------------------------------------- demo


def test_demo_creates_logins_once_and_prints_residents(seeded):
    first = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    for username in ("desk", "facadmin", "doctor", "district", "stateadmin"):
        assert username in first.stdout
    assert "IN0110000001" in first.stdout and "created" in first.stdout
    assert "without an ABHA" in first.stdout and "with an ABHA" in first.stdout
    with seeded.connect() as conn:
        roles = dict(conn.execute(select(StaffUser.username, StaffUser.role)).all())
        facility = conn.execute(
            select(StaffUser.facility_id).where(StaffUser.username == "desk")
        ).scalar_one()
    assert {
        "registration_desk",
        "facility_admin",
        "doctor",
        "state_admin",
        "district_officer",
    } <= set(roles.values())
    assert facility == "IN0110000001"
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "existing" in again.stdout
    assert _count(seeded, StaffUser) == len(roles)


def test_demo_on_an_empty_sandbox_says_to_seed(cli_db):
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "healthstack seed" in result.output


def test_demo_is_refused_in_production(cli_db, monkeypatch):
    _production(monkeypatch)
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 2
    assert "development mode only" in result.output
    assert _count(cli_db, StaffUser) == 0


def test_demo_bridge_secret_is_random_kept_and_never_printed(cli_db, tmp_path):
    from argon2 import PasswordHasher

    from healthstack.network.gateway.models import GatewayBridge
    from healthstack.settings import DEV_SECRET_PLACEHOLDER

    first = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    path = tmp_path / "data" / "demo-bridge-secret"
    secret = path.read_text().strip()
    assert secret != DEV_SECRET_PLACEHOLDER and len(secret) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    said = " ".join(first.stdout.split())
    assert str(path) in said.replace(" ", "") or "demo-bridge-secret" in said
    assert secret not in first.stdout
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert path.read_text().strip() == secret
    with cli_db.connect() as conn:
        stored = conn.execute(select(GatewayBridge.secret_hash)).scalar_one()
    assert PasswordHasher().verify(stored, secret)
