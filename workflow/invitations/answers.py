"""Participants' answers (from a signed link or a calendar client's iTIP REPLY), and the
personal calendar feed."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar
from pydantic import ValidationError
from sqlalchemy import and_, or_, update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, spine
from workflow.config import get_settings
from workflow.errors import Conflict, Invalid, NotFound
from workflow.invitations.calendar import build_feed
from workflow.invitations.compose import calendar_session
from workflow.invitations.owed import delivery_key
from workflow.invitations.render import calendar_description
from workflow.invitations.view import MailKind, Method
from workflow.mail import outbox
from workflow.models import (
    CounterProposal,
    MeetingSession,
    Participant,
    PartStat,
    Person,
    SessionStatus,
)
from workflow.schemas import PersonCreate

ITIP_PARTSTAT = {
    "ACCEPTED": PartStat.accepted,
    "TENTATIVE": PartStat.tentative,
    "DECLINED": PartStat.declined,
    "DELEGATED": PartStat.delegated,
}


def _newer(sequence: int, dtstamp: datetime) -> Any:
    """The participant's applied answer is older than (sequence, dtstamp) (RFC 5546 2.1.5):
    SEQUENCE first, then DTSTAMP; an answer applied before this was recorded counts as
    older than any."""
    seq, stamp = col(Participant.answer_sequence), col(Participant.answer_dtstamp)
    return or_(
        seq.is_(None),
        seq < sequence,
        and_(seq == sequence, or_(stamp.is_(None), stamp < dtstamp)),
    )


def _active_participant(db: DBSession, session_id: int, person_id: int) -> Participant:
    participant = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session_id,
            col(Participant.person_id) == person_id,
            col(Participant.removed_at).is_(None),
        )
    ).first()
    if participant is None:
        raise Conflict("this person is no longer invited to this session")
    return participant


def _scheduled(db: DBSession, session_id: int) -> MeetingSession:
    session = db.get(MeetingSession, session_id)
    if session is None:
        raise NotFound("session %(id)s does not exist", id=session_id)
    if session.status != SessionStatus.scheduled:
        raise Conflict("this session is %(status)s; answers are closed", status=session.status)
    return session


def apply_answer(
    db: DBSession,
    session: MeetingSession,
    participant: Participant,
    answer: str,
    via: str,
    *,
    sequence: int,
    dtstamp: datetime,
    delegated_to: int | None = None,
) -> bool:
    """Apply an answer unless a newer one is applied already; True if it was applied.

    One conditional UPDATE: two answers racing (a reply by mail, a click on the link) are
    serialised by the row's write lock, and the one that waited compares against what the
    other wrote (PostgreSQL re-checks the condition on the row as committed), so the newer
    answer stays whichever commits last."""
    previous = participant.partstat
    result = db.exec(
        update(Participant)
        .where(
            col(Participant.id) == participant.id,
            col(Participant.removed_at).is_(None),
            _newer(sequence, dtstamp),
        )
        .values(
            partstat=answer,
            responded_at=clock.now(),
            answer_sequence=sequence,
            answer_dtstamp=dtstamp,
            delegated_to_person_id=delegated_to,
        )
    )
    db.refresh(participant)
    if result.rowcount == 0:
        return False
    spine.record(
        db,
        f"person:{participant.person_id} via {via}",
        "session.answered",
        forum_id=session.forum_id,
        session_id=session.id,
        person_id=participant.person_id,
        answer=answer,
        previous=previous,
        sequence=sequence,
        **({"delegated_to": delegated_to} if delegated_to is not None else {}),
    )
    return True


def record_answer(
    db: DBSession, session_id: int, person_id: int, answer: str, via: str
) -> Participant:
    """An answer given now (a signed link, the web page): it answers the session's current
    SEQUENCE at this moment, so only a reply made later than it can replace it."""
    session = _scheduled(db, session_id)
    participant = _active_participant(db, session_id, person_id)
    apply_answer(
        db, session, participant, answer, via, sequence=session.sequence, dtstamp=clock.now()
    )
    return participant


# iTIP (RFC 5546): what a calendar client's message means ------------------------------------


def current_answer(db: DBSession, session_id: int, person_id: int) -> str | None:
    """What the person has answered so far (maybe included), or None if nothing yet."""
    partstat = db.exec(
        select(col(Participant.partstat)).where(
            col(Participant.session_id) == session_id, col(Participant.person_id) == person_id
        )
    ).first()
    return None if partstat in (None, PartStat.needs_action) else partstat


def _address(prop: Any) -> str:
    return str(prop).split(":", 1)[-1].strip().lower() if prop is not None else ""


def _attendees(event: Any) -> list[Any]:
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return [a for a in found if a is not None]


def _when(event: Any, name: str) -> datetime | None:
    prop = event.get(name)
    if prop is None:
        return None
    value = prop.dt
    if not isinstance(value, datetime):
        raise Invalid("%(name)s must be a date with a time", name=name)
    if value.tzinfo is None:
        raise Invalid("%(name)s must be in UTC or carry a TZID", name=name)
    return value.astimezone(UTC)


def _stamp(event: Any) -> datetime:
    """The DTSTAMP of the message, no later than its arrival: a client whose clock runs
    ahead cannot put its reply beyond answers given after it."""
    stamp = _when(event, "DTSTAMP")
    if stamp is None:
        raise Invalid("an iTIP message needs a DTSTAMP")
    return min(stamp, clock.now())


def _sequence(event: Any, session: MeetingSession) -> int:
    try:
        sequence = int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        raise Invalid("SEQUENCE must be a whole number") from None
    if sequence < 0 or sequence > session.sequence:
        raise Invalid(
            "SEQUENCE %(sequence)s was never sent (this session is at %(current)s)",
            sequence=sequence,
            current=session.sequence,
        )
    return sequence


def _known_person(db: DBSession, email: str) -> Person:
    person = db.exec(select(Person).where(col(Person.email) == email)).first()
    if person is None:
        raise Invalid("%(email)s is not known to the service", email=email[:100])
    return person


def _delegate(
    db: DBSession, session: MeetingSession, delegator: Person, email: str, cn: str | None
) -> Person:
    """The deputy becomes a participant (they are owed the invitation by the normal
    reconcile). Looked up by address; an unknown address becomes a person with the name the
    client gave, in the delegator's language and country."""
    person = db.exec(select(Person).where(col(Person.email) == email)).first()
    if person is None:
        name = " ".join((cn or email.split("@", 1)[0]).split())
        try:
            data = PersonCreate(
                name=name,
                email=email,
                language=delegator.language,
                country=delegator.country,
            )
        except ValidationError:
            raise Invalid(
                "DELEGATED-TO %(email)s is not a usable address", email=repr(email[:100])
            ) from None
        person = Person(**data.model_dump())
        db.add(person)
        db.flush()
        spine.record(db, "calendar reply", "person.created", person_id=person.id, delegated=True)
    row = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session.id, col(Participant.person_id) == person.id
        )
    ).first()
    if row is None:
        db.add(Participant(session_id=session.id, person_id=person.id))  # type: ignore[arg-type]  # a stored row has its id
    elif row.removed_at is None:
        return person
    # The session's version rises (atomically, as every change's does): the reconciler then
    # owes the deputy the invitation.
    session = spine.claim(db, MeetingSession, session.id, None)  # type: ignore[arg-type]  # a stored row has its id
    if row is not None:
        # Back after a removal: their calendar dropped the event, and clients ignore a
        # REQUEST whose SEQUENCE did not rise past the CANCEL (as in add_participant).
        row.removed_at, row.role, row.partstat, row.responded_at = (
            None,
            "participant",
            "needs_action",
            None,
        )
        row.answer_sequence = row.answer_dtstamp = None
        session.sequence += 1
    spine.record(
        db,
        f"person:{delegator.id} via calendar reply",
        "session.participant_added",
        forum_id=session.forum_id,
        session_id=session.id,
        person_id=person.id,
        role="participant",
        delegated_from=delegator.id,
    )
    return person


