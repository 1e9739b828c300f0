"""Forums in a tree, and who belongs to them."""

from collections.abc import Iterable

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import rules, spine
from workflow.auth import Principal
from workflow.db import names
from workflow.errors import Conflict, Forbidden, NotFound
from workflow.models import Forum, Membership, Organisation, Person
from workflow.pagination import paginate
from workflow.permissions import Action
from workflow.reports import report_back
from workflow.schemas import ForumCreate, ForumUpdate, MembershipCreate
from workflow.sessions import get_forum, require

# Fields that change the tree or the co-chair policy: the service administrator's to set.
ADMIN_ONLY_FIELDS = frozenset(
    {"parent_id", "co_chairs_min", "co_chairs_max", "co_chairs_distinct_countries"}
)


def ancestors(db: DBSession, forum_id: int | None) -> list[int]:
    """The chain of parents above `forum_id`, nearest first (itself included)."""
    chain: list[int] = []
    while forum_id is not None and forum_id not in chain and len(chain) < 50:
        chain.append(forum_id)
        forum = db.get(Forum, forum_id)
        forum_id = forum.parent_id if forum else None
    return chain


def children(db: DBSession, forum_id: int) -> list[Forum]:
    return list(
        db.exec(
            select(Forum).where(col(Forum.parent_id) == forum_id).order_by(col(Forum.name))
        ).all()
    )


def create(db: DBSession, principal: Principal, data: ForumCreate) -> Forum:
    if not principal.is_admin:
        raise Forbidden("only an administrator creates forums")
    rules.check_co_chair_policy(
        data.co_chairs_min, data.co_chairs_max, data.co_chairs_distinct_countries
    )
    if data.parent_id is not None:
        get_forum(db, data.parent_id)
    forum = Forum(**data.model_dump())
    db.add(forum)
    db.flush()
    spine.record(
        db,
        principal.actor,
        "forum.created",
        forum_id=forum.id,
        name=forum.name,
        parent_id=forum.parent_id,
    )
    report_back.add_child_to_upcoming(db, principal.actor, forum)
    return forum


def update(db: DBSession, principal: Principal, forum_id: int, data: ForumUpdate) -> Forum:
    forum = get_forum(db, forum_id)
    require(principal, forum_id, Action.manage)
    fields = data.model_dump(exclude_unset=True)
    if not principal.is_admin and ADMIN_ONLY_FIELDS & set(fields):
        raise Forbidden("only an administrator changes a forum's parent or co-chair policy")
    if "parent_id" in fields:
        if fields["parent_id"] is not None:
            get_forum(db, fields["parent_id"])
        rules.check_parent(forum_id, fields["parent_id"], ancestors(db, fields["parent_id"]))
    rules.check_co_chair_policy(
        fields.get("co_chairs_min", forum.co_chairs_min),
        fields.get("co_chairs_max", forum.co_chairs_max),
        fields.get("co_chairs_distinct_countries", forum.co_chairs_distinct_countries),
    )
    new_parent = "parent_id" in fields and fields["parent_id"] != forum.parent_id
    for name, value in fields.items():
        setattr(forum, name, value)
    spine.record(db, principal.actor, "forum.updated", forum_id=forum_id, fields=sorted(fields))
    if new_parent:
        report_back.add_child_to_upcoming(db, principal.actor, forum)
    return forum


