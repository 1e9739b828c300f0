"""The mail telling a participant their proposed new time is not adopted (iTIP
DECLINECOUNTER): a snapshot in every language, and its calendar data as libical, ical.js
and vobject read it. UPDATE_SNAPSHOTS=1 rewrites the snapshots."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vobject

from tests.unit.test_calendar import MEMBER, STAMP, session
from tests.unit.test_calendar_edges import libical
from workflow.i18n import LANGUAGES
from workflow.invitations.calendar import build_declinecounter
from workflow.invitations.counters import render_declinecounter

__all__ = ["libical"]  # the fixture

SNAPSHOTS = Path(__file__).parent / "snapshots"
PROPOSED = (datetime(2027, 7, 15, 12, tzinfo=UTC), datetime(2027, 7, 15, 14, tzinfo=UTC))


@pytest.mark.parametrize("language", LANGUAGES)
def test_snapshot(language: str) -> None:
    rendered = render_declinecounter(language, session(), "Jan Peeters", PROPOSED)
    for part, text in (
        ("subject", rendered.subject + "\n"),
        ("txt", rendered.text),
        ("html", rendered.html),
    ):
        path = SNAPSHOTS / f"declinecounter.{language}.{part}"
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} changed"


@pytest.mark.parametrize(
    ("language", "subject", "proposed", "kept"),
    [
        (
            "nl",
            "Uw voorgestelde tijdstip is niet overgenomen",
            "donderdag 15 juli 2027, 14:00–16:00",
            "woensdag 14 juli 2027, 10:00–12:00",
        ),
        (
            "fr",
            "L'horaire que vous avez proposé n'a pas été retenu",
            "jeudi 15 juillet 2027, 14:00–16:00",
            "mercredi 14 juillet 2027, 10:00–12:00",
        ),
        (
            "en",
            "Your proposed time was not adopted",
            "Thursday, 15 July 2027, 14:00–16:00",
            "Wednesday, 14 July 2027, 10:00–12:00",
        ),
    ],
)
def test_each_language_reads_like_itself(
    language: str, subject: str, proposed: str, kept: str
) -> None:
    rendered = render_declinecounter(language, session(), "Jan Peeters", PROPOSED)
    assert rendered.subject.startswith(subject) and "Overleg grensgemeenten" in rendered.subject
    assert proposed in rendered.text and kept in rendered.text
    assert f'<html lang="{language}">' in rendered.html
    cancelled = render_declinecounter(language, session(status="cancelled"), "Jan", PROPOSED)
    assert kept not in cancelled.text


def _data() -> bytes:
    return build_declinecounter(
        session(), MEMBER, proposed=PROPOSED, dtstamp=STAMP, comment="Not adopted"
    )


def test_libical_reads_the_declinecounter(libical: Any) -> None:
    """libical 3.0's per-METHOD table for DECLINECOUNTER still forbids ATTENDEE, SEQUENCE,
    DTSTART and SUMMARY; RFC 5546 3.2.8 wants the ATTENDEE and the echoed SEQUENCE and
    allows the others (the declined times, echoed, tell the client which proposal this
    answers). Those four are its only complaints."""
    found = libical(_data())
    assert found["method"] == "DECLINECOUNTER"
    assert sorted(found["problems"]) == [
        f"Failed iTIP restrictions for {name} property. "
        "Expected 0 instances of the property and got 1"
        for name in ("ATTENDEE", "DTSTART", "SEQUENCE", "SUMMARY")
    ]
    [event] = found["events"]
    assert (event["dtstart"], event["dtend"]) == ("2027-07-15T12:00:00Z", "2027-07-15T14:00:00Z")
    assert event["dtstart_tzid"] == "Europe/Brussels" and event["sequence"] == 3


def test_vobject_reads_the_one_attendee_and_the_organizer() -> None:
    cal = vobject.readOne(_data().decode())
    assert cal.method.value == "DECLINECOUNTER"
    [attendee] = cal.vevent.attendee_list
    assert attendee.value == "mailto:jan@example.org"
    assert cal.vevent.organizer.value == "mailto:agence@example.org"
    assert cal.vevent.dtstart.value.astimezone(UTC) == PROPOSED[0]
    assert not hasattr(cal.vevent, "rrule") and cal.vevent.comment.value == "Not adopted"
    assert PROPOSED[1] - PROPOSED[0] == timedelta(hours=2)
