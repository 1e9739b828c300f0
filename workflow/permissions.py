"""Who may do what in a forum: a pure table, tested as a matrix."""

from enum import StrEnum

from workflow.vocabulary import Role


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


# The shared directory -----------------------------------------------------------------------
#
# One person can sit in several forums, so a record in the directory is not one forum's to
# change: a person's e-mail address is where their sign-in links go, so it is changed only by
# an administrator or by the person themselves. Other fields are kept by the managers of a
# forum the person sits in, or, for someone who sits in no forum yet (an expert just added to
# the directory, to be invited or made a member), by any forum's manager.

SELF_FIELDS = frozenset({"name", "language"})


def person_edit_refusal(
    fields: set[str],
    *,
    is_admin: bool,
    is_self: bool,
    manages_any_forum: bool,
    manages_a_forum_of_theirs: bool,
    sits_in_a_forum: bool,
) -> str | None:
    """Why a change to these fields of a person is refused, or None when it is allowed."""
    if is_admin:
        return None
    if "email" in fields and not is_self:
        return "only an administrator or the person themselves changes an e-mail address"
    others = fields - {"email"}
    if is_self and others <= SELF_FIELDS:
        return None
    if manages_a_forum_of_theirs or (manages_any_forum and not sits_in_a_forum):
        return None
    if is_self:
        return "you may change your own name, language and e-mail address only"
    if manages_any_forum:
        return "you may edit only people who sit in a forum you manage"
    return "only administrators, co-chairs and secretariats edit the directory"
