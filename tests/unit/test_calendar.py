"""The calendar data, read back by parsers other than the one that wrote it: vobject, and
Mozilla's ical.js (Thunderbird's parser) under Node. Across daylight-saving changes.

Both readers are made to use only the VTIMEZONE of the file: ical.js leaves a TZID it has
no VTIMEZONE for floating, and vobject would silently fall back to pytz, so the vobject
reader reports a TZID only when the time came through the file's own VTIMEZONE.
"""

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from dateutil.tz.tz import _tzicalvtz

from workflow.invitations.calendar import (
    PRODID,
    build_event_calendar,
    build_feed,
    build_todo_calendar,
)
from workflow.invitations.view import AgendaLine, Attendee, CalendarSession, Method, ToDo

JS = Path(__file__).resolve().parents[1] / "calendar_js"
STAMP = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)

CHAIR = Attendee("Geneviève Dubois", "genevieve@example.org", "co_chair", "accepted", "fr")
MEMBER = Attendee("Jan Peeters", "jan@example.org", "participant", "needs_action", "nl")
OBSERVER = Attendee('Dubois, "Gigi"; Marie', "marie@example.org", "optional", "tentative", "fr")
SUMMER = (datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))


def session(
    starts: datetime = SUMMER[0],
    ends: datetime = SUMMER[1],
    tz: str = "Europe/Brussels",
    **kw: Any,
) -> CalendarSession:
    values: dict[str, Any] = {
        "uid": "7f1c2f7e-1111-4a5b-9c1d-1234567890ab@forum-workflow.example.org",
        "sequence": 3,
        "title": "Overleg grensgemeenten",
        "starts_at": starts,
        "ends_at": ends,
        "timezone": tz,
        "status": "scheduled",
        "forum_name": "Eurometropool",
        "organizer_name": "Agence de l'Eurométropole",
        "organizer_email": "agence@example.org",
        "attendees": (CHAIR, MEMBER, OBSERVER),
        "agenda": (AgendaLine(1, "Verwelkoming", "information"),),
        "location": "Hôtel de ville, Menen",
    }
    values.update(kw)
    return CalendarSession(**values)


def request(s: CalendarSession, description: str = "Agenda") -> bytes:
    return build_event_calendar(
        s,
        Method.request,
        attendees=s.attendees,
        recipient_email="jan@example.org",
        dtstamp=STAMP,
        description=description,
    )


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


# The two independent readers --------------------------------------------------------------


def _param(prop: Any, name: str) -> str | None:
    values = prop.params.get(name)
    return values[0] if values else None


def _value(component: Any, name: str) -> str | None:
    return getattr(component, name).value if hasattr(component, name) else None


def _instant(value: datetime) -> tuple[str, str | None]:
    """The UTC instant, and the TZID if the file's own VTIMEZONE gave the offset."""
    tz = value.tzinfo
    tzid = tz._tzid if isinstance(tz, _tzicalvtz) else None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), tzid


