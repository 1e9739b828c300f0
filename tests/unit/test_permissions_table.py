import pytest

from workflow.permissions import Action, allowed

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
