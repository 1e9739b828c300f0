"""Who may do what in a forum: a pure table, tested as a matrix."""

from enum import StrEnum

from workflow.models import Role


class Action(StrEnum):
    read = "read"  # the forum, its members, sessions, action items, events
    manage = "manage"  # sessions, agenda, action items, memberships, forum settings
    report_progress = "report_progress"  # status and indicator value of an item one owns


MANAGERS = frozenset({Role.co_chair, Role.secretariat})
READERS = frozenset({Role.co_chair, Role.secretariat, Role.member, Role.observer})


def allowed(role: str | None, action: Action, *, owns_item: bool = False) -> bool:
    """May someone with `role` in a forum (None: not a member) do `action` there?

    An action item's owner reports its progress whatever their role: owners are often
    experts or partner organisations that are not members of the forum that decided it.
    """
    if action is Action.read:
        return role in READERS
    if action is Action.manage:
        return role in MANAGERS
    if action is Action.report_progress:
        return owns_item or role in MANAGERS
    return False
