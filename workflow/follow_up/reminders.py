"""Reminders before a session: one row per offset, moved with the session, scanned when due.

The scan reads only reminders not yet done whose moment has come (a partial index on due_at),
so its cost follows what is due, not how many sessions exist. It locks the rows it takes
(SKIP LOCKED on PostgreSQL), records the owed mail and marks the reminder done in one
transaction; the delivery key holds the session's start, so even two scans racing cannot
owe one reminder twice, and a moved session's reminder for its new time is a new mail.
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, schedule, spine
from workflow.follow_up.due import DueReminder, plan_reminders, reminder_verdicts
from workflow.mail import outbox
from workflow.models import Forum, MeetingSession, Participant, PartStat, SessionReminder

REASON = "reminder"


@spine.on_session_changed
def follow_the_session(db: DBSession, session: MeetingSession, change: spine.SessionChange) -> None:
    """Scheduled, moved or cancelled: the session's reminders follow (on the spine)."""
    forum = db.get(Forum, session.forum_id)
    assert forum is not None  # a session's forum is a foreign key
    sync(db, session, forum)


def sync(db: DBSession, session: MeetingSession, forum: Forum) -> None:
    """Bring a session's reminders in line with its time and status: on schedule, reschedule
    and cancel (follow_the_session); other changes leave reminders where they are."""
    rows = {
        r.offset_hours: r
        for r in db.exec(
            select(SessionReminder).where(col(SessionReminder.session_id) == session.id)
        ).all()
    }
    now = clock.now()
    offsets = forum.reminder_offsets_hours if not rows else list(rows)
    for plan in plan_reminders(session.starts_at, session.timezone, session.status, offsets, now):
        row = rows.get(plan.offset_hours)
        if row is None:
            row = SessionReminder(
                session_id=session.id,  # type: ignore[arg-type]  # a stored row has its id
                offset_hours=plan.offset_hours,
                due_at=plan.due_at,
            )
            db.add(row)
        elif row.due_at == plan.due_at and row.done_at is not None:
            continue  # this moment was handled already: never twice
        row.due_at = plan.due_at
        row.done_at = now if plan.done else None
        row.outcome = plan.outcome


def delivery_key(session_id: int, offset_hours: int, person_id: int, starts_at: datetime) -> str:
    return f"reminder:{session_id}:{offset_hours}:{person_id}:{int(starts_at.timestamp())}"


@schedule.scan("reminders", order=10)
def scan(db: DBSession, limit: int = 500) -> list[int]:
    """Owe the reminders that are due now. Returns the new deliveries' ids; the caller
    commits, then queues them."""
    now = clock.now()
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to 4 columns
            col(SessionReminder.id),
            col(SessionReminder.session_id),
            col(SessionReminder.offset_hours),
            col(MeetingSession.starts_at),
            col(MeetingSession.status),
        )
        .join(MeetingSession, col(MeetingSession.id) == col(SessionReminder.session_id))
        .where(col(SessionReminder.done_at).is_(None), col(SessionReminder.due_at) <= now)
        .order_by(col(SessionReminder.due_at), col(SessionReminder.id))
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=SessionReminder)
    due = [DueReminder(*row) for row in db.exec(query).all()]
    verdicts = reminder_verdicts(due, now)
    sending = [r for r in due if verdicts[r.reminder_id] == "send"]
    # One query for every recipient and one insert for every mail, whatever is due.
    created = outbox.owe(
        db, [row for r, people in _recipients(db, sending) for row in _rows(r, people)]
    )
    outcomes: dict[str, list[int]] = {}
    for r in due:
        verdict = verdicts[r.reminder_id]
        outcomes.setdefault("sent" if verdict == "send" else verdict, []).append(r.reminder_id)
    for outcome, ids in outcomes.items():
        db.exec(
            update(SessionReminder)
            .where(col(SessionReminder.id).in_(ids))
            .values(done_at=now, outcome=outcome)
        )
    return created


def _recipients(db: DBSession, due: list[DueReminder]) -> list[tuple[DueReminder, list[int]]]:
    """Everyone still invited who has not declined, per due reminder."""
    if not due:
        return []
    people: dict[int, list[int]] = {r.session_id: [] for r in due}
    for session_id, person_id in db.exec(
        select(col(Participant.session_id), col(Participant.person_id))
        .where(
            col(Participant.session_id).in_(people),
            col(Participant.removed_at).is_(None),
            # Neither those who declined nor those who passed it on to a deputy.
            col(Participant.partstat).not_in((PartStat.declined, PartStat.delegated)),
        )
        .order_by(col(Participant.session_id), col(Participant.person_id))
    ).all():
        people[session_id].append(person_id)
    return [(r, people[r.session_id]) for r in due]


def _rows(r: DueReminder, people: list[int]) -> list[dict]:
    return [
        {
            "key": delivery_key(r.session_id, r.offset_hours, person_id, r.starts_at),
            "reason": REASON,
            "person_id": person_id,
            "session_id": r.session_id,
            "data": {"starts_at": r.starts_at.isoformat(), "offset_hours": r.offset_hours},
        }
        for person_id in people
    ]


def of_session(db: DBSession, session_id: int) -> list[SessionReminder]:
    """A session's reminders, when they go (or went) in order."""
    return list(
        db.exec(
            select(SessionReminder)
            .where(col(SessionReminder.session_id) == session_id)
            .order_by(col(SessionReminder.due_at))
        ).all()
    )
