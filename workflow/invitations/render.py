"""The invitation mail and its calendar description in the recipient's language, through the
service's Jinja2 and Babel set-up (workflow.i18n)."""

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from workflow.i18n import (
    LOCALES,
    N_,
    RenderedMail,
    environment,
    language_of,
    short_date,
    translations,
)
from workflow.invitations.view import CalendarSession, Changes, Mail, MailKind, Told

SUBJECTS = {
    MailKind.invitation: N_("Invitation: %(title)s – %(date)s"),
    MailKind.update: N_("Updated: %(title)s – %(date)s"),
    MailKind.cancellation: N_("Cancelled: %(title)s – %(date)s"),
    MailKind.removal: N_("No longer invited: %(title)s – %(date)s"),
    MailKind.reminder: N_("Reminder: %(title)s – %(date)s"),
}


CHANGED_SUBJECT = N_("Changed: %(what)s — %(title)s – %(date)s")
CHANGED = {
    "time": N_("time"),
    "place": N_("place"),
    "online": N_("online link"),
    "title": N_("title"),
    "agenda": N_("agenda"),
    "co_chairs": N_("co-chairs"),
}


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
