"""Reconciliation: bring what participants were told up to the session's current version.

The mail that is owed (invitations, updates, cancellations) is added here by the invitation
workflow; for now reconciling records how far the session has been processed, which is what
the sweep uses to find work a lost message left behind.
"""

from sqlalchemy import update
from sqlmodel import select

from workflow.db import db_session
from workflow.models import Session as MeetingSession

SWEEP_BATCH = 500


def reconcile_session(session_id: int) -> int | None:
    """Returns the version reconciled, or None if the session is gone."""
    with db_session() as db:
        session = db.get(MeetingSession, session_id)
        if session is None:
            return None
        version = session.version
        # Conditional: a slower, older run never moves the mark backwards.
        db.exec(  # type: ignore[call-overload]
            update(MeetingSession)
            .where(MeetingSession.id == session_id, MeetingSession.reconciled_version < version)
            .values(reconciled_version=version)
        )
        return version


def lagging_sessions(limit: int = SWEEP_BATCH) -> list[int]:
    with db_session() as db:
        rows = db.exec(
            select(MeetingSession.id)
            .where(MeetingSession.reconciled_version < MeetingSession.version)
            .order_by(MeetingSession.id)
            .limit(limit)
        ).all()
        return list(rows)
