"""The Jinja2 and Babel set-up of the whole service: mail, pages and PDFs in the reader's
language (nl, fr, en), with Belgian (and British) conventions for dates and numbers.

Messages come from Babel catalogues in workflow/locale, read as .po at start (no compile
step). To add or change a text, edit the template, then:

    pybabel extract -F babel.cfg -o workflow/locale/messages.pot .
    pybabel update -i workflow/locale/messages.pot -d workflow/locale

and translate the new entries in each messages.po.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workflow.config import get_settings

LANGUAGES = ("nl", "fr", "en")


def accepted_language(header: str) -> str | None:
    """The first of nl, fr, en in an Accept-Language header, in the sender's order of
    preference (q values, then order); None when it names none of them."""
    ranked = []
    for n, part in enumerate(header.split(",")[:20]):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((-weight, n, tag.strip()[:2].lower()))
    return next((tag for _, _, tag in sorted(ranked) if tag in LANGUAGES), None)


# Belgian conventions for Dutch and French, British for English (29 March, 24-hour clock).
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


# Shipped in the package, so any working directory renders the same mail and pages.
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def N_(message: str) -> str:
    return message


AGENDA_KINDS = {
    "information": N_("for information"),
    "discussion": N_("for discussion"),
    "decision": N_("for decision"),
    "report_back": N_("report-back"),
}
ANSWERS = {
    "accepted": N_("I will attend"),
    "tentative": N_("I may attend"),
    "declined": N_("I will not attend"),
    "needs_action": N_("no answer yet"),
    "delegated": N_("passed on to a deputy"),
}


ITEM_STATUS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}


OVERVIEW_SECTIONS = {
    "escalate": N_("Overdue past the escalation threshold"),
    "overdue": N_("Overdue"),
    "behind": N_("Indicators behind their target path"),
    "stale": N_("No recent progress"),
    "new": N_("New this week"),
    "done": N_("Done this week"),
}


def language_of(language: str) -> str:
    return language if language in LANGUAGES else "en"


@cache
def translations(language: str) -> Translations:
    language = language_of(language)
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    t = translations(language)
    env.install_gettext_translations(t, newstyle=True)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n

    def label(table: dict[str, str], key: str) -> str:
        return t.gettext(table.get(key, key))

    env.globals.update(
        lang=language,
        kind_label=lambda kind: label(AGENDA_KINDS, kind),
        answer_label=lambda answer: label(ANSWERS, answer),
        when=lambda session: format_when(session, language),
        day=lambda d: format_date(d, format="long", locale=LOCALES[language]),
        number=lambda x: format_decimal(x, locale=LOCALES[language]),
        percent=lambda x: format_percent(x, locale=LOCALES[language]),
        status_label=lambda status: label(ITEM_STATUS, status),
        section_title=lambda name: label(OVERVIEW_SECTIONS, name),
        day_of=lambda iso: format_date(
            datetime.fromisoformat(iso).astimezone(ZoneInfo(get_settings().default_timezone)),
            format="long",
            locale=LOCALES[language],
        ),
    )
    return env


class Span(Protocol):
    """Anything that starts and ends in a zone: a session, or its calendar view."""

    @property
    def starts_at(self) -> datetime: ...  # aware
    @property
    def ends_at(self) -> datetime: ...  # aware
    @property
    def timezone(self) -> str: ...  # IANA name


def _local(session: Span) -> tuple[datetime, datetime]:
    tz = ZoneInfo(session.timezone)
    return session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)


def format_when(session: Span, language: str) -> str:
    """'maandag 29 maart 2027, 14:00–16:00 (Midden-Europese zomertijd)' and the like."""
    locale = LOCALES[language_of(language)]
    start, end = _local(session)
    day = format_date(start, format="full", locale=locale)
    begins = format_time(start, "HH:mm", locale=locale)
    if end.date() == start.date():
        span = f"{day}, {begins}–{format_time(end, 'HH:mm', locale=locale)}"
    else:
        span = (
            f"{day}, {begins} – {format_date(end, format='full', locale=locale)}, "
            f"{format_time(end, 'HH:mm', locale=locale)}"
        )
    zone = get_timezone_name(start, width="long", locale=locale)
    return f"{span} ({zone})"


def short_date(session: Span, language: str) -> str:
    return format_date(_local(session)[0], format="long", locale=LOCALES[language_of(language)])


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_named(name: str, language: str, subject: str, **context: Any) -> RenderedMail:
    """A mail from workflow/templates/email/<name>.txt and .html; `subject` is an untranslated
    message with %(...)s placeholders filled from `context`."""
    language = language_of(language)
    env = environment(language)
    text = translations(language).gettext(subject) % context
    return RenderedMail(
        subject=" ".join(text.split()),
        text=env.get_template(f"email/{name}.txt").render(context),
        html=env.get_template(f"email/{name}.html").render(context),
    )


def render_page(name: str, language: str, **context: Any) -> str:
    return environment(language_of(language)).get_template(f"pages/{name}").render(context)
