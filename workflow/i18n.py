"""The Jinja2 and Babel set-up of the whole service: mail, pages and PDFs in the reader's
language (nl, fr, en), with Belgian (and British) conventions for dates and numbers.

Messages come from Babel catalogues in workflow/locale, read as .po at start (no compile
step). To add or change a text, edit the template, then:

    pybabel extract -F babel.cfg -o workflow/locale/messages.pot .
    pybabel update -i workflow/locale/messages.pot -d workflow/locale

and translate the new entries in each messages.po.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import localedata
from babel.dates import (
    format_date,
    format_time,
    get_timezone,
    get_timezone_location,
    get_timezone_name,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from markupsafe import Markup

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


def say(language: str, msgid: str, params: dict[str, object] | None = None) -> str:
    """A catalogue message with `%(name)s` placeholders in the reader's language (as written
    when the catalogue lacks it)."""
    said = translations(language).gettext(msgid)
    return elided(said, params, language) % params if params else said


# Pydantic's refusals by error type, as catalogue messages taking the error's `ctx`.
VALIDATION_MESSAGES = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("this field is not expected"),
    "string_too_long": N_("at most %(max_length)s characters"),
    "string_too_short": N_("at least %(min_length)s characters"),
    "too_long": N_("at most %(max_length)s items"),
    "too_short": N_("at least %(min_length)s items"),
    "greater_than_equal": N_("give %(ge)s or more"),
    "greater_than": N_("give more than %(gt)s"),
    "less_than_equal": N_("give %(le)s or less"),
    "less_than": N_("give less than %(lt)s"),
    "int_parsing": N_("give a whole number"),
    "int_type": N_("give a whole number"),
    "int_from_float": N_("give a whole number"),
    "float_parsing": N_("give a number"),
    "float_type": N_("give a number"),
    "decimal_parsing": N_("give a number"),
    "finite_number": N_("give a number"),
    "bool_parsing": N_("give true or false"),
    "string_type": N_("give a text"),
    "datetime_parsing": N_("give a date and time, such as 2027-03-29T14:00:00"),
    "datetime_from_date_parsing": N_("give a date and time, such as 2027-03-29T14:00:00"),
    "datetime_type": N_("give a date and time, such as 2027-03-29T14:00:00"),
    "date_parsing": N_("give a date, such as 2027-03-29"),
    "date_from_datetime_parsing": N_("give a date, such as 2027-03-29"),
    "date_type": N_("give a date, such as 2027-03-29"),
    "url_parsing": N_("give a full web address, such as https://example.org/meeting"),
    "url_type": N_("give a full web address, such as https://example.org/meeting"),
    "url_scheme": N_("the web address must start with http:// or https://"),
    "enum": N_("choose one of %(expected)s"),
    "literal_error": N_("choose one of %(expected)s"),
    "json_invalid": N_("the body is not valid JSON"),
    "list_type": N_("give a list"),
    "value_error": "%(error)s",  # the service's own check: its text is the message
}


def validation_message(error: Any, language: str) -> str:
    """One of pydantic's refusals in the reader's language: its own English text in English,
    a catalogue message in Dutch and French (its `ctx` as the parameters)."""
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid"))
    if kind == "value_error":  # pydantic's "Value error, " before the service's own text
        message = message.removeprefix("Value error, ")
    if language_of(language) == "en" or kind not in VALIDATION_MESSAGES:
        return message
    ctx: dict[str, object] = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if kind == "value_error":  # one of the service's own checks: a catalogue message itself
        return say(language, str(ctx.get("error", message)).removeprefix("Value error, "))
    try:
        return say(language, VALIDATION_MESSAGES[kind], ctx)
    except (KeyError, ValueError, TypeError):  # a ctx without what the message names
        return message


def zone_name(name: str, language: str) -> str:
    """A time zone as people read it: 'Midden-Europese tijd (Brussel)', 'heure d’Europe
    centrale (Bruxelles)', 'Central European Time (Brussels)'; an unknown name as it is."""
    locale = LOCALES[language_of(language)]
    try:
        tz = get_timezone(name)
    except LookupError:
        return name
    generic = get_timezone_name(tz, width="long", locale=locale)
    city = get_timezone_location(tz, locale=locale, return_city=True)
    return f"{generic} ({city})"


# French elides 'de' before a vowel: 'd’Eurometropool', 'd’Anne'. An h is taken as aspirated
# ('de Halle-Vilvoorde', 'de Hasselt'), as the Flemish and Walloon place names are. Only a
# 'de' of the catalogue right before a placeholder changes, never a word of the data.
_BEFORE_PLACEHOLDER = re.compile(r"\b([Dd])e %\((\w+)\)s")
VOWELS = "AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜaeiouyàâäéèêëîïôöùûü"


