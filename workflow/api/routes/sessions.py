from datetime import UTC, datetime

from fastapi import APIRouter, Response

from workflow import action_items, sessions, spine
from workflow.api.json import json_answer, validated_answer
from workflow.api.routes import API_PREFIX
from workflow.http.deps import (
    DB,
    Caller,
    IfMatch,
    Limit,
    Offset,
    PathId,
    QueryId,
    QueryMoment,
    expected_version,
)
from workflow.models import MeetingSession, SessionStatus
from workflow.pagination import as_page
from workflow.permissions import Action
from workflow.schemas import (
    ActionItemCreate,
    ActionItemRead,
    AgendaItemCreate,
    AgendaItemRead,
    AgendaItemUpdate,
    EventRead,
    Page,
    ParticipantAdd,
    ParticipantRead,
    SessionCancel,
    SessionCreate,
    SessionRead,
    SessionSummary,
    SessionUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["sessions"])

SessionPage = Page[SessionSummary]


def _with_etag(db: DB, session: MeetingSession, response: Response) -> SessionRead:
    response.headers["ETag"] = f'"{session.version}"'
    return sessions.detail(db, session)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.post("/forums/{forum_id}/sessions", status_code=201, response_model=SessionRead)
def schedule_session(
    forum_id: PathId, data: SessionCreate, db: DB, caller: Caller, response: Response
) -> SessionRead:
    """Schedule a session. Participants are invited by mail once this is committed."""
    session = sessions.schedule(db, caller, forum_id, data)
    # The answer is made before the commit: if making it fails, nothing is stored.
    answer = _with_etag(db, session, response)
    spine.commit(db)
    response.headers["Location"] = f"/api/v1/sessions/{session.id}"
    return answer


@router.get("/sessions", response_model=SessionPage)
def list_sessions(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    forum_id: QueryId = None,
    status: SessionStatus | None = None,
    starts_after: QueryMoment = None,
    starts_before: QueryMoment = None,
) -> Response:
    items, total = sessions.list_session_summaries(
        db,
        caller,
        forum_id=forum_id,
        status=status,
        starts_after=_aware(starts_after),
        starts_before=_aware(starts_before),
        limit=limit,
        offset=offset,
    )
    answer = validated_answer(
        SessionPage, {"items": items, "total": total, "limit": limit, "offset": offset}
    )
    db.close()  # the page is written: its connection goes back now, from this thread
    return answer


@router.get("/sessions/{session_id}", response_model=SessionRead)
def read_session(session_id: PathId, db: DB, caller: Caller, response: Response) -> SessionRead:
    session = sessions.session_for(db, caller, session_id, Action.read)
    return _with_etag(db, session, response)


@router.patch("/sessions/{session_id}", response_model=SessionRead)
def update_session(
    session_id: PathId,
    data: SessionUpdate,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    """Reschedule or change a session. Needs the version you edited (If-Match or `version`):
    412 if someone changed it meanwhile, 428 if you did not say."""
    session = sessions.update(db, caller, session_id, data, expected_version(version, data.version))
    answer = _with_etag(db, session, response)  # before the commit, as above
    spine.commit(db)
    return answer


@router.post("/sessions/{session_id}/cancel", response_model=SessionRead)
def cancel_session(
    session_id: PathId,
    data: SessionCancel,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    session = sessions.cancel(
        db, caller, session_id, data.reason, expected_version(version, data.version)
    )
    spine.commit(db)
    return _with_etag(db, session, response)


@router.get("/sessions/{session_id}/participants", response_model=list[ParticipantRead])
def list_participants(session_id: PathId, db: DB, caller: Caller) -> list[ParticipantRead]:
    sessions.session_for(db, caller, session_id, Action.read)
    return sessions.participants(db, session_id)


@router.post("/sessions/{session_id}/participants", status_code=201, response_model=SessionRead)
def add_participant(
    session_id: PathId,
    data: ParticipantAdd,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    session = sessions.add_participant(db, caller, session_id, data.person_id, data.role, version)
    spine.commit(db)
    return _with_etag(db, session, response)


@router.delete("/sessions/{session_id}/participants/{person_id}", response_model=SessionRead)
def remove_participant(
    session_id: PathId,
    person_id: PathId,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> SessionRead:
    session = sessions.remove_participant(db, caller, session_id, person_id, version)
    spine.commit(db)
    return _with_etag(db, session, response)


@router.get("/sessions/{session_id}/agenda-items", response_model=list[AgendaItemRead])
def list_agenda(session_id: PathId, db: DB, caller: Caller) -> list:
    sessions.session_for(db, caller, session_id, Action.read)
    return sessions.agenda_rows(db, session_id)


@router.post("/sessions/{session_id}/agenda-items", status_code=201, response_model=AgendaItemRead)
def add_agenda_item(
    session_id: PathId, data: AgendaItemCreate, db: DB, caller: Caller, version: IfMatch
) -> object:
    item = sessions.add_agenda_item(db, caller, session_id, data, version)
    spine.commit(db)
    return item


@router.patch("/sessions/{session_id}/agenda-items/{item_id}", response_model=AgendaItemRead)
def update_agenda_item(
    session_id: PathId,
    item_id: PathId,
    data: AgendaItemUpdate,
    db: DB,
    caller: Caller,
    version: IfMatch,
) -> object:
    """Change an agenda item, reorder it (`position`), or record its outcome."""
    item = sessions.update_agenda_item(db, caller, session_id, item_id, data, version)
    spine.commit(db)
    return item


@router.delete("/sessions/{session_id}/agenda-items/{item_id}", status_code=204)
def delete_agenda_item(
    session_id: PathId, item_id: PathId, db: DB, caller: Caller, version: IfMatch
) -> Response:
    sessions.delete_agenda_item(db, caller, session_id, item_id, version)
    spine.commit(db)
    return Response(status_code=204)


@router.get("/sessions/{session_id}/events", response_model=Page[EventRead])
def session_events(
    session_id: PathId,
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    kind: str | None = None,
) -> dict:
    sessions.session_for(db, caller, session_id, Action.read)
    items, total = spine.events(db, session_id=session_id, kind=kind, limit=limit, offset=offset)
    return as_page(items, total, limit, offset)


@router.post("/sessions/{session_id}/action-items", status_code=201, response_model=ActionItemRead)
def create_action_item(
    session_id: PathId, data: ActionItemCreate, db: DB, caller: Caller
) -> Response:
    """Record an action item decided in this session."""
    item = action_items.create(db, caller, session_id, data)
    spine.commit(db)
    return json_answer(
        ActionItemRead,
        item,
        status_code=201,
        headers={"Location": f"/api/v1/action-items/{item.id}", "ETag": f'"{item.version}"'},
    )
