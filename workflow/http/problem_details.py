"""Every error is an RFC 9457 problem details document.

The workflows raise domain errors (workflow/errors.py), which say nothing of HTTP: each class
answers with the status and headers workflow/http/problem.py gives it, as a problem document.
A `Problem` is the HTTP layer's own refusal (a missing token, a malformed If-Match, too many
requests), with a status of its own."""

import logging
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow.errors import DomainError, RuleError
from workflow.http.deps import get_db, get_principal, if_match
from workflow.http.problem import Problem, detail_of, headers_of, status_of
from workflow.http.ratelimit import public_rate_limit
from workflow.i18n import accepted_language, say, validation_message

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _validation_errors(exc: RequestValidationError, language: str) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        out.append({"pointer": "/" + "/".join(loc), "detail": validation_message(e, language)})
    return out


def asked_language(request: Request) -> str:
    """The first of nl, fr, en in Accept-Language, in the client's order of preference."""
    return accepted_language(request.headers.get("accept-language", "")) or "en"


def rule_message(exc: DomainError, language: str) -> str:
    """A domain error in the reader's language (as written when the catalogue lacks it)."""
    detail = detail_of(exc)
    if detail != exc.detail:  # the API's own words for it
        return say(language, detail)
    return say(language, exc.msgid, exc.params)


def _is_connection_error(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            say(asked_language(request), exc.detail),
            title=exc.title,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(DomainError)
    async def _refused(request: Request, exc: DomainError) -> JSONResponse:
        detail = rule_message(exc, asked_language(request))
        return problem_response(request, status_of(exc), detail, headers=headers_of(exc) or None)

    @app.exception_handler(RuleError)
    async def _rule(request: Request, exc: RuleError) -> JSONResponse:
        detail = rule_message(exc, asked_language(request))
        errors = [{"pointer": f"/{exc.field}", "detail": detail}] if exc.field else None
        return problem_response(request, 422, detail, errors=errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc, asked_language(request))
        detail = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5])
        return problem_response(request, 422, detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity conflict on %s: %s", request.url.path, exc.orig)
        return problem_response(request, 409, "this conflicts with data that already exists")

    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: DataError) -> JSONResponse:
        # The edge validates ranges; this is the net under it (a number too large, say).
        log.warning("value refused by the database on %s: %s", request.url.path, exc.orig)
        return problem_response(request, 422, "a value is out of the range the service stores")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        log.warning("value out of range on %s: %s", request.url.path, exc)
        return problem_response(request, 422, "a value is out of the range the service stores")

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if _is_connection_error(exc):
            log.warning("database unavailable: %s", exc.orig)
            return problem_response(
                request,
                503,
                "the database is unavailable; try again shortly",
                headers={"Retry-After": "5"},
            )
        log.exception("database error on %s", request.url.path)
        return problem_response(request, 500, "an unexpected database error occurred")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(request, 500, "an unexpected error occurred")


# What the OpenAPI document says each operation answers besides success -------------------


class _PointedError(BaseModel):
    pointer: str = Field(description="JSON pointer to the field, e.g. /starts_at or /query/limit")
    detail: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every error of the API is answered."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[_PointedError] | None = Field(
        default=None, description="One entry per refused field."
    )


_MEANING = {
    400: "The request is malformed (an invalid Content-Length, say)",
    401: "No valid token",
    403: "Not allowed in this forum",
    404: "Not found",
    409: "Conflicts with what is stored (a duplicate, a closed session)",
    412: "Changed meanwhile: send the current version (If-Match)",
    413: "The request body is too large",
    415: "The body is not of a type this operation reads",
    422: "Invalid input or a broken domain rule, with a pointer to each field",
    428: "The version you edited is needed (If-Match or 'version')",
    429: "Too many requests from this address",
    503: "The database is unavailable; try again shortly",
}
_HEADERS = {
    401: {"WWW-Authenticate": "Bearer"},
    412: {"ETag": 'The current version, e.g. "4"'},
    429: {"Retry-After": "Seconds to wait"},
    503: {"Retry-After": "Seconds to wait"},
}
# Statuses no general rule can see: raised inside an operation's own workflow.
EXTRA_STATUSES: dict[str, set[int]] = {
    "update_session": {428},
    "adopt_proposal": {428},  # a reschedule: it needs the version edited
    "itip_reply": {415, 422},  # reads its text/calendar body itself
    "readyz": {503},
    "prometheus_metrics": {401},  # with WORKFLOW_METRICS_TOKEN set
}


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def statuses_of(route: APIRoute) -> set[int]:
    """The error statuses an operation can answer, from what it takes and depends on."""
    calls = set(_calls(route.dependant))
    body = route.body_field is not None
    params = body or bool(route.dependant.path_params or route.dependant.query_params)
    params = params or bool(route.dependant.header_params or route.dependant.cookie_params)
    found = {400, 413}  # the body size limit answers these on any request
    if params:
        found.add(422)
    if get_principal in calls:
        found |= {401, 403}
    if route.dependant.path_params or body:
        found.add(404)  # a row named in the path or the body that does not exist
    if route.methods & {"POST", "PUT", "PATCH", "DELETE"}:  # type: ignore[operator]  # always set
        found.add(409)  # the net under every write: a conflict with stored data
    versioned = body and "version" in getattr(
        route.body_field.field_info.annotation,  # type: ignore[union-attr]  # set when `body`
        "model_fields",
        {},
    )
    if if_match in calls or versioned:
        found.add(412)
    if public_rate_limit in calls:
        found.add(429)
    if get_db in calls or get_principal in calls:  # a token is looked up in the database
        found.add(503)
    return found | EXTRA_STATUSES.get(route.name, set())


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every operation, also inside included routers (which FastAPI may keep unflattened)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def document_problems(app: FastAPI) -> None:
    """Declare on every operation of the document each error status it can answer, as a
    problem details document; and put that document's schema in the components."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        content = dict(problem)
        response_class = getattr(route.response_class, "value", route.response_class)
        page = isinstance(response_class, type) and issubclass(response_class, HTMLResponse)
        if page or public_rate_limit in set(_calls(route.dependant)):
            # Behind a link in a mail: a person reads what is wrong, as a page.
            content["text/html"] = {"schema": {"type": "string"}}
        for status in sorted(statuses_of(route)):
            route.responses.setdefault(
                status,
                {
                    "description": f"{_MEANING[status]} (problem details)",
                    "content": content,
                    "headers": {
                        name: {"description": text, "schema": {"type": "string"}}
                        for name, text in _HEADERS.get(status, {}).items()
                    },
                },
            )
    make_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = make_document()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDocument"] = problem
        return app.openapi_schema  # type: ignore[return-value]  # make_document() has set it

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to customise it
