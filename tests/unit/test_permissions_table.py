import pytest

from workflow.permissions import Action, allowed

TABLE = {
    # role:        read,  manage, report own, report other's
    "co_chair": (True, True, True, True),
    "secretariat": (True, True, True, True),
    "member": (True, False, True, False),
    "observer": (True, False, False, False),
    None: (False, False, False, False),
}


@pytest.mark.parametrize("role", list(TABLE))
def test_role_table(role: str | None) -> None:
    read, manage, own, other = TABLE[role]
    assert allowed(role, Action.read) is read
    assert allowed(role, Action.manage) is manage
    assert allowed(role, Action.report_progress, owns_item=True) is own
    assert allowed(role, Action.report_progress, owns_item=False) is other


def test_an_unknown_role_is_allowed_nothing() -> None:
    assert not any(allowed("mayor", a, owns_item=True) for a in Action)
