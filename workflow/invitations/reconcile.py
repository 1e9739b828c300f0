"""Reconciliation: bring every participant's calendar up to the session's current state by
recording the calendar mail each one is owed. Safe to run twice, or concurrently."""

from typing import Any

from sqlalchemy import update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow.db import db_session
from workflow.invitations.owed import LastSent, Owed, ParticipantState, delivery_key, owed
from workflow.mail import outbox
from workflow.models import Delivery, DeliveryStatus, MeetingSession, Participant, Person


def calendar_mail(session_id: int, *columns: Any) -> Any:
    """The calendar mails of a session that a newer one has not replaced, oldest first."""
    return (
        select(*columns)
        .where(
            col(Delivery.session_id) == session_id,
            col(Delivery.method).is_not(None),
            col(Delivery.status) != DeliveryStatus.superseded,
        )
        .order_by(col(Delivery.sequence), col(Delivery.id))
    )


def last_calendar_mail(db: DBSession, session_id: int) -> dict[int, LastSent]:
    """Per person, the latest calendar mail owed to them that a newer one has not replaced.
    Failed ones count: the next change tries that address again, not the same mail."""
    query = calendar_mail(
        session_id, col(Delivery.person_id), col(Delivery.method), col(Delivery.sequence)
    )
    return {pid: LastSent(method, seq) for pid, method, seq in db.exec(query).all()}


def last_mail(db: DBSession, session_id: int) -> dict[int, Delivery]:
    """Per person, the latest calendar mail of this session that was not replaced."""
    return {d.person_id: d for d in db.exec(calendar_mail(session_id, Delivery)).all()}


def who_will_be_told(db: DBSession, session: MeetingSession) -> list[tuple[Person, Owed]]:
    """What the reconciler will owe each participant for the session as it now stands (the
    preview of a change before it is committed), by name."""
    db.flush()
    last = last_calendar_mail(db, session.id)  # type: ignore[arg-type]  # a stored row has its id
    rows = db.exec(select(Participant).where(col(Participant.session_id) == session.id)).all()
    states = [
        ParticipantState(p.person_id, p.removed_at is None, last.get(p.person_id)) for p in rows
    ]
    mails = owed(session.status, session.sequence, states)
    people = {
        p.id: p
        for p in db.exec(
            select(Person).where(col(Person.id).in_([o.person_id for o in mails] or [-1]))
        ).all()
    }
    return sorted(((people[o.person_id], o) for o in mails), key=lambda po: po[0].name)


def reconcile_session(session_id: int) -> tuple[int | None, list[int]]:
    """Returns the version reconciled (None if the session is gone) and the new deliveries."""
    with db_session() as db:
        # One reconciler per session at a time (PostgreSQL); SQLite serialises writers anyway.
        session = db.exec(
            select(MeetingSession).where(col(MeetingSession.id) == session_id).with_for_update()
        ).first()
        if session is None:
            return None, []
        version = session.version
        last = last_calendar_mail(db, session_id)
        # Plain columns, not ORM objects: a session may have a thousand participants.
        participants = db.exec(
            select(col(Participant.person_id), col(Participant.removed_at)).where(
                col(Participant.session_id) == session_id
            )
        ).all()
        states = [
            ParticipantState(person_id, removed_at is None, last.get(person_id))
            for person_id, removed_at in participants
        ]
        created = outbox.owe(
            db,
            [
                {
                    "key": delivery_key(session_id, o.person_id, o.method, o.sequence),
                    "reason": o.kind,
                    "person_id": o.person_id,
                    "session_id": session_id,
                    "method": o.method,
                    "sequence": o.sequence,
                }
                for o in owed(session.status, session.sequence, states)
            ],
        )
        # Conditional: a slower, older run never moves the mark backwards.
        db.exec(
            update(MeetingSession)
            .where(
                col(MeetingSession.id) == session_id,
                col(MeetingSession.reconciled_version) < version,
            )
            .values(reconciled_version=version)
        )
    return version, created


def lagging_sessions(limit: int = 500) -> list[int]:
    """Sessions changed since they were last reconciled (a partial index serves this)."""
    with db_session() as db:
        return list(
            db.exec(  # type: ignore[arg-type]  # stored rows' ids are never NULL
                select(col(MeetingSession.id))
                .where(col(MeetingSession.reconciled_version) < col(MeetingSession.version))
                .order_by(col(MeetingSession.id))
                .limit(limit)
            ).all()
        )
