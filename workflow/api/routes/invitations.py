"""Invitations in the API: answers, deliveries, calendar files and feeds."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from workflow import deliveries, sessions, spine
from workflow.api.routes import API_PREFIX
from workflow.directory import get_person
from workflow.errors import Forbidden
from workflow.http.deps import DB, Caller, IfMatch, Limit, Offset, PathId, QueryId, expected_version
from workflow.http.problem import Problem
from workflow.http.responses import calendar_file
from workflow.invitations import answers, counters
from workflow.models import CounterProposal, DeliveryStatus, Participant, PartStat, Person
from workflow.pagination import as_page
from workflow.permissions import Action
from workflow.schemas import (
    AnswerSummary,
    CounterRead,
    DeliveryRead,
    FeedIssued,
    Page,
    ParticipantRead,
    SessionRead,
)
from workflow.sessions import detail as sessions_detail
from workflow.sessions import get_session, participants, require

router = APIRouter(prefix=API_PREFIX, tags=["invitations"])


@router.get("/sessions/{session_id}/answers", response_model=AnswerSummary)
def session_answers(session_id: PathId, db: DB, caller: Caller) -> AnswerSummary:
    """Who accepted, may come, declined, or has not answered."""
    sessions.session_for(db, caller, session_id, Action.read)
    groups: dict[str, list[ParticipantRead]] = {s.value: [] for s in PartStat}
    for p in participants(db, session_id):
        groups[p.partstat].append(p)
    return AnswerSummary(**groups)


@router.get("/sessions/{session_id}/deliveries", response_model=Page[DeliveryRead])
def session_deliveries(
    session_id: PathId,
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    status: DeliveryStatus | None = None,
) -> dict:
    """Every mail owed for this session: pending, sent, failed (with the server's answer)."""
    sessions.session_for(db, caller, session_id, Action.manage)
    items, total = deliveries.of_session(db, session_id, status=status, limit=limit, offset=offset)
    return as_page(items, total, limit, offset)


@router.get("/deliveries", response_model=Page[DeliveryRead])
def list_deliveries(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    status: DeliveryStatus | None = None,
    person_id: QueryId = None,
    reason: Annotated[str | None, Query(max_length=30, pattern="^[a-z_]+$")] = None,
) -> dict:
    """Deliveries across the forums one manages (all of them for an administrator)."""
    items, total = deliveries.managed(
        db,
        caller,
        status=status,
        person_id=person_id,
        reason=reason,
        limit=limit,
        offset=offset,
    )
    return as_page(items, total, limit, offset)


@router.get(
    "/sessions/{session_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def session_calendar(session_id: PathId, db: DB, caller: Caller) -> Response:
    """The session as an .ics file to import (METHOD:PUBLISH)."""
    session = sessions.session_for(db, caller, session_id, Action.read)
    return calendar_file(db, session, caller)


@router.post(
    "/itip/reply",
    response_model=list[ParticipantRead],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    },
)
async def itip_reply(request: Request, db: DB, caller: Caller) -> list[ParticipantRead]:
    """Record a calendar client's answer (iTIP METHOD:REPLY), as forwarded by the mail
    system that receives replies to the secretariat's mailbox. Administrator tokens only."""
    if not caller.is_admin:
        raise Forbidden("only the mail system's administrator token submits replies")
    if "calendar" not in request.headers.get("content-type", ""):
        raise Problem(415, "send the reply as text/calendar")
    body = await request.body()
    recorded = answers.record_itip_reply(db, body)
    spine.commit(db)
    out = []
    for p in recorded:
        person = db.get(Person, p.person_id)
        out.append(
            ParticipantRead(
                person_id=p.person_id,
                name=person.name,  # type: ignore[union-attr]  # the person who answered exists
                email=person.email,  # type: ignore[union-attr]  # the person who answered exists
                role=p.role,
                partstat=p.partstat,
            )
        )
    return out


def _counter(proposal: CounterProposal, person: Person) -> CounterRead:
    return CounterRead.model_validate(
        {**proposal.model_dump(), "name": person.name, "email": person.email}
    )


@router.get("/sessions/{session_id}/proposals", response_model=list[CounterRead])
def session_proposals(session_id: PathId, db: DB, caller: Caller) -> list[CounterRead]:
    """New times participants proposed from their calendar (iTIP COUNTER), newest first."""
    session = get_session(db, session_id)
    require(caller, session.forum_id, Action.manage)
    return [_counter(p, person) for p, person in counters.proposals(db, session_id)]


@router.post("/sessions/{session_id}/proposals/{proposal_id}/decline", response_model=CounterRead)
def decline_proposal(
    session_id: PathId, proposal_id: PathId, db: DB, caller: Caller
) -> CounterRead:
    """Keep the session as it is; the participant is sent a METHOD:DECLINECOUNTER."""
    proposal = counters.decline(db, caller, session_id, proposal_id)
    person = db.get(Person, proposal.person_id)
    answer = _counter(proposal, person)  # type: ignore[arg-type]  # the proposer exists
    spine.commit(db)
    return answer


@router.post("/sessions/{session_id}/proposals/{proposal_id}/adopt", response_model=SessionRead)
def adopt_proposal(
    session_id: PathId,
    proposal_id: PathId,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    """Move the session to the proposed time: a reschedule like PATCH, with its If-Match."""
    session = counters.adopt(db, caller, session_id, proposal_id, expected_version(version, None))
    response.headers["ETag"] = f'"{session.version}"'
    answer = sessions_detail(db, session)
    spine.commit(db)
    return answer


def _own_or_admin(caller: Caller, person_id: int) -> None:
    if not (caller.is_admin or caller.person_id == person_id):
        raise Forbidden("only the person themselves or an administrator manages their feed")


@router.post("/people/{person_id}/calendar-feed", status_code=201, response_model=FeedIssued)
def issue_feed(person_id: PathId, db: DB, caller: Caller) -> FeedIssued:
    """A secret subscription URL with all the person's sessions. Issuing a new one revokes
    the previous URL."""
    person = get_person(db, person_id)
    _own_or_admin(caller, person_id)
    url = answers.issue_feed(db, person)
    spine.record(db, caller.actor, "feed.issued", person_id=person_id)
    spine.commit(db)
    return FeedIssued(url=url)


@router.delete("/people/{person_id}/calendar-feed", status_code=204)
def revoke_feed(person_id: PathId, db: DB, caller: Caller) -> Response:
    person = get_person(db, person_id)
    _own_or_admin(caller, person_id)
    answers.revoke_feed(person)
    spine.record(db, caller.actor, "feed.revoked", person_id=person_id)
    spine.commit(db)
    return Response(status_code=204)


__all__ = ["Participant", "router"]
