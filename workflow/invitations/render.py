"""Rendering mail and pages in the recipient's language (nl, fr, en) with Jinja2 and Babel.

Messages come from Babel catalogues in workflow/locale, read as .po at start (no compile
step). To add or change a text, edit the template, then:

    pybabel extract -F babel.cfg -o workflow/locale/messages.pot .
    pybabel update -i workflow/locale/messages.pot -d workflow/locale

and translate the new entries in each messages.po.
"""

import re
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
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workflow.config import get_settings
from workflow.invitations.view import CalendarSession, Changes, Mail, MailKind, Told

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
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


# Shipped in the package, so any working directory renders the same mail and pages.
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


def N_(message: str) -> str:
    return message


SUBJECTS = {
    MailKind.invitation: N_("Invitation: %(title)s – %(date)s"),
    MailKind.update: N_("Updated: %(title)s – %(date)s"),
    MailKind.cancellation: N_("Cancelled: %(title)s – %(date)s"),
    MailKind.removal: N_("No longer invited: %(title)s – %(date)s"),
    MailKind.reminder: N_("Reminder: %(title)s – %(date)s"),
}
# An update's subject names what changed (one word each, in the order the mail lists them).
CHANGED_SUBJECT = N_("Changed: %(what)s — %(title)s – %(date)s")
CHANGED = {
    "time": N_("time"),
    "place": N_("place"),
    "online": N_("online link"),
    "title": N_("title"),
    "agenda": N_("agenda"),
    "co_chairs": N_("co-chairs"),
}
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


def _local(session: CalendarSession) -> tuple[datetime, datetime]:
    tz = ZoneInfo(session.timezone)
    return session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)


def format_when(session: CalendarSession, language: str) -> str:
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


def short_date(session: CalendarSession, language: str) -> str:
    return format_date(_local(session)[0], format="long", locale=LOCALES[language_of(language)])


def calendar_description(session: CalendarSession, language: str) -> str:
    """The plain text of the calendar's DESCRIPTION, in the recipient's language."""
    text = environment(language_of(language)).get_template("email/description.txt")
    return text.render(session=session).strip()


def _moment(at: datetime, zone: str, locale: str, year: bool) -> tuple[datetime, str]:
    local = at.astimezone(ZoneInfo(zone))
    return local, format_date(local, "EEE d MMMM y" if year else "EEE d MMMM", locale=locale)


def format_span(told: Told, language: str, *, year: bool = False) -> str:
    """'di 3 maart 14:00–16:00', on the wall clock of the session's zone."""
    locale = LOCALES[language_of(language)]
    start, day = _moment(told.starts_at, told.timezone, locale, year)
    end, end_day = _moment(told.ends_at, told.timezone, locale, year)
    begins, ends = (format_time(t, "HH:mm", locale=locale) for t in (start, end))
    if end.date() == start.date():
        return f"{day} {begins}–{ends}"
    return f"{day} {begins} – {end_day} {ends}"


def change_lines(changes: Changes, language: str, co_chairs: list[str]) -> list[str]:
    """One sentence per change, in the recipient's language; `co_chairs` are the names of
    the co-chairs now."""
    t = translations(language_of(language))
    _ = t.gettext

    def quoted(text: str) -> str:
        return _("\u2018%(text)s\u2019") % {"text": text}  # typographic quotes; French guillemets

    def items(titles: tuple[str, ...]) -> str:
        return ", ".join(quoted(title) for title in titles)

    before, after = changes.before, changes.after
    lines = []
    for what in changes.what:
        if what == "time":
            year = before.starts_at.year != after.starts_at.year
            lines.append(
                _("The time changed: %(before)s → %(after)s")
                % {
                    "before": format_span(before, language, year=year),
                    "after": format_span(after, language, year=year),
                }
            )
        elif what == "place":
            lines.append(
                _("The place changed: %(before)s → %(after)s")
                % {
                    "before": before.location or _("(none)"),
                    "after": after.location or _("(none)"),
                }
            )
        elif what == "online":
            if after.online_url:
                lines.append(_("The online link changed: %(url)s") % {"url": after.online_url})
            else:
                lines.append(_("The online link was removed."))
        elif what == "title":
            lines.append(
                _("The title changed: %(before)s → %(after)s")
                % {"before": quoted(before.title), "after": quoted(after.title)}
            )
        elif what == "agenda":
            parts = []
            if changes.agenda_added:
                n = len(changes.agenda_added)
                parts.append(
                    t.ngettext("added the item %(items)s", "added the items %(items)s", n)
                    % {"items": items(changes.agenda_added), "count": n}
                )
            if changes.agenda_removed:
                n = len(changes.agenda_removed)
                parts.append(
                    t.ngettext("removed the item %(items)s", "removed the items %(items)s", n)
                    % {"items": items(changes.agenda_removed), "count": n}
                )
            if parts:
                lines.append(_("The agenda changed: %(what)s") % {"what": ", ".join(parts)})
            else:
                lines.append(_("The agenda changed: the order or the kind of its items."))
        elif what == "co_chairs":
            if co_chairs:
                lines.append(
                    _("The co-chairs changed: now %(names)s") % {"names": ", ".join(co_chairs)}
                )
            else:
                lines.append(_("The co-chairs changed."))
    return lines


def _one_line(text: str) -> str:
    """Whitespace runs as one space, except the no-break spaces French typography puts
    before a colon."""
    return re.sub(r"[^\S\u00a0\u202f]+", " ", text).strip()


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_mail(mail: Mail) -> RenderedMail:
    language = language_of(mail.recipient.language)
    env = environment(language)
    co_chairs = [a for a in mail.session.attendees if a.role == "co_chair"]
    context: dict[str, Any] = {
        "mail": mail,
        "session": mail.session,
        "recipient": mail.recipient,
        "kind": mail.kind.value,
        "rsvp": mail.rsvp,
        "co_chairs": co_chairs,
        "changes": [],
    }
    t = translations(language)
    values = {"title": mail.session.title, "date": short_date(mail.session, language)}
    if mail.kind is MailKind.update and mail.changes is not None:
        context["changes"] = change_lines(mail.changes, language, [a.name for a in co_chairs])
        what = ", ".join(t.gettext(CHANGED[w]) for w in mail.changes.what)
        subject = _one_line(t.gettext(CHANGED_SUBJECT) % {**values, "what": what})
    else:
        subject = " ".join((t.gettext(SUBJECTS[mail.kind]) % values).split())
    return RenderedMail(
        subject=subject,
        text=env.get_template("email/session.txt").render(context),
        html=env.get_template("email/session.html").render(context),
    )


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
