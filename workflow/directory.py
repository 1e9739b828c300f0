"""Organisations and people: one directory shared by every forum.

Forum managers (co-chairs, secretariat) keep it up to date alongside the administrator,
because they are the ones who invite experts and partners to their sessions.
"""

from sqlmodel import Session as DBSession
from sqlmodel import select

from workflow import rules, spine
from workflow.auth import Principal
from workflow.errors import Problem, forbidden, not_found
from workflow.models import Organisation, Person
from workflow.schemas import OrganisationCreate, OrganisationUpdate, PersonCreate, PersonUpdate


def require_directory_editor(principal: Principal) -> None:
    if not principal.manages_any_forum:
        raise forbidden("only administrators, co-chairs and secretariats edit the directory")


def get_person(db: DBSession, person_id: int) -> Person:
    person = db.get(Person, person_id)
    if person is None:
        raise not_found("person", person_id)
    return person


def get_organisation(db: DBSession, organisation_id: int) -> Organisation:
    organisation = db.get(Organisation, organisation_id)
    if organisation is None:
        raise not_found("organisation", organisation_id)
    return organisation


def _check_organisation(db: DBSession, organisation_id: int | None) -> None:
    if organisation_id is not None and db.get(Organisation, organisation_id) is None:
        raise rules.RuleError(
            f"organisation {organisation_id} is not known to the service", "organisation_id"
        )


def _check_email_free(db: DBSession, email: str, person_id: int | None = None) -> None:
    other = db.exec(select(Person).where(Person.email == email)).first()
    if other is not None and other.id != person_id:
        raise Problem(409, f"{email} already belongs to person {other.id}")


def create_person(db: DBSession, principal: Principal, data: PersonCreate) -> Person:
    require_directory_editor(principal)
    _check_organisation(db, data.organisation_id)
    _check_email_free(db, data.email)
    person = Person(**data.model_dump())
    db.add(person)
    db.flush()
    spine.record(db, principal.actor, "person.created", person_id=person.id)
    return person


def update_person(
    db: DBSession, principal: Principal, person_id: int, data: PersonUpdate
) -> Person:
    person = get_person(db, person_id)
    fields = data.model_dump(exclude_unset=True)
    is_self = principal.person_id == person_id
    if not (principal.manages_any_forum or (is_self and set(fields) <= {"language", "name"})):
        raise forbidden("you may change your own name and language only")
    if "organisation_id" in fields:
        _check_organisation(db, fields["organisation_id"])
    if "email" in fields:
        _check_email_free(db, fields["email"], person_id)
    for name, value in fields.items():
        setattr(person, name, value)
    spine.record(db, principal.actor, "person.updated", person_id=person_id, fields=sorted(fields))
    return person


def can_read_person(principal: Principal, person_id: int) -> bool:
    return principal.manages_any_forum or principal.person_id == person_id


def create_organisation(
    db: DBSession, principal: Principal, data: OrganisationCreate
) -> Organisation:
    require_directory_editor(principal)
    if db.exec(select(Organisation).where(Organisation.name == data.name)).first():
        raise Problem(409, f"an organisation named {data.name!r} exists already")
    organisation = Organisation(**data.model_dump())
    db.add(organisation)
    db.flush()
    spine.record(
        db,
        principal.actor,
        "organisation.created",
        organisation_id=organisation.id,
        name=organisation.name,
    )
    return organisation


def update_organisation(
    db: DBSession, principal: Principal, organisation_id: int, data: OrganisationUpdate
) -> Organisation:
    require_directory_editor(principal)
    organisation = get_organisation(db, organisation_id)
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields:
        other = db.exec(select(Organisation).where(Organisation.name == fields["name"])).first()
        if other is not None and other.id != organisation_id:
            raise Problem(409, f"an organisation named {fields['name']!r} exists already")
    for name, value in fields.items():
        setattr(organisation, name, value)
    spine.record(
        db,
        principal.actor,
        "organisation.updated",
        organisation_id=organisation_id,
        fields=sorted(fields),
    )
    return organisation
