"""The session's page: agenda, reminders, participants with their answers, the action items
decided, the report-backs presented, and for managers the after-session forms.

Both the session pages (workflow.web.sessions) and the after-session forms
(workflow.web.follow_up, which show this page again when one comes back with a problem)
render it from here."""

import secrets
from typing import Any

from fastapi.responses import HTMLResponse
from sqlmodel import Session as DBSession

from workflow import action_items, clock, directory, rules, sessions
from workflow.follow_up import escalations, reminders
from workflow.invitations import counters, reconcile
from workflow.models import MeetingSession, SessionStatus
from workflow.permissions import Action
from workflow.reports import report_back
from workflow.web.deps import Visitor, render

DONE = ("scheduled", "rescheduled", "cancelled", "answered", "counter_declined")
AFTER_DONE = ("attendance", "outcomes", "action_item", "closed")


def after_forms(db: DBSession, session: MeetingSession, after: dict[str, Any]) -> dict[str, Any]:
    """What the managers' after-session forms show: who may own an item, whether the
    session has begun (attendance is for then) and its day has come (outcomes and action
    items are), plus a form's problem if it came back."""
    people, organisations = action_items.owner_choices(db, session)
    now, tz = clock.now(), rules.zone(session.timezone)
    return {
        "done_kinds": AFTER_DONE,
        "started": session.starts_at <= now,
        # Outcomes and action items are for the session's own day on: not weeks ahead.
        "day_come": session.starts_at.astimezone(tz).date() <= now.astimezone(tz).date(),
        "open": session.status != SessionStatus.cancelled,
        "closable": session.status == SessionStatus.scheduled,
        "people": people,
        "organisations": organisations,
        "form": None,
        "errors": {},
        "general": [],
        "typed": {},
        "stale": False,
        # One-time value of the new item form: sent twice, it creates one item.
        "nonce": secrets.token_urlsafe(32),
        **after,
    }


def session_view(
    v: Visitor,
    db: DBSession,
    session_id: int,
    status_code: int = 200,
    done: str | None = None,
    **after: Any,
) -> HTMLResponse:
    """The session's page; `after` is what the after-session forms need when one comes back
    with a problem (workflow.web.follow_up)."""
    session = sessions.session_for(db, v.me, session_id, Action.read)
    forum = sessions.get_forum(db, session.forum_id)
    participants = sessions.participants(db, session_id)
    manages = v.me.may(session.forum_id, Action.manage)
    items, _ = action_items.list_items(
        db,
        v.me,
        forum_id=session.forum_id,
        session_id=session_id,
        owner_person_id=None,
        status=None,
        overdue=None,
        limit=200,
        offset=0,
    )
    after = after_forms(db, session, after) if manages else {"form": None}
    agenda = sessions.agenda_rows(db, session_id)
    return render(
        v,
        "session.html",
        status_code,
        session=session,
        forum=forum,
        agenda=agenda,
        participants=participants,
        # Mail status is the managers' to see, as in the API.
        mail=reconcile.last_mail(db, session_id) if manages else None,
        items=items,
        owners=directory.person_names(db, (i.owner_person_id for i in items)),
        reports=report_back.presented_at(db, session_id),
        reminders=reminders.of_session(db, session_id),
        manages=manages,
        done=done if done in DONE or done in after.get("done_kinds", ()) else None,
        mine=next((p for p in participants if p.person_id == v.me.person_id), None),
        after=after,
        # New times participants proposed from their calendar: the managers' to decide.
        proposals=counters.proposals(db, session_id) if manages else [],
        # What the child forums reporting here put before the mayors, under their
        # report-back item; the managers (the parent's) record the decision there.
        waiting=escalations.waiting(db, session.forum_id)
        if session.status != SessionStatus.cancelled and any(a.child_forum_id for a in agenda)
        else [],
        fresh_nonce=lambda: secrets.token_urlsafe(32),
    )
