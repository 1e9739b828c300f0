"""After the session (attendance, closing), reminders, escalation and the parent's decision."""

from fastapi import APIRouter, Response
from pydantic import BaseModel

from workflow import action_items, sessions, spine
from workflow.api.routes import API_PREFIX
from workflow.follow_up import closing, escalations, reminders
from workflow.http.deps import DB, Caller, IfMatch, PathId, expected_version
from workflow.permissions import Action
from workflow.schemas import (
    ActionItemDetail,
    AttendanceRecord,
    DecisionCreate,
    EscalationCreate,
    SessionClose,
    SessionRead,
)

router = APIRouter(prefix=API_PREFIX, tags=["follow-up"])


@router.put("/sessions/{session_id}/attendance", response_model=SessionRead)
def record_attendance(
    session_id: PathId,
    data: AttendanceRecord,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    """Record who was present, excused or absent, once the session has started."""
    session = closing.record_attendance(
        db, caller, session_id, data.attendance, expected_version(version, data.version)
    )
    spine.commit(db)
    response.headers["ETag"] = f'"{session.version}"'
    return sessions.detail(db, session)


@router.post("/sessions/{session_id}/close", response_model=SessionRead)
def close_session(
    session_id: PathId,
    data: SessionClose,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    """Mark the session held, with attendance and outcomes; everyone who took part, and each
    owner of an action item it decided, is sent a summary in their language."""
    session = closing.close(
        db,
        caller,
        session_id,
        attendance=data.attendance,
        outcomes=data.outcomes,
        expected_version=expected_version(version, data.version),
    )
    spine.commit(db)
    response.headers["ETag"] = f'"{session.version}"'
    return sessions.detail(db, session)


class ReminderRead(BaseModel):
    offset_hours: int
    due_at: str
    done_at: str | None
    outcome: str | None


@router.get("/sessions/{session_id}/reminders", response_model=list[ReminderRead])
def list_reminders(session_id: PathId, db: DB, caller: Caller) -> list[ReminderRead]:
    """When this session's reminders go (or went, and what became of them)."""
    sessions.session_for(db, caller, session_id, Action.read)
    rows = reminders.of_session(db, session_id)
    return [
        ReminderRead(
            offset_hours=r.offset_hours,
            due_at=r.due_at.isoformat(),
            done_at=r.done_at.isoformat() if r.done_at else None,
            outcome=r.outcome,
        )
        for r in rows
    ]


@router.post("/action-items/{item_id}/escalate", response_model=ActionItemDetail)
def escalate(
    item_id: PathId,
    data: EscalationCreate,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> ActionItemDetail:
    """Put an action item before the parent forum for a decision (the child's co-chairs or
    secretariat). It appears in the child's next report-back."""
    item = escalations.escalate(
        db, caller, item_id, data.note, expected_version(version, data.version)
    )
    spine.commit(db)
    response.headers["ETag"] = f'"{item.version}"'
    return action_items.detail(db, item)


@router.post("/action-items/{item_id}/decision", response_model=ActionItemDetail)
def decide(
    item_id: PathId,
    data: DecisionCreate,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> ActionItemDetail:
    """Record the parent forum's decision on an escalated item (the parent's co-chairs or
    secretariat); the child's co-chairs and the owner are told by mail."""
    item = escalations.decide(
        db, caller, item_id, data.decision, expected_version(version, data.version)
    )
    spine.commit(db)
    response.headers["ETag"] = f'"{item.version}"'
    return action_items.detail(db, item)
