"""The event-driven spine: a change commits its new version and an Event in one transaction;
only after the commit is the reconciler asked to run. Nothing is sent from a request.

What follows a session's time (its reminders, its report-backs' due times) listens for the
session's changes here (`on_session_changed`) and is brought along in the same transaction;
the workflow that changes the session knows none of them. workflow/workflows.py imports
every listener, once, for each process that changes sessions.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.errors import VersionConflict
from workflow.models import ActionItem, Event, FormNonce, MeetingSession
from workflow.pagination import paginate

log = logging.getLogger(__name__)


def record(
    db: DBSession,
    actor: str,
    kind: str,
    *,
    forum_id: int | None = None,
    session_id: int | None = None,
    action_item_id: int | None = None,
    **data: Any,
) -> int:
    """Append an event to the change's transaction; its id. Written at once, with one INSERT:
    the unit of work would spend more on an object nothing changes after than on the
    statement itself."""
    event = _event(actor, kind, forum_id, session_id, data) | {"action_item_id": action_item_id}
    return db.connection().execute(_INSERT_EVENT, event).scalar_one()


def _event(
    actor: str, kind: str, forum_id: int | None, session_id: int | None, data: dict[str, Any]
) -> dict[str, Any]:
    """An event's columns but its id and the row it names (_EVENT_COLUMNS), as written now."""
    return {
        "actor": actor,
        "kind": kind,
        "forum_id": forum_id,
        "session_id": session_id,
        "data": data,
        "occurred_at": clock.now(),
    }


_EVENTS = Event.__table__  # type: ignore[attr-defined]  # a table model has its table
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_EVENT_COLUMNS = ("actor", "kind", "forum_id", "session_id", "data", "occurred_at")  # _event's


def record_created(
    db: DBSession,
    table: Table,
    row: dict[str, Any],
    actor: str,
    kind: str,
    *,
    link: str,
    forum_id: int | None = None,
    session_id: int | None = None,
    **data: Any,
) -> int:
    """Insert a new row (`row`, every column but its id) and the event of its creation, the
    event naming the row in its column `link` (action_item_id, say); the row's id. On
    PostgreSQL one statement, the event's INSERT taking the id from the row's (WITH … INSERT
    … RETURNING): a round trip and a statement fewer for every creation. Elsewhere the two."""
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        row_id: int = conn.execute(insert(table).returning(table.c.id), row).scalar_one()
        record(db, actor, kind, forum_id=forum_id, session_id=session_id, **{link: row_id}, **data)
        return row_id
    values = {f"row_{name}": value for name, value in row.items()}
    event = _event(actor, kind, forum_id, session_id, data)
    values |= {f"event_{name}": value for name, value in event.items()}
    statement = _created_statement(table, link, tuple(row))
    return int(conn.execute(statement, values).scalar_one())


@cache
def _created_statement(table: Table, link: str, columns: tuple[str, ...]) -> Any:
    created = (
        insert(table)
        .values({name: bindparam(f"row_{name}", type_=table.c[name].type) for name in columns})
        .returning(table.c.id)
        .cte("created")
    )
    given = [bindparam(f"event_{name}", type_=_EVENTS.c[name].type) for name in _EVENT_COLUMNS]
    return (
        insert(_EVENTS)
        .from_select([*_EVENT_COLUMNS, link], sa_select(*given, created.c.id))
        .returning(_EVENTS.c[link])
    )


Versioned = TypeVar("Versioned", MeetingSession, ActionItem)


def claim(db: DBSession, model: type[Versioned], row_id: int, expected: int | None) -> Versioned:
    """Bump a row's version first, conditionally on the version the caller edited.

    The UPDATE takes the row's write lock, so two co-chairs editing at once are serialised
    and the second one's stale version fails instead of silently overwriting the first.
    Raises LookupError when the row does not exist, VersionConflict when it moved on.
    """
    stmt = update(model).where(model.id == row_id)  # type: ignore[arg-type]  # model is a protocol, not a table
    if expected is not None:
        stmt = stmt.where(model.version == expected)  # type: ignore[arg-type]  # model is a protocol, not a table
    stmt = stmt.values(version=model.version + 1, updated_at=clock.now())
    result = db.exec(stmt)
    row = db.get(model, row_id, populate_existing=True)
    if row is None:
        raise LookupError(row_id)
    if result.rowcount == 0:
        raise VersionConflict(row.version)
    if model is MeetingSession:
        mark_changed(db, row_id)
    return row


# Listeners to a session's changes ---------------------------------------------------------


class SessionChange(StrEnum):
    """What happened to a session's time, as its listeners hear it."""

    scheduled = "scheduled"
    moved = "moved"  # its start moved
    cancelled = "cancelled"


SessionListener = Callable[[DBSession, MeetingSession, SessionChange], None]
_session_listeners: list[SessionListener] = []
_all_registered = False