def add_member(
    db: DBSession, principal: Principal, forum_id: int, data: MembershipCreate
) -> Membership:
    get_forum(db, forum_id)
    require(principal, forum_id, Action.manage)
    if db.get(Person, data.person_id) is None:
        raise rules.RuleError(
            "person %(id)s is not known to the service", "person_id", {"id": data.person_id}
        )
    existing = db.exec(
        select(Membership).where(
            col(Membership.forum_id) == forum_id, col(Membership.person_id) == data.person_id
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "person %(person)s is already a %(role)s of this forum",
            person=data.person_id,
            role=existing.role,
        )
    membership = Membership(forum_id=forum_id, person_id=data.person_id, role=data.role)
    db.add(membership)
    db.flush()
    spine.record(
        db,
        principal.actor,
        "membership.added",
        forum_id=forum_id,
        person_id=data.person_id,
        role=data.role,
    )
    return membership


def get_membership(db: DBSession, forum_id: int, membership_id: int) -> Membership:
    membership = db.get(Membership, membership_id)
    if membership is None or membership.forum_id != forum_id:
        raise NotFound("membership %(id)s does not exist", id=membership_id)
    return membership


def change_role(
    db: DBSession, principal: Principal, forum_id: int, membership_id: int, role: str
) -> Membership:
    require(principal, forum_id, Action.manage)
    membership = get_membership(db, forum_id, membership_id)
    old, membership.role = membership.role, role
    spine.record(
        db,
        principal.actor,
        "membership.changed",
        forum_id=forum_id,
        person_id=membership.person_id,
        role=[old, role],
    )
    return membership


def remove_member(db: DBSession, principal: Principal, forum_id: int, membership_id: int) -> None:
    require(principal, forum_id, Action.manage)
    membership = get_membership(db, forum_id, membership_id)
    db.delete(membership)
    spine.record(
        db,
        principal.actor,
        "membership.removed",
        forum_id=forum_id,
        person_id=membership.person_id,
        role=membership.role,
    )


# Reading ------------------------------------------------------------------------------


def list_forums(
    db: DBSession, principal: Principal, *, parent_id: int | None, limit: int, offset: int
) -> tuple[list[Forum], int]:
    """The forums `principal` reads (all of them for an administrator), by name."""
    query = select(Forum)
    if not principal.is_admin:
        query = query.where(col(Forum.id).in_(principal.readable_forums or {-1}))
    if parent_id is not None:
        query = query.where(col(Forum.parent_id) == parent_id)
    return paginate(db, query, col(Forum.name), col(Forum.id), limit=limit, offset=offset)


def by_name(db: DBSession, forum_ids: Iterable[int] | None) -> list[Forum]:
    """These forums (every forum for None), by name."""
    query = select(Forum).order_by(col(Forum.name))
    if forum_ids is not None:
        query = query.where(col(Forum.id).in_(set(forum_ids) or {-1}))
    return list(db.exec(query).all())


def forum_names(db: DBSession, ids: Iterable[int | None]) -> dict[int, str]:
    """{forum id: name}, in one query."""
    return names(db, col(Forum.id), col(Forum.name), ids)


def list_members(
    db: DBSession, forum_id: int, *, role: str | None, limit: int, offset: int
) -> tuple[list[Membership], int]:
    query = select(Membership).where(col(Membership.forum_id) == forum_id)
    if role is not None:
        query = query.where(col(Membership.role) == role)
    return paginate(db, query, col(Membership.id), limit=limit, offset=offset)


def members_by_role(db: DBSession, forum_id: int) -> list[tuple[str, Person]]:
    """(role, person) of every member, by role and name."""
    rows = db.exec(
        select(col(Membership.role), Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.forum_id) == forum_id)
        .order_by(col(Membership.role), col(Person.name))
    ).all()
    return list(rows)


def members_with_organisation(db: DBSession, forum_id: int) -> list[tuple[Person, str, str]]:
    """(person, role, organisation) of every member, by organisation and name."""
    rows = db.exec(
        select(Person, col(Membership.role), col(Organisation.name))
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .join(Organisation, col(Organisation.id) == col(Person.organisation_id), isouter=True)
        .where(col(Membership.forum_id) == forum_id)
    ).all()
    return sorted(((p, r, o or "") for p, r, o in rows), key=lambda m: (m[2], m[0].name))


def member_names(db: DBSession, forum_ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, name) of everyone who belongs to one of these forums, by name."""
    rows = db.exec(
        select(col(Person.id), col(Person.name))
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(col(Membership.forum_id).in_(set(forum_ids) or {-1}))
        .distinct()
        .order_by(col(Person.name))
    ).all()
    return list(rows)  # type: ignore[arg-type]  # (id, name) rows of stored people
