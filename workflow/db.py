"""Database engine and sessions. SQLite for the embedded default, PostgreSQL in production."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session as DBSession
from sqlmodel import create_engine

from workflow.config import get_settings


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # API, worker and beat are separate processes on one file: WAL lets readers
            # proceed during a write, busy_timeout makes writers wait instead of failing.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # A process cut off from the network inside a transaction keeps its row locks until the
    # server notices, which over a silent network takes hours, and every worker that needs
    # those rows waits as long. The server ends such a session instead (see the setting).
    idle_ms = round(get_settings().database_idle_transaction_seconds * 1000)
    given = parsed.query.get("options")
    options = " ".join(
        [
            *([given] if isinstance(given, str) else given or []),
            f"-c idle_in_transaction_session_timeout={idle_ms}",
        ]
    )
    # pre_ping lets the service recover by itself after PostgreSQL restarts.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 3, "options": options},
    )


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@contextmanager
def db_session() -> Iterator[DBSession]:
    """A unit of work outside a request (workers, CLI): commit on success, roll back on error."""
    with DBSession(get_engine(), expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def ping(engine: Engine | None = None) -> None:
    with (engine or get_engine()).connect() as conn:
        conn.execute(text("SELECT 1"))
