"""Migrations are reviewed code: they build exactly the models' schema, and
upgrade -> downgrade -> upgrade works on an empty database (both dialects)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from healthstack.kernel import migrate
from healthstack.models import metadata
from tests.conftest import private_pg_database


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with private_pg_database(database_url, prefix="hs_mig") as url:
        yield url


def test_upgrade_matches_models_and_round_trips(empty_database_url):
    migrate.upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
        assert diff == [], f"models and migrations disagree: {diff}"
        migrate.downgrade(empty_database_url, "base")
        leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert leftover == set()
        migrate.upgrade(empty_database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT next_value FROM abha_number_counter")).scalar() == 0
    finally:
        engine.dispose()
