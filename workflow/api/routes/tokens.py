from fastapi import APIRouter

from workflow import auth, spine
from workflow.api.routes import API_PREFIX
from workflow.directory import get_person
from workflow.errors import Forbidden
from workflow.http.deps import DB, Caller
from workflow.schemas import TokenCreate, TokenCreated

router = APIRouter(prefix=f"{API_PREFIX}/tokens", tags=["access"])


@router.post("", status_code=201, response_model=TokenCreated)
def create_token(data: TokenCreate, db: DB, caller: Caller) -> TokenCreated:
    """Issue an API token (administrators only). The token is shown once."""
    if not caller.is_admin:
        raise Forbidden("only an administrator issues tokens")
    if data.person_id is not None:
        get_person(db, data.person_id)
    row, token = auth.create_token(db, data.name, person_id=data.person_id, is_admin=data.is_admin)
    spine.record(
        db,
        caller.actor,
        "token.created",
        token_id=row.id,
        person_id=data.person_id,
        is_admin=data.is_admin,
    )
    spine.commit(db)
    return TokenCreated(
        id=row.id,
        name=row.name,
        person_id=row.person_id,
        is_admin=row.is_admin,
        token=token,
    )
