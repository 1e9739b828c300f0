"""Turn a follow-up Delivery into its mail, from the state as it is at sending time.

A mail whose reason passed (a reminder for a time the session no longer has, a digest when
nothing is due any more) is superseded rather than sent.
"""

from datetime import date
from typing import Any

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.follow_up import digests, due, links
from workflow.i18n import N_, render_named, short_date
from workflow.invitations.calendar import build_todo_calendar
from workflow.invitations.compose import calendar_session, session_mail
from workflow.invitations.view import MailKind, Method, ToDo
from workflow.mail import outbox
from workflow.mail.message import Attachment, Composed, Superseded, build, mail_envelope
from workflow.models import (
    ActionItem,
    ActionItemStatus,
    AgendaItem,
    Delivery,
    Forum,
    MeetingSession,
    Organisation,
    Participant,
    PartStat,
    Person,
    SessionStatus,
)

SUBJECTS = {
    "summary": N_("Summary: %(title)s – %(date)s"),
    "digest": N_("Your action items: %(count)s to follow up"),
    "overview": N_("Weekly overview of action items: %(forum)s"),
    "escalation": N_("Overdue action items for the co-chairs: %(forum)s"),
    "decision": N_("Decision of %(parent)s: %(title)s"),
}


def _owner_name(db: DBSession, item: ActionItem) -> str | None:
    if item.owner_person_id is not None:
        p = db.get(Person, item.owner_person_id)
        return p.name if p else None
    if item.owner_organisation_id is not None:
        o = db.get(Organisation, item.owner_organisation_id)
        return o.name if o else None
    return None


def _item_view(db: DBSession, item: ActionItem, today: date) -> dict[str, Any]:
    facts = digests.facts(item)
    return {
        "id": item.id,
        "title": item.title,
        "owner": _owner_name(db, item),
        "status": item.status,
        "due_date": item.due_date,
        "days_overdue": due.days_overdue(facts, today),
        "indicator": item.indicator,
        "unit": item.unit,
        "baseline": item.baseline,
        "target": item.target,
        "current_value": item.current_value,
        "progress": due.progress_fraction(facts),
        "parent_decision": item.parent_decision,
        "url": f"{get_settings().effective_public_url}/action-items/{item.id}",
    }


# Reminder ---------------------------------------------------------------------------------


def reminder(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    session = db.get(MeetingSession, delivery.session_id)
    person = db.get(Person, delivery.person_id)
    if session is None or person is None:
        return Superseded("the session or the person no longer exists")
    if session.status != SessionStatus.scheduled:
        return Superseded(f"the session is {session.status}")
    if session.starts_at.isoformat() != (delivery.data or {}).get("starts_at"):
        return Superseded("the session moved; its reminders moved with it")
    if session.starts_at <= clock.now():
        return Superseded("the session has started")
    participant = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session.id, col(Participant.person_id) == person.id
        )
    ).first()
    if participant is None or participant.removed_at is not None:
        return Superseded("no longer a participant")
    if participant.partstat in (PartStat.declined, PartStat.delegated):
        return Superseded(participant.partstat)
    # Those yet to answer get the full invitation (Accept and Decline in their mail program);
    # the others the calendar data as an attachment only, nothing to answer.
    return session_mail(
        db,
        session,
        participant,
        person,
        MailKind.reminder,
        Method.request,
        delivery.message_id,
        inline=participant.partstat == PartStat.needs_action,
    )


# Summary after the session ----------------------------------------------------------------------


