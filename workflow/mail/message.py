"""The envelope and MIME message of every mail the service sends, built one way, and what a
composer hands the outbox: the mail Composed, or Superseded when it is no longer owed.

multipart/mixed [ multipart/alternative [ text/plain, text/html, (text/calendar; method=…) ],
attachments ]. The inline calendar part is what makes mail programs show Accept and Decline;
it is only there when an answer is expected (iMIP, RFC 6047). Header values are checked
against CR, LF, controls and the RFC 2047 opener (CVE-2024-6923) before they are set.
Address headers are written and folded here, not by the email package: its folding can
break a quoted display name apart so that a name such as `Mayor <mayor@other.example>, x"`
becomes a second address.
"""

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from workflow import clock
from workflow.config import get_settings
from workflow.models import Delivery, Forum, Person

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
# Runs of whitespace in a subject become one space; the no-break spaces French typography
# puts before a colon stay.
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")


def header_safe(value: str) -> str:
    """Refuse what could end a header early or smuggle one in (CR, LF, controls, and the
    RFC 2047 opener '=?', see CVE-2024-6923)."""
    if _UNSAFE.search(value) or "=?" in value:
        raise ValueError(f"unsafe in a mail header: {value[:60]!r}")
    return value


# A display name of plain words is written as it is: letters, digits, spaces, hyphens and
# apostrophes are atoms that no parser reads as structure. Anything else is encoded.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9'-]+( [A-Za-z0-9'-]+)*")
# Headers stored as written (the address headers) are never refolded by the email package.
_POLICY = SMTP.clone(refold_source="none")
_LINE = 78  # RFC 5322's recommended line length
# RFC 2047 allows 75; shorter, so that even after "Reply-To: " a word fits on a line.
_WORD = _LINE - len("Reply-To: ")


def _encoded_words(name: str) -> list[str]:
    """`name` as RFC 2047 base64 encoded-words (shorter than 75 characters), cut between
    characters (never inside one). Their text is [A-Za-z0-9+/=?]: no quote, comma, angle
    bracket or backslash, so no folding or unfolding can turn part of it into an address."""
    room = (_WORD - len("=?utf-8?b??=")) // 4 * 3  # bytes that fit in one word
    words, chunk = [], b""
    for char in name:
        encoded = char.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > room:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def address(name: str, email: str) -> str:
    """One mailbox, `name <local@domain>`, as the folded header value: the name can never
    become, or add, an address. Raises ValueError for what is not safe in a header."""
    local, _, domain = header_safe(email).rpartition("@")
    addr_spec = Address(username=local, domain=domain).addr_spec
    if not addr_spec.isascii():
        raise ValueError(f"an address needs SMTPUTF8, which is not used: {addr_spec[:60]!r}")
    name = header_safe(name)
    if not name.strip():
        return addr_spec
    plain = _PLAIN_NAME.fullmatch(name) and max(map(len, name.split(" "))) <= 40
    words = name.split(" ") if plain else _encoded_words(name)
    lines, line = [], ""
    for word in [*words, f"<{addr_spec}>"]:
        if line and len(line) + 1 + len(word) > _WORD:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n ".join(lines)


@dataclass(frozen=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Superseded:
    """The mail is no longer owed (a newer one is, or its reason passed): not sent."""

    why: str


@dataclass(frozen=True)
class Composed:
    message: EmailMessage
    recipient: str


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
    msg = EmailMessage(policy=_POLICY)
    # Stored as written: folded above, they are never refolded (every line is short).
    msg.set_raw("From", address(envelope.from_name, envelope.from_addr))
    msg.set_raw("Reply-To", address(envelope.reply_to_name, envelope.reply_to_addr))
    msg.set_raw("To", address(envelope.to_name, envelope.to_addr))
    msg["Subject"] = header_safe(_SPACES.sub(" ", envelope.subject).strip())
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


def mail_envelope(
    person: Person, forum: Forum | None, subject: str, delivery: Delivery
) -> Envelope:
    """From the forum's secretariat (replies go there) via the service; without a forum, from
    the service itself."""
    s = get_settings()
    organizer = (forum.secretariat_name or forum.name) if forum else "Forum workflow"
    reply_to = (forum.secretariat_email if forum else None) or s.mail_from
    return Envelope(
        from_name=f"{organizer} via Forum workflow" if forum else organizer,
        from_addr=s.mail_from,
        reply_to_name=organizer,
        reply_to_addr=reply_to,
        to_name=person.name,
        to_addr=person.email,
        subject=subject,
        message_id=delivery.message_id,
        date=clock.now(),
        language=person.language,
    )
