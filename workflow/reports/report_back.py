"""The report back to the parent forum, from fixed agenda item to mailed report.

1. Scheduling a session of a forum with child bodies adds one report-back agenda item per
   child (after the agenda given, children in name order). Each item knows when its report
   is due: the child's lead time before the session (default 5 days).
2. The scan compiles what is due (a partial index on report_due_at), stores the report as a
   new version, owes it by mail to the parent's co-chairs and secretariat and the child's
   co-chairs, and clears the due time, all in one transaction.
3. Moving the session moves the due time, so a report is compiled again for the new date;
   cancelling it clears the due time. The secretariat can compile on demand at any time.

Steps 1 and 3 listen to the session's changes on the spine (`follow_the_session`).
"""

from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import calendar_sequence, clock, rules, schedule, spine
from workflow.auth import Principal
from workflow.errors import Forbidden, NotFound
from workflow.follow_up import digests
from workflow.follow_up.due import reminder_moment
from workflow.mail import outbox
from workflow.models import (
    ActionItem,
    AgendaItem,
    AgendaItemKind,
    FollowUpReport,
    Forum,
    MeetingSession,
    Membership,
    Organisation,
    Participant,
    Person,
    Role,
    SessionStatus,
)
from workflow.permissions import Action
from workflow.reports.content import (
    ForumFacts,
    ItemRecord,
    Outcome,
    SessionFacts,
    compile_report,
)

REASON = "report"
OPEN = ("open", "in_progress")


def _children(db: DBSession, forum_id: int) -> list[Forum]:
    return list(
        db.exec(
            select(Forum)
            .where(col(Forum.parent_id) == forum_id)
            .order_by(col(Forum.name), col(Forum.id))
        )
    )


def _due_at(session: MeetingSession, child: Forum) -> datetime | None:
    if session.status != SessionStatus.scheduled:
        return None
    # On the wall clock, like reminders: 5 days before a Monday 10:00 session is the Wednesday
    # before at 10:00, whether or not the clocks changed in between.
    return reminder_moment(session.starts_at, session.timezone, child.report_lead_days * 24)


