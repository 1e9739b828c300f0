"""Organisations and people: one directory shared by every forum.

Forum managers (co-chairs, secretariat) keep it up to date alongside the administrator,
because they are the ones who invite experts and partners to their sessions; but a person's
record is not any one forum's: who may change which field is `permissions.person_edit_refusal`
(an e-mail address only by an administrator or the person themselves, the rest by the
managers of a forum the person sits in). A changed address ends the person's browser
sessions and sign-in links and is told to the old address.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from babel.dates import format_date, format_time
from sqlalchemy import func, or_, update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, permissions, rules, spine
from workflow.auth import Principal
from workflow.config import get_settings
from workflow.db import names
from workflow.errors import Conflict, Forbidden, NotFound
from workflow.i18n import LOCALES, N_, RenderedMail, language_of, render_named
from workflow.mail import outbox
from workflow.mail.message import Composed, Superseded, build, mail_envelope
from workflow.models import ApiToken, Delivery, Membership, Organisation, Person, WebSignIn
from workflow.pagination import paginate
from workflow.schemas import OrganisationCreate, OrganisationUpdate, PersonCreate, PersonUpdate


def require_directory_editor(principal: Principal) -> None:
    if not principal.manages_any_forum:
        raise Forbidden("only administrators, co-chairs and secretariats edit the directory")


def get_person(db: DBSession, person_id: int) -> Person:
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound("person %(id)s does not exist", id=person_id)
    return person


def get_organisation(db: DBSession, organisation_id: int) -> Organisation:
    organisation = db.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation %(id)s does not exist", id=organisation_id)
    return organisation


def _check_organisation(db: DBSession, organisation_id: int | None) -> None:
    if organisation_id is not None and db.get(Organisation, organisation_id) is None:
        raise rules.RuleError(
            "organisation %(id)s is not known to the service",
            "organisation_id",
            {"id": organisation_id},
        )


def _check_email_free(
    db: DBSession, email: str, person_id: int | None = None, *, name_them: bool = True
) -> None:
    other = db.exec(select(Person).where(col(Person.email) == email)).first()
    if other is not None and other.id != person_id:
        whose = f"person {other.id}" if name_them else "someone else in the directory"
        raise Conflict("%(email)s already belongs to %(whose)s", email=email, whose=whose)


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
    if fields.get("email") == person.email:
        del fields["email"]  # sent back as it is: not a change, whoever sends it
    is_self = principal.person_id == person_id
    their_forums = set(
        db.exec(
            select(col(Membership.forum_id)).where(col(Membership.person_id) == person_id)
        ).all()
    )
    refusal = permissions.person_edit_refusal(
        set(fields),
        is_admin=principal.is_admin,
        is_self=is_self,
        manages_any_forum=principal.manages_any_forum,
        manages_a_forum_of_theirs=bool(their_forums & principal.managed_forums),
        sits_in_a_forum=bool(their_forums),
    )
    if refusal is not None:
        raise Forbidden(refusal)
    if "organisation_id" in fields:
        _check_organisation(db, fields["organisation_id"])
    old_email = person.email
    if "email" in fields:
        # Someone changing only their own address learns no one else's record from it.
        _check_email_free(db, fields["email"], person_id, name_them=principal.manages_any_forum)
    for name, value in fields.items():
        setattr(person, name, value)
    spine.record(db, principal.actor, "person.updated", person_id=person_id, fields=sorted(fields))
    if "email" in fields:
        _email_changed(db, principal, person, old_email, by_self=is_self)
    return person


def _email_changed(
    db: DBSession, principal: Principal, person: Person, old_email: str, *, by_self: bool
) -> None:
    """A new address takes over where sign-in links go: whoever held the browser sessions or
    the links of the old one loses them, and the old address is told.

    Changed by someone else (an administrator), the person's own API tokens and calendar feed
    link go too: whoever could sign in at the address it had may have made them on My
    settings, and they would act as (or read for) the person for good. Administrator tokens
    are not made that way and stay. Changed by the person themselves, with a token of theirs,
    their tokens and feed stay: they are already theirs."""
    now = clock.now()
    ended = db.exec(
        update(WebSignIn)
        .where(col(WebSignIn.person_id) == person.id, col(WebSignIn.ended_at).is_(None))
        .values(ended_at=now)
    ).rowcount
    revoked, feed_revoked = 0, False
    if not by_self:
        tokens = db.exec(
            select(ApiToken).where(
                col(ApiToken.person_id) == person.id,
                col(ApiToken.revoked_at).is_(None),
                col(ApiToken.is_admin).is_(False),
            )
        ).all()
        for token in tokens:
            token.revoked_at = now
        revoked = len(tokens)
        # The calendar feed link made on My settings is a standing credential too.
        feed_revoked = person.feed_token_hash is not None
        person.feed_token_hash = None
    event_id = spine.record(
        db,
        principal.actor,
        "person.email_changed",
        person_id=person.id,
        changed_by="self" if by_self else "administrator",
        sign_ins_ended=ended,
        tokens_revoked=revoked,
        feed_revoked=feed_revoked,
    )
    db.flush()
    owed = outbox.owe(
        db,
        [
            {
                "key": f"{ADDRESS_CHANGED}:{event_id}",
                "reason": ADDRESS_CHANGED,
                "person_id": person.id,
                "data": {
                    "old_email": old_email,
                    "changed_by": "self" if by_self else "administrator",
                    "changed_at": now.isoformat(),
                },
            }
        ],
    )
    spine.mark_owed(db, owed)


# The mail to the old address ----------------------------------------------------------------

ADDRESS_CHANGED = "address_changed"
ADDRESS_CHANGED_SUBJECT = N_("Your e-mail address at Forum workflow was changed")


def render_address_changed(
    language: str, name: str, changed_at: datetime, *, by_self: bool
) -> RenderedMail:
    """The mail telling the old address, in the person's language (pure, for snapshots)."""
    local = changed_at.astimezone(rules.zone(get_settings().default_timezone))
    locale = LOCALES[language_of(language)]
    day, time = (
        format_date(local, format="long", locale=locale),
        format_time(local, "HH:mm", locale=locale),
    )
    when = f"{day}, {time}"
    return render_named(
        ADDRESS_CHANGED,
        language,
        ADDRESS_CHANGED_SUBJECT,
        person_name=name,
        when=when,
        by_self=by_self,
    )


