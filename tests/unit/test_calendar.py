"""The calendar data, read back by parsers other than the one that wrote it: vobject, and
Mozilla's ical.js (Thunderbird's parser) under Node. Across daylight-saving changes."""

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import vobject

from workflow.invitations.calendar import build_event_calendar, build_feed
from workflow.invitations.view import AgendaLine, Attendee, CalendarSession, Method

JS = Path(__file__).resolve().parents[1] / "calendar_js"
STAMP = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)

CHAIR = Attendee("Geneviève Dubois", "genevieve@example.org", "co_chair", "accepted", "fr")
MEMBER = Attendee("Jan Peeters", "jan@example.org", "participant", "needs_action", "nl")
OBSERVER = Attendee('Dubois, "Gigi"; Marie', "marie@example.org", "optional", "tentative", "fr")


def session(
    starts: datetime, ends: datetime, tz: str = "Europe/Brussels", **kw: Any
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


# The two independent readers --------------------------------------------------------------


def _params(prop: Any, name: str) -> str | None:
    values = prop.params.get(name)
    return values[0] if values else None


def read_with_vobject(data: bytes) -> dict[str, Any]:
    cal = vobject.readOne(data.decode("utf-8"))
    events = []
    for ev in cal.vevent_list:
        events.append(
            {
                "uid": ev.uid.value,
                "sequence": int(ev.sequence.value),
                "summary": ev.summary.value,
                "location": ev.location.value if hasattr(ev, "location") else None,
                "description": ev.description.value,
                "status": ev.status.value,
                "dtstart": ev.dtstart.value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "dtend": ev.dtend.value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "organizer_cn": _params(ev.organizer, "CN"),
                "attendees": [
                    {
                        "email": a.value,
                        "cn": _params(a, "CN"),
                        "role": _params(a, "ROLE"),
                        "partstat": _params(a, "PARTSTAT"),
                        "rsvp": _params(a, "RSVP"),
                    }
                    for a in getattr(ev, "attendee_list", [])
                ],
            }
        )
    return {
        "method": cal.method.value,
        "events": events,
        "timezones": [z.tzid.value for z in getattr(cal, "vtimezone_list", [])],
    }


@pytest.fixture(scope="session")
def icaljs() -> Any:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        if os.environ.get("CI") or os.environ.get("WORKFLOW_TEST_REQUIRE_SERVICES"):
            pytest.fail("Node.js and npm are needed for the ical.js check", pytrace=False)
        pytest.skip("Node.js and npm are not installed: the ical.js check needs them")
    if not (JS / "node_modules" / "ical.js").exists():
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=JS, check=True)

    def read(data: bytes) -> dict[str, Any]:
        out = subprocess.run(
            [node, "parse.mjs"],
            cwd=JS,
            check=True,
            capture_output=True,
            input=json.dumps([data.decode("utf-8")]).encode(),
        )
        parsed = json.loads(out.stdout)[0]
        for ev in parsed["events"]:
            ev["dtstart"] = ev["dtstart"].replace(".000", "")
            ev["dtend"] = ev["dtend"].replace(".000", "")
            for a in ev["attendees"]:
                a["email"] = a["email"]
        return parsed

    return read


@pytest.fixture(params=["vobject", "ical.js"])
def read(request: pytest.FixtureRequest) -> Any:
    if request.param == "vobject":
        return read_with_vobject
    return request.getfixturevalue("icaljs")


# Daylight saving ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_day", "tz", "expected_utc"),
    [
        ("2027-03-28", "Europe/Brussels", "2027-03-28T08:00:00Z"),  # the spring change day
        ("2027-07-14", "Europe/Brussels", "2027-07-14T08:00:00Z"),
        ("2027-10-31", "Europe/Brussels", "2027-10-31T09:00:00Z"),  # the autumn change day
        ("2028-01-12", "Europe/Brussels", "2028-01-12T09:00:00Z"),
        ("2027-03-14", "America/New_York", "2027-03-14T14:00:00Z"),  # another rule set
        ("2027-08-02", "Asia/Tokyo", "2027-08-02T01:00:00Z"),  # no daylight saving
    ],
)
def test_ten_o_clock_is_read_at_the_right_instant(
    read: Any, local_day: str, tz: str, expected_utc: str
) -> None:
    start = datetime.fromisoformat(expected_utc.replace("Z", "+00:00"))
    s = session(start, start.replace(hour=start.hour + 2), tz=tz)
    data = request(s)
    assert f"DTSTART;TZID={tz}:{local_day.replace('-', '')}T100000".encode() in data
    [event] = read(data)["events"]
    assert event["dtstart"] == expected_utc
    assert event["dtend"] == expected_utc.replace(f"T{start.hour:02d}", f"T{start.hour + 2:02d}")


def test_one_compact_vtimezone_per_zone(read: Any) -> None:
    data = request(
        session(datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))
    )
    assert read(data)["timezones"] == ["Europe/Brussels"]
    assert data.count(b"BEGIN:VTIMEZONE") == 1
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in data
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in data


