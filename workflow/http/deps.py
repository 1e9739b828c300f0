"""Request dependencies: the database unit of work, the caller, and optimistic concurrency."""

import asyncio
import hmac
import re
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPBearer
from pydantic import BeforeValidator
from sqlmodel import Session as DBSession
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from workflow.auth import ADMIN, Principal, principal_for_token
from workflow.config import get_settings
from workflow.db import get_engine
from workflow.http.problem import Problem
from workflow.schemas import Moment, wire_flag, wire_whole_number

_UNIT_OF_WORK = "workflow.unit_of_work"


def unit_of_work(request: HTTPConnection) -> DBSession:
    """The request's unit of work, made on first use. Opening it touches no connection, so it
    is made on the event loop; CloseUnitOfWork closes it once the answer is sent."""
    db = request.scope.get(_UNIT_OF_WORK)
    if db is None:
        db = request.scope[_UNIT_OF_WORK] = DBSession(get_engine(), expire_on_commit=False)
    return db


async def get_db(request: Request) -> DBSession:
    """The unit of work as a dependency. A plain one, not one with yield: FastAPI's context
    manager and cancel scope for one cost more per request than the rest of a read on the
    event loop."""
    return unit_of_work(request)


async def close(db: DBSession) -> None:
    """Roll back and return a connection still held (a read, or a failed change) in a worker
    thread; after a commit closing is plain bookkeeping, done on the event loop."""
    if db.in_transaction():
        # Shielded: a cancelled request still gives its connection back.
        await asyncio.shield(run_in_threadpool(db.close))
    else:
        db.close()


class CloseUnitOfWork:
    """Closes the unit of work a request opened (get_db), however its answer ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            db = scope.pop(_UNIT_OF_WORK, None)
            if db is not None:
                await close(db)


class BearerToken(HTTPBearer):
    """The caller, from `Authorization: Bearer …`: the API's security scheme in the document,
    and the one dependency that reads the header and finds who is behind it (one dependency
    rather than a scheme, a unit of work and a lookup each resolved by FastAPI on every
    request). The administrator token is recognised on the event loop; any other token is
    looked up in the database in a worker thread."""

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]  # the principal, not the credentials
        credentials = await super().__call__(request)
        given = credentials.credentials if credentials is not None else ""
        if given and len(given) <= 200:
            admin_token = get_settings().admin_token.get_secret_value()
            if admin_token and hmac.compare_digest(given.encode(), admin_token.encode()):
                return ADMIN
            db = unit_of_work(request)
            principal = await run_in_threadpool(principal_for_token, db, given, "")
            if principal is not None:
                return principal
        raise Problem(
            401,
            "a valid API token is needed: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


get_principal = BearerToken(
    auto_error=False,
    scheme_name="HTTPBearer",  # the document's name for it, as API clients know it
    description="An API token: `Authorization: Bearer wf_…`",
)


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def if_match(
    if_match: Annotated[
        str | None,
        Header(description='The version you edited, as returned in ETag (e.g. "3").'),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    m = _ETAG.match(if_match)
    if m is None:
        raise Problem(412, 'If-Match must be the ETag you read, for example "3"')
    return int(m.group(1))


def expected_version(header: int | None, body: int | None) -> int | None:
    if header is not None and body is not None and header != body:
        raise Problem(422, "If-Match and 'version' disagree")
    return header if header is not None else body


DB = Annotated[DBSession, Depends(get_db)]
Caller = Annotated[Principal, Depends(get_principal)]
IfMatch = Annotated[int | None, Depends(if_match)]
# The validator after Query/Path: the document keeps the bounds as minimum and maximum.
_digits = BeforeValidator(wire_whole_number)
Limit = Annotated[int, Query(ge=1, le=200), _digits]
Offset = Annotated[int, Query(ge=0, le=1_000_000), _digits]

# Row ids are 32-bit in the database: anything outside is refused with 422 at the edge.
# Only the digits 0-9: not "5.0", "+5", "5_0" or "²", which pydantic would otherwise read.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID), _digits]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID), _digits]
QueryFlag = Annotated[bool | None, Query(), BeforeValidator(wire_flag)]
QueryMoment = Annotated[
    Moment | None,
    Query(description="ISO 8601, e.g. 2027-03-29T14:00:00+02:00; UTC if no offset"),
]
