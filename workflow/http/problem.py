"""What the HTTP side answers for a refusal: its own `Problem`s, and the status and headers
of each domain error (workflow/errors.py). The API (workflow/http/problem_details.py) and the pages
(workflow/web/deps.py) both answer from here."""

from http import HTTPStatus
from typing import Any

from workflow.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionRequired,
    RuleError,
    VersionConflict,
)


class Problem(Exception):
    """Raise from the HTTP layer to answer with a problem document of this status."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.errors = errors
        self.headers = headers


# What each domain error answers; a subclass answers as the nearest class listed.
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    VersionConflict: 412,
    PreconditionRequired: 428,
    Invalid: 422,
    RuleError: 422,
    DomainError: 422,
}
# Where the API says in its own words how to send what the workflow needs.
_SAID_OVER_HTTP: dict[type[DomainError], str] = {
    PreconditionRequired: "send the version you edited as If-Match (or 'version') "
    "so no change is lost",
}


def status_of(exc: DomainError) -> int:
    return next(STATUS_OF[c] for c in type(exc).__mro__ if c in STATUS_OF)


def headers_of(exc: DomainError) -> dict[str, str]:
    """A version conflict tells the current version, as the ETag a retry sends as If-Match."""
    return {"ETag": f'"{exc.current}"'} if isinstance(exc, VersionConflict) else {}


def detail_of(exc: DomainError) -> str:
    return _SAID_OVER_HTTP.get(type(exc), exc.detail)
