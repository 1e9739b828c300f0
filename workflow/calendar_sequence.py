"""When a session's calendar SEQUENCE rises: only when what a participant's calendar shows
changed (RFC 5545 3.8.7.4), so clients take the new REQUEST over the one they hold, and a
change they cannot see (an outcome, a note) sends nothing.

What a calendar shows: the fields of rules.CALENDAR_FIELDS, the agenda (in the DESCRIPTION)
and the attendees (who is invited, who chairs). Every workflow that changes one of them
calls `raise_if_changed`, and nothing else sets the sequence.
"""

from collections.abc import Mapping

from workflow import rules
from workflow.models import MeetingSession


def shown(session: MeetingSession) -> dict[str, object]:
    """The session's fields a calendar shows, to compare after a change."""
    return {f: getattr(session, f) for f in rules.CALENDAR_FIELDS}


def raise_if_changed(
    session: MeetingSession,
    before: Mapping[str, object] | None = None,
    *,
    agenda: bool = False,
    attendees: bool = False,
) -> bool:
    """Raise the session's SEQUENCE by one if what its calendar shows changed: a field
    compared with `before` (a `shown(session)` from before the change), or the agenda or the
    attendees, as the caller says. Returns whether it rose."""
    fields = before is not None and rules.calendar_changed(dict(before), shown(session))
    if fields or agenda or attendees:
        session.sequence += 1
        return True
    return False
