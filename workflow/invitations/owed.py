"""What each participant is owed so their calendar matches the session: a pure function.

Level-triggered: it compares what the calendar should show now with the last calendar mail
that person was sent (or is about to be sent), so three quick reschedules coalesce into what
is owed at the moment it runs.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from workflow.invitations.view import MailKind, Method


@dataclass(frozen=True)
class LastSent:
    method: str  # REQUEST | CANCEL
    sequence: int


@dataclass(frozen=True)
class ParticipantState:
    person_id: int
    active: bool  # False once removed from the session
    last: LastSent | None  # the latest calendar mail owed to them that is not superseded


@dataclass(frozen=True)
class Owed:
    person_id: int
    kind: MailKind
    method: Method
    sequence: int


def owed(status: str, sequence: int, participants: Iterable[ParticipantState]) -> list[Owed]:
    """What to send for a session in `status` at `sequence`. A held session owes nothing."""
    out: list[Owed] = []
    for p in participants:
        last = p.last
        has_event = last is not None and last.method == Method.request
        if status == "cancelled":
            if has_event:
                out.append(Owed(p.person_id, MailKind.cancellation, Method.cancel, sequence))
        elif status == "scheduled":
            if p.active and not has_event:
                out.append(Owed(p.person_id, MailKind.invitation, Method.request, sequence))
            elif p.active and last is not None and last.sequence < sequence:
                out.append(Owed(p.person_id, MailKind.update, Method.request, sequence))
            elif not p.active and has_event:
                out.append(Owed(p.person_id, MailKind.removal, Method.cancel, sequence))
    return out


def delivery_key(session_id: int, person_id: int, method: str, sequence: int) -> str:
    """One calendar mail per session, person, method and sequence: ever."""
    return f"calendar:{session_id}:{person_id}:{method}:{sequence}"