def read_with_vobject(data: bytes) -> dict[str, Any]:
    cal = vobject.readOne(data.decode("utf-8"))
    events = []
    for ev in getattr(cal, "vevent_list", []):
        (start, start_tzid), (end, end_tzid) = _instant(ev.dtstart.value), _instant(ev.dtend.value)
        organizer = getattr(ev, "organizer", None)
        events.append(
            {
                "uid": ev.uid.value,
                "sequence": int(ev.sequence.value),
                "summary": _value(ev, "summary"),
                "location": _value(ev, "location"),
                "description": _value(ev, "description"),
                "url": _value(ev, "url"),
                "status": _value(ev, "status"),
                "transp": _value(ev, "transp"),
                "dtstamp": _instant(ev.dtstamp.value)[0],
                "dtstart": start,
                "dtend": end,
                "dtstart_tzid": start_tzid,
                "dtend_tzid": end_tzid,
                "organizer": organizer.value if organizer else None,
                "organizer_cn": _param(organizer, "CN") if organizer else None,
                "alarms": len(getattr(ev, "valarm_list", [])),
                "attendees": [
                    {
                        "email": a.value,
                        "cn": _param(a, "CN"),
                        "role": _param(a, "ROLE"),
                        "partstat": _param(a, "PARTSTAT"),
                        "rsvp": _param(a, "RSVP"),
                        "cutype": _param(a, "CUTYPE"),
                    }
                    for a in getattr(ev, "attendee_list", [])
                ],
            }
        )
    todos = [
        {
            "uid": t.uid.value,
            "sequence": int(t.sequence.value),
            "summary": _value(t, "summary"),
            "description": _value(t, "description"),
            "status": _value(t, "status"),
            "url": _value(t, "url"),
            "due": t.due.value.isoformat() if hasattr(t, "due") else None,
            "due_is_date": not isinstance(t.due.value, datetime) if hasattr(t, "due") else None,
        }
        for t in getattr(cal, "vtodo_list", [])
    ]
    return {
        "method": _value(cal, "method"),
        "timezones": [z.tzid.value for z in getattr(cal, "vtimezone_list", [])],
        "events": events,
        "todos": todos,
    }


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get(
        "WORKFLOW_TEST_REQUIRE_SERVICES"
    ):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def icaljs() -> Any:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _missing("Node.js and npm are not installed: the ical.js check needs them")
    assert node and npm
    if not (JS / "node_modules" / "ical.js" / "package.json").exists():
        done = subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            _missing(f"npm ci in {JS} failed: {done.stderr.strip()[-500:]}")

    def read(data: bytes) -> dict[str, Any]:
        out = subprocess.run(
            [node, "parse.mjs"], cwd=JS, input=data, capture_output=True, timeout=60
        )
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)

    return read


@pytest.fixture(params=["vobject", "ical.js"])
def read(request: pytest.FixtureRequest) -> Any:
    if request.param == "vobject":
        return read_with_vobject
    return request.getfixturevalue("icaljs")


# Daylight saving ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "local_start", "utc_start", "utc_end"),
    [
        # Europe/Brussels: the spring change day, summer, the autumn change day, winter.
        ("Europe/Brussels", "2027-03-28T10:00", "2027-03-28T08:00:00Z", "2027-03-28T10:00:00Z"),
        ("Europe/Brussels", "2027-07-14T10:00", "2027-07-14T08:00:00Z", "2027-07-14T10:00:00Z"),
        ("Europe/Brussels", "2027-10-31T10:00", "2027-10-31T09:00:00Z", "2027-10-31T11:00:00Z"),
        ("Europe/Brussels", "2028-01-12T10:00", "2028-01-12T09:00:00Z", "2028-01-12T11:00:00Z"),
        # Other rules: the US change day, a half-hour zone, the southern hemisphere's autumn
        # change day, and a zone without daylight saving.
        ("America/New_York", "2027-03-14T10:00", "2027-03-14T14:00:00Z", "2027-03-14T16:00:00Z"),
        ("America/St_Johns", "2027-07-14T10:00", "2027-07-14T12:30:00Z", "2027-07-14T14:30:00Z"),
        ("Australia/Sydney", "2027-04-04T10:00", "2027-04-04T00:00:00Z", "2027-04-04T02:00:00Z"),
        ("Asia/Tokyo", "2027-08-02T10:00", "2027-08-02T01:00:00Z", "2027-08-02T03:00:00Z"),
    ],
)
def test_ten_o_clock_is_read_at_the_right_instant(
    read: Any, tz: str, local_start: str, utc_start: str, utc_end: str
) -> None:
    start = datetime.fromisoformat(utc_start)
    data = request(session(start, datetime.fromisoformat(utc_end), tz=tz))
    local = local_start.replace("-", "").replace(":", "")
    assert f"DTSTART;TZID={tz}:{local}00\r\n".encode() in data
    [event] = read(data)["events"]
    assert (event["dtstart"], event["dtend"]) == (utc_start, utc_end)
    assert event["dtstart_tzid"] == event["dtend_tzid"] == tz  # through the file's VTIMEZONE


