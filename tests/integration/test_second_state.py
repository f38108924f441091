"""Another state deploys with its own state profile and no code change: a small
synthetic state (three districts at invented LGD codes) is migrated with
``healthstack db upgrade``, boots, and serves its dashboard, its registry and its
targets with its own districts; Jammu and Kashmir's appear nowhere, and the J&K demo
seed is refused there."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from healthstack.accounts.service import create_api_token, create_staff
from healthstack.app import create_app
from healthstack.cli.main import app as cli
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.monitoring.targets import set_population_targets
from healthstack.runtime import build_runtime
from healthstack.settings import load_settings
from tests.conftest import TEST_SECRET, private_pg_database

DISTRICTS = {901: "Amber Valley", 902: "Birch Hills", 903: "Cedar Plains"}
PROFILE = {
    "notes": "A synthetic state for the tests: the LGD codes are invented.",
    "state_lgd": 38,
    "state_name": "Vindhya Pradesh",
    "target_population": 60_000,
    "districts": [
        {"lgd": lgd, "name": name, "census_population": 1000 * (4 - i)}
        for i, (lgd, name) in enumerate(DISTRICTS.items(), start=1)
    ],
}
JK_NAMES = ("Jammu and Kashmir", "Srinagar", "Budgam", "Anantnag", "Kishtwar")


@pytest.fixture
def state_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the migrations build it)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second-state.db'}"
        return
    with private_pg_database(database_url, prefix="hs_state") as url:
        yield url


@pytest.fixture
def state_env(monkeypatch, tmp_path, keys_dir, state_database) -> Path:
    """The environment of the other state's deployment: its profile file named by
    HEALTHSTACK_STATE_PROFILE, its own database and data directory."""
    for name in list(os.environ):
        if name.startswith("HEALTHSTACK_"):
            monkeypatch.delenv(name)
    profile = tmp_path / "vindhya-pradesh.json"
    profile.write_text(json.dumps(PROFILE), encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "keys").symlink_to(keys_dir, target_is_directory=True)
    for name, value in {
        "ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": state_database,
        "STATE_PROFILE": str(profile),
        "EMBEDDED_WORKER": "false",
    }.items():
        monkeypatch.setenv(f"HEALTHSTACK_{name}", value)
    return profile


def test_another_state_boots_migrates_and_serves_its_own_districts(state_env):
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    # The J&K demo seed makes J&K's people and places: not for this state.
    seeded = runner.invoke(cli, ["seed", "--scale", "0.0001"])
    assert seeded.exit_code == 2
    said = " ".join(seeded.output.split())
    assert "this deployment serves Vindhya Pradesh (HEALTHSTACK_STATE_PROFILE)" in said

    settings = load_settings()
    assert settings.profile.state_name == "Vindhya Pradesh"
    runtime = build_runtime(settings)
    try:
        with unit_of_work(runtime.session_factory) as s:
            admin = create_staff(
                s,
                username="stateadmin",
                full_name="State Admin",
                role=Role.STATE_ADMIN,
                password="correct horse battery",  # noqa: S106 - test password
                clock=runtime.clock,
            )
            token = create_api_token(s, user=admin, name="tests", clock=runtime.clock)
            # The ABHA targets: each district's share of the profile's target population.
            assert set_population_targets(
                s, profile=settings.profile, set_by="tests", now=runtime.clock.now()
            ) == len(DISTRICTS)
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, runtime=runtime, run_worker=False)) as client:
            page = client.get("/dashboard", headers=headers)
            assert page.status_code == 200, page.text
            assert "Vindhya Pradesh" in page.text
            for name in DISTRICTS.values():
                assert name in page.text
            for name in JK_NAMES:
                assert name not in page.text

            rows = client.get("/api/v1/monitoring/districts", headers=headers).json()["rows"]
            assert [(r["district_lgd"], r["name"]) for r in rows] == sorted(
                DISTRICTS.items(), key=lambda d: d[1]
            )
            targets = {
                r["district_lgd"]: r["figures"][0]["target"]
                for r in rows
                if r["figures"][0]["indicator"] == "abha.accounts"
            }
            assert targets == {901: 30_000, 902: 20_000, 903: 10_000}

            # The registry takes the state's own districts, and its ids carry its code.
            facility = {
                "name": "PHC Birch Hills",
                "facility_type": "phc",
                "ownership": "public",
                "department": "Health and Family Welfare",
                "system_of_medicine": "modern_medicine",
                "state_lgd": 38,
                "district_lgd": 902,
                "pincode": "470001",
                "services": ["opd"],
            }
            made = client.post("/api/v1/facilities", json=facility, headers=headers)
            assert made.status_code == 201, made.text
            assert made.json()["hfr_id"].startswith("IN38")
            assert made.json()["district_name"] == "Birch Hills"
            srinagar = client.post(
                "/api/v1/facilities",
                json=facility | {"name": "PHC Srinagar", "district_lgd": 13},
                headers=headers,
            )
            assert srinagar.status_code == 400
            assert "a district of Vindhya Pradesh" in srinagar.json()["detail"]

            form = client.get("/registry/facilities", headers=headers)
            assert form.status_code == 200
            assert all(name in form.text for name in DISTRICTS.values())
            assert "Srinagar" not in form.text
    finally:
        runtime.close()
