"""Shared fixtures. Every test runs against a real database: SQLite by default,
PostgreSQL when ``HEALTHSTACK_TEST_DATABASE_URL`` points at one (CI runs both).

The schema is built once per session by the Alembic migrations; after each test every
table is emptied, so tests see committed data exactly as the application does
(docs/adr/0002-test-isolation.md).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from healthstack.accounts.service import create_api_token, create_staff
from healthstack.jobs.worker import handlers_for
from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.context import Role
from healthstack.kernel.db import make_engine
from healthstack.kernel.relay import drain
from healthstack.kernel.uow import unit_of_work
from healthstack.models import metadata
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import AuthSettings, Environment, Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_ABDM = SHARED / "abdm"
TEST_SECRET = "test-secret-not-for-production"  # noqa: S105


def shared_path(*parts: str) -> Path:
    """A file under ../shared/abdm, or skip the test with the reason."""
    path = SHARED_ABDM.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared/abdm not laid beside the repo)")
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("HEALTHSTACK_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    # A private database per test session, so parallel runs never share tables.
    with private_pg_database(url, prefix="hs_test") as private:
        yield private


@contextmanager
def private_pg_database(url: str, *, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``url``; dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    # The schema comes from the models; tests/integration/test_migrations.py proves
    # the Alembic migrations build the same schema.
    metadata.create_all(eng)
    _empty_all(eng)
    yield eng
    eng.dispose()


def _empty_all(eng: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names are ours
        conn.execute(text("INSERT INTO abha_number_counter (name, next_value) VALUES ('abha', 0)"))


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Keys are made once per session (a 4096-bit RSA key takes a second or two).
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def settings(database_url: str, keys_dir: Path, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "keys").symlink_to(keys_dir, target_is_directory=True)
    return Settings(
        env=Environment.TEST,
        database_url=database_url,
        data_dir=data_dir,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        # Refused logins answer at once (tests/api/test_staff_security.py checks the delay).
        auth=AuthSettings(refusal_delay_seconds=0),
    )


_KEYRINGS: dict = {}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, clock: FrozenClock, keys_dir: Path
) -> Iterator[Runtime]:
    rt = build_runtime(settings, clock=clock, engine=engine)
    # Unlocking an encrypted key file costs ~0.3 s: every test shares one loaded ring.
    rt.keyring = _KEYRINGS.setdefault(keys_dir, rt.keyring)
    yield rt
    _empty_all(engine)


@pytest.fixture
def db(runtime: Runtime) -> Iterator[Session]:
    """A unit of work that commits when the test body leaves it without error."""
    with unit_of_work(runtime.session_factory) as session:
        yield session


@pytest.fixture
def app(settings: Settings, runtime: Runtime):  # type: ignore[no-untyped-def]
    from healthstack.app import create_app

    return create_app(settings, runtime=runtime, run_worker=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def relay(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Run the outbox relay until nothing is due, as the worker would."""

    def _run() -> int:
        return drain(runtime.session_factory, handlers_for(runtime), clock=runtime.clock)

    return _run


@dataclass
class StaffLogin:
    username: str
    password: str
    token: str
    role: Role
    facility_id: str | None
    public_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


FACILITY_A = "IN0110000001"
FACILITY_B = "IN0110000002"


@pytest.fixture
def make_staff(runtime: Runtime):  # type: ignore[no-untyped-def]
    counter = {"n": 0}

    def _make(
        role: Role = Role.REGISTRATION_DESK,
        *,
        facility_id: str | None = FACILITY_A,
        district_lgd: int | None = None,
        username: str | None = None,
    ) -> StaffLogin:
        counter["n"] += 1
        name = username or f"{role.value.replace('_', '')}{counter['n']}"
        password = "correct horse battery"  # noqa: S105 - test password
        from healthstack.kernel.context import FACILITY_ROLES

        fac = facility_id if role in FACILITY_ROLES else None
        dist = (
            district_lgd
            if district_lgd is not None
            else (1 if role is Role.DISTRICT_OFFICER else None)
        )
        with unit_of_work(runtime.session_factory) as session:
            user = create_staff(
                session,
                username=name,
                full_name=f"Test {role.value}",
                role=role,
                password=password,
                facility_id=fac,
                district_lgd=dist,
                clock=runtime.clock,
            )
            token = create_api_token(session, user=user, name="tests", clock=runtime.clock)
            return StaffLogin(name, password, token, role, fac, str(user.public_id))

    return _make


# Set-ups several test modules share, defined beside their factories and offered to every
# test (a module may still override one with its own fixture of the same name).
pytest_plugins = (
    "tests.factories_professionals",  # facilities: FACILITY_A, FACILITY_B and a clinic
    "tests.factories_compliance",  # hpr: four HPR records a roster meets
    "tests.factories_consent",  # bridge: the fake HMIS bridge on network_settings
    "tests.factories_phr",  # ravi, sita, linked: the bridge's patients
    "tests.factories_hie",  # hie: both real sides on hie_settings
    "tests.factories_records",  # cm: the fake consent manager on records_settings
    "tests.factories_abdm_specs",  # gateway_spec, hiu_spec, link_token_spec, endpoint_map
)
