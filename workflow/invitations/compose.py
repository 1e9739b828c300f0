"""Turn one calendar Delivery into the mail it stands for, from the session as it is now.

A delivery whose SEQUENCE is behind the session's is superseded rather than sent: a newer
calendar state is owed to the same person, and the last mail anyone gets must be the final
state with the highest SEQUENCE they ever got.
"""

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.i18n import RenderedMail
from workflow.invitations import changes as told
from workflow.invitations import rsvp
from workflow.invitations.calendar import EventCalendars
from workflow.invitations.render import SharedRendering, calendar_description
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
from workflow.mail.message import (
    Composed,
    Envelope,
    Superseded,
    build,
    build_raw,
    calendar_attachment,
)
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
    composed = compose_batch(db, [delivery])[delivery.id]  # type: ignore[index]  # stored rows have ids
    if isinstance(composed, ValueError):
        raise composed
    return composed


def compose_batch(
    db: DBSession, deliveries: list[Delivery]
) -> dict[int, Composed | Superseded | ValueError]:
    """The calendar mails of a batch, each session read once for all its recipients."""
    out: dict[int, Composed | Superseded | ValueError] = {}
    people = {
        p.id: p
        for p in db.exec(
            select(Person).where(col(Person.id).in_({d.person_id for d in deliveries}))
        ).all()
    }
    by_session: dict[int | None, list[Delivery]] = {}
    for d in deliveries:
        by_session.setdefault(d.session_id, []).append(d)
    for session_id, group in by_session.items():
        session = db.get(MeetingSession, session_id) if session_id is not None else None
        participants = {}
        if session is not None:
            participants = {
                p.person_id: p
                for p in db.exec(
                    select(Participant).where(
                        col(Participant.session_id) == session.id,
                        col(Participant.person_id).in_({d.person_id for d in group}),
                    )
                ).all()
            }
        mails: SessionMails | ValueError | None = None
        for d in group:
            assert d.id is not None  # a stored row has its id
            person = people.get(d.person_id)
            if session is None or person is None:
                out[d.id] = Superseded("the session or the person no longer exists")
                continue
            if d.sequence is not None and d.sequence < session.sequence:
                out[d.id] = Superseded(
                    f"sequence {d.sequence} < {session.sequence}: newer mail owed"
                )
                continue
            participant = participants.get(person.id)  # type: ignore[arg-type]  # a stored row has its id
            if participant is None:
                out[d.id] = Superseded("not a participant")
                continue
            if d.reason == MailKind.removal and participant.removed_at is None:
                out[d.id] = Superseded("taking part again")
                continue
            if mails is None:
                try:
                    mails = SessionMails(db, session)
                except ValueError as exc:
                    mails = exc
            if isinstance(mails, ValueError):
                out[d.id] = mails
                continue
            try:
                out[d.id] = mails.mail(
                    participant,
                    person,
                    MailKind(d.reason),
                    Method(d.method),  # type: ignore[arg-type]  # calendar mails always have one
                    d.message_id,
                    delivery=d,
                )
            except ValueError as exc:  # e.g. a header that would not be safe
                out[d.id] = exc
        if isinstance(mails, SessionMails):
            mails.write()
    return out


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
    db: DBSession,
    delivery: Delivery,
    kind: MailKind,
    cal: CalendarSession,
    *,
    snapshot: dict[str, Any] | None = None,
    writes: list[tuple[Delivery, dict[str, Any]]] | None = None,
) -> tuple[MailKind, Changes | None]:
    """Keep what this calendar mail shows with its delivery, and for an update what the
    person was told last; the mail kind to render and what changed.

    Written on the first attempt only, inside the claim: a retry (after an SMTP refusal, or a
    crash after the server took it) reads the same two snapshots and says the same thing.
    `snapshot` is `cal`'s, when known already; with `writes`, the record is added there for
    `_write_told` rather than written now.
    """
    data = dict(delivery.data or {})
    if "told" not in data:
        last = _last_received(db, delivery) if kind is MailKind.update else None
        data.update(
            told=snapshot if snapshot is not None else told.to_json(told.told(cal)),
            since_delivery=last[0] if last else None,
            since=last[1] if last else None,
        )
        if writes is None:
            _write_told(db, [(delivery, data)])
        else:
            writes.append((delivery, data))
    if kind is not MailKind.update:
        return kind, None
    if data.get("since_delivery") is None:
        # Every earlier mail was superseded or failed: to them this is the invitation.
        return MailKind.invitation, None
    before, after = told.from_json(data.get("since")), told.from_json(data.get("told"))
    if before is None or after is None:
        return kind, None  # told before snapshots were kept: the general wording
    return kind, told.changes(before, after)


