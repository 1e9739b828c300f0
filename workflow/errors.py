"""What a workflow refuses, and why: domain errors, with no HTTP in them.

Each error carries a message id and its parameters. The id is the English message as
written, a catalogue msgid with `%(name)s` placeholders (as the templates' messages are),
so the text can be said in the reader's language; `detail` is the English text. What each
class answers over HTTP (status, headers, problem document) is the API's business
(workflow/http/problem_details.py), and the pages catch the classes they handle themselves.
"""

from typing import ClassVar


class DomainError(Exception):
    """A workflow refused what it was asked: `msgid % params` says why, in English."""

    default: ClassVar[str] = "this cannot be done"

    def __init__(self, msgid: str | None = None, /, **params: object) -> None:
        self.msgid = msgid or self.default
        self.params = params
        self.detail = self.msgid % params if params else self.msgid
        super().__init__(self.detail)


class NotFound(DomainError):
    """What was named does not exist (or is not there for this caller to see)."""


class Forbidden(DomainError):
    """The caller may not do this."""

    default = "you may not do this in this forum"


class Conflict(DomainError):
    """This conflicts with what is stored: a duplicate, a closed session."""


class VersionConflict(DomainError):
    """The row was changed since the caller read it: `current` is its version now."""

    def __init__(self, current: int) -> None:
        super().__init__(
            "this was changed meanwhile (now at version %(current)s); "
            "reload it and apply your change again",
            current=current,
        )
        self.current = current


class PreconditionRequired(DomainError):
    """A change that needs the version the caller edited was asked without one."""

    default = "send the version you edited so no change is lost"


class Invalid(DomainError):
    """Input the workflow cannot act on, about no one field: nothing to change, an
    unreadable calendar reply."""


class RuleError(DomainError, ValueError):
    """A broken domain rule, about `field`. With `params`, the message is a catalogue
    message (`msgid % params`), so the API and the pages say it in the reader's language."""

    def __init__(
        self, detail: str, field: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        super().__init__(detail, **(params or {}))
        self.field = field
