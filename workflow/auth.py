"""API tokens and the principal behind a request."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as ORMSession
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.models import ApiToken, Membership, Person, Role
from workflow.permissions import MANAGERS, Action, allowed

TOKEN_PREFIX = "wf_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    db: DBSession, name: str, *, person_id: int | None = None, is_admin: bool = False
) -> tuple[ApiToken, str]:
    """Store a new token's hash; the clear token is returned once and never stored."""
    token = new_token()
    row = ApiToken(name=name, token_hash=hash_token(token), person_id=person_id, is_admin=is_admin)
    db.add(row)
    db.flush()
    return row, token


@dataclass
class Principal:
    name: str
    is_admin: bool = False
    person_id: int | None = None
    roles: dict[int, str] = field(default_factory=dict)  # forum id -> role

    @property
    def actor(self) -> str:
        return f"person:{self.person_id} {self.name}" if self.person_id else self.name

    def role_in(self, forum_id: int) -> str | None:
        return self.roles.get(forum_id)

    def may(self, forum_id: int, action: Action, *, owns_item: bool = False) -> bool:
        return self.is_admin or allowed(self.role_in(forum_id), action, owns_item=owns_item)

    @property
    def manages_any_forum(self) -> bool:
        return self.is_admin or any(r in MANAGERS for r in self.roles.values())

    @property
    def managed_forums(self) -> set[int]:
        return {f for f, r in self.roles.items() if r in MANAGERS}

    @property
    def readable_forums(self) -> set[int]:
        return set(self.roles)


ADMIN = Principal(name="admin", is_admin=True)


def principal_for_token(db: DBSession, token: str, admin_token: str) -> Principal | None:
    """The principal behind a token, read afresh (a revocation holds from the next request):
    the token, its person and their memberships in one statement."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN
    rows = ORMSession.execute(
        db,
        sa_select(  # SQLModel's select takes at most four columns
            col(ApiToken.name),
            col(ApiToken.is_admin),
            col(ApiToken.person_id),
            col(ApiToken.revoked_at),
            col(Person.id),
            col(Person.name),
            col(Membership.forum_id),
            col(Membership.role),
        )
        .select_from(ApiToken)
        .outerjoin(Person, col(Person.id) == col(ApiToken.person_id))
        .outerjoin(Membership, col(Membership.person_id) == col(Person.id))
        .where(col(ApiToken.token_hash) == hash_token(token)),
    ).all()
    if not rows:
        return None
    name, is_admin, person_id, revoked_at, found_person, person_name = rows[0][:6]
    if revoked_at is not None:
        return None
    if person_id is None:
        return Principal(name=f"token:{name}", is_admin=is_admin)
    if found_person is None:
        return None
    roles = {forum_id: role for *_, forum_id, role in rows if forum_id is not None}
    return Principal(name=person_name, is_admin=is_admin, person_id=person_id, roles=roles)


def principal_for_person(db: DBSession, person: Person, *, is_admin: bool = False) -> Principal:
    """A person acting with their memberships' roles (a token's, or a signed-in browser's)."""
    roles = dict(
        db.exec(
            select(col(Membership.forum_id), col(Membership.role)).where(
                col(Membership.person_id) == person.id
            )
        ).all()
    )
    return Principal(name=person.name, is_admin=is_admin, person_id=person.id, roles=roles)


def revoke(row: ApiToken) -> None:
    row.revoked_at = clock.now()


__all__ = [
    "ADMIN",
    "Principal",
    "Role",
    "create_token",
    "hash_token",
    "principal_for_person",
    "principal_for_token",
]


def active_tokens(db: DBSession, person_id: int | None) -> list[ApiToken]:
    """A person's API tokens that are not revoked, newest first."""
    return list(
        db.exec(
            select(ApiToken)
            .where(col(ApiToken.person_id) == person_id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.created_at).desc())
        ).all()
    )


def is_administrator(db: DBSession, person_id: int | None) -> bool:
    """Whether the person holds an administrator token of their own that is not revoked."""
    if person_id is None:
        return False
    return (
        db.exec(
            select(col(ApiToken.id)).where(
                col(ApiToken.person_id) == person_id,
                col(ApiToken.is_admin).is_(True),
                col(ApiToken.revoked_at).is_(None),
            )
        ).first()
        is not None
    )
