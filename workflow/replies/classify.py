"""What an inbound message is: pure, no I/O. A calendar reply (its iCalendar part), an
automatic answer, a bounce, or mail from a person with no calendar data."""

import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

# iTIP methods an attendee sends to the organizer (RFC 5546 1.4): the replies service reads.
ATTENDEE_METHODS = ("REPLY", "COUNTER", "REFRESH")
_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\s*$", re.MULTILINE)
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|absence|"
    r"automatisch antwoord|afwezig|réponse automatique|absent|abwesend)\b",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


@dataclass(frozen=True)
class Inbound:
    key: str  # Message-ID, or sha256:<hex> of the bytes
    kind: str  # reply | auto_reply | bounce | no_calendar | unreadable
    sender: str | None
    subject: str | None
    calendar: bytes | None = None  # the iCalendar data of a reply
    method: str | None = None
    reason: str | None = None


def message_key(raw: bytes, message: Message | None) -> str:
    mid = str(message.get("Message-ID", "") if message is not None else "").strip()
    if mid and len(mid) <= 290 and mid.isprintable():
        return mid
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _sender(message: Message) -> str | None:
    addresses = [a for _, a in getaddresses([str(message.get("From", ""))]) if "@" in a]
    return addresses[0].strip().lower()[:254] if addresses else None


def _calendar_parts(message: Message) -> list[tuple[bytes, str | None]]:
    """Each iCalendar part (text/calendar inline, or an .ics attachment such as Google's
    invite.ics, application/ics), with the METHOD it declares."""
    parts = []
    for part in message.walk():
        ctype = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if ctype not in ("text/calendar", "application/ics") and not name.endswith(".ics"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        found = _METHOD.search(payload.replace(b"\r\n", b"\n"))
        method = found[1].decode().upper() if found else None
        method = method or (str(part.get_param("method") or "").upper() or None)
        parts.append((payload, method))
    return parts


def _is_bounce(message: Message, sender: str | None) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    if sender and _BOUNCE_SENDER.match(sender):
        return True
    return str(message.get("Return-Path", "")).strip() == "<>"


def _is_auto_reply(message: Message) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    if str(message.get("X-Auto-Response-Suppress", "")).strip() and _AUTO_SUBJECT.match(
        str(message.get("Subject", ""))
    ):
        return True
    return bool(_AUTO_SUBJECT.match(str(message.get("Subject", ""))))


def classify(raw: bytes) -> Inbound:
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        sender = _sender(message)
        subject = " ".join(str(message.get("Subject", "")).split())[:300] or None
    except Exception as exc:  # anything a broken message makes the parser raise
        return Inbound(
            key=message_key(raw, None),
            kind="unreadable",
            sender=None,
            subject=None,
            reason=f"not a readable message: {exc.__class__.__name__}",
        )
    key = message_key(raw, message)
    if _is_bounce(message, sender):
        return Inbound(key, "bounce", sender, subject, reason="a delivery report")
    for payload, method in _calendar_parts(message):
        if method in ATTENDEE_METHODS:
            return Inbound(key, "reply", sender, subject, calendar=payload, method=method)
    if _is_auto_reply(message):
        return Inbound(key, "auto_reply", sender, subject, reason="an automatic answer")
    return Inbound(key, "no_calendar", sender, subject, reason="no calendar reply in it")