def _reply(db: DBSession, session: MeetingSession, event: Any) -> Participant:
    """METHOD:REPLY (RFC 5546 3.2.3): the answer of the one attendee who replies. A
    delegation's REPLY may also name the deputy (with DELEGATED-FROM)."""
    attendees = _attendees(event)
    replying = [a for a in attendees if not a.params.get("DELEGATED-FROM")]
    if len(replying) != 1:
        raise Invalid("a REPLY names exactly one ATTENDEE")
    attendee = replying[0]
    partstat = ITIP_PARTSTAT.get(str(attendee.params.get("PARTSTAT", "")).upper())
    if partstat is None:
        raise Invalid("PARTSTAT must be ACCEPTED, TENTATIVE, DECLINED or DELEGATED")
    person = _known_person(db, _address(attendee))
    participant = _active_participant(db, session.id, person.id)  # type: ignore[arg-type]  # a stored row has its id
    sequence, stamp = _sequence(event, session), _stamp(event)
    delegate_id = None
    if partstat is PartStat.delegated:
        to = attendee.params.get("DELEGATED-TO")
        targets = [_address(t) for t in (to if isinstance(to, list) else [to]) if t]
        if len(targets) != 1:
            raise Invalid("a delegation names exactly one DELEGATED-TO")
        if targets[0] == person.email:
            raise Invalid("an attendee cannot delegate to themselves")
        names = {_address(a): a.params.get("CN") for a in attendees}
        applied_before = db.exec(
            select(Participant).where(
                col(Participant.id) == participant.id, _newer(sequence, stamp)
            )
        ).first()
        if applied_before is None:  # a newer answer is applied: this delegation is history
            return participant
        delegate_id = _delegate(db, session, person, targets[0], names.get(targets[0])).id
    apply_answer(
        db,
        session,
        participant,
        partstat,
        "calendar reply",
        sequence=sequence,
        dtstamp=stamp,
        delegated_to=delegate_id,
    )
    return participant


