"""Reaching the real servers the integration tests need, or saying clearly why not."""

import os
import shutil
import socket

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "WORKFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("WORKFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _must_have_services() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(
        os.environ.get("WORKFLOW_TEST_REQUIRE_SERVICES")
    )


def _unavailable(what: str, why: object, state: str = "is not reachable") -> None:
    message = f"{what} {state} ({why})"
    if _must_have_services():
        pytest.fail(f"{message}; CI must not skip it", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        _unavailable("PostgreSQL", exc.__class__.__name__)


def require_redis() -> None:
    host, port = REDIS_URL.split("//", 1)[1].split("/")[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                raise ConnectionError("no PONG")
    except OSError as exc:
        _unavailable("Redis", exc)


def require_chromium() -> str:
    """The browser the web tests drive: Debian's chromium (or WORKFLOW_TEST_CHROMIUM)."""
    path = os.environ.get("WORKFLOW_TEST_CHROMIUM") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        _unavailable("chromium", "apt-get install chromium", state="is not installed")
    return str(path)


def create_database(name: str) -> str:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str | None) -> None:
    if not name:
        return
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


AMQP_URL = os.environ.get("WORKFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def require_rabbitmq() -> None:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        _unavailable("RabbitMQ", exc)