def _write_told(db: DBSession, records: list[tuple[Delivery, dict[str, Any]]]) -> None:
    """What each calendar mail shows, with its delivery: one statement executed for many
    (conditional, as every write of a claim: only while this attempt holds it)."""
    if not records:
        return
    table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel's table
    db.connection().execute(
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.status == DeliveryStatus.sending,
            table.c.attempts == bindparam("b_attempts"),
        )
        .values(data=bindparam("b_data")),
        [{"b_id": d.id, "b_attempts": d.attempts, "b_data": data} for d, data in records],
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
    delivery: Delivery | None = None,
) -> Composed:
    """The mail about a session to one participant, with the calendar data as it is now.
    With the calendar `delivery` it stands for, an update says what changed since the last
    calendar mail this person received."""
    mails = SessionMails(db, session)
    composed = mails.mail(
        participant, person, kind, method, message_id, inline=inline, delivery=delivery
    )
    mails.write()
    return composed


class SessionMails:
    """Mails about one session to many of its participants: the session, its participants
    and agenda read once, the calendar description written once per language, the calendar
    data once per method (`EventCalendars`) and the mail's text and HTML once per language
    and kind (`SharedRendering`); per recipient only what is theirs (the greeting, the
    signed links, their ATTENDEE line, what changed for them)."""

    def __init__(self, db: DBSession, session: MeetingSession) -> None:
        self.db, self.session = db, session
        active = db.exec(
            select(func.count()).where(
                col(Participant.session_id) == session.id,
                col(Participant.removed_at).is_(None),
            )
        ).one()
        # A large session's invitations list only the co-chairs and the recipient: only
        # they are read.
        self.large = active > get_settings().calendar_attendee_limit
        self.cal = calendar_session(db, session, chairs_only=self.large)
        self.now = clock.now()
        self._descriptions: dict[str, str] = {}
        self._calendars: dict[Method, EventCalendars] = {}
        self._rendering = SharedRendering()
        self.from_addr = get_settings().mail_from
        self._snapshot: dict[str, Any] | None = None
        # What the calendar mails show, written for all of them at once (`write`).
        self.told: list[tuple[Delivery, dict[str, Any]]] = []

    def write(self) -> None:
        """Record what the mails composed so far show, with their deliveries."""
        _write_told(self.db, self.told)
        self.told = []

    def _description(self, language: str) -> str:
        text = self._descriptions.get(language)
        if text is None:
            text = self._descriptions[language] = calendar_description(self.cal, language)
        return text

    def _calendar(self, method: Method) -> EventCalendars:
        calendars = self._calendars.get(method)
        if calendars is None:
            calendars = self._calendars[method] = EventCalendars(self.cal, method, dtstamp=self.now)
        return calendars

    def mail(
        self,
        participant: Participant,
        person: Person,
        kind: MailKind,
        method: Method,
        message_id: str,
        *,
        inline: bool = True,
        delivery: Delivery | None = None,
    ) -> Composed:
        session, cal = self.session, self.cal
        me = _attendee(participant, person)
        if kind is MailKind.removal:
            attendees: tuple[Attendee, ...] = (me,)
        elif self.large:
            attendees = (*(a for a in cal.attendees if a.email != me.email), me)
        else:
            attendees = cal.attendees
        changes = None
        if delivery is not None and method is Method.request:
            if self._snapshot is None:
                self._snapshot = told.to_json(told.told(cal))
            kind, changes = _record_told(
                self.db, delivery, kind, cal, snapshot=self._snapshot, writes=self.told
            )
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
        ics = self._calendar(method).build(
            attendees=attendees,
            recipient_email=person.email,
            description=self._description(person.language),
        )
        rendered = self._rendering.render(mail)
        method_name = method.value
        raw = build_raw(
            _session_envelope(
                mail, rendered, from_addr=self.from_addr, message_id=message_id, date=self.now
            ),
            rendered.text,
            rendered.html,
            inline_calendar=(ics, method_name) if inline else None,
            attachments=(calendar_attachment(ics, method_name),),
        )
        return Composed(raw=raw, recipient=person.email)


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
    method = mail.method.value
    return build(
        _session_envelope(mail, rendered, from_addr=from_addr, message_id=message_id, date=date),
        rendered.text,
        rendered.html,
        inline_calendar=(ics, method) if inline else None,
        attachments=(calendar_attachment(ics, method),),
    )


def _session_envelope(
    mail: Mail, rendered: RenderedMail, *, from_addr: str, message_id: str, date: datetime
) -> Envelope:
    """From the session's organizer via the service, to the recipient."""
    session = mail.session
    return Envelope(
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


for _kind in (MailKind.invitation, MailKind.update, MailKind.cancellation, MailKind.removal):
    outbox.register(_kind.value, compose)
    outbox.register_batch(_kind.value, compose_batch)
