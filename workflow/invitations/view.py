"""What one invitation mail shows, as plain data: built from the database by the send step,
consumed by the pure calendar and mail builders (no I/O beyond this point)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Method(StrEnum):
    request = "REQUEST"  # invitation or update
    cancel = "CANCEL"  # the session is cancelled, or this recipient was removed
    publish = "PUBLISH"  # feeds and .ics downloads: no reply expected
    declinecounter = "DECLINECOUNTER"  # a participant's proposed new time is declined


class MailKind(StrEnum):
    invitation = "invitation"  # first REQUEST this person gets for the session
    update = "update"  # a later REQUEST with a higher SEQUENCE
    cancellation = "cancellation"  # the session is cancelled
    removal = "removal"  # this person no longer takes part
    reminder = "reminder"  # the session is near (a nudge for those who have not answered)


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    role: str  # co_chair | participant | optional
    partstat: str  # needs_action | accepted | tentative | declined
    language: str = "nl"


@dataclass(frozen=True)
class AgendaLine:
    position: int
    title: str
    kind: str  # information | discussion | decision | report_back
    description: str | None = None


@dataclass(frozen=True)
class CalendarSession:
    uid: str
    sequence: int
    title: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    timezone: str  # IANA name, e.g. Europe/Brussels
    status: str  # scheduled | cancelled | held
    forum_name: str
    organizer_name: str
    organizer_email: str
    attendees: tuple[Attendee, ...]
    agenda: tuple[AgendaLine, ...] = ()
    location: str | None = None
    online_url: str | None = None
    cancel_reason: str | None = None
    url: str | None = None  # the session's page
    # Where a person answering the mail in words writes (Reply-To), when the ORGANIZER is the
    # service's reply address rather than the secretariat's mailbox; None: the ORGANIZER.
    reply_to_email: str | None = None


@dataclass(frozen=True)
class RsvpLinks:
    accept: str
    tentative: str
    decline: str


@dataclass(frozen=True)
class Mail:
    """One message to one person, ready for the mail builder."""

    kind: MailKind
    method: Method
    session: CalendarSession
    recipient: Attendee
    attendees: tuple[
        Attendee, ...
    ]  # who the calendar data lists (the recipient alone for a removal)
    rsvp: RsvpLinks | None = None
    feed_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # On an update: what changed since the last calendar mail this person received; None
    # when that is not known (a mail sent before snapshots were kept), or nothing they see.
    changes: "Changes | None" = None


@dataclass(frozen=True)
class Told:
    """What one calendar mail showed of a session, kept with its delivery (as JSON) so a
    later update can say what changed since then."""

    title: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    timezone: str
    location: str | None = None
    online_url: str | None = None
    agenda: tuple[tuple[str, str], ...] = ()  # (title, kind), in order
    co_chairs: tuple[str, ...] = ()  # a short digest of each co-chair's address, in order


@dataclass(frozen=True)
class Changes:
    """What changed between what a person was told and what the session shows now, in the
    order a mail lists them: time, place, online, title, agenda, co_chairs."""

    before: Told
    after: Told
    what: tuple[str, ...]
    agenda_added: tuple[str, ...] = ()
    agenda_removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToDo:
    """One action item as a calendar to-do."""

    uid: str
    sequence: int
    title: str
    status: str  # open | in_progress | done | cancelled
    organizer_name: str
    organizer_email: str
    due_date: date | None = None
    description: str | None = None
    url: str | None = None