def _agenda(db: DBSession, session_id: int) -> list[AgendaItem]:
    return list(
        db.exec(
            select(AgendaItem)
            .where(col(AgendaItem.session_id) == session_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ).all()
    )


def _insert(items: list[AgendaItem], new: list[AgendaItem]) -> None:
    """The report-backs join the agenda before its closing items ('Varia', 'Rondvraag'),
    as rules.agenda_insert_position says, and everything is numbered 1..n again."""
    at = rules.agenda_insert_position([i.title for i in items]) - 1
    for n, item in enumerate([*items[:at], *new, *items[at:]], start=1):
        item.position = n


def add_items(db: DBSession, session: MeetingSession) -> list[AgendaItem]:
    """The fixed report-back items of a newly scheduled session, one per child forum."""
    added = [
        AgendaItem(
            session_id=session.id,  # type: ignore[arg-type]  # a stored row has its id
            position=0,
            title=child.name,
            kind=AgendaItemKind.report_back,
            child_forum_id=child.id,
            report_due_at=_due_at(session, child),
        )
        for child in _children(db, session.forum_id)
    ]
    if added:
        _insert(_agenda(db, session.id), added)  # type: ignore[arg-type]  # a stored row has its id
        db.add_all(added)
    return added


def add_child_to_upcoming(db: DBSession, actor: str, child: Forum) -> int:
    """A forum that just got a parent reports at the parent's sessions still to come."""
    if child.parent_id is None:
        return 0
    upcoming = db.exec(
        select(MeetingSession).where(
            col(MeetingSession.forum_id) == child.parent_id,
            col(MeetingSession.status) == SessionStatus.scheduled,
            col(MeetingSession.starts_at) > clock.now(),
        )
    ).all()
    added = 0
    for s in upcoming:
        already = db.exec(
            select(col(AgendaItem.id)).where(
                col(AgendaItem.session_id) == s.id, col(AgendaItem.child_forum_id) == child.id
            )
        ).first()
        if already is not None:
            continue
        session = spine.claim(db, MeetingSession, s.id, None)  # type: ignore[arg-type]  # a stored row has its id
        item = AgendaItem(
            session_id=s.id,  # type: ignore[arg-type]  # a stored row has its id
            position=0,
            title=child.name,
            kind=AgendaItemKind.report_back,
            child_forum_id=child.id,
            report_due_at=_due_at(session, child),
        )
        _insert(_agenda(db, s.id), [item])  # type: ignore[arg-type]  # a stored row has its id
        db.add(item)
        calendar_sequence.raise_if_changed(session, agenda=True)
        spine.record(
            db,
            actor,
            "agenda.report_back_added",
            forum_id=s.forum_id,
            session_id=s.id,
            child_forum_id=child.id,
        )
        added += 1
    return added


@spine.on_session_changed
def follow_the_session(db: DBSession, session: MeetingSession, change: spine.SessionChange) -> None:
    """A newly scheduled session gets its report-back items in the agenda it was given, before
    its closing items; a moved or cancelled one has its reports fall due again."""
    if change == spine.SessionChange.scheduled:
        db.flush()
        add_items(db, session)
    else:
        reschedule(db, session)


def reschedule(db: DBSession, session: MeetingSession) -> None:
    """The session moved or was cancelled: its reports fall due relative to the new time."""
    items = db.exec(
        select(AgendaItem).where(
            col(AgendaItem.session_id) == session.id,
            col(AgendaItem.child_forum_id).is_not(None),
        )
    ).all()
    for item in items:
        child = db.get(Forum, item.child_forum_id)
        item.report_due_at = _due_at(session, child) if child else None


# Compiling ------------------------------------------------------------------------------


def _forum_facts(db: DBSession, forum: Forum, start: datetime, end: datetime) -> ForumFacts:
    sessions = db.exec(
        select(MeetingSession).where(
            col(MeetingSession.forum_id) == forum.id,
            col(MeetingSession.status) == SessionStatus.held,
            col(MeetingSession.starts_at) >= start,
            col(MeetingSession.starts_at) < end,
        )
    ).all()
    ids = [s.id for s in sessions]
    marks: dict[int, list[str | None]] = {i: [] for i in ids}  # type: ignore[misc]  # a stored row has its id
    outcomes: dict[int, list[Outcome]] = {i: [] for i in ids}  # type: ignore[misc]  # a stored row has its id
    if ids:
        for session_id, attendance in db.exec(
            select(col(Participant.session_id), col(Participant.attendance)).where(
                col(Participant.session_id).in_(ids),
                col(Participant.removed_at).is_(None),
            )
        ):
            marks[session_id].append(attendance)
        # Every outcome recorded, whatever the item's kind: the report lists the decisions
        # (items of kind "decision") apart from the others.
        for a in db.exec(
            select(AgendaItem)
            .where(
                col(AgendaItem.session_id).in_(ids),
                col(AgendaItem.outcome).is_not(None),
                col(AgendaItem.outcome) != "",
            )
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ):
            outcomes[a.session_id].append(Outcome(a.title, a.outcome, a.kind))  # type: ignore[arg-type]  # the query keeps set outcomes
    session_facts = tuple(
        SessionFacts(
            s.id,  # type: ignore[arg-type]  # a stored row has its id
            s.title,
            s.starts_at,
            tuple(marks[s.id]),  # type: ignore[index]  # a stored row has its id
            tuple(outcomes[s.id]),  # type: ignore[index]  # a stored row has its id
        )
        for s in sessions
    )
    # Items still being worked on, and those opened or finished in the period.
    rows = db.exec(
        select(ActionItem, col(Person.name), col(Organisation.name))
        .outerjoin(Person, col(Person.id) == col(ActionItem.owner_person_id))
        .outerjoin(Organisation, col(Organisation.id) == col(ActionItem.owner_organisation_id))
        .where(
            col(ActionItem.forum_id) == forum.id,
            or_(
                col(ActionItem.status).in_(OPEN),
                col(ActionItem.created_at) >= start,
                col(ActionItem.completed_at) >= start,
                col(ActionItem.escalated_at).is_not(None),
            ),
        )
    ).all()
    items = tuple(
        ItemRecord(
            facts=digests.facts(i),
            title=i.title,
            owner=person_name or organisation_name,
            indicator=i.indicator,
            unit=i.unit,
            created_at=i.created_at,
            completed_at=i.completed_at,
            escalated_at=i.escalated_at,
            escalation_note=i.escalation_note,
            parent_decision=i.parent_decision,
            parent_decided_at=i.parent_decided_at,
        )
        for i, person_name, organisation_name in rows
    )
    children = tuple(_forum_facts(db, c, start, end) for c in _children(db, forum.id))  # type: ignore[arg-type]  # a stored row has its id
    return ForumFacts(forum.id, forum.name, session_facts, items, children)  # type: ignore[arg-type]  # a stored row has its id


def period_start(db: DBSession, session: MeetingSession, child: Forum) -> datetime:
    """Since the parent forum's previous session; for a first report, since the beginning
    of the child's record."""
    previous = db.exec(
        select(func.max(col(MeetingSession.starts_at))).where(
            col(MeetingSession.forum_id) == session.forum_id,
            col(MeetingSession.status) != SessionStatus.cancelled,
            col(MeetingSession.starts_at) < session.starts_at,
        )
    ).one()
    if previous is not None:
        return previous if previous.tzinfo else previous.replace(tzinfo=UTC)
    first = db.exec(
        select(func.min(col(MeetingSession.starts_at))).where(
            col(MeetingSession.forum_id) == child.id
        )
    ).one()
    candidates = [child.created_at]
    if first is not None:
        candidates.append(first if first.tzinfo else first.replace(tzinfo=UTC))
    return min(candidates)


def compile_for(
    db: DBSession, agenda_item: AgendaItem, actor: str, *, notify: bool = True
) -> tuple[FollowUpReport, list[int]]:
    """Compile the next version of a report-back item's report; owe it by mail if `notify`.
    Returns the report and the new deliveries (send them once this is committed)."""
    if db.get_bind().dialect.name == "postgresql":
        # One compile per item at a time, so versions never collide.
        db.exec(select(AgendaItem).where(col(AgendaItem.id) == agenda_item.id).with_for_update())
    session = db.get(MeetingSession, agenda_item.session_id)
    child = db.get(Forum, agenda_item.child_forum_id)
    assert session is not None and child is not None
    parent = db.get(Forum, session.forum_id)
    assert parent is not None
    now = clock.now()
    start = period_start(db, session, child)
    end = max(now, start)
    content = compile_report(
        _forum_facts(db, child, start, end),
        parent={
            "forum_id": parent.id,
            "forum_name": parent.name,
            "session_id": session.id,
            "session_title": session.title,
            "session_starts_at": session.starts_at.isoformat(),
            "timezone": session.timezone,
            "agenda_item_id": agenda_item.id,
        },
        period_start=start,
        period_end=end,
        today=clock.today(),
    )
    version = (
        db.exec(
            select(func.max(col(FollowUpReport.version))).where(
                col(FollowUpReport.agenda_item_id) == agenda_item.id
            )
        ).one()
        or 0
    ) + 1
    report = FollowUpReport(
        agenda_item_id=agenda_item.id,  # type: ignore[arg-type]  # a stored row has its id
        parent_session_id=session.id,  # type: ignore[arg-type]  # a stored row has its id
        child_forum_id=child.id,  # type: ignore[arg-type]  # a stored row has its id
        version=version,
        period_start=start,
        period_end=end,
        compiled_at=now,
        compiled_by=actor,
        content=content,
    )
    db.add(report)
    db.flush()
    spine.record(
        db,
        actor,
        "report.compiled",
        forum_id=child.id,
        session_id=session.id,
        report_id=report.id,
        version=version,
        parent_forum_id=parent.id,
    )
    created = _owe(db, report, parent.id, child.id) if notify else []  # type: ignore[arg-type]  # a stored row has its id
    return report, created


def recipients(db: DBSession, parent_forum_id: int, child_forum_id: int) -> list[int]:
    """The parent's co-chairs and secretariat, and the child's co-chairs."""
    rows = db.exec(
        select(col(Membership.person_id)).where(
            or_(
                (col(Membership.forum_id) == parent_forum_id)
                & col(Membership.role).in_([Role.co_chair, Role.secretariat]),
                (col(Membership.forum_id) == child_forum_id)
                & (col(Membership.role) == Role.co_chair),
            )
        )
    ).all()
    return sorted(set(rows))


def _owe(db: DBSession, report: FollowUpReport, parent_id: int, child_id: int) -> list[int]:
    return outbox.owe(
        db,
        [
            {
                "key": f"report:{report.id}:{person_id}",
                "reason": REASON,
                "person_id": person_id,
                "session_id": report.parent_session_id,
                "data": {"report_id": report.id},
            }
            for person_id in recipients(db, parent_id, child_id)
        ],
    )


@schedule.scan("reports", order=20)
def scan(db: DBSession, limit: int = 20) -> list[int]:
    """Compile the reports that are due. Returns the new deliveries' ids."""
    now = clock.now()
    query = (
        select(AgendaItem)
        .where(col(AgendaItem.report_due_at).is_not(None), col(AgendaItem.report_due_at) <= now)
        .order_by(col(AgendaItem.report_due_at), col(AgendaItem.id))
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    created: list[int] = []
    for item in db.exec(query).all():
        session = db.get(MeetingSession, item.session_id)
        if session is not None and session.status == SessionStatus.scheduled:
            _, new = compile_for(db, item, "scheduler")
            created += new
        item.report_due_at = None
    db.flush()
    return created


# Reading ------------------------------------------------------------------------------


def may_read(principal: Principal, report: FollowUpReport) -> bool:
    """The readers of the child forum and of the parent forum read its report."""
    parent_forum = report.content.get("parent", {}).get("forum_id")
    return principal.may(report.child_forum_id, Action.read) or (
        parent_forum is not None and principal.may(parent_forum, Action.read)
    )


def may_compile(principal: Principal, report: FollowUpReport) -> bool:
    """The managers of the parent forum and of the child forum compile a report again, as
    POST /api/v1/sessions/{id}/reports allows."""
    parent_forum = report.content.get("parent", {}).get("forum_id")
    return principal.may(report.child_forum_id, Action.manage) or (
        parent_forum is not None and principal.may(parent_forum, Action.manage)
    )


def compile_again(
    db: DBSession, principal: Principal, report: FollowUpReport, *, notify: bool
) -> tuple[FollowUpReport, list[int]]:
    """The next version of `report`, compiled from the records as they are now (Forbidden
    unless `may_compile`). Returns it and the deliveries owed when `notify`."""
    session = db.get(MeetingSession, report.parent_session_id)
    if session is None or not (
        principal.may(session.forum_id, Action.manage)
        or principal.may(report.child_forum_id, Action.manage)
    ):
        raise Forbidden()
    item = agenda_item_for(db, session.id, report.child_forum_id)  # type: ignore[arg-type]  # a stored row has its id
    return compile_for(db, item, principal.actor, notify=notify)


def readable_report(db: DBSession, principal: Principal, report_id: int) -> FollowUpReport:
    """The report, if `principal` reads the child forum or the parent forum: unknown is 404,
    else 403."""
    report = db.get(FollowUpReport, report_id)
    if report is None:
        raise NotFound("report %(id)s does not exist", id=report_id)
    if not may_read(principal, report):
        raise Forbidden()
    return report


def versions(db: DBSession, report: FollowUpReport) -> list[FollowUpReport]:
    """Every version of the report (of its agenda item), newest first."""
    return list(
        db.exec(
            select(FollowUpReport)
            .where(col(FollowUpReport.agenda_item_id) == report.agenda_item_id)
            .order_by(col(FollowUpReport.version).desc())
        ).all()
    )


def of_session(db: DBSession, session_id: int, child_forum_id: int | None) -> list[FollowUpReport]:
    """Every version of the reports compiled for this session, by child forum, newest first."""
    query = select(FollowUpReport).where(col(FollowUpReport.parent_session_id) == session_id)
    if child_forum_id is not None:
        query = query.where(col(FollowUpReport.child_forum_id) == child_forum_id)
    return list(
        db.exec(
            query.order_by(col(FollowUpReport.child_forum_id), col(FollowUpReport.version).desc())
        ).all()
    )


def presented_at(db: DBSession, session_id: int) -> list[tuple[FollowUpReport, Forum]]:
    """The reports presented at this session with their child forum, by forum name, newest
    version first."""
    rows = db.exec(
        select(FollowUpReport, Forum)
        .join(Forum, col(Forum.id) == col(FollowUpReport.child_forum_id))
        .where(col(FollowUpReport.parent_session_id) == session_id)
        .order_by(col(Forum.name), col(FollowUpReport.version).desc())
    ).all()
    return list(rows)


def of_forum(db: DBSession, forum_id: int, limit: int) -> list[FollowUpReport]:
    """The reports a child forum gave its parent, newest first."""
    return list(
        db.exec(
            select(FollowUpReport)
            .where(col(FollowUpReport.child_forum_id) == forum_id)
            .order_by(col(FollowUpReport.compiled_at).desc(), col(FollowUpReport.id).desc())
            .limit(limit)
        ).all()
    )


def latest_of_children(db: DBSession, parent_forum_id: int) -> dict[int, FollowUpReport]:
    """The latest report each child forum gave this forum, by child forum id."""
    rows = db.exec(
        select(FollowUpReport)
        .join(MeetingSession, col(MeetingSession.id) == col(FollowUpReport.parent_session_id))
        .where(col(MeetingSession.forum_id) == parent_forum_id)
        .order_by(col(FollowUpReport.compiled_at).desc(), col(FollowUpReport.id).desc())
        .limit(500)
    ).all()
    found: dict[int, FollowUpReport] = {}
    for report in rows:
        found.setdefault(report.child_forum_id, report)
    return found


def latest(db: DBSession, forum_ids: set[int]) -> list[tuple[FollowUpReport, Forum]]:
    """The latest report-back of each child forum among `forum_ids`, or that reported to one
    of them, with its child forum."""
    rows = db.exec(
        select(FollowUpReport, Forum)
        .join(Forum, col(Forum.id) == col(FollowUpReport.child_forum_id))
        .join(MeetingSession, col(MeetingSession.id) == col(FollowUpReport.parent_session_id))
        .where(
            or_(
                col(FollowUpReport.child_forum_id).in_(forum_ids or {-1}),
                col(MeetingSession.forum_id).in_(forum_ids or {-1}),
            )
        )
        .order_by(col(FollowUpReport.compiled_at).desc(), col(FollowUpReport.id).desc())
        .limit(500)
    ).all()
    found: dict[int, tuple[FollowUpReport, Forum]] = {}
    for report, forum in rows:
        found.setdefault(report.child_forum_id, (report, forum))
    return list(found.values())


def agenda_item_for(db: DBSession, session_id: int, child_forum_id: int) -> AgendaItem:
    """The session's report-back agenda item for a child forum (NotFound when it has none)."""
    item = db.exec(
        select(AgendaItem).where(
            col(AgendaItem.session_id) == session_id,
            col(AgendaItem.child_forum_id) == child_forum_id,
        )
    ).first()
    if item is None:
        raise NotFound("report-back agenda item for forum %(id)s does not exist", id=child_forum_id)
    return item
