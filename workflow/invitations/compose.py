"""Turn one calendar Delivery into the mail it stands for, from the session as it is now.

A delivery whose SEQUENCE is behind the session's is superseded rather than sent: a newer
calendar state is owed to the same person, and the last mail anyone gets must be the final
state with the highest SEQUENCE they ever got.
"""

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.i18n import RenderedMail
from workflow.invitations import changes as told
from workflow.invitations import rsvp
from workflow.invitations.calendar import build_event_calendar
from workflow.invitations.render import calendar_description, render_mail
from workflow.invitations.view import (
    AgendaLine,
    Attendee,
    CalendarSession,
    Changes,
    Mail,
    MailKind,
    Method,
)
from workflow.mail import outbox
from workflow.mail.message import Composed, Envelope, Superseded, build, calendar_attachment
from workflow.models import (
    AgendaItem,
    Delivery,
    DeliveryStatus,
    Forum,
    MeetingSession,
    Participant,
    Person,
)


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
        url=f"{settings.effective_public_url}/sessions/{session.id}",
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
        delivery=delivery,
    )


def _last_received(db: DBSession, delivery: Delivery) -> tuple[int, Any] | None:
    """The last calendar mail about the session this person was actually sent before this
    one (superseded and failed ones never reached them): its id and its snapshot, if any."""
    row = db.exec(
        select(col(Delivery.id), col(Delivery.method), col(Delivery.data))
        .where(
            col(Delivery.session_id) == delivery.session_id,
            col(Delivery.person_id) == delivery.person_id,
            col(Delivery.method).is_not(None),
            col(Delivery.status) == DeliveryStatus.sent,
            col(Delivery.id) != delivery.id,
        )
        .order_by(col(Delivery.sequence).desc(), col(Delivery.id).desc())
    ).first()
    if row is None or row[1] != Method.request:
        return None  # nothing yet, or the last thing they heard was that it is off
    delivery_id, _, data = row
    assert delivery_id is not None  # a stored row has its id
    return delivery_id, (data or {}).get("told")


def _record_told(
    db: DBSession, delivery: Delivery, kind: MailKind, cal: CalendarSession
) -> tuple[MailKind, Changes | None]:
    """Keep what this calendar mail shows with its delivery, and for an update what the
    person was told last; the mail kind to render and what changed.

    Written on the first attempt only, inside the claim: a retry (after an SMTP refusal, or a
    crash after the server took it) reads the same two snapshots and says the same thing.
    """
    data = dict(delivery.data or {})
    if "told" not in data:
        last = _last_received(db, delivery) if kind is MailKind.update else None
        data.update(
            told=told.to_json(told.told(cal)),
            since_delivery=last[0] if last else None,
            since=last[1] if last else None,
        )
        db.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery.id,
                col(Delivery.status) == DeliveryStatus.sending,
                col(Delivery.attempts) == delivery.attempts,
            )
            .values(data=data)
        )
    if kind is not MailKind.update:
        return kind, None
    if data.get("since_delivery") is None:
        # Every earlier mail was superseded or failed: to them this is the invitation.
        return MailKind.invitation, None
    before, after = told.from_json(data.get("since")), told.from_json(data.get("told"))
    if before is None or after is None:
        return kind, None  # told before snapshots were kept: the general wording
    return kind, told.changes(before, after)


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
    delivery: Delivery | None = None,
) -> Composed:
    """The mail about a session to one participant, with the calendar data as it is now.
    With the calendar `delivery` it stands for, an update says what changed since the last
    calendar mail this person received."""
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
    changes = None
    if delivery is not None and method is Method.request:
        kind, changes = _record_told(db, delivery, kind, cal)
    links = None
    # Answer links on invitations and updates, and on reminders to those yet to answer.
    if method is Method.request and (
        kind is not MailKind.reminder or participant.partstat == "needs_action"
    ):
        links = rsvp.links(session.id, person.id, session.ends_at)  # type: ignore[arg-type]  # a stored row has its id
    mail = Mail(
        kind=kind,
        method=method,
        session=cal,
        recipient=me,
        attendees=attendees,
        rsvp=links,
        changes=changes,
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