def _instants_around_changes(zone: str, year: int) -> list[datetime]:
    """Every whole UTC hour within 36 h of an offset change in `year` (every 10th day for a
    zone without changes), leaving out instants whose local time occurs twice."""
    tz = ZoneInfo(zone)
    hours = [datetime(year, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(365 * 24)]
    offsets = [t.astimezone(tz).utcoffset() for t in hours]
    changes = [hours[i] for i in range(1, len(hours)) if offsets[i] != offsets[i - 1]]
    if changes:
        picked = {c + timedelta(hours=h) for c in changes for h in range(-36, 37)}
    else:
        picked = set(hours[:: 24 * 10])

    def ambiguous(t: datetime) -> bool:
        wall = t.astimezone(tz).replace(tzinfo=None)
        return (
            wall.replace(tzinfo=tz, fold=0).utcoffset()
            != wall.replace(tzinfo=tz, fold=1).utcoffset()
        )

    return sorted(t for t in picked if not ambiguous(t))


ZONES = [
    "Europe/Brussels",
    "America/New_York",
    "America/St_Johns",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Africa/Casablanca",  # changes for Ramadan: no yearly rule, listed one by one
]


def test_every_hour_around_the_changes_of_several_zones(read: Any) -> None:
    """One feed, an event starting at each whole hour around every change of 2027 in zones
    with different rules: both readers agree with zoneinfo on every one."""
    entries, expected = [], {}
    for zone in ZONES:
        for i, t in enumerate(_instants_around_changes(zone, 2027)):
            uid = f"{zone}-{i}@example.org"
            entries.append((session(t, t + timedelta(minutes=90), tz=zone, uid=uid), ""))
            expected[uid] = (t.strftime("%Y-%m-%dT%H:%M:%SZ"), zone)
    data = build_feed(entries, name="x", dtstamp=STAMP)
    assert data.count(b"BEGIN:VTIMEZONE") == len(ZONES)
    parsed = read(data)
    got = {e["uid"]: (e["dtstart"], e["dtstart_tzid"]) for e in parsed["events"]}
    assert len(got) == len(expected) > 500
    assert {u: v for u, v in got.items() if v != expected[u]} == {}


def test_the_vtimezone_is_compact_and_rule_based() -> None:
    data = request(session())
    start = data.index(b"BEGIN:VTIMEZONE")
    block = data[start : data.index(b"END:VTIMEZONE\r\n") + 15].decode()
    lines = sorted(block.split("\r\n")[2:-2])  # the two observances, property order aside
    assert block.startswith("BEGIN:VTIMEZONE\r\nTZID:Europe/Brussels\r\n")
    assert lines == sorted(
        [
            "BEGIN:DAYLIGHT",
            "DTSTART:19700329T020000",  # 02:00 in the offset before the change
            "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
            "TZNAME:CEST",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
            "TZNAME:CET",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "END:STANDARD",
        ]
    )
    tokyo = request(session(tz="Asia/Tokyo"))
    assert tokyo.count(b"BEGIN:STANDARD") == 1 and b"DAYLIGHT" not in tokyo
    assert b"TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\n" in tokyo
    assert b"RDATE" not in data + tokyo


# The invitation's content -------------------------------------------------------------------


def test_request_carries_what_clients_need(read: Any) -> None:
    s = session()
    data = request(s)
    for line in (
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        f"PRODID:{PRODID}".encode(),
        b"CALSCALE:GREGORIAN",
        b"METHOD:REQUEST",
        b"CLASS:PUBLIC",
        b"TRANSP:OPAQUE",
        b"DTSTAMP:20270105T093000Z",
    ):
        assert line in physical_lines(data), line
    assert b"VALARM" not in data
    parsed = read(data)
    assert parsed["method"] == "REQUEST"
    [event] = parsed["events"]
    assert event["uid"] == s.uid and event["sequence"] == 3
    assert event["dtstamp"] == "2027-01-05T09:30:00Z"
    assert event["status"] == "CONFIRMED" and event["transp"] == "OPAQUE"
    assert event["organizer"].lower() == "mailto:agence@example.org"
    assert event["organizer_cn"] == "Agence de l'Eurométropole"
    by_mail = {a["email"].lower().removeprefix("mailto:"): a for a in event["attendees"]}
    assert {m: (a["role"], a["partstat"], a["rsvp"], a["cutype"]) for m, a in by_mail.items()} == {
        "genevieve@example.org": ("CHAIR", "ACCEPTED", "FALSE", "INDIVIDUAL"),
        "jan@example.org": ("REQ-PARTICIPANT", "NEEDS-ACTION", "TRUE", "INDIVIDUAL"),
        "marie@example.org": ("OPT-PARTICIPANT", "TENTATIVE", "FALSE", "INDIVIDUAL"),
    }
    assert by_mail["genevieve@example.org"]["cn"] == "Geneviève Dubois"
    assert event["alarms"] == 0


def test_rsvp_goes_to_the_recipient_whatever_the_case_of_the_address() -> None:
    data = build_event_calendar(
        session(),
        Method.request,
        attendees=(CHAIR, MEMBER),
        recipient_email="Jan@Example.ORG",
        dtstamp=STAMP,
        description="x",
    )
    [event] = read_with_vobject(data)["events"]
    assert [a["rsvp"] for a in event["attendees"]] == ["FALSE", "TRUE"]


def test_dtstamp_is_written_in_utc_and_naive_times_are_refused() -> None:
    brussels = STAMP.astimezone(ZoneInfo("Europe/Brussels"))
    data = build_event_calendar(
        session(),
        Method.request,
        attendees=(),
        recipient_email=None,
        dtstamp=brussels,
        description="x",
    )
    assert b"DTSTAMP:20270105T093000Z\r\n" in data
    with pytest.raises(ValueError, match="aware"):
        request(session(starts=datetime(2027, 7, 14, 8)))


def test_url_is_the_online_link_else_the_session_page(read: Any) -> None:
    page = "https://forum.example.org/sessions/12"
    online = "https://meet.example.org/j/123?pwd=a;b,c"
    [both] = read(request(session(online_url=online, url=page)))["events"]
    [page_only] = read(request(session(url=page)))["events"]
    [neither] = read(request(session()))["events"]
    assert (both["url"], page_only["url"], neither["url"]) == (online, page, None)


def test_cancel_for_one_person(read: Any) -> None:
    s = session()
    data = build_event_calendar(
        s,
        Method.cancel,
        attendees=(MEMBER,),
        recipient_email=MEMBER.email,
        dtstamp=STAMP,
        description="x",
    )
    assert b"VALARM" not in data and b"\r\nSEQUENCE:3\r\n" in data
    parsed = read(data)
    assert parsed["method"] == "CANCEL"
    [event] = parsed["events"]
    assert event["status"] == "CANCELLED" and event["uid"] == s.uid
    assert event["sequence"] == 3 and event["alarms"] == 0
    assert [a["email"].lower() for a in event["attendees"]] == ["mailto:jan@example.org"]
    assert event["attendees"][0]["rsvp"] == "TRUE"


def test_a_cancelled_session_is_cancelled_whatever_the_method(read: Any) -> None:
    s = session(status="cancelled")
    for method in (Method.cancel, Method.request, Method.publish):
        data = build_event_calendar(
            s,
            method,
            attendees=s.attendees,
            recipient_email=None,
            dtstamp=STAMP,
            description="x",
        )
        [event] = read(data)["events"]
        assert event["status"] == "CANCELLED", method


def test_a_download_publishes_without_attendees(read: Any) -> None:
    """RFC 5546 3.2.1: PUBLISH carries ORGANIZER but no ATTENDEE (libical enforces it)."""
    s = session()
    data = build_event_calendar(
        s,
        Method.publish,
        attendees=s.attendees,
        recipient_email=None,
        dtstamp=STAMP,
        description="x",
    )
    parsed = read(data)
    assert parsed["method"] == "PUBLISH"
    [event] = parsed["events"]
    assert event["attendees"] == [] and event["status"] == "CONFIRMED"
    assert event["organizer_cn"] == "Agence de l'Eurométropole"


# Lines, escaping, injection -----------------------------------------------------------------

TRICKY_TITLE = "Réunion; Menen, Halluin \\ Comines"
TRICKY_LOCATION = "Grand-Place 1, 7780 Comines; salle \\ 2: « étage »"
DESCRIPTION = (
    "Agenda:\n1. Mobilité, transports; « frontière »\n2. Jobkanalen\\werk\n\n"
    "À bientôt – Tot ziens\n\thttps://meet.example.org/j/1?a=1;b=2,3"
)


def test_text_survives_a_round_trip(read: Any) -> None:
    s = session(title=TRICKY_TITLE, location=TRICKY_LOCATION)
    [event] = read(request(s, DESCRIPTION))["events"]
    assert event["summary"] == TRICKY_TITLE
    assert event["location"] == TRICKY_LOCATION
    assert event["description"] == DESCRIPTION


@pytest.mark.parametrize(
    "separator", ["\n", "\r\n", "\r", "\u2028", "\x0b", "\x0c", "\x85", "\x1c"]
)
def test_text_cannot_inject_properties(read: Any, separator: str) -> None:
    evil = f"ATTENDEE:mailto:evil@example.org{separator}END:VEVENT{separator}BEGIN:VEVENT"
    s = session(title=f"x{separator}{evil}", location=f"Menen{separator}{evil}")
    data = request(s, f"Agenda{separator}{evil}")
    assert not any(
        line.startswith((b"ATTENDEE:", b"END:VEVENT", b"BEGIN:VEVENT"))
        for line in physical_lines(data)
        if b"evil" in line
    )
    parsed = read(data)
    [event] = parsed["events"]
    assert [a["email"].lower() for a in event["attendees"]] == [
        "mailto:genevieve@example.org",
        "mailto:jan@example.org",
        "mailto:marie@example.org",
    ]
    # The whole text stays in its own property, the separator read as a line end.
    assert event["summary"] == f"x\n{evil.replace(separator, chr(10))}"
    assert event["description"] == f"Agenda\n{evil.replace(separator, chr(10))}"


def test_lines_are_crlf_and_folded_at_75_octets_between_characters(read: Any) -> None:
    title = "".join("é€😀a"[i % 4] for i in range(300))  # 2-, 3-, 4- and 1-byte characters
    description = "Über die Brücke – über de brug. " * 40 + "\n" + "ü" * 500
    data = request(session(title=title), description)
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    lines = physical_lines(data)
    assert max(len(line) for line in lines) == 75  # folding did happen
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # never a character split across two lines
    [event] = read(data)["events"]
    assert event["summary"] == title and event["description"] == description


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Dubois, Geneviève", "Dubois, Geneviève"),
        ("Van den Broeck; Jan", "Van den Broeck; Jan"),
        ("Marie: secrétariat", "Marie: secrétariat"),
        ('Marie "Gigi" Dubois', "Marie 'Gigi' Dubois"),  # no DQUOTE in a parameter value
        ('Dubois, "Gigi"; Marie', "Dubois, 'Gigi'; Marie"),
        ("Jan\r\nATTENDEE:mailto:evil@example.org", "Jan ATTENDEE:mailto:evil@example.org"),
        ("Ölçer Çağlar ß 🇧🇪" * 4, "Ölçer Çağlar ß 🇧🇪" * 4),
    ],
)
def test_names_survive_in_cn(read: Any, name: str, shown: str) -> None:
    person = Attendee(name, "marie@example.org", "participant", "accepted")
    s = session(attendees=(person,), organizer_name=name)
    data = request(s)
    assert all(len(line) <= 75 for line in physical_lines(data))
    [event] = read(data)["events"]
    assert [(a["email"].lower(), a["cn"]) for a in event["attendees"]] == [
        ("mailto:marie@example.org", shown)
    ]
    assert event["organizer_cn"] == shown


