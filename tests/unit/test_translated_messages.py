"""What a Dutch or French reader sees of a refusal, a count and a label: the rules' messages
in their language, plural forms by Babel's rules, the French no-break space before a colon,
'd’' before a vowel, the zone by its name, and numbers as Belgians write them."""

import re
from datetime import datetime

import pytest

from tests.unit.test_mail import SNAPSHOTS
from workflow import rules
from workflow.errors import NotFound
from workflow.i18n import (
    attendance_counts,
    colon,
    environment,
    of_forum,
    say,
    validation_message,
    zone_name,
)
from workflow.rules import CoChairPolicy, RuleError, read_number

NBSP = "\u00a0"


def _refusal(call, *args) -> RuleError:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleError) as caught:
        call(*args)
    return caught.value


def test_the_co_chair_policy_in_each_language() -> None:
    exc = _refusal(rules.check_co_chairs, CoChairPolicy(1, 2, False), [])
    assert exc.detail == "this forum's sessions need 1 to 2 co-chairs, not 0"
    assert say("nl", exc.msgid, exc.params) == (
        "de vergaderingen van dit forum hebben 1 tot 2 covoorzitters nodig, niet 0"
    )
    assert say("fr", exc.msgid, exc.params) == (
        "les séances de ce forum demandent de 1 à 2 coprésidents, et non 0"
    )
    assert say("en", exc.msgid, exc.params) == exc.detail


def test_times_and_daylight_saving_refusals_are_translated() -> None:
    now = datetime(2027, 1, 1)
    past = _refusal(
        rules.check_session_times, datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 12), now
    )
    assert say("nl", past.msgid) == "een vergadering kan niet in het verleden gepland worden"
    backwards = _refusal(
        rules.check_session_times, datetime(2027, 3, 1, 12), datetime(2027, 3, 1, 10), now
    )
    assert say("fr", backwards.msgid) == "une séance doit se terminer après son début"
    skipped = _refusal(rules.to_utc, datetime(2027, 3, 28, 2, 30), "Europe/Brussels", "starts_at")
    assert (
        skipped.detail == "2027-03-28 02:30 does not exist in Europe/Brussels (the clocks skip it)"
    )
    assert say("nl", skipped.msgid, skipped.params) == (
        "2027-03-28 02:30 bestaat niet in Europe/Brussels (de klok springt eroverheen)"
    )
    twice = _refusal(rules.to_utc, datetime(2027, 10, 31, 2, 30), "Europe/Brussels", "starts_at")
    assert "se produit deux fois" in say("fr", twice.msgid, twice.params)


def test_a_not_found_is_translated() -> None:
    exc = NotFound("session %(id)s does not exist", id=7)
    assert exc.detail == "session 7 does not exist"
    assert say("nl", exc.msgid, exc.params) == "vergadering 7 bestaat niet"
    assert say("fr", exc.msgid, exc.params) == "la séance 7 n’existe pas"


def test_pydantic_refusals_are_translated_with_their_parameters() -> None:
    scheme = {
        "type": "url_scheme",
        "msg": "URL scheme should be 'http' or 'https'",
        "ctx": {"expected_schemes": "'http' or 'https'"},
    }
    assert validation_message(scheme, "en") == "URL scheme should be 'http' or 'https'"
    assert validation_message(scheme, "nl") == "het webadres moet beginnen met http:// of https://"
    too_long = {"type": "string_too_long", "msg": "...", "ctx": {"max_length": 200}}
    assert validation_message(too_long, "fr") == "200 caractères au plus"
    assert validation_message({"type": "missing", "msg": "Field required"}, "nl") == (
        "dit veld is verplicht"
    )
    assert validation_message({"type": "float_parsing", "msg": "..."}, "fr") == "indiquez un nombre"


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("nl", "1 dag over tijd", "2 dagen over tijd"),
        ("fr", "1 jour de retard", "2 jours de retard"),
        ("en", "1 day overdue", "2 days overdue"),
    ],
)
def test_days_overdue_take_the_plural_form(language: str, one: str, two: str) -> None:
    template = environment(language).from_string(
        '{{ ngettext("%(num)s day overdue", "%(num)s days overdue", n) }}'
    )
    assert template.render(n=1) == one and template.render(n=2) == two


