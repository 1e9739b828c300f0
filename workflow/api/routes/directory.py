from typing import Annotated

from fastapi import APIRouter, Query

from workflow import directory, personal_data, spine
from workflow.api.routes import API_PREFIX
from workflow.errors import Forbidden
from workflow.http.deps import DB, Caller, Limit, Offset, PathId, QueryId
from workflow.models import Organisation, Person
from workflow.pagination import as_page
from workflow.schemas import (
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    Page,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["directory"])


@router.post("/organisations", status_code=201, response_model=OrganisationRead)
def create_organisation(data: OrganisationCreate, db: DB, caller: Caller) -> Organisation:
    organisation = directory.create_organisation(db, caller, data)
    spine.commit(db)
    return organisation


@router.get("/organisations", response_model=Page[OrganisationRead])
def list_organisations(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    kind: str | None = None,
    country: str | None = None,
) -> dict:
    # Organisations are public bodies and associations: any signed-in user may read them.
    items, total = directory.list_organisations(
        db, kind=kind, country=country, limit=limit, offset=offset
    )
    return as_page(items, total, limit, offset)


@router.get("/organisations/{organisation_id}", response_model=OrganisationRead)
def read_organisation(organisation_id: PathId, db: DB, caller: Caller) -> Organisation:
    return directory.get_organisation(db, organisation_id)


@router.patch("/organisations/{organisation_id}", response_model=OrganisationRead)
def update_organisation(
    organisation_id: PathId, data: OrganisationUpdate, db: DB, caller: Caller
) -> Organisation:
    organisation = directory.update_organisation(db, caller, organisation_id, data)
    spine.commit(db)
    return organisation


@router.post("/people", status_code=201, response_model=PersonRead)
def create_person(data: PersonCreate, db: DB, caller: Caller) -> Person:
    person = directory.create_person(db, caller, data)
    spine.commit(db)
    return person


@router.get("/people", response_model=Page[PersonRead])
def list_people(
    db: DB,
    caller: Caller,
    limit: Limit = 50,
    offset: Offset = 0,
    organisation_id: QueryId = None,
    q: Annotated[str | None, Query(max_length=100, description="Name or e-mail contains")] = None,
) -> dict:
    if not caller.manages_any_forum:
        raise Forbidden("only administrators, co-chairs and secretariats list people")
    items, total = directory.list_people(
        db, organisation_id=organisation_id, q=q, limit=limit, offset=offset
    )
    return as_page(items, total, limit, offset)


@router.get("/people/{person_id}", response_model=PersonRead)
def read_person(person_id: PathId, db: DB, caller: Caller) -> Person:
    person = directory.get_person(db, person_id)
    if not directory.can_read_person(caller, person_id):
        raise Forbidden("you may read your own record only")
    return person


@router.patch("/people/{person_id}", response_model=PersonRead)
def update_person(person_id: PathId, data: PersonUpdate, db: DB, caller: Caller) -> Person:
    person = directory.update_person(db, caller, person_id, data)
    spine.commit(db)
    return person


@router.get("/people/{person_id}/export")
def export_person(person_id: PathId, db: DB, caller: Caller) -> dict:
    """Everything the service holds about a person (for them, or an administrator)."""
    return personal_data.export(db, caller, person_id)


@router.delete("/people/{person_id}")
def erase_person(person_id: PathId, db: DB, caller: Caller) -> dict:
    """Erase a person (administrators). Held sessions keep an anonymous attendee; mail sent
    is kept as counts only; sessions ahead, pending mail, memberships and tokens go."""
    done = personal_data.erase(db, caller, person_id)
    spine.commit(db)
    return {"person_id": person_id, "erased": done}
