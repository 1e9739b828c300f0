from fastapi import APIRouter, Response

from workflow import action_items, spine
from workflow.api.routes import API_PREFIX
from workflow.http.deps import (
    DB,
    Caller,
    IfMatch,
    Limit,
    Offset,
    PathId,
    QueryFlag,
    QueryId,
    expected_version,
)
from workflow.models import ActionItemStatus
from workflow.schemas import ActionItemDetail, ActionItemRead, ActionItemUpdate, Page

router = APIRouter(prefix=f"{API_PREFIX}/action-items", tags=["action items"])


@router.get("", response_model=Page[ActionItemRead])
def list_action_items(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    forum_id: QueryId = None,
    session_id: QueryId = None,
    owner_person_id: QueryId = None,
    status: ActionItemStatus | None = None,
    overdue: QueryFlag = None,
) -> dict:
    rows, total = action_items.list_items(
        db,
        caller,
        forum_id=forum_id,
        session_id=session_id,
        owner_person_id=owner_person_id,
        status=status,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return {
        "items": [action_items.read(i) for i in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/{item_id}", response_model=ActionItemDetail)
def read_action_item(
    item_id: PathId, db: DB, caller: Caller, response: Response
) -> ActionItemDetail:
    item = action_items.readable_item(db, caller, item_id)
    response.headers["ETag"] = f'"{item.version}"'
    return action_items.detail(db, item)


@router.patch("/{item_id}", response_model=ActionItemDetail)
def update_action_item(
    item_id: PathId,
    data: ActionItemUpdate,
    db: DB,
    caller: Caller,
    response: Response,
    version: IfMatch,
) -> ActionItemDetail:
    """Update status, progress or the indicator's current value. Owners who do not manage
    the forum may change status, current_value and add a note."""
    item = action_items.update(db, caller, item_id, data, expected_version(version, data.version))
    spine.commit(db)
    response.headers["ETag"] = f'"{item.version}"'
    return action_items.detail(db, item)