# The invitation's content -------------------------------------------------------------------


def test_request_carries_what_clients_need(read: Any) -> None:
    s = session(datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))
    parsed = read(request(s))
    assert parsed["method"] == "REQUEST"
    [event] = parsed["events"]
    assert event["uid"] == s.uid and event["sequence"] == 3
    assert event["status"] == "CONFIRMED"
    assert event["organizer_cn"] == "Agence de l'Eurométropole"
    by_mail = {a["email"].lower(): a for a in event["attendees"]}
    assert by_mail["mailto:genevieve@example.org"]["role"] == "CHAIR"
    assert by_mail["mailto:genevieve@example.org"]["partstat"] == "ACCEPTED"
    assert by_mail["mailto:jan@example.org"]["role"] == "REQ-PARTICIPANT"
    assert by_mail["mailto:marie@example.org"]["role"] == "OPT-PARTICIPANT"
    # RSVP=TRUE for the recipient only.
    assert {m: a["rsvp"] for m, a in by_mail.items()} == {
        "mailto:genevieve@example.org": "FALSE",
        "mailto:jan@example.org": "TRUE",
        "mailto:marie@example.org": "FALSE",
    }
    assert by_mail["mailto:genevieve@example.org"]["cn"] == "Geneviève Dubois"
    # A name with a comma, a semicolon and quotes stays one parameter value.
    assert by_mail["mailto:marie@example.org"]["cn"] == "Dubois, 'Gigi'; Marie"


def test_cancel_for_one_person(read: Any) -> None:
    s = session(datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))
    data = build_event_calendar(
        s,
        Method.cancel,
        attendees=(MEMBER,),
        recipient_email=MEMBER.email,
        dtstamp=STAMP,
        description="x",
    )
    parsed = read(data)
    assert parsed["method"] == "CANCEL"
    [event] = parsed["events"]
    assert event["status"] == "CANCELLED" and event["uid"] == s.uid
    assert [a["email"].lower() for a in event["attendees"]] == ["mailto:jan@example.org"]
    assert b"VALARM" not in data


def test_dtstamp_is_utc() -> None:
    s = session(datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))
    assert b"DTSTAMP:20270105T093000Z\r\n" in request(s)


# Lines, escaping, injection -----------------------------------------------------------------

TRICKY_TITLE = "Réunion; Menen, Halluin \\ Comines"
DESCRIPTION = "Agenda:\n1. Mobilité, transports; « frontière »\n2. Jobkanalen\\werk\n\nÀ bientôt"


def test_text_survives_a_round_trip(read: Any) -> None:
    s = session(
        datetime(2027, 7, 14, 8, tzinfo=UTC),
        datetime(2027, 7, 14, 10, tzinfo=UTC),
        title=TRICKY_TITLE,
        location="Grand-Place 1, 7780 Comines; salle \\ 2",
    )
    [event] = read(request(s, DESCRIPTION))["events"]
    assert event["summary"] == TRICKY_TITLE
    assert event["location"] == "Grand-Place 1, 7780 Comines; salle \\ 2"
    assert event["description"] == DESCRIPTION


def test_a_description_cannot_inject_properties(read: Any) -> None:
    s = session(datetime(2027, 7, 14, 8, tzinfo=UTC), datetime(2027, 7, 14, 10, tzinfo=UTC))
    evil = "Agenda\r\nATTENDEE:mailto:evil@example.org\nEND:VEVENT\nBEGIN:VEVENT"
    parsed = read(request(s, evil))
    [event] = parsed["events"]
    assert len(event["attendees"]) == 3
    assert all("evil" not in a["email"] for a in event["attendees"])


def test_lines_are_crlf_and_folded_at_75_octets() -> None:
    s = session(
        datetime(2027, 7, 14, 8, tzinfo=UTC),
        datetime(2027, 7, 14, 10, tzinfo=UTC),
        title="É" * 150 + "ça" * 75,
    )
    data = request(s, "ü" * 500)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # never a character split across two lines


def test_the_feed_holds_every_session(read: Any) -> None:
    a = session(datetime(2027, 3, 28, 8, tzinfo=UTC), datetime(2027, 3, 28, 10, tzinfo=UTC))
    b = session(
        datetime(2027, 11, 3, 9, tzinfo=UTC),
        datetime(2027, 11, 3, 11, tzinfo=UTC),
        uid="other@forum-workflow.example.org",
        status="cancelled",
    )
    parsed = read(build_feed([(a, "A"), (b, "B")], name="Jan Peeters", dtstamp=STAMP))
    assert parsed["method"] == "PUBLISH" and parsed["timezones"] == ["Europe/Brussels"]
    events = {e["uid"]: e for e in parsed["events"]}
    assert events[a.uid]["dtstart"] == "2027-03-28T08:00:00Z"
    assert events["other@forum-workflow.example.org"]["status"] == "CANCELLED"
    assert events["other@forum-workflow.example.org"]["dtstart"] == "2027-11-03T09:00:00Z"
