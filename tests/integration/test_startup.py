"""Start-up against a database that is not there yet, as in a fresh docker-compose stack
where PostgreSQL is still initialising: every process waits for it, within
WORKFLOW_DATABASE_WAIT_SECONDS, then gives up with one clear line (no traceback)."""

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import services
from tests.integration.processes import free_port, service_env
from tests.integration.tcp_proxy import Proxy

pytestmark = pytest.mark.integration


def _workflow(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


def test_migrate_waits_for_a_database_that_comes_up_late(tmp_path: Path) -> None:
    services.require_postgres()
    name = f"workflow_late_{uuid.uuid4().hex[:8]}"
    real = make_url(services.create_database(name))
    # Nothing listens on this port yet: the database is "still starting".
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    late_url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = service_env(
        database_url=late_url, database_wait_seconds="60", data_dir=str(tmp_path / "data")
    )
    # The port opens two seconds after the process says it waits, however long the process
    # took to start (a loaded machine takes more than a fixed delay to import the service).
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", "migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    waiting = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "waiting for the database" in line:
                waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert waiting.wait(120), "".join(lines)
        said_waiting = time.monotonic()
        time.sleep(2)
        proxy.up()
        code = process.wait(timeout=120)
        reader.join(10)
        took = time.monotonic() - said_waiting
        output = "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
        proxy.down()
    try:
        assert code == 0, output
        assert took >= 2, output  # it did wait for the port to open
        assert "waiting for the database at 127.0.0.1" in output
        assert "Connection refused" in output and "Traceback" not in output
        assert "is up to date" in output
        engine = create_engine(real)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert conn.execute(text("SELECT count(*) FROM forum")).scalar() == 0
        engine.dispose()
    finally:
        services.drop_database(name)


@pytest.mark.parametrize("command", ["migrate", "api", "worker", "beat"])
def test_every_process_gives_up_clearly_when_the_database_never_comes(
    command: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here, and nothing will
    env = service_env(
        database_url=f"postgresql+psycopg://workflow@127.0.0.1:{port}/workflow",
        database_wait_seconds="2",
        broker_url="memory://",
        api_port=str(free_port()),
        data_dir=str(tmp_path / "data"),
    )
    started = time.monotonic()
    code, output = _workflow([command], env, timeout=60)
    assert code == 1, output
    assert time.monotonic() - started < 30, output
    assert "Traceback" not in output, output
    assert f"the database at 127.0.0.1:{port}/workflow did not answer within 2 s" in output, output
    assert "Connection refused" in output and "WORKFLOW_DATABASE_URL" in output
