"""The MIME message of every mail the service sends, built one way.

multipart/mixed [ multipart/alternative [ text/plain, text/html, (text/calendar; method=…) ],
attachments ]. The inline calendar part is what makes mail programs show Accept and Decline;
it is only there when an answer is expected (iMIP, RFC 6047). Header values are checked
against CR, LF, controls and the RFC 2047 opener (CVE-2024-6923) before they are set.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def header_safe(value: str) -> str:
    """Refuse what could end a header early or smuggle one in (CR, LF, controls, and the
    RFC 2047 opener '=?', see CVE-2024-6923)."""
    if _UNSAFE.search(value) or "=?" in value:
        raise ValueError(f"unsafe in a mail header: {value[:60]!r}")
    return value


def address(name: str, email: str) -> Address:
    local, _, domain = header_safe(email).rpartition("@")
    return Address(display_name=header_safe(name), username=local, domain=domain)


@dataclass(frozen=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Envelope:
    """Who a mail is from and to, and how it is identified."""

    from_name: str
    from_addr: str
    reply_to_name: str
    reply_to_addr: str
    to_name: str
    to_addr: str
    subject: str
    message_id: str
    date: datetime
    language: str


def build(
    envelope: Envelope,
    text: str,
    html: str,
    *,
    inline_calendar: tuple[bytes, str] | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """`inline_calendar` is (iCalendar bytes, METHOD) for mail that expects an answer."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = address(envelope.from_name, envelope.from_addr)
    msg["Reply-To"] = address(envelope.reply_to_name, envelope.reply_to_addr)
    msg["To"] = address(envelope.to_name, envelope.to_addr)
    msg["Subject"] = header_safe(" ".join(envelope.subject.split()))
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = header_safe(envelope.message_id)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"

    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    if inline_calendar is not None:
        ics, method = inline_calendar
        # As bytes with base64: a str part would have its CRLF line ends turned into LF.
        msg.add_alternative(
            ics,
            maintype="text",
            subtype="calendar",
            params={"method": method, "charset": "UTF-8"},
            cte="base64",
        )
    if attachments:
        msg.make_mixed()
        for a in attachments:
            msg.add_attachment(
                a.content,
                maintype=a.maintype,
                subtype=a.subtype,
                filename=header_safe(a.filename),
                params=dict(a.params),
                cte="base64",
            )
    # After make_mixed, which moves every Content-* header into the inner part.
    msg["Content-Language"] = envelope.language
    return msg


def calendar_attachment(ics: bytes, method: str, filename: str = "invite.ics") -> Attachment:
    return Attachment(filename, "application", "ics", ics, (("method", method),))
