"""New times participants propose from their calendar (iTIP METHOD:COUNTER, RFC 5546 3.2.7),
for a session's co-chairs: adopt one (a normal reschedule, so everyone gets the update) or
decline it (a METHOD:DECLINECOUNTER mail to the person who proposed it)."""

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, sessions, spine
from workflow.auth import Principal
from workflow.errors import Conflict, NotFound
from workflow.i18n import N_, RenderedMail, format_when, language_of, render_named
from workflow.invitations.calendar import build_declinecounter
from workflow.invitations.compose import calendar_session
from workflow.invitations.view import Attendee, CalendarSession, Method
from workflow.mail import outbox
from workflow.mail.message import Composed, Superseded, build, calendar_attachment, mail_envelope
from workflow.models import (
    CounterProposal,
    CounterStatus,
    Delivery,
    Forum,
    MeetingSession,
    Participant,
    Person,
)
from workflow.permissions import Action
from workflow.schemas import SessionUpdate

REASON = "declinecounter"  # the outbox's mail reason; its composer is `compose` below
SUBJECT = N_("Your proposed time was not adopted: %(title)s")


def proposals(db: DBSession, session_id: int) -> list[tuple[CounterProposal, Person]]:
    """A session's proposals, newest first, each with who made it."""
    return list(
        db.exec(
            select(CounterProposal, Person)
            .join(Person, col(Person.id) == col(CounterProposal.person_id))
            .where(col(CounterProposal.session_id) == session_id)
            .order_by(col(CounterProposal.dtstamp).desc(), col(CounterProposal.id).desc())
        ).all()
    )


def _open_proposal(db: DBSession, session_id: int, proposal_id: int) -> CounterProposal:
    proposal = db.get(CounterProposal, proposal_id)
    if proposal is None or proposal.session_id != session_id:
        raise NotFound("proposal %(id)s does not exist", id=proposal_id)
    if proposal.status != CounterStatus.open:
        raise Conflict("this proposal was %(status)s already", status=proposal.status)
    return proposal


def decline(
    db: DBSession, principal: Principal, session_id: int, proposal_id: int
) -> CounterProposal:
    """The session stays as it is; the person who proposed is owed a DECLINECOUNTER."""
    session = sessions.get_session(db, session_id)
    sessions.require(principal, session.forum_id, Action.manage)
    proposal = _open_proposal(db, session_id, proposal_id)
    proposal.status, proposal.decided_at = CounterStatus.declined, clock.now()
    created = outbox.owe(
        db,
        [
            {
                "key": f"{REASON}:{proposal.id}",
                "reason": REASON,
                "person_id": proposal.person_id,
                "session_id": session_id,
                "data": {"proposal_id": proposal.id},
            }
        ],
    )
    spine.mark_owed(db, created)
    spine.record(
        db,
        principal.actor,
        "session.counter_declined",
        forum_id=session.forum_id,
        session_id=session_id,
        person_id=proposal.person_id,
        proposal_id=proposal.id,
    )
    return proposal


def adopt(
    db: DBSession,
    principal: Principal,
    session_id: int,
    proposal_id: int,
    expected_version: int | None,
) -> MeetingSession:
    """The session moves to the proposed time through the normal reschedule (its checks,
    its version, its SEQUENCE and the updates everyone is owed)."""
    current = sessions.get_session(db, session_id)
    sessions.require(principal, current.forum_id, Action.manage)
    proposal = _open_proposal(db, session_id, proposal_id)
    session = sessions.update(
        db,
        principal,
        session_id,
        SessionUpdate(starts_at=proposal.starts_at, ends_at=proposal.ends_at),
        expected_version,
    )
    adopted_by_reschedule(db, principal, session, proposal_id)
    return session


def adopted_by_reschedule(
    db: DBSession, principal: Principal, session: MeetingSession, proposal_id: int
) -> None:
    """After a reschedule made from a proposal (the web form filled in with it): the
    proposal is adopted if the session now has its times."""
    proposal = _open_proposal(db, session.id, proposal_id)  # type: ignore[arg-type]  # a stored row has its id
    if (proposal.starts_at, proposal.ends_at) != (session.starts_at, session.ends_at):
        return
    proposal.status, proposal.decided_at = CounterStatus.adopted, clock.now()
    spine.record(
        db,
        principal.actor,
        "session.counter_adopted",
        forum_id=session.forum_id,
        session_id=session.id,
        person_id=proposal.person_id,
        proposal_id=proposal.id,
    )


def proposed_when(
    cal: CalendarSession, starts_at: datetime, ends_at: datetime, language: str
) -> str:
    return format_when(replace(cal, starts_at=starts_at, ends_at=ends_at), language)


def render_declinecounter(
    language: str,
    cal: CalendarSession,
    person_name: str,
    proposed: tuple[datetime, datetime],
) -> RenderedMail:
    """The mail telling a participant their proposed time is not adopted (pure, for
    snapshots): the time they proposed and the one the session keeps, in their language."""
    language = language_of(language)
    return render_named(
        REASON,
        language,
        SUBJECT,
        title=cal.title,
        person_name=person_name,
        forum_name=cal.forum_name,
        proposed=proposed_when(cal, *proposed, language),
        current=format_when(cal, language),
        cancelled=cal.status != "scheduled",
    )


def compose(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    """The DECLINECOUNTER mail, in the proposer's language (the outbox's composer)."""
    proposal = db.get(CounterProposal, (delivery.data or {}).get("proposal_id"))
    person = db.get(Person, delivery.person_id)
    session = db.get(MeetingSession, delivery.session_id)
    if proposal is None or person is None or session is None:
        return Superseded("the proposal, the person or the session no longer exists")
    participant = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session.id, col(Participant.person_id) == person.id
        )
    ).first()
    forum = db.get(Forum, session.forum_id)
    cal = calendar_session(db, session, chairs_only=True)
    rendered = render_declinecounter(
        person.language, cal, person.name, (proposal.starts_at, proposal.ends_at)
    )
    me = Attendee(
        name=person.name,
        email=person.email,
        role=participant.role if participant else "participant",
        partstat=participant.partstat if participant else "needs_action",
        language=person.language,
    )
    ics = build_declinecounter(
        cal,
        me,
        proposed=(proposal.starts_at, proposal.ends_at),
        dtstamp=clock.now(),
        comment=rendered.subject,
    )
    method = Method.declinecounter.value
    return Composed(
        message=build(
            mail_envelope(person, forum, rendered.subject, delivery),
            rendered.text,
            rendered.html,
            inline_calendar=(ics, method),
            attachments=(calendar_attachment(ics, method),),
        ),
        recipient=person.email,
    )


outbox.register(REASON, compose)
