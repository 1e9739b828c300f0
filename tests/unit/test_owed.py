from workflow.invitations.owed import LastSent, Owed, ParticipantState, owed
from workflow.invitations.view import MailKind, Method

REQ, CANCEL = Method.request, Method.cancel


def p(pid: int, active: bool = True, last: tuple[str, int] | None = None) -> ParticipantState:
    return ParticipantState(pid, active, LastSent(*last) if last else None)


def test_new_session_invites_everyone_once() -> None:
    assert owed("scheduled", 0, [p(1), p(2)]) == [
        Owed(1, MailKind.invitation, REQ, 0),
        Owed(2, MailKind.invitation, REQ, 0),
    ]
    assert owed("scheduled", 0, [p(1, last=(REQ, 0))]) == []


def test_a_change_owes_an_update_at_the_new_sequence_only() -> None:
    # Three quick reschedules: whoever got sequence 0 is owed sequence 3, not 1, 2 and 3.
    assert owed("scheduled", 3, [p(1, last=(REQ, 0))]) == [Owed(1, MailKind.update, REQ, 3)]


def test_cancellation_goes_to_everyone_who_has_the_event() -> None:
    got = owed("cancelled", 4, [p(1, last=(REQ, 3)), p(2), p(3, active=False, last=(CANCEL, 2))])
    assert got == [Owed(1, MailKind.cancellation, CANCEL, 4)]


def test_removed_participant_gets_a_cancel_the_others_an_update() -> None:
    got = owed("scheduled", 1, [p(1, last=(REQ, 0)), p(2, active=False, last=(REQ, 0))])
    assert got == [Owed(1, MailKind.update, REQ, 1), Owed(2, MailKind.removal, CANCEL, 1)]
    # Removed before anything was sent: nothing at all.
    assert owed("scheduled", 1, [p(3, active=False)]) == []


def test_re_added_after_a_cancel_is_invited_again() -> None:
    assert owed("scheduled", 2, [p(1, last=(CANCEL, 1))]) == [Owed(1, MailKind.invitation, REQ, 2)]


def test_a_held_session_owes_nothing() -> None:
    assert owed("held", 5, [p(1, last=(REQ, 1)), p(2)]) == []
