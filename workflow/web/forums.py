"""The overview of one's forums, and a forum's page."""

from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session as DBSession
from sqlmodel import col, or_, select

from workflow import action_items, clock, sessions
from workflow.api.deps import DB, PathId
from workflow.auth import Principal
from workflow.models import FollowUpReport, Forum, MeetingSession, Membership, Person, SessionStatus
from workflow.permissions import Action
from workflow.web.deps import SignedIn, WebRoute, names, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass
class Branch:
    forum: Forum
    role: str | None
    children: list["Branch"] = field(default_factory=list)


def forum_tree(db: DBSession, principal: Principal) -> list[Branch]:
    """The forums one belongs to, each under its parent when one belongs to that too."""
    mine = principal.readable_forums
    query = select(Forum).order_by(col(Forum.name))
    if not principal.is_admin:
        query = query.where(col(Forum.id).in_(mine or {-1}))
    forums = list(db.exec(query).all())
    branches = {f.id: Branch(f, principal.role_in(f.id)) for f in forums}  # type: ignore[arg-type]  # a stored row has its id
    roots: list[Branch] = []
    for b in branches.values():
        parent = branches.get(b.forum.parent_id)
        (parent.children if parent else roots).append(b)
    return roots


def last_reports(db: DBSession, forum_ids: set[int]) -> list[tuple[FollowUpReport, Forum]]:
    """The latest report-back of each child forum one reads, or that reported to one's forum."""
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
    latest: dict[int, tuple[FollowUpReport, Forum]] = {}
    for report, forum in rows:
        latest.setdefault(report.child_forum_id, (report, forum))
    return list(latest.values())


@router.get("/")
def overview(v: SignedIn, db: DB) -> HTMLResponse:
    me = v.me
    upcoming, _ = sessions.list_sessions(
        db,
        me,
        forum_id=None,
        status=SessionStatus.scheduled,
        starts_after=clock.now(),
        starts_before=None,
        limit=10,
        offset=0,
    )
    mine, _ = action_items.list_items(
        db,
        me,
        forum_id=None,
        session_id=None,
        owner_person_id=me.person_id,
        status=None,
        overdue=None,
        limit=200,
        offset=0,
    )
    mine = [i for i in mine if i.status in ("open", "in_progress")][:20]
    overdue, overdue_total = action_items.list_items(
        db,
        me,
        forum_id=None,
        session_id=None,
        owner_person_id=None,
        status=None,
        overdue=True,
        limit=20,
        offset=0,
    )
    forum_ids = [s.forum_id for s in upcoming] + [i.forum_id for i in mine + overdue]
    return render(
        v,
        "overview.html",
        tree=forum_tree(db, me),
        upcoming=upcoming,
        mine=mine,
        overdue=overdue,
        overdue_total=overdue_total,
        reports=last_reports(db, me.readable_forums),
        names=names(db, col(Forum.id), col(Forum.name), forum_ids),
    )


@router.get("/forums/{forum_id}")
def forum_page(forum_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    forum = sessions.get_forum(db, forum_id)
    sessions.require(v.me, forum_id, Action.read)
    rows, _ = sessions.list_sessions(
        db,
        v.me,
        forum_id=forum_id,
        status=None,
        starts_after=None,
        starts_before=None,
        limit=200,
        offset=0,
    )
    now = clock.now()
    members = db.exec(
        select(col(Membership.role), Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.forum_id) == forum_id)
        .order_by(col(Membership.role), col(Person.name))
    ).all()
    children = db.exec(
        select(Forum).where(col(Forum.parent_id) == forum_id).order_by(col(Forum.name))
    ).all()
    reports = db.exec(
        select(FollowUpReport)
        .where(col(FollowUpReport.child_forum_id) == forum_id)
        .order_by(col(FollowUpReport.compiled_at).desc(), col(FollowUpReport.id).desc())
        .limit(50)
    ).all()
    return render(
        v,
        "forum.html",
        forum=forum,
        parent=db.get(Forum, forum.parent_id) if forum.parent_id else None,
        children=children,
        # Upcoming: still to be held. Past: ended, held (closed) or cancelled.
        upcoming=[s for s in rows if s.status == SessionStatus.scheduled and s.ends_at >= now],
        past=sorted(
            (s for s in rows if s.status != SessionStatus.scheduled or s.ends_at < now),
            key=lambda s: s.starts_at,
            reverse=True,
        ),
        members=members,
        reports=reports,
        may_manage=v.me.may(forum_id, Action.manage),
        may_read=lambda fid: v.me.may(fid, Action.read),
    )
