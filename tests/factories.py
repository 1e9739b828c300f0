"""Test factories: forums, people, tokens, memberships and sessions built directly in the
database for tests that are not about the API.

They call the same domain functions the API's routes call, as the administrator, so what
they build holds the same rules and leaves the same events; only HTTP is skipped. A test
about creating a forum or a person goes through the API instead.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session as DBSession

from workflow import auth, directory, forums, sessions, spine
from workflow.auth import ADMIN, Principal
from workflow.db import get_engine
from workflow.models import Forum, MeetingSession, Membership, Person
from workflow.schemas import ForumCreate, MembershipCreate, PersonCreate, SessionCreate


@contextmanager
def unit_of_work() -> Iterator[DBSession]:
    """One transaction, committed as a request commits it: what it changed is then queued
    for the worker exactly as after an API call."""
    with DBSession(get_engine(), expire_on_commit=False) as db:
        yield db
        spine.commit(db)


def forum(db: DBSession, name: str, **fields: Any) -> Forum:
    return forums.create(db, ADMIN, ForumCreate(name=name, **fields))


def person(db: DBSession, key: str, name: str, **fields: Any) -> Person:
    """A person whose address is `<key>@example.org` unless `email` is given."""
    fields.setdefault("email", f"{key}@example.org")
    return directory.create_person(db, ADMIN, PersonCreate(name=name, **fields))


def token(db: DBSession, person: Person, name: str | None = None) -> str:
    """An API token of the person's own; the clear token, as the API shows it once."""
    row, clear = auth.create_token(db, name or person.name, person_id=person.id)
    spine.record(db, ADMIN.actor, "token.created", token_id=row.id, person_id=person.id)
    return clear


def member(db: DBSession, forum: Forum, person: Person, role: str) -> Membership:
    assert forum.id is not None and person.id is not None  # stored rows have their ids
    return forums.add_member(db, ADMIN, forum.id, MembershipCreate(person_id=person.id, role=role))


def session_fields(days_ahead: int = 14, **overrides: Any) -> dict[str, Any]:
    """A two-hour session `days_ahead` days from now, as the API's body would say it."""
    start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(microsecond=0)
    fields: dict[str, Any] = {
        "title": "Overleg werk en economie",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "location": "Provinciehuis, Leuven",
    }
    fields.update(overrides)
    return fields


def session(db: DBSession, forum: Forum, by: Principal = ADMIN, **overrides: Any) -> MeetingSession:
    assert forum.id is not None  # stored rows have their ids
    return sessions.schedule(db, by, forum.id, SessionCreate(**session_fields(**overrides)))
