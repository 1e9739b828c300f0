"""An update says what changed since the last calendar mail the person received: the pure
difference between two snapshots, its sentences in each language, and snapshots of the mail.
UPDATE_SNAPSHOTS=1 rewrites the snapshots."""

import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.unit.test_mail import SESSION, SNAPSHOTS, mail
from workflow.i18n import LANGUAGES
from workflow.invitations.changes import changes, from_json, to_json, told
from workflow.invitations.render import change_lines, format_span, render_mail
from workflow.invitations.view import AgendaLine, Attendee, MailKind

NBSP = "\u00a0"


def q(text: str) -> str:
    """Quoted as the Dutch and English mails quote."""
    return f"\u2018{text}\u2019"


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_nothing_a_person_sees_changed() -> None:
    # Answers and the other participants are in the calendar data, not in what a mail says
    # changed; nor is the order the co-chairs happen to be listed in.
    other = replace(
        SESSION,
        sequence=SESSION.sequence + 1,
        attendees=(
            replace(SESSION.attendees[1], partstat="accepted"),
            SESSION.attendees[0],
            Attendee("Els Wouters", "els@example.org", "participant", "declined"),
        ),
    )
    assert changes(told(SESSION), told(other)) is None


def test_a_move_across_the_spring_change_keeps_the_wall_clock() -> None:
    # 14:00 in winter time (13:00 UTC) to 14:00 a week later in summer time (12:00 UTC).
    before = replace(SESSION, starts_at=_at(2027, 3, 25, 13), ends_at=_at(2027, 3, 25, 15))
    after = replace(SESSION, starts_at=_at(2027, 4, 1, 12), ends_at=_at(2027, 4, 1, 14))
    found = changes(told(before), told(after))
    assert found is not None and found.what == ("time",)
    assert change_lines(found, "nl", []) == [
        "De tijd is gewijzigd: do 25 maart 14:00–16:00 → do 1 april 14:00–16:00"
    ]
    assert change_lines(found, "en", []) == [
        "The time changed: Thu 25 March 14:00–16:00 → Thu 1 April 14:00–16:00"
    ]


def test_the_same_utc_hour_across_the_autumn_change_is_an_hour_earlier_on_the_clock() -> None:
    before = replace(SESSION, starts_at=_at(2027, 10, 28, 13), ends_at=_at(2027, 10, 28, 15))
    after = replace(SESSION, starts_at=_at(2027, 11, 4, 13), ends_at=_at(2027, 11, 4, 15))
    found = changes(told(before), told(after))
    assert found is not None
    assert change_lines(found, "fr", []) == [
        f"L’horaire a changé{NBSP}: jeu. 28 octobre 15:00–17:00 → jeu. 4 novembre 14:00–16:00"
    ]


def test_a_session_over_two_days_and_a_new_year_name_both_days_and_the_year() -> None:
    before = replace(SESSION, starts_at=_at(2027, 12, 30, 9), ends_at=_at(2027, 12, 30, 11))
    after = replace(SESSION, starts_at=_at(2028, 1, 6, 15), ends_at=_at(2028, 1, 7, 11))
    found = changes(told(before), told(after))
    assert found is not None
    assert format_span(found.after, "en", year=True) == (
        "Thu 6 January 2028 16:00 – Fri 7 January 2028 12:00"
    )
    assert change_lines(found, "en", [])[0].startswith("The time changed: Thu 30 December 2027")


def test_agenda_items_added_and_removed_are_named() -> None:
    after = replace(
        SESSION,
        agenda=(
            SESSION.agenda[0],
            AgendaLine(2, "Fietssnelwegen", "discussion"),
            AgendaLine(3, "Terugkoppeling Themawerkgroep Mobiliteit", "report_back"),
            AgendaLine(4, "Varia", "information"),
        ),
    )
    found = changes(told(SESSION), told(after))
    assert found is not None and found.what == ("agenda",)
    assert found.agenda_added == ("Fietssnelwegen", "Varia")
    assert found.agenda_removed == ("Jobkanalen voor laaggeschoolden",)
    assert change_lines(found, "en", []) == [
        f"The agenda changed: added the items {q('Fietssnelwegen')}, {q('Varia')},"
        f" removed the item {q('Jobkanalen voor laaggeschoolden')}"
    ]
    assert change_lines(found, "fr", []) == [
        f"L’ordre du jour a changé{NBSP}: ajout des points «{NBSP}Fietssnelwegen{NBSP}», "
        f"«{NBSP}Varia{NBSP}», retrait du point «{NBSP}Jobkanalen voor laaggeschoolden{NBSP}»"
    ]
    assert change_lines(found, "nl", []) == [
        f"De agenda is gewijzigd: punten {q('Fietssnelwegen')}, {q('Varia')} toegevoegd,"
        f" punt {q('Jobkanalen voor laaggeschoolden')} geschrapt"
    ]


