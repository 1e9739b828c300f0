"""The iCalendar data of an invitation (RFC 5545, iTIP RFC 5546): pure, no I/O.

Times are local with a TZID and a compact VTIMEZONE built from the IANA rules, the way
Outlook and Google write them (one STANDARD and one DAYLIGHT part with yearly RRULEs), so
every mainstream client reads a session at the same instant in summer, in winter and on the
change days. icalendar escapes TEXT values and folds lines at 75 octets.
"""

import calendar as monthcal
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from workflow.invitations.view import Attendee, CalendarSession, Method

PRODID = "-//Forum workflow//Consultation sessions//EN"

ROLE = {"co_chair": "CHAIR", "participant": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT"}
PARTSTAT = {
    "needs_action": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "tentative": "TENTATIVE",
    "declined": "DECLINED",
}


def _cn(name: str) -> str:
    # A double quote cannot appear inside a quoted parameter value (RFC 5545 3.2).
    return name.replace('"', "'")


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = _cn(name)
    return address


def _attendee(a: Attendee, recipient_email: str | None) -> vCalAddress:
    address = _address(a.email, a.name)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = ROLE.get(a.role, "REQ-PARTICIPANT")
    address.params["PARTSTAT"] = PARTSTAT.get(a.partstat, "NEEDS-ACTION")
    is_recipient = recipient_email is not None and a.email.lower() == recipient_email.lower()
    address.params["RSVP"] = "TRUE" if is_recipient else "FALSE"
    return address


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
    event.add("uid", session.uid)
    event.add("dtstamp", dtstamp.astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("dtstart", session.starts_at.astimezone(tz))
    event.add("dtend", session.ends_at.astimezone(tz))
    event.add("summary", session.title)
    if session.location:
        event.add("location", session.location)
    url = session.online_url or session.url
    if url:
        event.add("url", url)
    event.add("description", description)
    cancelled = method is Method.cancel or session.status == "cancelled"
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "PUBLIC")
    event.add("organizer", _address(session.organizer_email, session.organizer_name))
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


def build_event_calendar(
    session: CalendarSession,
    method: Method,
    *,
    attendees: Sequence[Attendee],
    recipient_email: str | None,
    dtstamp: datetime,
    description: str,
) -> bytes:
    cal = _calendar(method)
    cal.add_component(vtimezone(session.timezone, {session.starts_at.year}))
    cal.add_component(_event(session, method, attendees, recipient_email, dtstamp, description))
    return cal.to_ical()


def build_feed(
    sessions: Sequence[tuple[CalendarSession, str]], *, name: str, dtstamp: datetime
) -> bytes:
    """A subscription calendar: every session, cancelled ones kept as STATUS:CANCELLED."""
    cal = _calendar(Method.publish)
    cal.add("x-wr-calname", name)
    years: dict[str, set[int]] = {}
    for session, _ in sessions:
        years.setdefault(session.timezone, set()).add(session.starts_at.year)
    for zone_name, zone_years in sorted(years.items()):
        cal.add_component(vtimezone(zone_name, zone_years))
    for session, description in sessions:
        cal.add_component(
            _event(session, Method.publish, session.attendees, None, dtstamp, description)
        )
    return cal.to_ical()


# VTIMEZONE ----------------------------------------------------------------------------------


@cache
def _transitions(
    zone_name: str, year: int
) -> tuple[tuple[datetime, timedelta, timedelta, str], ...]:
    """(local wall time just before, offset before, offset after, name after) per change in
    `year`: found day by day, then to the minute."""
    tz = ZoneInfo(zone_name)

    def offset(t: datetime) -> timedelta | None:
        return t.astimezone(tz).utcoffset()

    out = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while t < end:
        nxt = min(t + timedelta(days=1), end)
        before, after = offset(t), offset(nxt)
        if before != after:
            lo, hi = t, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
            assert before is not None and after is not None
            local_before = (hi + before).replace(tzinfo=None)
            out.append((local_before, before, after, hi.astimezone(tz).tzname() or ""))
        t = nxt
    return tuple(out)


def _rule_day(year: int, month: int, weekday: int, nth: int) -> date:
    days = monthcal.monthrange(year, month)[1]
    if nth == -1:
        d = date(year, month, days)
        return d - timedelta(days=(d.weekday() - weekday) % 7)
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=nth - 1)


def _rule_of(local: datetime) -> tuple[int, int, int]:
    days = monthcal.monthrange(local.year, local.month)[1]
    nth = -1 if local.day + 7 > days else (local.day - 1) // 7 + 1
    return local.month, local.weekday(), nth


ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def vtimezone(zone_name: str, years: set[int]) -> Timezone:
    """A compact VTIMEZONE valid for `years`: yearly RRULEs when the zone follows one rule
    over those years (Europe, North America), otherwise the explicit changes."""
    tz = ZoneInfo(zone_name)
    span = range(min(years) - 1, max(years) + 2)
    per_year = {y: _transitions(zone_name, y) for y in span}
    vtz = Timezone()
    vtz.add("tzid", zone_name)
    first = per_year[min(years)]
    if not any(per_year.values()):
        offset = datetime(min(years), 6, 1, tzinfo=tz).utcoffset()
        assert offset is not None
        part = TimezoneStandard()
        part.add("dtstart", datetime(1970, 1, 1))
        part.add("tzoffsetfrom", offset)
        part.add("tzoffsetto", offset)
        part.add("tzname", datetime(min(years), 6, 1, tzinfo=tz).tzname() or zone_name)
        vtz.add_component(part)
        return vtz

    rules = [(_rule_of(local), local.time(), before, after) for local, before, after, _ in first]
    names = [name for *_, name in first]
    regular = len(first) == 2 and all(
        len(changes) == 2
        and all(
            (_rule_of(local), local.time(), before, after) == rules[i]
            for i, (local, before, after, _) in enumerate(changes)
        )
        for changes in per_year.values()
    )
    if regular:
        for ((month, weekday, nth), at, before, after), name in zip(rules, names, strict=True):
            part = TimezoneDaylight() if after > before else TimezoneStandard()
            start = _rule_day(1970, month, weekday, nth)
            part.add("dtstart", datetime.combine(start, at))
            part.add(
                "rrule", {"freq": "yearly", "bymonth": month, "byday": f"{nth}{ICAL_DAYS[weekday]}"}
            )
            part.add("tzoffsetfrom", before)
            part.add("tzoffsetto", after)
            part.add("tzname", name)
            vtz.add_component(part)
        return vtz

    # Irregular: list every change in the span explicitly.
    for changes in per_year.values():
        for local, before, after, name in changes:
            part = TimezoneDaylight() if after > before else TimezoneStandard()
            part.add("dtstart", local)
            part.add("tzoffsetfrom", before)
            part.add("tzoffsetto", after)
            part.add("tzname", name)
            vtz.add_component(part)
    return vtz
