from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import SQLModel, select

from workflow.auth import principal_for_token
from workflow.db import make_engine
from workflow.models import (
    ApiToken,
    Event,
    Forum,
    Language,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Role,
)
from workflow.seed import DemoSeed, seed_demo


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DBSession]:
    engine = make_engine(f"sqlite:///{tmp_path}/t.sqlite")
    SQLModel.metadata.create_all(engine)
    with DBSession(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def seeded(db: DBSession) -> DemoSeed:
    result = seed_demo(db)
    db.commit()
    return result


def count(db: DBSession, model: type[SQLModel]) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def forum(db: DBSession, seeded: DemoSeed, key: str) -> Forum:
    row = db.get(Forum, seeded.forums[key])
    assert row is not None
    return row


def test_the_forum_tree(db: DBSession, seeded: DemoSeed) -> None:
    parents = {
        "oost_brabant": None,
        "taskforce_leuven": "oost_brabant",
        "halle_vilvoorde": None,
        "twg_werk": "halle_vilvoorde",
        "twg_mobiliteit": "halle_vilvoorde",
        "twg_onderwijs": "halle_vilvoorde",
        "charleroi": None,
        "charleroi_cds": "charleroi",
        "eurometropool": None,
    }
    assert set(seeded.forums) == set(parents)
    for key, parent in parents.items():
        expected = seeded.forums[parent] if parent else None
        assert forum(db, seeded, key).parent_id == expected, key
    assert forum(db, seeded, "taskforce_leuven").name == "Taskforce Spitsregio Leuven"
    assert forum(db, seeded, "oost_brabant").name == "Burgemeestersoverleg Oost-Brabant"
    assert forum(db, seeded, "halle_vilvoorde").name == "Toekomstforum Halle-Vilvoorde"


def test_every_forum_is_consistent(db: DBSession, seeded: DemoSeed) -> None:
    for key, forum_id in seeded.forums.items():
        row = forum(db, seeded, key)
        assert len(row.name) <= 200
        assert row.languages and set(row.languages) <= set(Language), key
        assert row.secretariat_email and row.secretariat_name, key
        roles = db.exec(select(Membership.role).where(Membership.forum_id == forum_id)).all()
        assert row.co_chairs_min <= roles.count(Role.co_chair) <= row.co_chairs_max, key
        assert roles.count(Role.secretariat) >= 1, key
        assert roles.count(Role.member) >= 4, key
    events = db.exec(select(Event).where(Event.kind == "forum.created")).all()
    assert sorted(e.forum_id for e in events) == sorted(seeded.forums.values())


def test_eurometropolis_has_one_french_and_one_belgian_co_chair(
    db: DBSession, seeded: DemoSeed
) -> None:
    euro = forum(db, seeded, "eurometropool")
    assert euro.co_chairs_distinct_countries is True
    assert (euro.co_chairs_min, euro.co_chairs_max) == (2, 2)
    assert set(euro.languages) == {"fr", "nl"}
    co_chairs = db.exec(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.forum_id == euro.id, Membership.role == Role.co_chair)
    ).all()
    assert sorted(p.country for p in co_chairs) == ["BE", "FR"]
    assert {p.id for p in co_chairs} == {
        seeded.people["eurometropool_co_chair_fr"],
        seeded.people["eurometropool_co_chair_be"],
    }
    french = db.get(Person, seeded.people["eurometropool_co_chair_fr"])
    assert french is not None and french.country == "FR" and french.language == "fr"


def test_people_are_invented_and_addressed_at_example_org(db: DBSession, seeded: DemoSeed) -> None:
    people = db.exec(select(Person)).all()
    assert 30 <= len(people) <= 120
    for person in people:
        assert person.email.endswith("@example.org"), person.email
        assert person.email == person.email.lower(), person.email
        assert person.language in set(Language), person.email
        organisation = db.get(Organisation, person.organisation_id)
        assert organisation is not None and organisation.country == person.country
    in_a_forum = set(db.exec(select(Membership.person_id)).all())
    assert {p.id for p in people} == in_a_forum
    for key in (
        "taskforce_co_chair",
        "taskforce_co_chair_2",
        "taskforce_secretariat",
        "taskforce_member",
        "eurometropool_co_chair_fr",
        "eurometropool_co_chair_be",
        "oost_brabant_co_chair",
    ):
        assert key in seeded.people


def test_organisations_have_known_kinds_and_countries(db: DBSession, seeded: DemoSeed) -> None:
    organisations = db.exec(select(Organisation)).all()
    assert {o.kind for o in organisations} <= set(OrganisationKind)
    assert {o.country for o in organisations} == {"BE", "FR"}
    names = {o.name for o in organisations}
    assert {"Leuven", "Halluin", "Menen", "ACV", "VOKA", "VDAB", "Interleuven"} <= names


def test_a_second_run_adds_nothing_but_fresh_tokens(db: DBSession, seeded: DemoSeed) -> None:
    models: list[type[SQLModel]] = [Forum, Organisation, Person, Membership, Event]
    before = {m.__name__: count(db, m) for m in models}
    again = seed_demo(db)
    db.commit()
    after = {m.__name__: count(db, m) for m in models}
    assert after == before
    assert again.forums == seeded.forums
    assert again.people == seeded.people
    assert len(again.tokens) == len(seeded.tokens) == 6
    assert not {t for _, _, t in again.tokens} & {t for _, _, t in seeded.tokens}
    assert count(db, ApiToken) == 12


def test_every_token_acts_as_its_person_with_the_right_role(
    db: DBSession, seeded: DemoSeed
) -> None:
    forum_ids = {forum(db, seeded, key).name: forum_id for key, forum_id in seeded.forums.items()}
    holders = {name for name, _, _ in seeded.tokens}
    for key in ("taskforce_co_chair", "taskforce_co_chair_2", "taskforce_secretariat"):
        person = db.get(Person, seeded.people[key])
        assert person is not None and person.name in holders, key
    for name, description, token in seeded.tokens:
        role, forum_name = description.split(", ", 1)
        principal = principal_for_token(db, token, "")
        assert principal is not None, description
        assert not principal.is_admin
        assert principal.name == name
        person = db.get(Person, principal.person_id)
        assert person is not None and person.name == name
        assert principal.role_in(forum_ids[forum_name]) == role.replace("-", "_")
    descriptions = [description for _, description, _ in seeded.tokens]
    assert "co-chair, Taskforce Spitsregio Leuven" in descriptions
    assert "secretariat, Taskforce Spitsregio Leuven" in descriptions