def test_an_agenda_only_reordered_or_reclassified_says_so() -> None:
    first, second, third = SESSION.agenda
    after = replace(SESSION, agenda=(second, first, replace(third, kind="decision")))
    found = changes(told(SESSION), told(after))
    assert found is not None and found.what == ("agenda",)
    assert found.agenda_added == found.agenda_removed == ()
    assert change_lines(found, "en", []) == [
        "The agenda changed: the order or the kind of its items."
    ]


def test_two_items_of_the_same_title_count_apart() -> None:
    twice = replace(SESSION, agenda=(*SESSION.agenda, AgendaLine(4, "Verwelkoming", "information")))
    found = changes(told(twice), told(SESSION))
    assert found is not None and found.agenda_removed == ("Verwelkoming",)
    assert found.agenda_added == ()


def test_several_changes_before_a_mail_went_out_are_one_list() -> None:
    """What the person was told (the invitation) against the session after a reschedule, a
    new place, a new title, a new agenda item and a new co-chair that were never sent."""
    after = replace(
        SESSION,
        title="Jobkanalen in de Spitsregio",
        starts_at=_at(2027, 4, 1, 8),
        ends_at=_at(2027, 4, 1, 10),
        location=None,
        online_url="https://meet.example.org/spitsregio-2",
        agenda=(*SESSION.agenda, AgendaLine(4, "Varia", "information")),
        attendees=(
            SESSION.attendees[0],
            Attendee("Luc Claes", "luc@example.org", "co_chair", "needs_action"),
        ),
    )
    found = changes(told(SESSION), told(after))
    assert found is not None
    assert found.what == ("time", "place", "online", "title", "agenda", "co_chairs")
    assert change_lines(found, "en", ["Mieke Vandenberghe", "Luc Claes"]) == [
        "The time changed: Mon 29 March 14:00–16:00 → Thu 1 April 10:00–12:00",
        "The place changed: Provinciehuis, Provincieplein 1, Leuven → (none)",
        "The online link changed: https://meet.example.org/spitsregio-2",
        f"The title changed: {q('Jobkanalen & mobiliteit in de Spitsregio')}"
        f" → {q('Jobkanalen in de Spitsregio')}",
        f"The agenda changed: added the item {q('Varia')}",
        "The co-chairs changed: now Mieke Vandenberghe, Luc Claes",
    ]


def test_a_link_taken_away_and_chairs_gone() -> None:
    after = replace(SESSION, online_url=None, attendees=())
    found = changes(told(SESSION), told(after))
    assert found is not None and found.what == ("online", "co_chairs")
    assert change_lines(found, "nl", []) == [
        "Er is geen onlinelink meer.",
        "De covoorzitters zijn gewijzigd.",
    ]


def test_the_snapshot_survives_json_and_keeps_no_address() -> None:
    snapshot = to_json(told(SESSION))
    assert from_json(snapshot) == told(SESSION)
    assert "mieke@example.org" not in repr(snapshot)
    assert from_json(None) is None and from_json({"title": "x"}) is None


# The mail ---------------------------------------------------------------------------------

BEFORE = replace(
    SESSION,
    sequence=1,
    title="Jobkanalen in de Spitsregio",
    starts_at=_at(2027, 3, 25, 13),
    ends_at=_at(2027, 3, 25, 15),
    agenda=SESSION.agenda[:2],
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_snapshot_of_an_update_that_says_what_changed(language: str) -> None:
    update = replace(mail(MailKind.update, language), changes=changes(told(BEFORE), told(SESSION)))
    rendered = render_mail(update)
    for part, text in (
        ("subject", rendered.subject + "\n"),
        ("txt", rendered.text),
        ("html", rendered.html),
    ):
        path = SNAPSHOTS / f"update_changes.{language}.{part}"
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} changed"


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("nl", "Gewijzigd: tijd, titel, agenda — Jobkanalen & mobiliteit in de Spitsregio – "),
        ("fr", f"Modifié{NBSP}: horaire, titre, ordre du jour — Jobkanalen & mobiliteit in de "),
        ("en", "Changed: time, title, agenda — Jobkanalen & mobiliteit in de Spitsregio – "),
    ],
)
def test_the_subject_names_what_changed(language: str, subject: str) -> None:
    update = replace(mail(MailKind.update, language), changes=changes(told(BEFORE), told(SESSION)))
    assert render_mail(update).subject.startswith(subject)


def test_an_update_without_a_known_difference_keeps_the_general_wording() -> None:
    rendered = render_mail(mail(MailKind.update, "en"))
    assert rendered.subject.startswith("Updated: ")
    assert "These details replace the ones you received before." in rendered.text
