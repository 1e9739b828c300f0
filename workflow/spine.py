"""The event-driven spine: a change commits its new version and an Event in one transaction;
only after the commit is the reconciler asked to run. Nothing is sent from a request."""

import logging
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.models import ActionItem, Event, MeetingSession
from workflow.pagination import paginate

log = logging.getLogger(__name__)

_PENDING_KEY = "sessions_to_reconcile"
_OWED_KEY = "deliveries_to_send"


def record(
    db: DBSession,
    actor: str,
    kind: str,
    *,
    forum_id: int | None = None,
    session_id: int | None = None,
    action_item_id: int | None = None,
    **data: Any,
) -> Event:
    ev = Event(
        actor=actor,
        kind=kind,
        forum_id=forum_id,
        session_id=session_id,
        action_item_id=action_item_id,
        data=data,
        occurred_at=clock.now(),
    )
    db.add(ev)
    return ev


class VersionMismatch(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(f"current version is {current}")
        self.current = current


Versioned = TypeVar("Versioned", MeetingSession, ActionItem)


def claim(db: DBSession, model: type[Versioned], row_id: int, expected: int | None) -> Versioned:
    """Bump a row's version first, conditionally on the version the caller edited.

    The UPDATE takes the row's write lock, so two co-chairs editing at once are serialised
    and the second one's stale version fails instead of silently overwriting the first.
    Raises LookupError when the row does not exist, VersionMismatch when it moved on.
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
        raise VersionMismatch(row.version)
    if model is MeetingSession:
        mark_changed(db, row_id)
    return row


def mark_changed(db: DBSession, session_id: int) -> None:
    """A session created or changed in this transaction: reconcile it after the commit."""
    db.info.setdefault(_PENDING_KEY, set()).add(session_id)


def mark_owed(db: DBSession, delivery_ids: list[int]) -> None:
    """Deliveries recorded in this transaction: queue them for sending after the commit."""
    db.info.setdefault(_OWED_KEY, []).extend(delivery_ids)


def commit(db: DBSession) -> None:
    """Commit, then ask the worker to reconcile what changed and send what is owed. If the
    broker is unreachable the change stays committed and the periodic sweep picks it up."""
    pending: set[int] = db.info.pop(_PENDING_KEY, set())
    owed: list[int] = db.info.pop(_OWED_KEY, [])
    db.commit()
    if pending or owed:
        from workflow.tasks import enqueue_reconcile, enqueue_send

        for session_id in sorted(pending):
            enqueue_reconcile(session_id)
        for delivery_id in owed:
            enqueue_send(delivery_id)


def discard(db: DBSession) -> None:
    """Roll back a change tried only to see its effects (a preview): nothing is queued."""
    db.info.pop(_PENDING_KEY, None)
    db.info.pop(_OWED_KEY, None)
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