def test_attendance_counts_take_the_plural_form() -> None:
    assert attendance_counts({"present": 1, "excused": 1, "absent": 1}, "fr") == (
        "1 présent, 1 excusé, 1 absent"
    )
    assert attendance_counts({"present": 2, "excused": 2, "absent": 0}, "fr") == (
        "2 présents, 2 excusés, 0 absent"
    )
    assert attendance_counts({"present": 1, "excused": 2, "absent": 0}, "nl") == (
        "1 aanwezig, 2 verontschuldigd, 0 afwezig"
    )


def test_french_puts_a_no_break_space_before_a_colon() -> None:
    assert colon("Quand", "fr") == f"Quand{NBSP}:"
    assert colon("Wanneer", "nl") == "Wanneer:" and colon("When", "en") == "When:"


def test_french_elides_de_before_a_vowel_only() -> None:
    assert of_forum("Eurometropool", "fr") == "d’Eurometropool"
    assert of_forum("Toekomstforum Halle-Vilvoorde", "fr") == "de Toekomstforum Halle-Vilvoorde"
    assert of_forum("Eurometropool", "nl") == "Eurometropool"
    page = environment("fr").from_string('{{ _("Rapport de %(forum)s", forum=f) }}')
    assert page.render(f="Eurométropole") == "Rapport d’Eurométropole"
    assert page.render(f="Halle-Vilvoorde") == "Rapport de Halle-Vilvoorde"


def test_a_french_mail_keeps_its_no_break_spaces() -> None:
    mail = (SNAPSHOTS / "invitation.fr.txt").read_text(encoding="utf-8")
    assert f"Quand{NBSP}: lundi 29 mars 2027" in mail and f"Où{NBSP}: " in mail
    assert "Quand:" not in mail


def test_a_french_subject_elides() -> None:
    subject = say(
        "fr", "Decision of %(parent)s: %(title)s", {"parent": "Eurométropole", "title": "Vélo"}
    )
    assert subject == f"Décision d’Eurométropole{NBSP}: Vélo"


def test_the_zone_is_named_in_the_language() -> None:
    assert zone_name("Europe/Brussels", "nl") == "Midden-Europese tijd (Brussel)"
    assert zone_name("Europe/Brussels", "fr") == "heure d’Europe centrale (Bruxelles)"
    assert zone_name("Europe/Brussels", "en") == "Central European Time (Brussels)"


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("12.000,5", 12000.5),
        ("12 000,5", 12000.5),
        ("12\u00a0000,5", 12000.5),
        ("12\u202f000,5", 12000.5),
        ("12000.5", 12000.5),
        ("12,5", 12.5),
        ("1.000.000", 1000000.0),
        ("-3,25", -3.25),
        ("  42 ", 42.0),
        ("", None),
    ],
)
def test_numbers_as_belgians_write_them(written: str, value: float | None) -> None:
    assert read_number(written, "target") == value


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("12.000", "%(value)s can be read two ways: write %(thousands)s or %(decimal)s"),
        ("١٢", "write the number with the digits 0 to 9"),
        ("12,000,5", "give a number"),
        ("12.00.0", "give a number"),
        ("twelve", "give a number"),
        ("12 00,5", "give a number"),
    ],
)
def test_numbers_that_cannot_be_read_are_refused(written: str, why: str) -> None:
    exc = _refusal(read_number, written, "target")
    assert exc.msgid == why and exc.field == "target"
    assert say("fr", exc.msgid, exc.params) != exc.msgid


def test_the_ambiguous_number_says_both_readings() -> None:
    exc = _refusal(read_number, "12.000", "target")
    assert say("nl", exc.msgid, exc.params) == (
        "12.000 kan op twee manieren gelezen worden: schrijf 12000 of 12,000"
    )


def test_every_field_check_of_the_api_has_a_dutch_and_a_french_text() -> None:
    """Each `raise ValueError("…")` in the API's schemas is a catalogue message: a check added
    without its translations fails here, not in front of a French reader."""
    from pathlib import Path

    import workflow.schemas

    source = Path(workflow.schemas.__file__).read_text()
    messages = re.findall(r'raise ValueError\(\s*(f?)"([^"]+)"', source)
    assert len(messages) >= 8
    for formatted, message in [*messages, ("", workflow.schemas.OUT_OF_RANGE)]:
        assert not formatted, f"an f-string cannot be looked up in the catalogue: {message}"
        for language in ("nl", "fr"):
            assert say(language, message) != message, (language, message)
