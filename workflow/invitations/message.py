"""The MIME message of a calendar mail (iMIP, RFC 6047), as Google sends it and CalConnect
advises: multipart/mixed [ multipart/alternative [ text/plain, text/html, text/calendar;
method=… ], invite.ics ]. The inline text/calendar part is what makes Outlook, Gmail, Apple
Mail and Thunderbird show Accept and Decline; the attachment serves everything else."""

from datetime import datetime
from email.message import EmailMessage

from workflow.invitations.render import RenderedMail
from workflow.invitations.view import Mail
from workflow.mailmessage import Envelope, build, calendar_attachment, header_safe

__all__ = ["build_message", "header_safe"]


def build_message(
    mail: Mail,
    rendered: RenderedMail,
    ics: bytes,
    *,
    from_addr: str,
    message_id: str,
    date: datetime,
    inline: bool = True,
) -> EmailMessage:
    """`inline=False` leaves out the inline calendar part: the data stays importable as
    invite.ics, but the mail is not shown as an invitation awaiting an answer."""
    session = mail.session
    method = mail.method.value
    envelope = Envelope(
        from_name=f"{session.organizer_name} via Forum workflow",
        from_addr=from_addr,
        reply_to_name=session.organizer_name,
        reply_to_addr=session.reply_to_email or session.organizer_email,
        to_name=mail.recipient.name,
        to_addr=mail.recipient.email,
        subject=rendered.subject,
        message_id=message_id,
        date=date,
        language=mail.recipient.language,
    )
    return build(
        envelope,
        rendered.text,
        rendered.html,
        inline_calendar=(ics, method) if inline else None,
        attachments=(calendar_attachment(ics, method),),
    )