def elided(message: str, params: Any, language: str) -> str:
    """A translated message with 'de %(name)s' written 'd’%(name)s' in French where the value
    starts with a vowel; in other languages as it is."""
    if language_of(language) != "fr" or "e %(" not in message or not params:
        return message

    def one(found: re.Match[str]) -> str:
        value = str(params.get(found[2], "")) if hasattr(params, "get") else ""
        return f"{found[1]}’%({found[2]})s" if value[:1] in VOWELS and value else found[0]

    return _BEFORE_PLACEHOLDER.sub(one, message)


def colon(label: str, language: str) -> str:
    """'Quand :' in French (a no-break space before the colon), 'Wanneer:' and 'When:'."""
    return label + ("\u00a0:" if language_of(language) == "fr" else ":")


def of_forum(name: str, language: str) -> str:
    """'de Toekomstforum', 'd’Eurometropool' in French; the name alone in other languages."""
    if language_of(language) != "fr":
        return name
    return elided("de %(name)s", {"name": name}, language) % {"name": name}


# Singular and plural, as ngettext takes them (in the catalogues with their plural forms).
ATTENDANCE_COUNTS = (
    ("present", "%(num)s present", "%(num)s present"),
    ("excused", "%(num)s excused", "%(num)s excused"),
    ("absent", "%(num)s absent", "%(num)s absent"),
)


def attendance_counts(counts: Any, language: str) -> str:
    """'3 present, 1 excused, 0 absent', each count with its language's plural form
    ('1 excusé', '2 excusés')."""
    t = translations(language)
    return ", ".join(
        t.ngettext(one, many, counts[key]) % {"num": counts[key]}
        for key, one, many in ATTENDANCE_COUNTS
    )


@cache
def preload() -> None:
    """Load what mail is rendered with, in every language: the catalogues, Babel's locale
    data and the mail templates, compiled; once a process. A prefork worker does this before
    its pool forks, so the pool's processes share one copy instead of each loading its own."""
    for language in LANGUAGES:
        env = environment(language)
        for name in env.list_templates(filter_func=lambda name: name.startswith("email/")):
            env.get_template(name)
        localedata.load(LOCALES[language])


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
        attendance_counts=lambda counts: attendance_counts(counts, language),
        zone_name=lambda name: zone_name(name, language),
        colon=lambda label: colon(label, language),
        day_of=lambda iso: format_date(
            datetime.fromisoformat(iso).astimezone(ZoneInfo(get_settings().default_timezone)),
            format="long",
            locale=LOCALES[language],
        ),
    )
    if language == "fr":  # 'd’Eurometropool' where the catalogue writes 'de %(forum)s'
        env.globals.update(_=_french_gettext(t), gettext=_french_gettext(t))
        env.globals["ngettext"] = _french_ngettext(t)
    return env


def _french_gettext(t: Translations) -> Any:
    """Jinja's new-style gettext (variables escaped, always formatted), eliding 'de'."""

    @pass_context
    def gettext(context: Any, string: str, /, **variables: Any) -> str:
        said = elided(t.gettext(string), variables, "fr")
        return (Markup(said) if context.eval_ctx.autoescape else said) % variables

    return gettext


def _french_ngettext(t: Translations) -> Any:
    @pass_context
    def ngettext(context: Any, singular: str, plural: str, num: int, /, **variables: Any) -> str:
        variables.setdefault("num", num)
        said = elided(t.ngettext(singular, plural, num), variables, "fr")
        return (Markup(said) if context.eval_ctx.autoescape else said) % variables

    return ngettext


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
    return _format_when(session.starts_at, session.ends_at, session.timezone, language)


@lru_cache(maxsize=1024)
def _format_when(starts_at: datetime, ends_at: datetime, zone: str, language: str) -> str:
    # Kept: every mail of a fan-out says it twice (text and HTML), and Babel's long zone
    # name is slow to look up. It depends only on its arguments, so it cannot go stale.
    locale = LOCALES[language_of(language)]
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = format_date(start, format="full", locale=locale)
    begins = format_time(start, "HH:mm", locale=locale)
    if end.date() == start.date():
        span = f"{day}, {begins}–{format_time(end, 'HH:mm', locale=locale)}"
    else:
        span = (
            f"{day}, {begins} – {format_date(end, format='full', locale=locale)}, "
            f"{format_time(end, 'HH:mm', locale=locale)}"
        )
    return f"{span} ({get_timezone_name(start, width='long', locale=locale)})"


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
    text = elided(translations(language).gettext(subject), context, language) % context
    return RenderedMail(
        subject=re.sub(r"[ \t\r\n]+", " ", text).strip(),  # a no-break space stays
        text=env.get_template(f"email/{name}.txt").render(context),
        html=env.get_template(f"email/{name}.html").render(context),
    )


def render_page(name: str, language: str, **context: Any) -> str:
    return environment(language_of(language)).get_template(f"pages/{name}").render(context)
