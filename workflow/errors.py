"""Errors a workflow raises for its caller; the API turns them into problem details."""

from http import HTTPStatus
from typing import Any


class Problem(Exception):
    """Raise from anywhere in a request to answer with a problem document."""

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


def not_found(what: str, ident: object) -> Problem:
    return Problem(404, f"{what} {ident} does not exist")


def forbidden(detail: str = "you may not do this in this forum") -> Problem:
    return Problem(403, detail)


def version_conflict(current: int) -> Problem:
    return Problem(
        412,
        f"this was changed meanwhile (now at version {current}); "
        "reload it and apply your change again",
        headers={"ETag": f'"{current}"'},
    )
