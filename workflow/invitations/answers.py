"""Participants' answers (from a signed link or a calendar client's iTIP REPLY), and the
personal calendar feed."""

import hashlib
import secrets
from datetime import timedelta

from icalendar import Calendar
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, spine
from workflow.config import get_settings
from workflow.errors import Conflict, Invalid, NotFound
from workflow.invitations.calendar import build_feed
from workflow.invitations.compose import calendar_session
from workflow.invitations.render import calendar_description
from workflow.models import MeetingSession, Participant, PartStat, Person, SessionStatus

ITIP_PARTSTAT = {
    "ACCEPTED": PartStat.accepted,
    "TENTATIVE": PartStat.tentative,
    "DECLINED": PartStat.declined,
}


def record_answer(
    db: DBSession, session_id: int, person_id: int, answer: str, via: str
) -> Participant:
    session = db.get(MeetingSession, session_id)
    if session is None:
        raise NotFound("session %(id)s does not exist", id=session_id)
    if session.status != SessionStatus.scheduled:
        raise Conflict("this session is %(status)s; answers are closed", status=session.status)
    participant = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session_id,
            col(Participant.person_id) == person_id,
            col(Participant.removed_at).is_(None),
        )
    ).first()
    if participant is None:
        raise Conflict("this person is no longer invited to this session")
    previous = participant.partstat
    participant.partstat = answer
    participant.responded_at = clock.now()
    spine.record(
        db,
        f"person:{person_id} via {via}",
        "session.answered",
        forum_id=session.forum_id,
        session_id=session_id,
        person_id=person_id,
        answer=answer,
        previous=previous,
    )
    return participant


def record_itip_reply(db: DBSession, body: bytes) -> list[Participant]:
    """Record the PARTSTAT of each VEVENT in a METHOD:REPLY (RFC 5546 3.2.3)."""
    try:
        calendar = Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise Invalid(f"not a readable iCalendar object: {exc}"[:300]) from None
    if str(calendar.get("METHOD", "")).upper() != "REPLY":
        raise Invalid("expected an iTIP METHOD:REPLY")
    recorded = []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", ""))
        session = db.exec(select(MeetingSession).where(col(MeetingSession.uid) == uid)).first()
        if session is None:
            raise Invalid("no session has the calendar UID %(uid)s", uid=repr(uid[:100]))
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        if len(attendees) != 1 or attendees[0] is None:
            raise Invalid("a REPLY names exactly one ATTENDEE")
        attendee = attendees[0]
        email = str(attendee).split(":", 1)[-1].strip().lower()
        partstat = ITIP_PARTSTAT.get(str(attendee.params.get("PARTSTAT", "")).upper())
        if partstat is None:
            raise Invalid("PARTSTAT must be ACCEPTED, TENTATIVE or DECLINED")
        person = db.exec(select(Person).where(col(Person.email) == email)).first()
        if person is None:
            raise Invalid("%(email)s is not known to the service", email=email[:100])
        recorded.append(record_answer(db, session.id, person.id, partstat, "calendar reply"))  # type: ignore[arg-type]  # a stored row has its id
    if not recorded:
        raise Invalid("the REPLY holds no VEVENT")
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