def on_session_changed(listener: SessionListener) -> SessionListener:
    """Register `listener` (as a decorator, in the listener's own module) to run whenever a
    session is scheduled, moved or cancelled: in that change's transaction, in the order the
    listeners were registered, so a failure rolls back the change and the listener's work."""
    if listener not in _session_listeners:
        _session_listeners.append(listener)
    return listener


def all_listeners_registered() -> None:
    """Said by workflow.workflows once it has imported every listener's module."""
    global _all_registered
    _all_registered = True


def session_changed(db: DBSession, session: MeetingSession, change: SessionChange) -> None:
    """Tell every listener what happened to `session`. Refuses to run before
    workflow.workflows was imported: a process that forgot it would lose reminders unseen."""
    if not _all_registered:
        raise RuntimeError("session changes are not listened to: import workflow.workflows")
    for listener in list(_session_listeners):
        listener(db, session, change)


# After the commit ---------------------------------------------------------------------------


@dataclass
class AfterCommit:
    """What a transaction owes the worker once it has committed: the sessions to reconcile
    and the deliveries to send. Kept in the database session's `info`, the place SQLAlchemy
    gives for a session's own data, so it lives and dies with the unit of work."""

    sessions: set[int] = field(default_factory=set)
    deliveries: list[int] = field(default_factory=list)


_AFTER_COMMIT = "workflow.after_commit"


def after_commit(db: DBSession) -> AfterCommit:
    """What this transaction owes the worker so far (created empty on first use)."""
    owed: AfterCommit = db.info.setdefault(_AFTER_COMMIT, AfterCommit())
    return owed


def mark_changed(db: DBSession, session_id: int) -> None:
    """A session created or changed in this transaction: reconcile it after the commit."""
    after_commit(db).sessions.add(session_id)


def mark_owed(db: DBSession, delivery_ids: list[int]) -> None:
    """Deliveries recorded in this transaction: queue them for sending after the commit."""
    after_commit(db).deliveries.extend(delivery_ids)


class Queue:
    """How a process hands work to the worker after a commit. The task layer installs the
    real one (workflow/tasks) when it is imported; until then nothing is queued, and the
    sweep finds the work in the database within one interval."""

    def reconcile(self, session_id: int) -> None:
        _unqueued("reconcile session", session_id)

    def send(self, delivery_id: int) -> None:
        _unqueued("send delivery", delivery_id)


def _unqueued(what: str, ident: int) -> None:
    log.warning("no task queue in this process: %s %s waits for the sweep", what, ident)


_queue = Queue()


def queue_through(queue: Queue) -> None:
    """Said once by the task layer: after a commit, work goes to the broker through it."""
    global _queue
    _queue = queue


def commit(db: DBSession) -> None:
    """Commit, then ask the worker to reconcile what changed and send what is owed. If the
    broker is unreachable the change stays committed and the periodic sweep picks it up."""
    owed: AfterCommit = db.info.pop(_AFTER_COMMIT, None) or AfterCommit()
    db.commit()
    for session_id in sorted(owed.sessions):
        _queue.reconcile(session_id)
    for delivery_id in owed.deliveries:
        _queue.send(delivery_id)


def discard(db: DBSession) -> None:
    """Roll back a change tried only to see its effects (a preview): nothing is queued."""
    db.info.pop(_AFTER_COMMIT, None)
    db.rollback()


def events(
    db: DBSession,
    *,
    forum_id: int | None = None,
    session_id: int | None = None,
    kind: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Event], int]:
    """A forum's or a session's event log, newest first."""
    query = select(Event)
    if forum_id is not None:
        query = query.where(col(Event.forum_id) == forum_id)
    if session_id is not None:
        query = query.where(col(Event.session_id) == session_id)
    if kind is not None:
        query = query.where(col(Event.kind) == kind)
    return paginate(db, query, col(Event.id).desc(), limit=limit, offset=offset)


# Forms sent twice ------------------------------------------------------------------------------

NONCE_LENGTH = 64


def form_done(db: DBSession, nonce: str, kind: str) -> int | None:
    """What the form carrying `nonce` created before (its id), if it was sent already."""
    if not nonce or len(nonce) > NONCE_LENGTH:
        return None
    row = db.get(FormNonce, nonce)
    return row.object_id if row is not None and row.kind == kind else None


def form_used(db: DBSession, nonce: str, kind: str, object_id: int) -> int | None:
    """Remember, in the transaction that created `object_id`, that the form carrying
    `nonce` did. None if this is the first time; else what the first sending created (the
    same form sent twice at once: the unique key lets one of them through)."""
    if not nonce or len(nonce) > NONCE_LENGTH:
        return None
    try:
        with db.begin_nested():
            db.add(FormNonce(nonce=nonce, kind=kind, object_id=object_id))
    except IntegrityError:
        return form_done(db, nonce, kind) or -1
    return None
