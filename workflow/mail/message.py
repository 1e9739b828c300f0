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
import binascii
import email
import email.policy
import re
import secrets
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


class Composed:
    """A mail ready to go to `recipient`: an EmailMessage, or its bytes as written by
    `build_raw` (then `message` parses them, for whoever wants to look)."""

    __slots__ = ("_message", "_raw", "recipient")

    def __init__(
        self, message: EmailMessage | None = None, recipient: str = "", *, raw: bytes | None = None
    ) -> None:
        if (message is None) == (raw is None):
            raise ValueError("a message or its bytes, one of the two")
        self._message, self._raw, self.recipient = message, raw, recipient

    @property
    def message(self) -> EmailMessage:
        if self._message is None:
            assert self._raw is not None
            parsed = email.message_from_bytes(self._raw, policy=email.policy.default)
            self._message = parsed
        return self._message

    @property
    def payload(self) -> EmailMessage | bytes:
        """What the SMTP client is handed: the bytes when there are, else the message."""
        return self._raw if self._raw is not None else self.message


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


# Writing the MIME tree directly -------------------------------------------------------------
#
# The same tree and headers as `build`, written as bytes: the email package's object model,
# header registry and generator cost more than everything else in a calendar mail. Checked
# against `build` by parsing both with the email package (tests/unit/test_raw_mail.py).

_CRLF = b"\r\n"


def _subject(subject: str) -> str:
    """The Subject value: as it is when short ASCII, else RFC 2047 encoded-words, one a
    line (the space between two encoded-words is not part of the text)."""
    subject = header_safe(_SPACES.sub(" ", subject).strip())
    if subject.isascii() and len(subject) <= _WORD:
        return subject
    return "\n ".join(_encoded_words(subject))


def _text_part(content_type: str, text: str) -> list[bytes]:
    data = text.replace("\r\n", "\n").encode("utf-8")
    if data.isascii() and all(len(line) <= _LINE for line in data.split(b"\n")):
        cte, body = "7bit", data
    else:
        cte, body = "quoted-printable", binascii.b2a_qp(data, istext=True)
    return [
        f'Content-Type: {content_type}; charset="utf-8"'.encode(),
        f"Content-Transfer-Encoding: {cte}".encode(),
        b"",
        body.replace(b"\n", _CRLF),
    ]


def _base64_part(headers: list[str], content: bytes) -> list[bytes]:
    body = base64.encodebytes(content).replace(b"\n", _CRLF)
    return [*(h.encode() for h in headers), b"Content-Transfer-Encoding: base64", b"", body]


def _params(params: tuple[tuple[str, str], ...]) -> str:
    return "".join(f'; {name}="{header_safe(value)}"' for name, value in params)


def _boundary() -> str:
    # Never in a body: quoted-printable writes "=" as "=3D", base64 has "=" only at the end.
    return f"=={secrets.token_hex(12)}=="  # short enough for one header line


def build_raw(
    envelope: Envelope,
    text: str,
    html: str,
    *,
    inline_calendar: tuple[bytes, str] | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> bytes:
    """What `build` builds, as the bytes that go to the SMTP server (CRLF line ends)."""
    alternative = _boundary()
    parts = [
        _text_part("text/plain", text),
        _text_part("text/html", html),
    ]
    if inline_calendar is not None:
        ics, method = inline_calendar
        params = _params((("method", method), ("charset", "UTF-8")))
        parts.append(_base64_part([f"Content-Type: text/calendar{params}"], ics))
    body = _multipart(alternative, parts)
    content_type = f'multipart/alternative; boundary="{alternative}"'
    if attachments:
        mixed = _boundary()
        outer = [[f"Content-Type: {content_type}".encode(), b"", body]]
        for a in attachments:
            filename = header_safe(a.filename)
            if not filename.isascii():
                raise ValueError(f"an attachment name needs RFC 2231, not written: {filename!r}")
            outer.append(
                _base64_part(
                    [
                        f"Content-Type: {a.maintype}/{a.subtype}{_params(a.params)}",
                        f'Content-Disposition: attachment; filename="{filename}"',
                    ],
                    a.content,
                )
            )
        body = _multipart(mixed, outer)
        content_type = f'multipart/mixed; boundary="{mixed}"'
    headers = [
        f"From: {address(envelope.from_name, envelope.from_addr)}",
        f"Reply-To: {address(envelope.reply_to_name, envelope.reply_to_addr)}",
        f"To: {address(envelope.to_name, envelope.to_addr)}",
        f"Subject: {_subject(envelope.subject)}",
        f"Date: {format_datetime(envelope.date)}",
        f"Message-ID: {header_safe(envelope.message_id)}",
        "Auto-Submitted: auto-generated",
        "X-Auto-Response-Suppress: OOF, AutoReply",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
        f"Content-Language: {header_safe(envelope.language)}",
    ]
    # Folded values continue after "\n " (as `address` writes them): CRLF there too.
    head = "\r\n".join(h.replace("\n ", "\r\n ") for h in headers)
    return head.encode("ascii") + _CRLF + _CRLF + body


def _multipart(boundary: str, parts: list[list[bytes]]) -> bytes:
    out: list[bytes] = []
    for lines in parts:
        out.append(f"--{boundary}".encode())
        out.append(_CRLF.join(lines))
    out.append(f"--{boundary}--".encode())
    return _CRLF.join(out) + _CRLF
