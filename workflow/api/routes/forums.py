from fastapi import APIRouter, Response

from workflow import forums, sessions, spine
from workflow.api.routes import API_PREFIX
from workflow.http.deps import DB, Caller, Limit, Offset, PathId, QueryId
from workflow.models import Forum, Membership
from workflow.pagination import as_page
from workflow.permissions import Action
from workflow.schemas import (
    EventRead,
    ForumCreate,
    ForumRead,
    ForumUpdate,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
    Page,
)

router = APIRouter(prefix=f"{API_PREFIX}/forums", tags=["forums"])


@router.post("", status_code=201, response_model=ForumRead)
def create_forum(data: ForumCreate, db: DB, caller: Caller) -> Forum:
    forum = forums.create(db, caller, data)
    spine.commit(db)
    return forum


@router.get("", response_model=Page[ForumRead])
def list_forums(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    parent_id: QueryId = None,
) -> dict:
    items, total = forums.list_forums(db, caller, parent_id=parent_id, limit=limit, offset=offset)
    return as_page(items, total, limit, offset)


@router.get("/{forum_id}", response_model=ForumRead)
def read_forum(forum_id: PathId, db: DB, caller: Caller) -> Forum:
    forum = sessions.forum_for(db, caller, forum_id, Action.read)
    return forum


@router.patch("/{forum_id}", response_model=ForumRead)
def update_forum(forum_id: PathId, data: ForumUpdate, db: DB, caller: Caller) -> Forum:
    forum = forums.update(db, caller, forum_id, data)
    spine.commit(db)
    return forum


@router.get("/{forum_id}/members", response_model=Page[MembershipRead])
def list_members(
    forum_id: PathId,
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    role: str | None = None,
) -> dict:
    sessions.forum_for(db, caller, forum_id, Action.read)
    items, total = forums.list_members(db, forum_id, role=role, limit=limit, offset=offset)
    return as_page(items, total, limit, offset)


@router.post("/{forum_id}/members", status_code=201, response_model=MembershipRead)
def add_member(forum_id: PathId, data: MembershipCreate, db: DB, caller: Caller) -> Membership:
    membership = forums.add_member(db, caller, forum_id, data)
    spine.commit(db)
    return membership


@router.patch("/{forum_id}/members/{membership_id}", response_model=MembershipRead)
def change_member_role(
    forum_id: PathId, membership_id: PathId, data: MembershipUpdate, db: DB, caller: Caller
) -> Membership:
    membership = forums.change_role(db, caller, forum_id, membership_id, data.role)
    spine.commit(db)
    return membership


@router.delete("/{forum_id}/members/{membership_id}", status_code=204)
def remove_member(forum_id: PathId, membership_id: PathId, db: DB, caller: Caller) -> Response:
    forums.remove_member(db, caller, forum_id, membership_id)
    spine.commit(db)
    return Response(status_code=204)


@router.get("/{forum_id}/events", response_model=Page[EventRead])
def forum_events(
    forum_id: PathId,
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    kind: str | None = None,
) -> dict:
    sessions.forum_for(db, caller, forum_id, Action.read)
    items, total = spine.events(db, forum_id=forum_id, kind=kind, limit=limit, offset=offset)
    return as_page(items, total, limit, offset)