def summary(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    session = db.get(MeetingSession, delivery.session_id)
    person = db.get(Person, delivery.person_id)
    if session is None or person is None:
        return Superseded("the session or the person no longer exists")
    if session.status != SessionStatus.held:
        return Superseded(f"the session is {session.status}")
    forum = db.get(Forum, session.forum_id)
    today = clock.today()
    cal = calendar_session(db, session)
    outcomes = db.exec(
        select(AgendaItem)
        .where(col(AgendaItem.session_id) == session.id, col(AgendaItem.outcome).is_not(None))
        .order_by(col(AgendaItem.position))
    ).all()
    items = db.exec(
        select(ActionItem)
        .where(
            col(ActionItem.session_id) == session.id,
            # A cancelled item is neither listed nor sent as a to-do.
            col(ActionItem.status) != ActionItemStatus.cancelled,
        )
        .order_by(col(ActionItem.id))
    ).all()
    marks = db.exec(
        select(col(Participant.attendance)).where(
            col(Participant.session_id) == session.id,
            col(Participant.removed_at).is_(None),
        )
    ).all()
    attendance = {k: sum(1 for m in marks if m == k) for k in ("present", "excused", "absent")}
    mine = [i for i in items if i.owner_person_id == person.id]
    context = {
        "recipient": person,
        "session": cal,
        "outcomes": outcomes,
        "items": [_item_view(db, i, today) for i in items],
        "mine": len(mine),
        "attendance": attendance,
        "title": session.title,
        "date": short_date(cal, person.language),
    }
    rendered = render_named("summary", person.language, SUBJECTS["summary"], **context)
    attachments: tuple[Attachment, ...] = ()
    if mine:
        ics = build_todo_calendar(
            [_todo(i, forum) for i in mine],  # type: ignore[arg-type]  # a session's forum exists
            dtstamp=clock.now(),
        )
        attachments = (
            Attachment(
                "action-items.ics",
                "text",
                "calendar",
                ics,
                (("method", "PUBLISH"), ("charset", "UTF-8")),
            ),
        )
    envelope = mail_envelope(person, forum, rendered.subject, delivery)
    message = build(envelope, rendered.text, rendered.html, attachments=attachments)
    return Composed(message=message, recipient=person.email)


def _todo(item: ActionItem, forum: Forum) -> ToDo:
    s = get_settings()
    lines = [item.description or ""]
    if item.indicator:
        lines.append(f"{item.indicator}: {item.baseline} → {item.target} {item.unit or ''}".strip())
    return ToDo(
        uid=f"action-item-{item.id}@{s.calendar_domain}",
        sequence=item.version,
        title=item.title,
        status=item.status,
        organizer_name=forum.secretariat_name or forum.name,
        organizer_email=forum.secretariat_email or s.mail_from,
        due_date=item.due_date,
        description="\n".join(x for x in lines if x) or None,
        url=f"{s.effective_public_url}/action-items/{item.id}",
    )


# Digest -------------------------------------------------------------------------------------


def digest(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    person = db.get(Person, delivery.person_id)
    if person is None:
        return Superseded("the person no longer exists")
    today = clock.today()
    items = digests.items_needing_attention(db, today, person.id)
    if not items:
        return Superseded("nothing due any more")
    forums = {
        f.id: f
        for f in db.exec(select(Forum).where(col(Forum.id).in_({i.forum_id for i in items}))).all()
    }
    views = []
    for i in items:
        v = _item_view(db, i, today)
        v["forum"] = forums[i.forum_id].name
        v["links"] = links.links(i.id, person.id)  # type: ignore[arg-type]  # a stored row has its id
        views.append(v)
    context = {"recipient": person, "items": views, "count": len(views), "today": today}
    rendered = render_named("digest", person.language, SUBJECTS["digest"], **context)
    message = build(
        mail_envelope(person, None, rendered.subject, delivery), rendered.text, rendered.html
    )
    return Composed(message=message, recipient=person.email)


# Weekly overview and escalation -------------------------------------------------------------


def overview(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    person = db.get(Person, delivery.person_id)
    forum = db.get(Forum, (delivery.data or {}).get("forum_id"))
    if person is None or forum is None:
        return Superseded("the person or the forum no longer exists")
    today = clock.today()
    view = digests.forum_overview(db, forum, today)
    escalation = delivery.reason == digests.ESCALATION
    if (escalation and not view.escalate) or (not escalation and view.is_empty()):
        return Superseded("nothing to report any more")
    wanted = (
        set(view.escalate)
        if escalation
        else {*view.new, *view.done, *view.overdue, *view.stale, *view.behind}
    )
    rows = {
        i.id: _item_view(db, i, today)
        for i in db.exec(select(ActionItem).where(col(ActionItem.id).in_(wanted))).all()
    }
    sections = (
        [("escalate", view.escalate)]
        if escalation
        else [
            ("overdue", view.overdue),
            ("behind", view.behind),
            ("stale", view.stale),
            ("new", view.new),
            ("done", view.done),
        ]
    )
    public = get_settings().effective_public_url
    context = {
        "recipient": person,
        "forum": forum.name,
        "escalation": escalation,
        "escalation_days": forum.escalation_days,
        "stale_days": get_settings().stale_after_days,
        "sections": [(name, [rows[i] for i in ids if i in rows]) for name, ids in sections],
        "board_url": f"{public}/action-items?forum_id={forum.id}",
    }
    rendered = render_named("overview", person.language, SUBJECTS[delivery.reason], **context)
    message = build(
        mail_envelope(person, forum, rendered.subject, delivery), rendered.text, rendered.html
    )
    return Composed(message=message, recipient=person.email)


# Decision of the parent forum -----------------------------------------------------------------


def decision(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    person = db.get(Person, delivery.person_id)
    item = db.get(ActionItem, (delivery.data or {}).get("action_item_id"))
    if person is None or item is None or item.parent_decision is None:
        return Superseded("the decision or the person no longer exists")
    forum = db.get(Forum, item.forum_id)
    parent = db.get(Forum, forum.parent_id) if forum and forum.parent_id else None
    if forum is None or parent is None:
        return Superseded("the forum no longer reports to a parent")
    context = {
        "recipient": person,
        "item": _item_view(db, item, clock.today()),
        "note": item.escalation_note,
        "decision": item.parent_decision,
        "decided_at": item.parent_decided_at,
        "forum": forum.name,
        "parent": parent.name,
        "title": item.title,
    }
    rendered = render_named("decision", person.language, SUBJECTS["decision"], **context)
    message = build(
        mail_envelope(person, parent, rendered.subject, delivery), rendered.text, rendered.html
    )
    return Composed(message=message, recipient=person.email)


outbox.register("reminder", reminder)
outbox.register("summary", summary)
outbox.register("digest", digest)
outbox.register("overview", overview)
outbox.register("escalation", overview)
outbox.register("decision", decision)
