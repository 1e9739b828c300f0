"""The iCalendar data of an invitation (RFC 5545, iTIP RFC 5546, iMIP RFC 6047): pure, no I/O.

Times are local with a TZID and a compact VTIMEZONE built from the IANA rules, the way
Outlook and Google write them (one STANDARD and one DAYLIGHT part with yearly RRULEs), so
every mainstream client reads a session at the same instant in summer, in winter and on the
change days; a time in the hour that repeats when the clocks go back is written in UTC, the
only form every parser reads as the one instant meant. icalendar escapes TEXT values (commas,
semicolons, backslashes, newlines),
quotes parameter values and folds lines at 75 octets without splitting a UTF-8 character;
what reaches it here is first cleaned of control characters and of the Unicode line
separators some parsers split lines on.

icalendar's own `Timezone.from_tzid()` is not used: it lists every change since 1970 as
RDATEs (dozens of lines), and writes the spring change at the local time after it (03:00
for Europe/Brussels, where RFC 5545 wants 02:00, the wall time in the offset before).
"""

import calendar as monthcal
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    Todo,
    vCalAddress,
    vDatetime,
    vDuration,
    vText,
)
from icalendar.parser import Contentline

from workflow.invitations.view import Attendee, CalendarSession, Method, ToDo

PRODID = "-//Forum workflow//Consultation sessions//EN"

ROLE = {"co_chair": "CHAIR", "participant": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT"}
PARTSTAT = {
    "needs_action": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "tentative": "TENTATIVE",
    "declined": "DECLINED",
    "delegated": "DELEGATED",
}
FEED_REFRESH = timedelta(hours=1)  # how often subscribed clients should fetch a feed again

# Characters that some readers take for a line end (Python's str.splitlines does, for one).
_LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# RFC 5545 3.3.11: TEXT may hold no control character but HTAB (and the escaped newline).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_URI_UNSAFE = re.compile("[\x00-\x20\x7f\x85\u2028\u2029]")


def _text(value: str) -> str:
    """A TEXT value: line ends of any kind become \\n (escaped by icalendar), other control
    characters go."""
    return _CONTROL.sub("", _LINE_BREAK.sub("\n", value))


def _line(value: str) -> str:
    """A single-line value (a parameter such as CN): no line end, no control character."""
    return " ".join(_text(value).replace("\t", " ").split())


def _cn(name: str) -> str:
    # A parameter value is quoted when it holds ",", ";" or ":" (icalendar does it) and may
    # not hold a double quote at all (RFC 5545 3.2). RFC 6868 would write ^' for it, but
    # Outlook and vobject show that literally: use an apostrophe instead.
    return _line(name).replace('"', "'")


def _uri(value: str) -> str:
    return _URI_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), value.strip())


def _address(email: str, name: str) -> vCalAddress:
    if _URI_UNSAFE.search(email.strip()):
        raise ValueError(f"not a mail address: {email!r}")
    address = vCalAddress(f"mailto:{email.strip()}")
    address.params["CN"] = _cn(name)
    return address


def _attendee(a: Attendee, recipient_email: str | None) -> vCalAddress:
    address = _address(a.email, a.name)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = ROLE.get(a.role, "REQ-PARTICIPANT")
    address.params["PARTSTAT"] = PARTSTAT.get(a.partstat, "NEEDS-ACTION")
    is_recipient = (
        recipient_email is not None and a.email.strip().lower() == recipient_email.strip().lower()
    )
    address.params["RSVP"] = "TRUE" if is_recipient else "FALSE"
    return address


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return value.replace(microsecond=0)


def _local(value: datetime, tz: ZoneInfo, what: str) -> datetime:
    """The instant as the zone's wall time (written with TZID), or in UTC when that wall
    time occurs twice, in the hour that repeats when the clocks go back: RFC 5545 takes
    such a local time for its first occurrence, and parsers disagree even about that, so
    a session at 02:30 on the last Sunday of October, given with its offset, is written
    as the one instant it is."""
    local = _aware(value, what).astimezone(tz)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return local.astimezone(UTC)
    return local


def _event(
    session: CalendarSession,
    method: Method,
    attendees: Sequence[Attendee],
    recipient_email: str | None,
    dtstamp: datetime,
    description: str,
) -> Event:
    tz = ZoneInfo(session.timezone)
    event = Event()
    event.add("uid", _line(session.uid))
    event.add("dtstamp", _aware(dtstamp, "dtstamp").astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("dtstart", _local(session.starts_at, tz, "starts_at"))
    event.add("dtend", _local(session.ends_at, tz, "ends_at"))
    event.add("summary", _text(session.title))
    if session.location:
        event.add("location", _text(session.location))
    url = session.online_url or session.url
    if url:
        event.add("url", _uri(url))
    event.add("description", _text(description))
    cancelled = method is Method.cancel or session.status == "cancelled"
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "PUBLIC")
    event.add("organizer", _address(session.organizer_email, session.organizer_name))
    # RFC 5546 3.2.1: a PUBLISH (feed, .ics download) carries no ATTENDEE.
    if method is not Method.publish:
        for a in attendees:
            event.add("attendee", _attendee(a, recipient_email))
    return event