# The feed -----------------------------------------------------------------------------------


def test_the_feed_holds_every_session(read: Any) -> None:
    a = session(datetime(2027, 3, 28, 8, tzinfo=UTC), datetime(2027, 3, 28, 10, tzinfo=UTC))
    b = session(
        datetime(2027, 11, 3, 9, tzinfo=UTC),
        datetime(2027, 11, 3, 11, tzinfo=UTC),
        uid="other@forum-workflow.example.org",
        status="cancelled",
        sequence=5,
    )
    c = session(
        datetime(2027, 3, 14, 14, tzinfo=UTC),
        datetime(2027, 3, 14, 16, tzinfo=UTC),
        tz="America/New_York",
        uid="third@forum-workflow.example.org",
    )
    data = build_feed([(a, "A"), (b, "B"), (c, "C")], name="Jan Peeters; agenda", dtstamp=STAMP)
    assert b"\r\nX-WR-CALNAME:Jan Peeters\\; agenda\r\n" in data
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in data
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"ATTENDEE" not in data and b"VALARM" not in data
    parsed = read(data)
    assert parsed["method"] == "PUBLISH"
    assert sorted(parsed["timezones"]) == ["America/New_York", "Europe/Brussels"]
    events = {e["uid"]: e for e in parsed["events"]}
    assert {u: (e["dtstart"], e["status"], e["description"]) for u, e in events.items()} == {
        a.uid: ("2027-03-28T08:00:00Z", "CONFIRMED", "A"),
        b.uid: ("2027-11-03T09:00:00Z", "CANCELLED", "B"),
        c.uid: ("2027-03-14T14:00:00Z", "CONFIRMED", "C"),
    }
    assert events[b.uid]["sequence"] == 5
    same_zone = build_feed([(a, "A"), (b, "B")], name="x", dtstamp=STAMP)
    assert same_zone.count(b"BEGIN:VTIMEZONE") == 1