def _refresh(db: DBSession, session: MeetingSession, event: Any, body: bytes) -> Participant:
    """METHOD:REFRESH (RFC 5546 3.2.6): the attendee gets the current REQUEST once more, once
    per REFRESH message (its own delivery key, so it is not deduplicated away)."""
    attendees = _attendees(event)
    if len(attendees) != 1:
        raise Invalid("a REFRESH names exactly one ATTENDEE")
    person = _known_person(db, _address(attendees[0]))
    participant = _active_participant(db, session.id, person.id)  # type: ignore[arg-type]  # a stored row has its id
    digest = hashlib.sha256(body).hexdigest()[:24]
    created = outbox.owe(
        db,
        [
            {
                "key": f"{delivery_key(session.id, person.id, Method.request, session.sequence)}"  # type: ignore[arg-type]  # stored rows have ids
                f":refresh:{digest}",
                "reason": MailKind.update,
                "person_id": person.id,
                "session_id": session.id,
                "method": Method.request,
                "sequence": session.sequence,
            }
        ],
    )
    if created:
        spine.record(
            db,
            f"person:{person.id} via calendar refresh",
            "session.refresh_requested",
            forum_id=session.forum_id,
            session_id=session.id,
            person_id=person.id,
            sequence=session.sequence,
        )
        spine.mark_owed(db, created)
    return participant