def _calendar(method: Method) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method.value)
    return cal


def _years(session: CalendarSession) -> set[int]:
    tz = ZoneInfo(session.timezone)
    return {session.starts_at.astimezone(tz).year, session.ends_at.astimezone(tz).year}


def build_event_calendar(
    session: CalendarSession,
    method: Method,
    *,
    attendees: Sequence[Attendee],
    recipient_email: str | None,
    dtstamp: datetime,
    description: str,
) -> bytes:
    """One session as METHOD:REQUEST (invitation, update), CANCEL or PUBLISH (download).

    `attendees` are the ATTENDEE lines (left out for PUBLISH); the one whose address is
    `recipient_email` gets RSVP=TRUE. `description` is already in the recipient's language.
    """
    cal = _calendar(method)
    cal.add_component(vtimezone(session.timezone, _years(session)))
    cal.add_component(_event(session, method, attendees, recipient_email, dtstamp, description))
    return cal.to_ical()


_STAND_IN = Attendee(name="Stand-in", email="stand-in@invalid", role="", partstat="")


@lru_cache(maxsize=8192)
def _attendee_line(attendee: Attendee, rsvp: bool) -> bytes:
    """One ATTENDEE line as icalendar writes it (folded, CRLF), a function of the attendee
    alone: kept for the process, so a session's lines are written once, not once per batch."""
    # The content line as an event's to_ical writes it (sorted parameters, folded), without
    # an event around it: a large session writes one for each recipient.
    address = _attendee(attendee, attendee.email if rsvp else None)
    return Contentline.from_parts("ATTENDEE", address.params, address, sorted=True).to_ical() + (
        b"\r\n"
    )


# The DTSTAMP a frame is written with, put right for each batch: a line of the same length
# whatever the time (no folding moves), and the only one of its kind in an event's calendar.
_STAMP = datetime(2000, 1, 1, tzinfo=UTC)
_STAMP_LINE = b"DTSTAMP:20000101T000000Z"


@lru_cache(maxsize=64)  # a few sessions' fan-outs in flight, each in up to three languages
def _frame_for(session: CalendarSession, method: Method, description: str) -> tuple[bytes, bytes]:
    """A session's calendar without ATTENDEE lines, cut where they go, for the life of the
    process: the batches of a fan-out each need it for every language, and building it is
    most of what the calendar costs a batch. Keyed by the whole session as the calendar
    shows it, so a change makes a new key and nothing stale is ever written."""
    # Written with one stand-in ATTENDEE and cut around its line: icalendar orders the
    # properties itself, and this finds where it puts them.
    whole = build_event_calendar(
        session,
        method,
        attendees=(_STAND_IN,),
        recipient_email=None,
        dtstamp=_STAMP,
        description=description,
    )
    if whole.count(_STAMP_LINE) != 1:
        raise ValueError("the calendar's DTSTAMP is not where a frame expects it")
    line = _attendee_line(_STAND_IN, False)
    at = whole.index(line)
    return whole[:at], whole[at + len(line) :]


