"""After the session: attendance, outcomes, and closing it with a summary to everyone.

Closing marks the session held (it cannot move any more) and, in the same transaction, owes
each participant and each owner of an action item it decided a summary mail in their
language: decisions, action items with owners and due dates; an owner's own items come as
calendar to-dos (VTODO) they can import.
"""

from collections.abc import Sequence

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, rules, spine
from workflow.auth import Principal
from workflow.mail import outbox
from workflow.models import (
    ActionItem,
    ActionItemStatus,
    AgendaItem,
    MeetingSession,
    Participant,
    Person,
    SessionStatus,
)
from workflow.permissions import Action
from workflow.schemas import AttendanceMark, OutcomeRecord
from workflow.sessions import claim_session, get_session, require

REASON = "summary"


def _check_started(session: MeetingSession) -> None:
    if session.status == SessionStatus.cancelled:
        raise rules.RuleError("a cancelled session has no attendance or outcomes", "status")
    if session.starts_at > clock.now():
        raise rules.RuleError("attendance is recorded once the session has started", "status")


def _record_attendance(db: DBSession, session_id: int, marks: Sequence[AttendanceMark]) -> None:
    rows = {
        p.person_id: p
        for p in db.exec(
            select(Participant).where(
                col(Participant.session_id) == session_id,
                col(Participant.removed_at).is_(None),
            )
        ).all()
    }
    unknown = sorted({m.person_id for m in marks} - set(rows))
    if unknown:
        raise rules.RuleError(
            "persons %(ids)s do not take part in this session", "attendance", {"ids": unknown}
        )
    for m in marks:
        rows[m.person_id].attendance = m.attendance


def _record_outcomes(db: DBSession, session_id: int, outcomes: Sequence[OutcomeRecord]) -> None:
    for o in outcomes:
        item = db.get(AgendaItem, o.agenda_item_id)
        if item is None or item.session_id != session_id:
            raise rules.RuleError(
                "agenda item %(id)s is not on this session", "outcomes", {"id": o.agenda_item_id}
            )
        item.outcome = o.outcome


def record_attendance(
    db: DBSession,
    principal: Principal,
    session_id: int,
    marks: Sequence[AttendanceMark],
    expected_version: int | None,
) -> MeetingSession:
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    session = claim_session(db, session_id, expected_version)
    _check_started(session)
    _record_attendance(db, session_id, marks)
    spine.record(
        db,
        principal.actor,
        "session.attendance_recorded",
        forum_id=session.forum_id,
        session_id=session_id,
        marks={str(m.person_id): m.attendance for m in marks},
    )
    return session


def close(
    db: DBSession,
    principal: Principal,
    session_id: int,
    *,
    attendance: Sequence[AttendanceMark],
    outcomes: Sequence[OutcomeRecord],
    expected_version: int | None,
) -> MeetingSession:
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    session = claim_session(db, session_id, expected_version)
    if session.status == SessionStatus.held:
        raise rules.RuleError("this session is closed already", "status")
    _check_started(session)
    _record_attendance(db, session_id, attendance)
    _record_outcomes(db, session_id, outcomes)
    session.status = SessionStatus.held
    # Held is not a calendar change: the event stays as it was, so SEQUENCE stays too.
    owed = _owe_summaries(db, session)
    spine.mark_owed(db, owed)
    spine.record(
        db,
        principal.actor,
        "session.closed",
        forum_id=session.forum_id,
        session_id=session_id,
        summaries=len(owed),
    )
    return session


def summary_recipients(db: DBSession, session_id: int) -> list[int]:
    """Everyone who took part (present or not: absentees need the decisions most), and the
    owners of the action items the session decided."""
    people = set(
        db.exec(
            select(col(Participant.person_id)).where(
                col(Participant.session_id) == session_id,
                col(Participant.removed_at).is_(None),
            )
        ).all()
    )
    owners = db.exec(
        select(col(ActionItem.owner_person_id)).where(
            col(ActionItem.session_id) == session_id,
            col(ActionItem.owner_person_id).is_not(None),
            col(ActionItem.status) != ActionItemStatus.cancelled,
        )
    ).all()
    return sorted(people | {o for o in owners if o is not None})


def summary_preview(db: DBSession, session_id: int) -> list[tuple[Person, int]]:
    """Whom the summary goes to, by name, with how many of the session's items each owns."""
    ids = summary_recipients(db, session_id)
    people = db.exec(select(Person).where(col(Person.id).in_(ids or [-1]))).all()
    owners = db.exec(
        select(col(ActionItem.owner_person_id)).where(
            col(ActionItem.session_id) == session_id,
            col(ActionItem.status) != ActionItemStatus.cancelled,
        )
    ).all()
    return sorted(((p, owners.count(p.id)) for p in people), key=lambda po: po[0].name)


def _owe_summaries(db: DBSession, session: MeetingSession) -> list[int]:
    return outbox.owe(
        db,
        [
            {
                "key": f"summary:{session.id}:{person_id}",
                "reason": REASON,
                "person_id": person_id,
                "session_id": session.id,
            }
            for person_id in summary_recipients(db, session.id)  # type: ignore[arg-type]  # a stored row has its id
        ],
    )
