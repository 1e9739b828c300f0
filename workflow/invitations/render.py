"""Rendering mail and pages in the recipient's language (nl, fr, en) with Jinja2 and Babel.

Templates live in the top-level templates/ folder: for each mail kind (invitation, update,
cancellation, removal) `email/<kind>.subject.txt`, `email/<kind>.txt` and `email/<kind>.html`,
sharing `email/_layout.html`, `email/_macros.html` and `email/_macros.txt`; the calendar's
DESCRIPTION is `email/description.txt`; the pages reached from links in mail are in `pages/`.
HTML templates are autoescaped, text templates are not, and an undefined variable is an error.

Texts come from the Babel catalogues in workflow/locale. The .po files are read at run time
and compiled in memory: there is no build step and no .mo file in the repository. To add or
change a text, edit the template (or an N_() below), then from the repository root:

    pybabel extract -F babel.cfg -o workflow/locale/messages.pot .
    pybabel update -i workflow/locale/messages.pot -d workflow/locale \\
        --no-fuzzy-matching --ignore-obsolete

and translate the new entries in each messages.po (tests/unit/test_mail_render.py fails
while an entry is missing, empty or fuzzy).
"""

import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workflow.invitations.view import CalendarSession, Mail

LANGUAGES = ("nl", "fr", "en")
DEFAULT_LANGUAGE = "en"
# Belgian conventions for Dutch and French, British for English (29 March, 24-hour clock).
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_GB"}
# CLDR's full date for nl and fr ("maandag 29 maart 2027", "lundi 29 mars 2027"); for English
# the British style without a comma ("Monday 29 March 2027"), where CLDR's en_GB adds one.
DATE_FORMATS = {"nl": "full", "fr": "full", "en": "EEEE d MMMM y"}
TIME_FORMAT = "HH:mm"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def _templates_dir() -> Path:
    configured = os.environ.get("WORKFLOW_TEMPLATES_DIR")
    if configured:
        return Path(configured)
    beside_package = Path(__file__).resolve().parents[2] / "templates"
    return beside_package if beside_package.is_dir() else Path.cwd() / "templates"


TEMPLATES_DIR = _templates_dir()


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated where it is shown."""
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
}


def language_of(language: str | None) -> str:
    """The language to render in: one of LANGUAGES, English for anything else."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> Translations:
    """The catalogue of `language` (English if unknown), compiled in memory from its .po."""
    language = language_of(language)
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain="messages")


@cache
def environment(language: str) -> Environment:
    """One Jinja2 environment per language, with that language's gettext installed."""
    language = language_of(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    t = translations(language)
    env.install_gettext_translations(t, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=language,
        kind_label=lambda kind: t.gettext(AGENDA_KINDS[kind]) if kind in AGENDA_KINDS else kind,
        answer_label=lambda answer: t.gettext(ANSWERS[answer]) if answer in ANSWERS else answer,
    )
    env.filters["web_url"] = _web_url
    return env


def _web_url(url: str | None) -> str | None:
    """The URL if a browser may follow it from a mail (http or https), else None."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _local(session: CalendarSession) -> tuple[datetime, datetime]:
    tz = ZoneInfo(session.timezone)
    return session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)


def _day(moment: datetime, language: str) -> str:
    return format_date(moment, format=DATE_FORMATS[language], locale=LOCALES[language])


def _time(moment: datetime, language: str) -> str:
    return format_time(moment, TIME_FORMAT, locale=LOCALES[language])


def _zone(moment: datetime, language: str) -> str:
    # The name as it applies on that date: summer or winter time.
    return get_timezone_name(moment, width="long", locale=LOCALES[language])


def format_when(session: CalendarSession, language: str) -> str:
    """When the session takes place, in the session's zone and the recipient's language:

    'maandag 29 maart 2027, 14:00–16:00 (Midden-Europese zomertijd)'. A session that ends on
    another day shows both dates; one that crosses a daylight-saving change names both zones.
    """
    language = language_of(language)
    start, end = _local(session)
    start_zone, end_zone = _zone(start, language), _zone(end, language)
    begins = f"{_day(start, language)}, {_time(start, language)}"
    if start_zone != end_zone:
        ends = f"{_day(end, language)}, {_time(end, language)}"
        return f"{begins} ({start_zone}) – {ends} ({end_zone})"
    if end.date() == start.date():
        return f"{begins}–{_time(end, language)} ({start_zone})"
    return f"{begins} – {_day(end, language)}, {_time(end, language)} ({start_zone})"


def format_date_short(session: CalendarSession, language: str) -> str:
    """The start date for a subject line: '29 maart 2027'."""
    language = language_of(language)
    return format_date(_local(session)[0], format="long", locale=LOCALES[language])


def co_chairs(session: CalendarSession) -> list[Any]:
    return [a for a in session.attendees if a.role == "co_chair"]


def calendar_description(session: CalendarSession, language: str) -> str:
    """The plain text of the calendar's DESCRIPTION, in the recipient's language: the forum,
    the cancellation and its reason if cancelled, the online link and the numbered agenda."""
    template = environment(language_of(language)).get_template("email/description.txt")
    return template.render(session=session).strip()


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def mail_context(mail: Mail) -> dict[str, Any]:
    """What every mail template sees (besides the globals lang, kind_label, _ and gettext)."""
    language = language_of(mail.recipient.language)
    return {
        "mail": mail,
        "session": mail.session,
        "recipient": mail.recipient,
        "when": format_when(mail.session, language),
        "date": format_date_short(mail.session, language),
        "agenda": mail.session.agenda,
        "co_chairs": co_chairs(mail.session),
        "rsvp": mail.rsvp,
    }


def render_mail(mail: Mail) -> RenderedMail:
    """Subject, plain text and HTML of one mail, in the recipient's language.

    The subject is not cleaned up: a line break in user text stays in it, and the message
    builder's header check refuses it rather than letting it reach a header.
    """
    env = environment(language_of(mail.recipient.language))
    context = mail_context(mail)
    kind = mail.kind.value
    subject = env.get_template(f"email/{kind}.subject.txt").render(context)
    return RenderedMail(
        subject=subject.strip(" \n"),
        text=env.get_template(f"email/{kind}.txt").render(context),
        html=env.get_template(f"email/{kind}.html").render(context),
    )


def render_page(name: str, language: str, **context: Any) -> str:
    """A page from templates/pages (e.g. 'rsvp_confirm.html'), in the person's language.

    Given a `session`, the page also gets `when` (format_when) unless the caller passes one.
    """
    if "/" in name or "\\" in name or name.startswith(("_", ".")):
        raise ValueError(f"not a page: {name!r}")
    language = language_of(language)
    session = context.get("session")
    if isinstance(session, CalendarSession):
        context.setdefault("when", format_when(session, language))
    return environment(language).get_template(f"pages/{name}").render(context)
