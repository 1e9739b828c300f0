"""The overview of one's forums, and a forum's page."""

import secrets
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session as DBSession

from workflow import action_items, clock, forums, sessions
from workflow.auth import Principal
from workflow.follow_up import escalations
from workflow.http.deps import DB, PathId
from workflow.models import Forum, SessionStatus
from workflow.permissions import Action
from workflow.reports import export, report_back
from workflow.web.deps import SignedIn, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass
class Branch:
    forum: Forum
    role: str | None
    children: list["Branch"] = field(default_factory=list)


def forum_tree(db: DBSession, principal: Principal) -> list[Branch]:
    """The forums one belongs to, each under its parent when one belongs to that too."""
    shown = forums.by_name(db, None if principal.is_admin else principal.readable_forums)
    branches = {f.id: Branch(f, principal.role_in(f.id)) for f in shown}  # type: ignore[arg-type]  # a stored row has its id
    roots: list[Branch] = []
    for b in branches.values():
        parent = branches.get(b.forum.parent_id)
        (parent.children if parent else roots).append(b)
    return roots


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
        reports=report_back.latest(db, me.readable_forums),
        names=forums.forum_names(db, forum_ids),
    )


@router.get("/forums/{forum_id}")
def forum_page(forum_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    forum = sessions.forum_for(db, v.me, forum_id, Action.read)
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
    members = forums.members_by_role(db, forum_id)
    children = forums.children(db, forum_id)
    reports = report_back.of_forum(db, forum_id, limit=50)
    latest = report_back.latest_of_children(db, forum_id)
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
        # What each body reporting here reported last.
        child_reports=[(c, latest.get(c.id)) for c in children],  # type: ignore[arg-type]  # a stored row has its id
        totals=export.TOTALS,
        may_manage=v.me.may(forum_id, Action.manage),
        may_read=lambda fid: v.me.may(fid, Action.read),
        # What the child forums put before this forum; its managers record the decision.
        waiting=escalations.waiting(db, forum_id) if children else [],
        fresh_nonce=lambda: secrets.token_urlsafe(32),
    )
