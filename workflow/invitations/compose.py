"""Turn one calendar Delivery into the mail it stands for, from the session as it is now.

A delivery whose SEQUENCE is behind the session's is superseded rather than sent: a newer
calendar state is owed to the same person, and the last mail anyone gets must be the final
state with the highest SEQUENCE they ever got.
"""

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.i18n import RenderedMail
from workflow.invitations import rsvp
from workflow.invitations.calendar import build_event_calendar
from workflow.invitations.render import calendar_description, render_mail
from workflow.invitations.view import (
    AgendaLine,
    Attendee,
    CalendarSession,
    Mail,
    MailKind,
    Method,
)
from workflow.mail import outbox
from workflow.mail.message import Composed, Envelope, Superseded, build, calendar_attachment
from workflow.models import AgendaItem, Delivery, Forum, MeetingSession, Participant, Person


def _attendee(participant: Participant, person: Person) -> Attendee:
    return Attendee(
        name=person.name,
        email=person.email,
        role=participant.role,
        partstat=participant.partstat,
        language=person.language,
    )


def calendar_session(
    db: DBSession, session: MeetingSession, *, chairs_only: bool = False
) -> CalendarSession:
    """The session as calendars show it; `chairs_only` lists only the co-chairs."""
    forum = db.get(Forum, session.forum_id)
    assert forum is not None
    # Plain columns, not ORM objects: this runs for every mail of a fan-out, and building
    # two objects per participant cost more than the query.
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to 4 columns
            col(Person.name),
            col(Person.email),
            col(Participant.role),
            col(Participant.partstat),
            col(Person.language),
        )
        .join(Person, col(Person.id) == col(Participant.person_id))
        .where(col(Participant.session_id) == session.id, col(Participant.removed_at).is_(None))
        .order_by(col(Participant.id))
    )
    if chairs_only:
        query = query.where(col(Participant.role) == "co_chair")
    rows = db.exec(query).all()
    agenda = db.exec(
        select(
            col(AgendaItem.position),
            col(AgendaItem.title),
            col(AgendaItem.kind),
            col(AgendaItem.description),
        )
        .where(col(AgendaItem.session_id) == session.id)
        .order_by(col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    settings = get_settings()
    return CalendarSession(
        uid=session.uid,
        sequence=session.sequence,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        timezone=session.timezone,
        status=session.status,
        forum_name=forum.name,
        organizer_name=forum.secretariat_name or forum.name,
        # With a reply address, a client's Accept comes back to the service, and the
        # secretariat is the Reply-To for a person who answers in words (workflow/replies).
        organizer_email=settings.reply_address or forum.secretariat_email or settings.mail_from,
        reply_to_email=(
            (forum.secretariat_email or settings.mail_from) if settings.reply_address else None
        ),
        attendees=tuple(
            Attendee(name=name, email=email, role=role, partstat=partstat, language=language)
            for name, email, role, partstat, language in rows
        ),
        agenda=tuple(AgendaLine(*line) for line in agenda),
        location=session.location,
        online_url=session.online_url,
        cancel_reason=session.cancel_reason,
        url=f"{settings.effective_public_url}/api/v1/sessions/{session.id}",
    )


def compose(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    session = db.get(MeetingSession, delivery.session_id)
    person = db.get(Person, delivery.person_id)
    if session is None or person is None:
        return Superseded("the session or the person no longer exists")
    if delivery.sequence is not None and delivery.sequence < session.sequence:
        return Superseded(f"sequence {delivery.sequence} < {session.sequence}: newer mail owed")
    participant = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session.id, col(Participant.person_id) == person.id
        )
    ).first()
    if participant is None:
        return Superseded("not a participant")
    if delivery.reason == MailKind.removal and participant.removed_at is None:
        return Superseded("taking part again")
    return session_mail(
        db,
        session,
        participant,
        person,
        MailKind(delivery.reason),
        Method(delivery.method),  # type: ignore[arg-type]  # calendar mails always have one
        delivery.message_id,
    )


def session_mail(
    db: DBSession,
    session: MeetingSession,
    participant: Participant,
    person: Person,
    kind: MailKind,
    method: Method,
    message_id: str,
    *,
    inline: bool = True,
) -> Composed:
    """The mail about a session to one participant, with the calendar data as it is now."""
    me = _attendee(participant, person)
    active = db.exec(
        select(func.count()).where(
            col(Participant.session_id) == session.id,
            col(Participant.removed_at).is_(None),
        )
    ).one()
    # A large session's invitations list only the co-chairs and the recipient.
    large = active > get_settings().calendar_attendee_limit
    cal = calendar_session(db, session, chairs_only=large)
    if kind is MailKind.removal:
        attendees: tuple[Attendee, ...] = (me,)
    elif large:
        attendees = (*(a for a in cal.attendees if a.email != me.email), me)
    else:
        attendees = cal.attendees
    links = None
    # Answer links on invitations and updates, and on reminders to those yet to answer.
    if method is Method.request and (
        kind is not MailKind.reminder or participant.partstat == "needs_action"
    ):
        links = rsvp.links(session.id, person.id, session.ends_at)  # type: ignore[arg-type]  # a stored row has its id
    mail = Mail(
        kind=kind, method=method, session=cal, recipient=me, attendees=attendees, rsvp=links
    )
    now = clock.now()
    ics = build_event_calendar(
        cal,
        method,
        attendees=attendees,
        recipient_email=person.email,
        dtstamp=now,
        description=calendar_description(cal, person.language),
    )
    message = build_message(
        mail,
        render_mail(mail),
        ics,
        from_addr=get_settings().mail_from,
        message_id=message_id,
        date=now,
        inline=inline,
    )
    return Composed(message=message, recipient=person.email)


def build_message(
    mail: Mail,
    rendered: RenderedMail,
    ics: bytes,
    *,
    from_addr: str,
    message_id: str,
    date: datetime,
    inline: bool = True,
) -> EmailMessage:
    """A calendar mail (iMIP, RFC 6047), as Google sends it and CalConnect advises: the inline
    text/calendar part is what makes Outlook, Gmail, Apple Mail and Thunderbird show Accept
    and Decline; the invite.ics attachment serves everything else. `inline=False` leaves the
    inline part out: the data stays importable as invite.ics, but the mail is not shown as an
    invitation awaiting an answer."""
    session = mail.session
    method = mail.method.value
    envelope = Envelope(
        from_name=f"{session.organizer_name} via Forum workflow",
        from_addr=from_addr,
        reply_to_name=session.organizer_name,
        reply_to_addr=session.reply_to_email or session.organizer_email,
        to_name=mail.recipient.name,
        to_addr=mail.recipient.email,
        subject=rendered.subject,
        message_id=message_id,
        date=date,
        language=mail.recipient.language,
    )
    return build(
        envelope,
        rendered.text,
        rendered.html,
        inline_calendar=(ics, method) if inline else None,
        attachments=(calendar_attachment(ics, method),),
    )


for _kind in (MailKind.invitation, MailKind.update, MailKind.cancellation, MailKind.removal):
    outbox.register(_kind.value, compose)