class EventCalendars:
    """`build_event_calendar` for many recipients of one session, byte for byte the same,
    without building the calendar again for each: what does not depend on the recipient (the
    VTIMEZONE, the event, the description in each language) is written once per language for
    the life of the process (`_frame_for`, with DTSTAMP put in for each fan-out), each ATTENDEE
    line once, and a recipient's calendar is those parts joined, with their own line
    (RSVP=TRUE) in place. icalendar still writes every part; only the joining is here.
    """

    def __init__(self, session: CalendarSession, method: Method, *, dtstamp: datetime) -> None:
        if method is Method.publish:
            raise ValueError("a PUBLISH lists no attendees: build_event_calendar writes it")
        self.session, self.method = session, method
        # This fan-out's DTSTAMP line, put in place of the frame's stand-in.
        stamp = _aware(dtstamp, "dtstamp").astimezone(UTC)
        self._stamp_line = b"DTSTAMP:" + vDatetime(stamp).to_ical()
        self._frames: dict[str, tuple[bytes, bytes]] = {}
        self._shared: tuple[tuple[Attendee, ...], tuple[bytes, ...], tuple[str, ...]] | None = None

    def _frame(self, description: str) -> tuple[bytes, bytes]:
        """The calendar without ATTENDEE lines, cut where they go (before END:VEVENT), with
        this fan-out's DTSTAMP."""
        frame = self._frames.get(description)
        if frame is None:
            head, tail = _frame_for(self.session, self.method, description)
            frame = self._frames[description] = (
                head.replace(_STAMP_LINE, self._stamp_line),
                tail.replace(_STAMP_LINE, self._stamp_line),
            )
        return frame

    def build(
        self, *, attendees: Sequence[Attendee], recipient_email: str | None, description: str
    ) -> bytes:
        """What `build_event_calendar` with these arguments (and the session, method and
        DTSTAMP given above) returns."""
        head, tail = self._frame(description)
        me = recipient_email.strip().lower() if recipient_email is not None else None
        shared, emails = self._lines(tuple(attendees))
        lines = list(shared)
        for at, email in enumerate(emails):
            if email == me:
                lines[at] = _attendee_line(attendees[at], True)
        return b"".join((head, *lines, tail))

    def _lines(self, attendees: tuple[Attendee, ...]) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
        """The ATTENDEE lines of `attendees` as nobody's own, and their addresses as compared:
        worked out once for the list every recipient of a small session shares."""
        known = self._shared
        if known is None or (known[0] is not attendees and known[0] != attendees):
            known = self._shared = (
                attendees,
                tuple(_attendee_line(a, False) for a in attendees),
                tuple(a.email.strip().lower() for a in attendees),
            )
        return known[1], known[2]


def build_declinecounter(
    session: CalendarSession,
    attendee: Attendee,
    *,
    proposed: tuple[datetime, datetime],
    dtstamp: datetime,
    comment: str,
) -> bytes:
    """METHOD:DECLINECOUNTER (RFC 5546 3.2.8) to the attendee who proposed `proposed`: the
    session's UID and SEQUENCE, the organizer, that attendee, and why as COMMENT. The
    declined times are carried as DTSTART/DTEND, as the COUNTER had them."""
    tz = ZoneInfo(session.timezone)
    cal = _calendar(Method.declinecounter)
    years = {*_years(session), *(t.astimezone(tz).year for t in proposed)}
    cal.add_component(vtimezone(session.timezone, years))
    event = Event()
    event.add("uid", _line(session.uid))
    event.add("dtstamp", _aware(dtstamp, "dtstamp").astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("dtstart", _local(proposed[0], tz, "proposed start"))
    event.add("dtend", _local(proposed[1], tz, "proposed end"))
    event.add("summary", _text(session.title))
    event.add("organizer", _address(session.organizer_email, session.organizer_name))
    event.add("attendee", _attendee(attendee, None))
    event.add("comment", _text(comment))
    cal.add_component(event)
    return cal.to_ical()


TODO_STATUS = {
    "open": "NEEDS-ACTION",
    "in_progress": "IN-PROCESS",
    "done": "COMPLETED",
    "cancelled": "CANCELLED",
}


def build_todo_calendar(todos: Sequence[ToDo], *, dtstamp: datetime) -> bytes:
    """Action items as VTODOs (METHOD:PUBLISH) their owner can import into a task list.

    DUE is a DATE: an action item is due on a Belgian calendar day, not at an instant, so
    no time zone is involved and every client shows the same day.
    """
    cal = _calendar(Method.publish)
    stamp = _aware(dtstamp, "dtstamp").astimezone(UTC)
    for t in todos:
        todo = Todo()
        todo.add("uid", _line(t.uid))
        todo.add("dtstamp", stamp)
        todo.add("sequence", t.sequence)
        todo.add("summary", _text(t.title))
        if t.description:
            todo.add("description", _text(t.description))
        if t.due_date is not None:
            todo.add("due", t.due_date)
        todo.add("status", TODO_STATUS.get(t.status, "NEEDS-ACTION"))
        if t.url:
            todo.add("url", _uri(t.url))
        todo.add("organizer", _address(t.organizer_email, t.organizer_name))
        cal.add_component(todo)
    return cal.to_ical()


def build_feed(
    sessions: Sequence[tuple[CalendarSession, str]], *, name: str, dtstamp: datetime
) -> bytes:
    """A subscription calendar (METHOD:PUBLISH): each (session, description) as a VEVENT,
    cancelled ones kept with STATUS:CANCELLED, one VTIMEZONE per zone used."""
    cal = _calendar(Method.publish)
    # X- properties are not typed by icalendar: say TEXT and DURATION, or no escaping.
    cal.add("x-wr-calname", vText(_line(name)))
    cal.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})  # RFC 7986
    cal.add("x-published-ttl", vDuration(FEED_REFRESH))  # the same, for Outlook
    years: dict[str, set[int]] = {}
    for session, _ in sessions:
        years.setdefault(session.timezone, set()).update(_years(session))
    for zone_name, zone_years in sorted(years.items()):
        cal.add_component(vtimezone(zone_name, zone_years))
    for session, description in sessions:
        cal.add_component(_event(session, Method.publish, (), None, dtstamp, description))
    return cal.to_ical()