def _counter(db: DBSession, session: MeetingSession, event: Any) -> Participant:
    """METHOD:COUNTER (RFC 5546 3.2.7): a proposed new time, kept for the co-chairs."""
    attendees = _attendees(event)
    if len(attendees) != 1:
        raise Invalid("a COUNTER names exactly one ATTENDEE")
    person = _known_person(db, _address(attendees[0]))
    participant = _active_participant(db, session.id, person.id)  # type: ignore[arg-type]  # a stored row has its id
    starts, ends = _when(event, "DTSTART"), _when(event, "DTEND")
    if starts is None:
        raise Invalid("a COUNTER proposes a DTSTART")
    if ends is None:
        ends = starts + (session.ends_at - session.starts_at)
    if ends <= starts:
        raise Invalid("the proposed end is not after the proposed start")
    sequence, stamp = _sequence(event, session), _stamp(event)
    comment = event.get("COMMENT")
    comment = comment[0] if isinstance(comment, list) else comment
    seen = db.exec(
        select(CounterProposal).where(
            col(CounterProposal.session_id) == session.id,
            col(CounterProposal.person_id) == person.id,
            col(CounterProposal.dtstamp) == stamp,
            # A message handed in twice is the same proposal; another time proposed within
            # the same second (DTSTAMP counts seconds) is a new one.
            col(CounterProposal.starts_at) == starts,
            col(CounterProposal.ends_at) == ends,
        )
    ).first()
    if seen is None:
        proposal = CounterProposal(
            session_id=session.id,  # type: ignore[arg-type]  # a stored row has its id
            person_id=person.id,  # type: ignore[arg-type]  # a stored row has its id
            sequence=sequence,
            dtstamp=stamp,
            starts_at=starts,
            ends_at=ends,
            comment=" ".join(str(comment).split())[:2000] if comment else None,
        )
        db.add(proposal)
        db.flush()
        spine.record(
            db,
            f"person:{person.id} via calendar counter",
            "session.counter_proposed",
            forum_id=session.forum_id,
            session_id=session.id,
            person_id=person.id,
            proposal_id=proposal.id,
            starts_at=starts.isoformat(),
            ends_at=ends.isoformat(),
        )
    return participant


ITIP_METHODS = ("REPLY", "COUNTER", "REFRESH")


def record_itip_reply(db: DBSession, body: bytes) -> list[Participant]:
    """Apply one iTIP message from an attendee (RFC 5546): REPLY (an answer, or a
    delegation), COUNTER (a proposed new time) or REFRESH (send me the current version).

    Answers are applied in the order of the attendee's SEQUENCE and DTSTAMP, not of
    arrival: one older than the answer applied is ignored (and not an error, so a message
    handed in twice is harmless). Returns the participants concerned."""
    try:
        calendar = Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise Invalid("not a readable iCalendar object: %(why)s", why=str(exc)[:260]) from None
    method = str(calendar.get("METHOD", "")).upper()
    if method not in ITIP_METHODS:
        raise Invalid("expected an iTIP METHOD:REPLY, COUNTER or REFRESH")
    recorded = []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", ""))
        found = db.exec(select(MeetingSession).where(col(MeetingSession.uid) == uid)).first()
        if found is None:
            raise Invalid("no session has the calendar UID %(uid)s", uid=repr(uid[:100]))
        session = _scheduled(db, found.id)  # type: ignore[arg-type]  # a stored row has its id
        if method == "REPLY":
            recorded.append(_reply(db, session, event))
        elif method == "COUNTER":
            recorded.append(_counter(db, session, event))
        else:
            recorded.append(_refresh(db, session, event, body))
    if not recorded:
        raise Invalid("the %(method)s holds no VEVENT", method=method)
    return recorded


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_feed(db: DBSession, person: Person) -> str:
    """A new secret feed URL for the person; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    person.feed_token_hash = _hash(token)
    return f"{get_settings().effective_public_url}/feeds/{token}.ics"


def revoke_feed(person: Person) -> None:
    person.feed_token_hash = None


FEED_HISTORY = timedelta(days=180)


def feed_for_token(db: DBSession, token: str) -> bytes | None:
    person = db.exec(select(Person).where(col(Person.feed_token_hash) == _hash(token))).first()
    if person is None:
        return None
    sessions = db.exec(
        select(MeetingSession)
        .join(Participant, col(Participant.session_id) == col(MeetingSession.id))
        .where(
            col(Participant.person_id) == person.id,
            col(Participant.removed_at).is_(None),
            col(MeetingSession.ends_at) > clock.now() - FEED_HISTORY,
        )
        .order_by(col(MeetingSession.starts_at))
        .limit(1000)
    ).all()
    entries = []
    for s in sessions:
        cal = calendar_session(db, s)
        entries.append((cal, calendar_description(cal, person.language)))
    return build_feed(entries, name=person.name, dtstamp=clock.now())