def compose_address_changed(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    """The mail to the address a person had, composed when it is sent (registered below)."""
    person = db.get(Person, delivery.person_id)
    data = delivery.data or {}
    if person is None or not data.get("old_email"):
        return Superseded("the person is no longer in the directory")
    rendered = render_address_changed(
        person.language,
        person.name,
        datetime.fromisoformat(data["changed_at"]),
        by_self=data.get("changed_by") == "self",
    )
    envelope = replace(
        mail_envelope(person, None, rendered.subject, delivery), to_addr=data["old_email"]
    )
    return Composed(
        message=build(envelope, rendered.text, rendered.html), recipient=data["old_email"]
    )


outbox.register(ADDRESS_CHANGED, compose_address_changed)


def can_read_person(principal: Principal, person_id: int) -> bool:
    return principal.manages_any_forum or principal.person_id == person_id


def create_organisation(
    db: DBSession, principal: Principal, data: OrganisationCreate
) -> Organisation:
    require_directory_editor(principal)
    if db.exec(select(Organisation).where(col(Organisation.name) == data.name)).first():
        raise Conflict("an organisation named %(name)s exists already", name=repr(data.name))
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
        other = db.exec(
            select(Organisation).where(col(Organisation.name) == fields["name"])
        ).first()
        if other is not None and other.id != organisation_id:
            raise Conflict(
                "an organisation named %(name)s exists already", name=repr(fields["name"])
            )
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


# Reading ------------------------------------------------------------------------------


def list_organisations(
    db: DBSession, *, kind: str | None, country: str | None, limit: int, offset: int
) -> tuple[list[Organisation], int]:
    """Organisations are public bodies and associations: anyone signed in reads them."""
    query = select(Organisation)
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    if country is not None:
        query = query.where(col(Organisation.country) == country.upper())
    return paginate(db, query, col(Organisation.name), limit=limit, offset=offset)


def list_people(
    db: DBSession, *, organisation_id: int | None, q: str | None, limit: int, offset: int
) -> tuple[list[Person], int]:
    """People by name; `q` is a part of the name or the e-mail address."""
    query = select(Person)
    if organisation_id is not None:
        query = query.where(col(Person.organisation_id) == organisation_id)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(col(Person.name)).like(like), col(Person.email).like(like))
        )
    return paginate(db, query, col(Person.name), col(Person.id), limit=limit, offset=offset)


def people(db: DBSession, ids: Iterable[int]) -> list[Person]:
    """These people, in no particular order."""
    return list(db.exec(select(Person).where(col(Person.id).in_(set(ids) or {-1}))).all())


def person_names(db: DBSession, ids: Iterable[int | None]) -> dict[int, str]:
    """{person id: name}, in one query."""
    return names(db, col(Person.id), col(Person.name), ids)


def organisation_names(db: DBSession, ids: Iterable[int | None]) -> dict[int, str]:
    """{organisation id: name}, in one query."""
    return names(db, col(Organisation.id), col(Organisation.name), ids)
