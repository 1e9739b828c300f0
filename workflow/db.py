"""Database engine and sessions. SQLite for the embedded default, PostgreSQL in production."""

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, func, text, type_coerce
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session as DBSession
from sqlmodel import SQLModel, create_engine, select

from workflow.config import get_settings

log = logging.getLogger(__name__)


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
            # Times read as timestamptz (aware_utc) come back in UTC, whatever the server's
            # own setting; the stored columns hold UTC without a zone either way.
            "-c TimeZone=UTC",
        ]
    )
    # As many connections kept as a process may hold at once: with fewer kept than used,
    # every burst of requests closes the connections beyond the kept ones when they come back
    # and opens new ones for the next burst. A process still holds at most POOL_SIZE.
    engine = create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"connect_timeout": 3, "options": options},
    )
    _ping_when_idle(engine)
    return engine


POOL_SIZE = 20

# A connection that has waited this long in the pool is pinged before use: PostgreSQL may
# have restarted meanwhile (or a proxy dropped the connection). One used moments ago is not:
# pinging it on every checkout was a round trip per request. A connection that died anyway
# fails its statement; SQLAlchemy then invalidates every connection of the pool opened
# before, so the next checkouts connect afresh.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "workflow.returned_at"


def _ping_when_idle(engine: Engine) -> None:
    """The service recovers by itself after PostgreSQL restarts: a connection idle in the
    pool is pinged when checked out, and one that does not answer is replaced (the pool
    retries the checkout with a new connection)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection did not answer the ping")


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


class DatabaseUnavailable(Exception):
    """The database did not answer within WORKFLOW_DATABASE_WAIT_SECONDS."""


def describe(url: str) -> str:
    """Where a database URL points, without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database}"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def wait_for_database(seconds: float | None = None, url: str | None = None) -> None:
    """Wait until the database answers, trying again every two seconds for at most
    `seconds` (WORKFLOW_DATABASE_WAIT_SECONDS): at a fresh start PostgreSQL may still be
    initialising. Each failed try is logged; DatabaseUnavailable says why it gave up."""
    s = get_settings()
    url = url or s.effective_database_url
    if make_url(url).get_backend_name() == "sqlite":
        return
    budget = s.database_wait_seconds if seconds is None else seconds
    where = describe(url)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    deadline = time.monotonic() + budget
    attempt = 0
    try:
        while True:
            attempt += 1
            try:
                ping(engine)
            except OperationalError as exc:
                reason = _reason(exc)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DatabaseUnavailable(
                        f"the database at {where} did not answer within {budget:g} s "
                        f"(tried {_times(attempt)}; last: {reason}); check WORKFLOW_DATABASE_URL "
                        f"and that the server is running"
                    ) from None
                log.warning(
                    "waiting for the database at %s (attempt %d: %s); giving up in %.0f s",
                    where,
                    attempt,
                    reason,
                    left,
                )
                time.sleep(min(2.0, left))
                continue
            if attempt > 1:
                log.info("the database at %s answers (after %d attempts)", where, attempt)
            return
    finally:
        engine.dispose()


def _reason(exc: OperationalError) -> str:
    """The driver's own words, e.g. 'Connection refused' or 'FATAL:  the database system is
    starting up', without the address (said already) and SQLAlchemy's background link."""
    lines = str(exc.orig or exc).strip().splitlines()
    first = lines[0] if lines else exc.__class__.__name__
    return first.rsplit(" failed: ", 1)[-1].strip()


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def aware_utc(column: Any, dialect: str) -> Any:
    """A column of UTC times (UTCDateTime) to read in a Core statement as aware datetimes.
    On PostgreSQL the server marks them as UTC (a timestamptz) and psycopg builds the
    datetimes in C; elsewhere the column's type does it in Python, value by value, which on
    a page of sessions was a tenth of the request's CPU."""
    if dialect != "postgresql":
        return column
    return type_coerce(func.timezone("UTC", column), DateTime(timezone=True)).label(column.name)


def names(
    db: DBSession, id_column: Any, name_column: Any, ids: Iterable[int | None]
) -> dict[int, str]:
    """{id: name} of the rows with these ids (people, forums, sessions), in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.exec(select(id_column, name_column).where(id_column.in_(wanted))).all())


def new_row(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """A new row of the table `model`, for an INSERT written without building the object
    (building one and having the unit of work write it costs more than the statement): the
    model's defaults, those it makes for each row (the creation time) made now, and `values`
    over them. The primary key is left to the database."""
    fixed, made = _defaults(model)
    return {**fixed, **{name: make() for name, make in made}, **values}


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    keys = {c.name for c in model.__table__.primary_key.columns}  # type: ignore[attr-defined]  # a table model has its table
    fields = {name: f for name, f in model.model_fields.items() if name not in keys}
    fixed = {
        name: f.default
        for name, f in fields.items()
        if f.default_factory is None and not f.is_required()
    }
    made = tuple((name, f.default_factory) for name, f in fields.items() if f.default_factory)
    return fixed, made
