"""The mail captured by the embedded SMTP server (`workflow up`), readable in the browser.

So a first-time user sees the invitations arrive without a mail program. Only in embedded
mode (settings.outbox_page): a real relay delivers the mail, and this page does not exist.
The capture holds every message of every person, sign-in links included, so each signed-in
person sees only the mail addressed to them (To or Cc), as their own mailbox would show it;
a message of someone else's is "not found", exactly like one that does not exist.

Everything is shown only to an administrator. Administrators act through API tokens (the
web has no administrator session), so here an administrator is a person who holds an
administrator token of their own that is not revoked (`workflow token create --email ...
--admin`, or `POST /api/v1/tokens` with `person_id` and `is_admin`).
"""

import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session as DBSession

from workflow import auth
from workflow.config import get_settings
from workflow.http.deps import DB
from workflow.http.problem import Problem
from workflow.web.deps import SignedIn, Visitor, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The names the capture server gives its files; nothing else is ever opened.
NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{12}\.eml$")
SHOWN = 200


@dataclass(frozen=True)
class Reader:
    """Whose mail a visitor reads in the capture: everyone's (an administrator), or theirs."""

    directory: Path
    address: str | None  # None: every message

    def may_read(self, message: EmailMessage) -> bool:
        if self.address is None:
            return True
        return self.address in addressed_to(message)


def addressed_to(message: EmailMessage) -> set[str]:
    """The mailboxes a captured message went to, lower-cased: the envelope's recipients as
    the capture server wrote them first (X-Envelope-To, bare addresses from SMTP RCPT TO),
    else its To and Cc. The envelope comes first because a display name in To is text a
    forum's manager can set, and must never be what decides who reads a sign-in link."""
    envelope = message.get_all("X-Envelope-To") or []
    values = [str(envelope[0])] if envelope else []
    if not values:
        values = [str(v) for h in ("To", "Cc") for v in (message.get_all(h) or [])]
    return {addr.strip().lower() for _, addr in getaddresses(values) if addr}


def _require(v: Visitor, db: DBSession) -> Reader:
    if not get_settings().outbox_page:
        raise Problem(404, "the outbox exists only when mail is captured locally")
    everything = auth.is_administrator(db, v.me.person_id)
    address = None if everything else v.person.email.lower()  # type: ignore[union-attr]  # signed-in pages have a person
    return Reader(get_settings().mail_capture_dir, address)


def _parse(path: Path, headers_only: bool = False) -> EmailMessage:
    parser = BytesParser(policy=email.policy.default)
    with path.open("rb") as f:
        return parser.parse(f, headersonly=headers_only)


def _date(message: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        return None


def _calendar(message: EmailMessage) -> EmailMessage | None:
    """The invite.ics attachment, else the inline calendar part."""
    parts = [
        p for p in message.walk() if p.get_content_type() in ("application/ics", "text/calendar")
    ]
    attached = [p for p in parts if p.get_filename()]
    return (attached or parts or [None])[0]  # type: ignore[list-item]  # [None]: neither found


def _message(reader: Reader, name: str) -> EmailMessage:
    path = reader.directory / name
    if not NAME.match(name) or not path.is_file():
        raise Problem(404, "no such captured message")
    message = _parse(path)
    if not reader.may_read(message):  # someone else's: as if it did not exist
        raise Problem(404, "no such captured message")
    return message


@router.get("/outbox")
def captured(v: SignedIn, db: DB) -> HTMLResponse:
    reader = _require(v, db)
    directory = reader.directory
    paths = sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []
    rows: list[dict[str, Any]] = []
    if reader.address is None:  # an administrator: the latest of everything
        total, candidates = len(paths), paths[:SHOWN]
    else:  # one's own: every file's headers are read to find them
        total, candidates = 0, paths
    for path in candidates:
        if not NAME.match(path.name):
            continue
        m = _parse(path, headers_only=True)
        if reader.address is not None:
            if not reader.may_read(m):
                continue
            total += 1
        if len(rows) < SHOWN:
            rows.append(
                {"name": path.name, "date": _date(m), "to": m["To"], "subject": m["Subject"]}
            )
    return render(
        v,
        "outbox.html",
        rows=rows,
        total=total,
        shown=SHOWN,
        everything=reader.address is None,
    )


@router.get("/outbox/{name}")
def captured_message(name: str, v: SignedIn, db: DB) -> HTMLResponse:
    m = _message(_require(v, db), name)
    body = m.get_body(("plain",))
    return render(
        v,
        "outbox_message.html",
        name=name,
        message=m,
        date=_date(m),
        text=body.get_content() if body is not None else "",
        has_calendar=_calendar(m) is not None,
    )


@router.get("/outbox/{name}/invite.ics")
def captured_calendar(name: str, v: SignedIn, db: DB) -> Response:
    part = _calendar(_message(_require(v, db), name))
    if part is None:
        raise Problem(404, "this message has no calendar data")
    content = part.get_content()
    return Response(
        content.encode() if isinstance(content, str) else content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invite.ics"'},
    )
