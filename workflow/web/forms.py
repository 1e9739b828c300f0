"""Reading the fields of a posted form, the same way on every page."""

from typing import Any

from workflow import rules
from workflow.http.problem import Problem
from workflow.web.deps import form_id


def text(form: Any, name: str) -> str:
    """The field stripped of surrounding space; empty when it is missing or not text."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def version(form: Any) -> int:
    """The version the form was made for (the hidden `version` field)."""
    found = form_id(text(form, "version"))
    if found is None:
        raise Problem(422, "the form lost the version it was made for; reload the page")
    return found


def number(form: Any, name: str) -> float | None:
    """A number as Belgians write it ('12,5', '12.000,5', '12 000,5', '12000.5'); empty is
    no value (workflow.rules.read_number)."""
    return rules.read_number(text(form, name), name)


def ids(values: list[Any]) -> list[int]:
    """The people chosen in a group of checkboxes; anything else is refused."""
    out = []
    for value in values:
        person_id = form_id(value)
        if person_id is None:
            raise rules.RuleError("choose people from the list", "participant_ids")
        out.append(person_id)
    return out


def ticked(form: Any, name: str) -> set[int]:
    """The ids ticked in a group of checkboxes, to tick them again when the form comes back."""
    return {i for i in (form_id(x) for x in form.getlist(name)) if i is not None}
