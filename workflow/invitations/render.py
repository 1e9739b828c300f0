"""The invitation mail and its calendar description in the recipient's language, through the
service's Jinja2 and Babel set-up (workflow.i18n)."""

import re
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from markupsafe import escape

from workflow.i18n import (
    LOCALES,
    N_,
    VOWELS,
    RenderedMail,
    environment,
    language_of,
    short_date,
    translations,
)
from workflow.invitations.view import CalendarSession, Changes, Mail, MailKind, RsvpLinks, Told

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


# Stand-ins for what differs per recipient, made of characters from Unicode's private use
# area, which no name or link holds. A name's stand-in starts with a vowel where the name
# does, so French elision ('d’Anne') comes out as it would for the name itself.
_OPEN, _CLOSE = "\ue000", "\ue001"
_NAME = f"{_OPEN}name{_CLOSE}"
_STAND_IN_LINKS = RsvpLinks(
    accept=f"{_OPEN}accept{_CLOSE}",
    tentative=f"{_OPEN}tentative{_CLOSE}",
    decline=f"{_OPEN}decline{_CLOSE}",
)


class SharedRendering:
    """`render_mail` for many recipients of one session: the templates rendered once for
    each language and kind of mail (and what changed, and whether it has answer links), then
    for each recipient their name and their signed links put in, escaped for the HTML part as
    the templates escape them."""

    def __init__(self) -> None:
        # Keyed by the session object among the rest, which the caller keeps alive and
        # unchanged while it renders (one batch).
        self._common: dict[tuple[Any, ...], RenderedMail] = {}

    def render(self, mail: Mail) -> RenderedMail:
        me, links = mail.recipient, mail.rsvp
        theirs = (me.name, *((links.accept, links.tentative, links.decline) if links else ()))
        if any(_OPEN in value or _CLOSE in value for value in theirs):
            return render_mail(mail)  # nothing can be put in safely: the whole mail, as it is
        name = ("a" if me.name[:1] in VOWELS and me.name else "b") + _NAME
        # Everything of the mail the session templates could read, but the recipient's
        # name, their links and the calendar's attendee list (which the templates do not show).
        key = (
            id(mail.session),
            language_of(me.language),
            me.partstat,
            me.role,
            mail.kind,
            mail.method,
            mail.changes,
            mail.feed_url,
            tuple(sorted(mail.extra.items())),
            links is not None,
            name,
        )
        common = self._common.get(key)
        if common is None:
            stand_in = replace(me, name=name)
            common = self._common[key] = render_mail(
                replace(mail, recipient=stand_in, rsvp=_STAND_IN_LINKS if links else None)
            )
        values = [(name, me.name)]
        if links is not None:
            values += [
                (_STAND_IN_LINKS.accept, links.accept),
                (_STAND_IN_LINKS.tentative, links.tentative),
                (_STAND_IN_LINKS.decline, links.decline),
            ]
        text, html = common.text, common.html
        for stand_in_value, value in values:
            text = text.replace(stand_in_value, value)
            html = html.replace(stand_in_value, str(escape(value)))
        if _OPEN in text or _OPEN in html or _OPEN in common.subject:
            return render_mail(mail)  # a template used a stand-in otherwise than as it is
        return RenderedMail(subject=common.subject, text=text, html=html)