# Action items as to-dos ------------------------------------------------------------------------


def test_action_items_as_to_dos(read: Any) -> None:
    todos = [
        ToDo(
            uid="action-item-7@forum-workflow.example.org",
            sequence=3,
            title="Jobbeurs in Tienen; 250 werkzoekenden, bereiken",
            status="in_progress",
            organizer_name="ERSV Vlaams-Brabant",
            organizer_email="taskforce@ersv.example.org",
            due_date=date(2027, 3, 28),  # the spring change day: a date has no instant
            description="Werkzoekenden bereikt: 0 → 250\r\nX-INJECTED:1\u2028Tweede lijn",
            url="https://forum.example.org/api/v1/action-items/7",
        ),
        ToDo(
            uid="action-item-8@forum-workflow.example.org",
            sequence=1,
            title="Nota opleidingen",
            status="done",
            organizer_name="ERSV",
            organizer_email="taskforce@ersv.example.org",
        ),
    ]
    data = build_todo_calendar(todos, dtstamp=datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert b"\r\nX-INJECTED" not in data
    parsed = read(data)
    assert parsed["method"] == "PUBLISH" and parsed["events"] == []
    first, second = parsed["todos"]
    assert first["summary"] == "Jobbeurs in Tienen; 250 werkzoekenden, bereiken"
    assert first["due"].startswith("2027-03-28") and first["due_is_date"] is True
    assert first["status"] == "IN-PROCESS" and first["sequence"] == 3
    assert first["description"].splitlines() == [
        "Werkzoekenden bereikt: 0 → 250",
        "X-INJECTED:1",
        "Tweede lijn",
    ]
    assert (second["status"], second["due"]) == ("COMPLETED", None)


# Many recipients of one session --------------------------------------------------------------


def test_each_recipient_of_a_fan_out_gets_the_calendar_written_for_them_alone() -> None:
    """A fan-out joins parts written once (EventCalendars); every recipient's file must be the
    one `build_event_calendar` writes for them: their own line with RSVP=TRUE, nobody else's,
    whether they share the session's attendee list or get one of their own (a large session
    lists only the co-chairs and the recipient), in each language and method."""
    from workflow.invitations.calendar import EventCalendars

    s = session()
    # Two fan-outs of the same session share its frames (kept for the process), each with
    # its own DTSTAMP.
    for method, stamp in [
        (m, t)
        for m in (Method.request, Method.cancel)
        for t in (STAMP, STAMP + timedelta(days=1, seconds=3))
    ]:
        calendars = EventCalendars(s, method, dtstamp=stamp)
        for description in ("Agenda", "Ordre du jour : accueil", "Agenda\n1. Verwelkoming"):
            for me in (*s.attendees, None):
                written = (" JAN@Example.org " if me is MEMBER else me.email) if me else None
                own = (CHAIR, me) if me is not None and me is not CHAIR else (CHAIR,)
                for attendees in (s.attendees, own):
                    whole = build_event_calendar(
                        s,
                        method,
                        attendees=attendees,
                        recipient_email=written,
                        dtstamp=stamp,
                        description=description,
                    )
                    joined = calendars.build(
                        attendees=attendees, recipient_email=written, description=description
                    )
                    assert joined == whole
                    assert joined.count(b"RSVP=TRUE") == (1 if me in attendees else 0)
