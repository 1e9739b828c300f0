"""The mail captured by the embedded SMTP server (`workflow up`), readable in the browser.

So a first-time user sees the invitations arrive without a mail program. Only in embedded
mode (settings.outbox_page): a real relay delivers the mail, and this page does not exist.
Every message of every person is here, sign-in links included, so it is for the forums'
co-chairs and secretariats only, like the files themselves on the machine.
"""

import email.policy
import re
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from workflow.config import get_settings
from workflow.errors import Problem, forbidden
from workflow.web.deps import SignedIn, Visitor, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The names the capture server gives its files; nothing else is ever opened.
NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{12}\.eml$")
SHOWN = 200


def _require(v: Visitor) -> Path:
    if not get_settings().outbox_page:
        raise Problem(404, "the outbox exists only when mail is captured locally")
    if not v.me.manages_any_forum:
        raise forbidden()
    return get_settings().mail_capture_dir


def _parse(path: Path, headers_only: bool = False) -> EmailMessage:
    parser = BytesParser(policy=email.policy.default)
    with path.open("rb") as f:
        return parser.parse(f, headersonly=headers_only)  # type: ignore[return-value]


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
    return (attached or parts or [None])[0]  # type: ignore[return-value]


def _message(directory: Path, name: str) -> EmailMessage:
    path = directory / name
    if not NAME.match(name) or not path.is_file():
        raise Problem(404, "no such captured message")
    return _parse(path)


@router.get("/outbox")
def captured(v: SignedIn) -> HTMLResponse:
    directory = _require(v)
    paths = sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []
    rows: list[dict[str, Any]] = []
    for path in paths[:SHOWN]:
        if NAME.match(path.name):
            m = _parse(path, headers_only=True)
            rows.append(
                {"name": path.name, "date": _date(m), "to": m["To"], "subject": m["Subject"]}
            )
    return render(v, "outbox.html", rows=rows, total=len(paths), shown=SHOWN)


@router.get("/outbox/{name}")
def captured_message(name: str, v: SignedIn) -> HTMLResponse:
    m = _message(_require(v), name)
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
def captured_calendar(name: str, v: SignedIn) -> Response:
    part = _calendar(_message(_require(v), name))
    if part is None:
        raise Problem(404, "this message has no calendar data")
    content = part.get_content()
    return Response(
        content.encode() if isinstance(content, str) else content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invite.ics"'},
    )
