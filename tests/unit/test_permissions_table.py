import pytest

from workflow.permissions import Action, allowed, person_edit_refusal

TABLE = {
    # role:        read,  manage, report own, report other's
    "co_chair": (True, True, True, True),
    "secretariat": (True, True, True, True),
    "member": (True, False, True, False),
    "observer": (True, False, True, False),
    None: (False, False, True, False),
}


@pytest.mark.parametrize("role", list(TABLE))
def test_role_table(role: str | None) -> None:
    read, manage, own, other = TABLE[role]
    assert allowed(role, Action.read) is read
    assert allowed(role, Action.manage) is manage
    assert allowed(role, Action.report_progress, owns_item=True) is own
    assert allowed(role, Action.report_progress, owns_item=False) is other


def test_an_unknown_role_is_allowed_nothing_but_its_own_items() -> None:
    assert not allowed("mayor", Action.read)
    assert not allowed("mayor", Action.manage)
    assert not allowed("mayor", Action.report_progress)


# The shared directory: who changes which field of a person ---------------------------------

# caller -> (is_admin, is_self, manages_any_forum, manages_a_forum_of_theirs, sits_in_a_forum)
CALLERS = {
    "administrator": (True, False, False, False, True),
    "themselves": (False, True, False, False, True),
    "themselves, a manager of their forum": (False, True, True, True, True),
    "a manager of their forum": (False, False, True, True, True),
    "a manager of another forum": (False, False, True, False, True),
    "a manager, they sit in no forum": (False, False, True, False, False),
    "a member of their forum": (False, False, False, False, True),
}
# caller -> may change (e-mail address, name and language, country and organisation)
DIRECTORY_TABLE = {
    "administrator": (True, True, True),
    "themselves": (True, True, False),
    "themselves, a manager of their forum": (True, True, True),
    "a manager of their forum": (False, True, True),
    "a manager of another forum": (False, False, False),
    "a manager, they sit in no forum": (False, True, True),
    "a member of their forum": (False, False, False),
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_directory_table(caller: str) -> None:
    admin, self_, manages_any, manages_theirs, sits = CALLERS[caller]

    def may(fields: set[str]) -> bool:
        return (
            person_edit_refusal(
                fields,
                is_admin=admin,
                is_self=self_,
                manages_any_forum=manages_any,
                manages_a_forum_of_theirs=manages_theirs,
                sits_in_a_forum=sits,
            )
            is None
        )

    email, name_language, country_organisation = DIRECTORY_TABLE[caller]
    assert may({"email"}) is email
    assert may({"name", "language"}) is name_language
    assert may({"country", "organisation_id"}) is country_organisation
    # A change is allowed as a whole or not at all.
    assert may({"email", "name"}) is (email and name_language)
