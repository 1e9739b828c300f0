"""Calendar replies as mail clients write them (tests/fixtures/replies), filled in for a
session and a participant, and the tests' own IMAP server (dovecot, started by .ci/run)."""

import base64
import imaplib
import os
import quopri
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests import services

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
CLIENTS = ("outlook", "google", "apple", "thunderbird")
NOT_REPLIES = ("out_of_office", "bounce", "words")

IMAP_HOST = "127.0.0.1"
IMAP_PORT = int(os.environ.get("WORKFLOW_TEST_IMAP_PORT", "10143"))
LMTP_PORT = int(os.environ.get("WORKFLOW_TEST_LMTP_PORT", "10024"))
IMAP_USER = os.environ.get("WORKFLOW_TEST_IMAP_USER", "replies@forum.test")
IMAP_PASSWORD = os.environ.get("WORKFLOW_TEST_IMAP_PASSWORD", "replies-secret")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _fill(text: str, values: dict[str, str]) -> str:
    """Each {name} a value is given for, filled in; any other brace stays as written."""
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: values.get(m[1], m[0]), text)


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def render(
    client: str,
    *,
    uid: str,
    attendee: str,
    attendee_name: str,
    reply_address: str,
    organizer_name: str,
    starts_at: datetime,
    sequence: int = 0,
    message_id: str | None = None,
) -> bytes:
    """The raw message `client` sends when `attendee` answers the session `uid`."""
    local = ZoneInfo("Europe/Brussels")
    ends_at = starts_at + timedelta(hours=2)
    values = {
        "uid": uid,
        "sequence": str(sequence),
        "attendee": attendee,
        "attendee_mixed_case": attendee[:1].upper() + attendee[1:].replace("@e", "@E"),
        "attendee_name": attendee_name,
        "reply_address": reply_address,
        "organizer_name": organizer_name,
        "message_id": message_id or f"<{uuid.uuid4().hex}@{client}.example.net>",
        "dtstamp": "20270301T101500Z",
        "start_local": starts_at.astimezone(local).strftime("%Y%m%dT%H%M%S"),
        "end_local": ends_at.astimezone(local).strftime("%Y%m%dT%H%M%S"),
        "start_utc": starts_at.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ"),
        "end_utc": ends_at.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ"),
    }
    ics_path = FIXTURES / f"{client}.ics"
    if ics_path.is_file():
        ics = _crlf(_fill(ics_path.read_text(encoding="utf-8"), values)).encode()
        values["calendar"] = ics.decode().rstrip("\r\n")
        values["calendar_base64"] = _b64(ics)
        values["calendar_qp"] = quopri.encodestring(ics).decode()
        values["text_base64"] = _b64(f"{attendee_name} has tentatively accepted.\n".encode())
    text = (FIXTURES / f"{client}.eml").read_text(encoding="utf-8")
    return _crlf(_fill(text, values)).encode()


def require_imap() -> None:
    try:
        conn = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=3)
        conn.login(IMAP_USER, IMAP_PASSWORD)
        conn.logout()
    except (OSError, imaplib.IMAP4.error) as exc:
        services._unavailable(
            f"the test IMAP server on {IMAP_HOST}:{IMAP_PORT} (dovecot; .ci/dovecot starts it)",
            exc,
        )


def imap() -> imaplib.IMAP4:
    conn = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=10)
    conn.login(IMAP_USER, IMAP_PASSWORD)
    return conn


def new_folders() -> tuple[str, str, str]:
    """An inbox, processed and secretariat folder of the test's own in the test mailbox."""
    name = f"t{uuid.uuid4().hex[:10]}"
    folders = (name, f"{name}/Processed", f"{name}/Secretariat")
    conn = imap()
    for f in folders:
        conn.create(f'"{f}"')
    conn.logout()
    return folders


def in_folder(folder: str) -> list[tuple[bytes, bytes]]:
    """(flags, raw message) of each message in `folder`, without marking any \\Seen."""
    conn = imap()
    conn.select(f'"{folder}"', readonly=True)
    _, data = conn.uid("SEARCH", None, "ALL")
    found = []
    for uid in (data[0] or b"").split():
        _, parts = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
        # The message with its flags is the (header, literal) pair; a flag change the poller
        # makes meanwhile may come as a separate untagged FETCH line beside it.
        header, raw = next(p for p in parts if isinstance(p, tuple))
        found.append((header, raw))
    conn.logout()
    return found
