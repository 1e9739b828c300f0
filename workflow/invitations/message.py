"""The MIME message of a calendar mail (iMIP, RFC 6047), as Google sends it and CalConnect
advises: multipart/mixed [ multipart/alternative [ text/plain, text/html, text/calendar;
method=… ], invite.ics ]. The inline text/calendar part is what makes Outlook, Gmail, Apple
Mail and Thunderbird show Accept and Decline; the attachment serves everything else."""

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from workflow.invitations.render import RenderedMail
from workflow.invitations.view import Mail

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def header_safe(value: str) -> str:
    """Refuse what could end a header early or smuggle one in (CR, LF, controls, and the
    RFC 2047 opener '=?', see CVE-2024-6923)."""
    if _UNSAFE.search(value) or "=?" in value:
        raise ValueError(f"unsafe in a mail header: {value[:60]!r}")
    return value


def _address(name: str, email: str) -> Address:
    local, _, domain = header_safe(email).rpartition("@")
    return Address(display_name=header_safe(name), username=local, domain=domain)


def build_message(
    mail: Mail,
    rendered: RenderedMail,
    ics: bytes,
    *,
    from_addr: str,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    method = mail.method.value
    session = mail.session
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(f"{session.organizer_name} via Forum workflow", from_addr)
    msg["Reply-To"] = _address(session.organizer_name, session.organizer_email)
    msg["To"] = _address(mail.recipient.name, mail.recipient.email)
    msg["Subject"] = header_safe(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = header_safe(message_id)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"

    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # As bytes with base64: a str part would have its CRLF line ends turned into LF.
    msg.add_alternative(
        ics,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "UTF-8"},
        cte="base64",
    )
    msg.make_mixed()
    msg.add_attachment(
        ics,
        maintype="application",
        subtype="ics",
        filename="invite.ics",
        params={"method": method},
        cte="base64",
    )
    # After make_mixed, which moves every Content-* header into the inner part.
    msg["Content-Language"] = mail.recipient.language
    return msg