# VTIMEZONE ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    local: datetime  # the wall time at the change, in the offset before it (RFC 5545 3.6.5)
    before: timedelta
    after: timedelta
    name: str  # the abbreviation after the change, e.g. CEST


@cache
def _changes(zone_name: str, year: int) -> tuple[_Change, ...]:
    """The offset changes of `year` (UTC), to the second: a scan day by day, then bisection.

    zoneinfo does not expose its transition table; two changes within one day would be
    missed, which no zone has done since 1970."""
    tz = ZoneInfo(zone_name)

    def offset(ts: int) -> timedelta:
        value = datetime.fromtimestamp(ts, tz).utcoffset()
        assert value is not None
        return value

    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    out = []
    while t < end:
        nxt = min(t + 86_400, end)
        before, after = offset(t), offset(nxt)
        if before != after:
            lo, hi = t, nxt  # offset(lo) == before != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
            at = datetime.fromtimestamp(hi, UTC)
            out.append(
                _Change(
                    local=(at + before).replace(tzinfo=None),
                    before=before,
                    after=after,
                    name=at.astimezone(tz).tzname() or zone_name,
                )
            )
        t = nxt
    return tuple(out)


ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _rule_of(local: datetime) -> tuple[int, int, int]:
    """(month, weekday, n): the n-th such weekday of the month, -1 for the last one."""
    days = monthcal.monthrange(local.year, local.month)[1]
    nth = -1 if local.day + 7 > days else (local.day - 1) // 7 + 1
    return local.month, local.weekday(), nth


def _rule_day(year: int, month: int, weekday: int, nth: int) -> date:
    if nth == -1:
        d = date(year, month, monthcal.monthrange(year, month)[1])
        return d - timedelta(days=(d.weekday() - weekday) % 7)
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=nth - 1)


def _observance(
    local: datetime, before: timedelta, after: timedelta, name: str
) -> TimezoneStandard | TimezoneDaylight:
    part = TimezoneDaylight() if after > before else TimezoneStandard()
    part.add("dtstart", local)
    part.add("tzoffsetfrom", before)
    part.add("tzoffsetto", after)
    part.add("tzname", name)
    return part


def vtimezone(zone_name: str, years: set[int]) -> Timezone:
    """A compact VTIMEZONE for `zone_name`, right for every instant of `years`.

    - A zone that changes twice a year by the same rule over those years and the ones
      around them (Europe, North America, Australia...): one DAYLIGHT and one STANDARD part
      with a yearly RRULE from 1970, as Outlook and Google write it.
    - A zone without changes then (Asia/Tokyo): one STANDARD part.
    - Anything else: one part per change in the span, after one for the offset before.
    """
    tz = ZoneInfo(zone_name)
    span = range(min(years) - 1, max(years) + 2)
    per_year = [_changes(zone_name, y) for y in span]
    vtz = Timezone()
    vtz.add("tzid", zone_name)

    if not any(per_year):
        now = datetime(min(years), 7, 1, tzinfo=tz)
        offset = now.utcoffset()
        assert offset is not None
        vtz.add_component(
            _observance(datetime(1970, 1, 1), offset, offset, now.tzname() or zone_name)
        )
        return vtz

    def shape(c: _Change) -> tuple[object, ...]:
        return (_rule_of(c.local), c.local.time(), c.before, c.after)

    first = per_year[1]  # the changes of min(years)
    if len(first) == 2 and all(
        [shape(c) for c in changes] == [shape(c) for c in first] for changes in per_year
    ):
        for c in first:
            month, weekday, nth = _rule_of(c.local)
            part = _observance(
                datetime.combine(_rule_day(1970, month, weekday, nth), c.local.time()),
                c.before,
                c.after,
                c.name,
            )
            part.add(
                "rrule", {"freq": "yearly", "bymonth": month, "byday": f"{nth}{ICAL_DAYS[weekday]}"}
            )
            vtz.add_component(part)
        return vtz

    # Irregular (rules changing over the span, changes not on an n-th weekday...).
    start = datetime(span.start, 1, 1, tzinfo=UTC).astimezone(tz)
    offset = start.utcoffset()
    assert offset is not None
    vtz.add_component(
        _observance(datetime(1970, 1, 1), offset, offset, start.tzname() or zone_name)
    )
    for changes in per_year:
        for c in changes:
            vtz.add_component(_observance(c.local, c.before, c.after, c.name))
    return vtz
