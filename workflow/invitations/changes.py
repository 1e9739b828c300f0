"""What changed for one person: what their last calendar mail showed against the session now.

Pure: a calendar mail's content is kept as a compact JSON snapshot with its delivery (`told`),
and an update compares the snapshot of the last mail the person actually received with the
session as the update shows it. Superseded mails were never sent, so several changes made
before a mail went out come out as one list.
"""

import hashlib
from datetime import datetime
from typing import Any

from workflow.invitations.view import CalendarSession, Changes, Told

# The order a mail lists them in.
FIELDS = ("time", "place", "online", "title", "agenda", "co_chairs")


def _key(email: str) -> str:
    # Co-chairs are compared, never shown from the snapshot: a digest keeps other people's
    # addresses out of this person's rows.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def told(session: CalendarSession) -> Told:
    """What a calendar mail about `session` shows."""
    return Told(
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        timezone=session.timezone,
        location=session.location or None,
        online_url=session.online_url or None,
        agenda=tuple((line.title, line.kind) for line in session.agenda),
        co_chairs=tuple(_key(a.email) for a in session.attendees if a.role == "co_chair"),
    )


def to_json(t: Told) -> dict[str, Any]:
    return {
        "title": t.title,
        "starts_at": t.starts_at.isoformat(),
        "ends_at": t.ends_at.isoformat(),
        "timezone": t.timezone,
        "location": t.location,
        "online_url": t.online_url,
        "agenda": [[title, kind] for title, kind in t.agenda],
        "co_chairs": list(t.co_chairs),
    }


def from_json(data: Any) -> Told | None:
    """The snapshot back, or None when there is none or it cannot be read."""
    if not isinstance(data, dict):
        return None
    try:
        return Told(
            title=str(data["title"]),
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            timezone=str(data["timezone"]),
            location=data.get("location"),
            online_url=data.get("online_url"),
            agenda=tuple((str(title), str(kind)) for title, kind in data.get("agenda", ())),
            co_chairs=tuple(str(k) for k in data.get("co_chairs", ())),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _removed(old: list[str], new: list[str]) -> tuple[str, ...]:
    """The titles of `old` not in `new`, counting repeats (two items may share a title)."""
    left = list(new)
    out = []
    for title in old:
        if title in left:
            left.remove(title)
        else:
            out.append(title)
    return tuple(out)


def changes(before: Told, after: Told) -> Changes | None:
    """What changed from `before` to `after`, or None when nothing a person sees did."""
    what = []
    if (before.starts_at, before.ends_at, before.timezone) != (
        after.starts_at,
        after.ends_at,
        after.timezone,
    ):
        what.append("time")
    if before.location != after.location:
        what.append("place")
    if before.online_url != after.online_url:
        what.append("online")
    if before.title != after.title:
        what.append("title")
    old = [title for title, _ in before.agenda]
    new = [title for title, _ in after.agenda]
    added, removed = _removed(new, old), _removed(old, new)
    if before.agenda != after.agenda:
        what.append("agenda")
    if sorted(before.co_chairs) != sorted(after.co_chairs):
        what.append("co_chairs")
    if not what:
        return None
    return Changes(
        before=before,
        after=after,
        what=tuple(what),
        agenda_added=added,
        agenda_removed=removed,
    )
