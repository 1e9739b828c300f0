"""The invitation mail and its calendar description in the recipient's language, through the
service's Jinja2 and Babel set-up (workflow.i18n)."""

from typing import Any

from workflow.i18n import N_, RenderedMail, environment, language_of, short_date, translations
from workflow.invitations.view import CalendarSession, Mail, MailKind

SUBJECTS = {
    MailKind.invitation: N_("Invitation: %(title)s – %(date)s"),
    MailKind.update: N_("Updated: %(title)s – %(date)s"),
    MailKind.cancellation: N_("Cancelled: %(title)s – %(date)s"),
    MailKind.removal: N_("No longer invited: %(title)s – %(date)s"),
    MailKind.reminder: N_("Reminder: %(title)s – %(date)s"),
}


def calendar_description(session: CalendarSession, language: str) -> str:
    """The plain text of the calendar's DESCRIPTION, in the recipient's language."""
    text = environment(language_of(language)).get_template("email/description.txt")
    return text.render(session=session).strip()


def render_mail(mail: Mail) -> RenderedMail:
    language = language_of(mail.recipient.language)
    env = environment(language)
    context: dict[str, Any] = {
        "mail": mail,
        "session": mail.session,
        "recipient": mail.recipient,
        "kind": mail.kind.value,
        "rsvp": mail.rsvp,
        "co_chairs": [a for a in mail.session.attendees if a.role == "co_chair"],
    }
    subject = translations(language).gettext(SUBJECTS[mail.kind]) % {
        "title": mail.session.title,
        "date": short_date(mail.session, language),
    }
    return RenderedMail(
        subject=" ".join(subject.split()),
        text=env.get_template("email/session.txt").render(context),
        html=env.get_template("email/session.html").render(context),
    )
