"""Setting up as a newcomer does: the port and the base URL the exchange uses, the data
directory that holds the database, one clear line when the database cannot be opened,
and files readable by their owner alone. Through the CLI, as a user runs it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from healthstack.cli.main import app as cli
from healthstack.cli.serve import server_settings
from healthstack.facility.records.config import data_push_url
from healthstack.facility.records.models import CareContext
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.db import make_engine
from healthstack.kernel.files import ensure_private_dir
from healthstack.models import metadata
from healthstack.network.gateway.models import GatewayBridge
from healthstack.runtime import build_runtime
from healthstack.settings import Settings
from tests.conftest import _KEYRINGS, TEST_SECRET
from tests.factories_hie import PATIENT_ADDRESS, Exchange, patient_account, rng, samples
from tests.serving import free_port, serving

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
BRIDGE_SECRET = "a-bridge-secret-for-tests-only"  # noqa: S105


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean HEALTHSTACK_* environment, pointing at a data directory under tmp_path
    (no database URL: the default follows the data directory)."""
    for name in list(os.environ):
        if name.startswith("HEALTHSTACK_") and name != "HEALTHSTACK_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEALTHSTACK_ENV", "development")
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


@pytest.fixture
def migrated_db(env, tmp_path):
    """A SQLite file with the schema, the CLI pointed at it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env.setenv("HEALTHSTACK_DATABASE_URL", url)
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- port, base URL


def test_base_url_follows_host_and_port_unless_set():
    assert Settings().base_url == "http://127.0.0.1:8000"
    moved = Settings(port=8101)
    assert moved.base_url == "http://127.0.0.1:8101"
    assert moved.abdm_gateway_url == "http://127.0.0.1:8101/api/hiecm"
    # Listening on every interface: reached locally on the loopback address.
    assert Settings(host="0.0.0.0", port=8101).base_url == "http://127.0.0.1:8101"  # noqa: S104
    assert Settings(host="::1", port=8101).base_url == "http://[::1]:8101"
    explicit = Settings(port=8101, base_url="https://abha.jk.example.org")
    assert explicit.base_url == "https://abha.jk.example.org"
    assert explicit.abdm_gateway_url == "https://abha.jk.example.org/api/hiecm"


def test_server_settings_take_the_port_from_the_option_or_the_environment(env):
    assert server_settings(None, 8101).base_url == "http://127.0.0.1:8101"
    env.setenv("HEALTHSTACK_PORT", "8102")
    assert server_settings(None, None).base_url == "http://127.0.0.1:8102"
    assert server_settings("0.0.0.0", 8103).port == 8103  # noqa: S104 - the option wins
    env.setenv("HEALTHSTACK_BASE_URL", "https://abha.jk.example.org")
    assert server_settings(None, 8101).base_url == "https://abha.jk.example.org"


@pytest.mark.parametrize("value", ["0", "65536", "http"])
def test_a_bad_port_is_named(env, value):
    env.setenv("HEALTHSTACK_PORT", value)
    result = runner.invoke(cli, ["demo", "--no-serve"])
    assert result.exit_code == 2
    assert "HEALTHSTACK_PORT" in result.output
    assert "default factory" not in result.output  # pydantic's follow-on error, hidden


def test_demo_on_another_port_registers_the_bridge_there(migrated_db, env):
    result = runner.invoke(cli, ["demo", "--no-serve", "--port", "8101"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "ABDM bridge healthstack-hmis → http://127.0.0.1:8101" in said
    assert "Demo logins (http://127.0.0.1:8101/login)" in said
    with migrated_db.connect() as conn:
        assert conn.scalar(select(GatewayBridge.url)) == "http://127.0.0.1:8101"

    # The same from the environment (make demo PORT=...), and the bridge follows.
    env.setenv("HEALTHSTACK_PORT", "8102")
    result = runner.invoke(cli, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    with migrated_db.connect() as conn:
        assert conn.scalar(select(GatewayBridge.url)) == "http://127.0.0.1:8102"

    # An explicit base URL wins; one naming this machine on another port is flagged.
    env.setenv("HEALTHSTACK_BASE_URL", "http://127.0.0.1:8000")
    result = runner.invoke(cli, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Warning: HEALTHSTACK_BASE_URL is http://127.0.0.1:8000" in said
    with migrated_db.connect() as conn:
        assert conn.scalar(select(GatewayBridge.url)) == "http://127.0.0.1:8000"


def test_make_demo_passes_the_port_on():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-pn", "demo", "PORT=8101"],  # noqa: S607 - the developer's make
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "HEALTHSTACK_PORT := 8101" in out.splitlines()


def test_a_server_on_another_port_carries_the_gateway_exchange(
    env, settings, runtime, engine, clock, keys_dir
):
    """Served on a free port chosen through HEALTHSTACK_PORT, nothing else set: the
    demo's bridge, the facility's gateway URL and the push URL name that port, and a
    HIP-initiated link goes facility → gateway → bridge callback over real HTTP there."""
    port = free_port()
    env.setenv("HEALTHSTACK_ENV", "test")
    env.setenv("HEALTHSTACK_DATABASE_URL", settings.database_url)
    env.setenv("HEALTHSTACK_DATA_DIR", str(settings.data_dir))
    env.setenv("HEALTHSTACK_PORT", str(port))
    env.setenv("HEALTHSTACK_ABDM_CLIENT_ID", "jk-hmis")
    env.setenv("HEALTHSTACK_ABDM_CLIENT_SECRET", BRIDGE_SECRET)
    moved = server_settings(None, None)
    base = f"http://127.0.0.1:{port}"
    assert moved.base_url == base and moved.abdm_gateway_url == f"{base}/api/hiecm"

    from healthstack.app import create_app
    from healthstack.demo import ensure_bridge

    rt = build_runtime(moved, clock=clock, engine=engine)
    rt.keyring = _KEYRINGS.setdefault(keys_dir, rt.keyring)
    assert data_push_url(rt.settings) == f"{base}/api/v3/hiu/data/push"
    # Not the embedded worker thread: the test runs the same worker passes itself, so
    # the hops happen in order, without waiting; every hop is real HTTP to the port.
    web = create_app(moved, runtime=rt, run_worker=False)
    with serving(web, port):
        hie = Exchange(rt, web, TestClient(web), httpx.HTTPTransport())  # type: ignore[arg-type]
        hie.register_facilities()
        bridge = ensure_bridge(rt)
        assert bridge.url == base
        asha = patient_account(rt)
        mrn = hie.register_patient(
            hie.hip_a, abha_number=asha.abha_number, abha_address=PATIENT_ADDRESS, mobile=None
        )
        at = clock.now() - timedelta(days=3)
        hie.record_visit(hie.hip_a, mrn, start=at, contents=[samples.op_consultation(rng(), at)])
        assert hie.settle() > 0
    [context] = hie.rows(CareContext)
    assert context.link_status == "linked"


# --------------------------------------------------------------------------- data directory


def test_the_database_moves_with_the_data_directory(env, tmp_path):
    data = tmp_path / "elsewhere" / "hs"
    env.setenv("HEALTHSTACK_DATA_DIR", str(data))
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data / "healthstack.db").is_file()
    engine = create_engine(f"sqlite:///{data / 'healthstack.db'}")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    engine.dispose()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_directory_database_and_keys_are_private(env, tmp_path):
    before = os.umask(0o022)  # the usual umask, which made them world-readable
    try:
        data = tmp_path / "new" / "data"
        env.setenv("HEALTHSTACK_DATA_DIR", str(data))
        result = runner.invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert _mode(data) == 0o700 and _mode(data.parent) == 0o700
        db = data / "healthstack.db"
        assert _mode(db) == 0o600
        # While the app has it open, SQLite's -wal and -shm exist: as private.
        engine = make_engine(f"sqlite:///{db}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM probe"))
            for suffix in ("-wal", "-shm"):
                assert _mode(db.with_name(db.name + suffix)) == 0o600, suffix
        engine.dispose()
        ring = KeyRing(data / "keys", TEST_SECRET)
        ring.private_key("signing")
        assert _mode(data / "keys") == 0o700
        assert _mode(data / "keys" / "signing.pem") == 0o600
    finally:
        os.umask(before)


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert _mode(db) == 0o600


def test_an_existing_folder_is_left_as_the_deployer_made_it(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    ensure_private_dir(shared / "hs")
    assert _mode(shared) == 0o755 and _mode(shared / "hs") == 0o700


# --------------------------------------------------------------------------- a bad database


def _closed_port_url() -> str:
    return f"postgresql+psycopg://hs:s3cret-pw@127.0.0.1:{free_port()}/healthstack"


BAD_DATABASES = {
    "not a URL": ("nonsense", "is not a database URL"),
    "unknown driver": ("oracle+nosuch://u@h/db", "cannot use the database"),
    "PostgreSQL not answering": (None, "cannot open the database postgresql+psycopg://hs:***@"),
    "path under a file": ("sqlite:///{tmp}/afile/hs.db", "cannot open the database sqlite:///"),
}
COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "serve": ["serve", "--port", "1"],
    "demo": ["demo", "--port", "1"],
    "seed": ["seed", "--scale", "0.0002"],
    "worker": ["worker"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BAD_DATABASES)
def test_a_database_that_cannot_be_opened_gets_one_line(env, tmp_path, command, case):
    url, said = BAD_DATABASES[case]
    (tmp_path / "afile").write_text("not a folder")
    env.setenv(
        "HEALTHSTACK_DATABASE_URL", (url or _closed_port_url()).replace("{tmp}", str(tmp_path))
    )
    result = runner.invoke(cli, COMMANDS[command])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and said in lines[0]
    assert "HEALTHSTACK_DATABASE_URL" in lines[0]
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output


def test_a_data_directory_that_cannot_be_made_gets_one_line(env, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    env.setenv("HEALTHSTACK_DATA_DIR", str(tmp_path / "afile" / "data"))
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot create the data directory" in lines[0], result.output
    assert "HEALTHSTACK_DATA_DIR" in lines[0]


@pytest.mark.parametrize("command", ["serve", "demo", "seed", "worker"])
def test_a_database_without_the_schema_says_to_upgrade(env, command):
    result = runner.invoke(cli, COMMANDS[command])
    assert result.exit_code == 1, result.output
    assert "run `healthstack db upgrade` first" in " ".join(result.output.split())
    assert "Traceback" not in result.output
