"""The calendar at its edges: every instant the service writes is read as the same instant
by three parsers that did not write it, on every hour of a year and around every change of
several years, in the zones a forum uses, the repeated autumn hour included; and a session
in another zone than its forum's keeps its own TZID and VTIMEZONE.

The three readers: Mozilla's ical.js (Thunderbird's) under Node, libical (the C library of
Evolution and GNOME Calendar, Debian's gir1.2-ical-3.0 through the system Python), and
vobject. Each converts local times through the file's own VTIMEZONE only.
"""

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.unit.test_calendar import _missing, icaljs, read_with_vobject, request, session
from workflow import rules
from workflow.invitations.calendar import build_feed

__all__ = ["icaljs"]  # the fixture, shared with test_calendar

LIBICAL = Path(__file__).resolve().parents[1] / "calendar_libical" / "read.py"
STAMP = datetime(2026, 12, 1, 9, tzinfo=UTC)
# Every zone the demo forums use, and the neighbours' a cross-border session may be held in.
ZONES = ("Europe/Brussels", "Europe/Paris", "Europe/Amsterdam", "Europe/Luxembourg")
YEARS = range(2026, 2032)  # as far as a session may be scheduled ahead (5 years)
Z = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(scope="session")
def libical() -> Callable[[bytes], dict[str, Any]]:
    python = shutil.which("python3", path="/usr/bin:/bin")
    probe = (
        subprocess.run(
            [python, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
            capture_output=True,
            text=True,
        )
        if python
        else None
    )
    if probe is None or probe.returncode:
        _missing(
            "libical is not installed for the system Python: "
            "apt-get install gir1.2-ical-3.0 python3-gi"
        )
    assert python

    def read(data: bytes) -> dict[str, Any]:
        out = subprocess.run([python, str(LIBICAL)], input=data, capture_output=True, timeout=300)
        assert out.returncode == 0, out.stderr.decode()[-2000:]
        return json.loads(out.stdout)

    return read


@pytest.fixture(params=["ical.js", "libical", "vobject"])
def reader(request: pytest.FixtureRequest) -> tuple[str, Callable[[bytes], dict[str, Any]]]:
    if request.param == "vobject":
        return "vobject", read_with_vobject
    return request.param, request.getfixturevalue(
        "icaljs" if request.param == "ical.js" else "libical"
    )


def _repeated(t: datetime, tz: ZoneInfo) -> bool:
    local = t.astimezone(tz)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _changes(zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    hours = [
        datetime(YEARS.start, 1, 1, tzinfo=UTC) + timedelta(hours=h)
        for h in range(len(YEARS) * 366 * 24)
    ]
    return [
        hours[i]
        for i in range(1, len(hours))
        if hours[i].astimezone(tz).utcoffset() != hours[i - 1].astimezone(tz).utcoffset()
    ]


def _instants(zone: str) -> list[datetime]:
    """Every day of 2027 at 02:30 and at 14:00 wall time (both 02:30s on the day the clocks go
    back; on the spring day 02:30 does not exist and the instant an hour on is taken), and
    every 10 minutes from 2 h before to 2 h after each change of 2026-2031."""
    tz = ZoneInfo(zone)
    days = [datetime(2027, 1, 1) + timedelta(days=d) for d in range(365)]
    daily = {
        (day + timedelta(hours=h)).replace(tzinfo=tz, fold=fold).astimezone(UTC)
        for day in days
        for h in (2.5, 14)
        for fold in (0, 1)
    }
    around = {c + timedelta(minutes=m) for c in _changes(zone) for m in range(-120, 121, 10)}
    return sorted(daily | around)


def _expected(zone: str, instants: list[datetime], length: timedelta) -> tuple[list, dict]:
    entries, expected = [], {}
    tz = ZoneInfo(zone)
    for t in instants:
        uid = f"{zone}/{t:%Y%m%dT%H%M}@example.org"
        entries.append((session(t, t + length, tz=zone, uid=uid, attendees=()), ""))
        expected[uid] = (
            t.strftime(Z),
            (t + length).strftime(Z),
            None if _repeated(t, tz) else zone,
        )
    return entries, expected


@pytest.mark.parametrize("zone", ZONES)
def test_every_instant_of_a_year_and_around_every_change_is_read_alike(
    reader: tuple[str, Callable[[bytes], dict[str, Any]]], zone: str
) -> None:
    name, read = reader
    instants = _instants(zone)
    entries, expected = _expected(zone, instants, timedelta(minutes=90))
    data = build_feed(entries, name="x", dtstamp=STAMP)
    began = time.monotonic()
    events = read(data)["events"]
    took = time.monotonic() - began
    got = {e["uid"]: (e["dtstart"], e["dtend"], e["dtstart_tzid"]) for e in events}
    # A time written in UTC has no TZID (ical.js names its zone "UTC").
    got = {u: (s, e, None if tzid in ("UTC", "Z") else tzid) for u, (s, e, tzid) in got.items()}
    repeated = sum(1 for v in expected.values() if v[2] is None)
    print(
        f"{name} {zone}: {len(got)} events, {2 * len(got)} instants"
        f" ({repeated} starts in a repeated hour) in {took:.1f} s"
    )
    assert len(got) == len(expected) > 1_000 and repeated >= 6 * len(YEARS)
    assert {u: v for u, v in got.items() if v != expected[u]} == {}


@pytest.mark.parametrize("zone", ["Europe/Brussels", "Europe/Paris"])
def test_a_session_in_the_repeated_autumn_hour_is_one_instant_everywhere(
    reader: tuple[str, Callable[[bytes], dict[str, Any]]], zone: str
) -> None:
    """02:30 on the last Sunday of October happens twice: refused without an offset, taken
    with one, and then written as exactly that instant for every reader."""
    _, read = reader
    with pytest.raises(rules.RuleError, match="happens twice"):
        rules.to_utc(datetime(2027, 10, 31, 2, 30), zone, "starts_at")
    for offset, utc in (("+02:00", "2027-10-31T00:30:00Z"), ("+01:00", "2027-10-31T01:30:00Z")):
        start = rules.to_utc(
            datetime.fromisoformat(f"2027-10-31T02:30:00{offset}"), zone, "starts_at"
        )
        data = request(session(start, start + timedelta(hours=1), tz=zone))
        assert f"DTSTART:{utc.replace('-', '').replace(':', '')}\r\n".encode() in data
        [event] = read(data)["events"]
        assert event["dtstart"] == utc
        assert event["dtend"] == (start + timedelta(hours=1)).strftime(Z)


def test_libical_finds_nothing_against_rfc_5546_in_a_request(libical: Any) -> None:
    found = libical(request(session()))
    assert found["method"] == "REQUEST" and found["problems"] == []


def test_a_session_held_in_another_zone_keeps_its_own(reader: Any) -> None:
    """A Eurometropolis session (a Belgian forum) held in Lille: its times carry
    Europe/Paris with that zone's VTIMEZONE, and every reader takes the instant from it."""
    _, read = reader
    start = datetime(2027, 3, 28, 8, tzinfo=UTC)  # the spring change day, 10:00 in Lille
    data = request(
        session(start, start + timedelta(hours=2), tz="Europe/Paris", forum_name="Eurometropool")
    )
    assert b"DTSTART;TZID=Europe/Paris:20270328T100000\r\n" in data
    assert b"TZID:Europe/Paris\r\n" in data and b"TZID:Europe/Brussels" not in data
    found = read(data)
    [event] = found["events"]
    assert found["timezones"] == ["Europe/Paris"]
    assert (event["dtstart"], event["dtstart_tzid"]) == ("2027-03-28T08:00:00Z", "Europe/Paris")
