"""A small world built through the API: a mayors' forum with a taskforce reporting to it,
a cross-border forum, people in every role, and a token for each."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from tests.conftest import ADMIN


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


@dataclass
class World:
    client: TestClient
    forums: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        if who == "admin":
            return ADMIN
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def person(self, key: str, name: str, country: str = "BE", language: str = "nl") -> int:
        body = {
            "name": name,
            "email": f"{key}@example.org",
            "country": country,
            "language": language,
        }
        self.people[key] = ok(self.client.post("/api/v1/people", json=body, headers=ADMIN), 201)[
            "id"
        ]
        token = ok(
            self.client.post(
                "/api/v1/tokens", json={"name": key, "person_id": self.people[key]}, headers=ADMIN
            ),
            201,
        )["token"]
        self.tokens[key] = token
        return self.people[key]

    def member(self, forum: str, person: str, role: str) -> None:
        ok(
            self.client.post(
                f"/api/v1/forums/{self.forums[forum]}/members",
                json={"person_id": self.people[person], "role": role},
                headers=ADMIN,
            ),
            201,
        )

    def session_body(self, **overrides: Any) -> dict[str, Any]:
        start = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
        body = {
            "title": "Overleg werk en economie",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "location": "Provinciehuis, Leuven",
        }
        body.update(overrides)
        return body

    def schedule(self, forum: str = "taskforce", who: str = "admin", **overrides: Any) -> dict:
        return ok(
            self.client.post(
                f"/api/v1/forums/{self.forums[forum]}/sessions",
                json=self.session_body(**overrides),
                headers=self.auth(who),
            ),
            201,
        )


def build_world(client: TestClient) -> World:
    """The world, built directly in the database (tests/factories.py): what the tests use it
    for is the API and the pages, not how forums and people are made."""
    w = World(client)
    with factories.unit_of_work() as db:
        mayors = factories.forum(
            db,
            "Burgemeestersoverleg Oost-Brabant",
            kind="mayors_forum",
            secretariat_email="secretariaat@interleuven.example.org",
            secretariat_name="Interleuven",
        )
        taskforce = factories.forum(
            db,
            "Taskforce Spitsregio Leuven",
            kind="taskforce",
            parent_id=mayors.id,
            languages=["nl", "en"],
            secretariat_email="taskforce@ersv.example.org",
            secretariat_name="ERSV",
        )
        cross_border = factories.forum(
            db,
            "Lokaal overleg grensgemeenten",
            kind="local_consultation",
            languages=["fr", "nl"],
            co_chairs_min=2,
            co_chairs_max=2,
            co_chairs_distinct_countries=True,
        )
        forums = {"mayors": mayors, "taskforce": taskforce, "cross_border": cross_border}
        people = {}
        for key, name, country, language in [
            ("co_chair", "Mieke Vandenberghe", "BE", "nl"),
            ("co_chair_2", "Jan Peeters", "BE", "nl"),
            ("secretariat", "Sofie Janssens", "BE", "nl"),
            ("member", "Koen Wouters", "BE", "nl"),
            ("observer", "Els Claes", "BE", "nl"),
            ("outsider", "Pieter De Smet", "BE", "nl"),
            ("parent_co_chair", "Lieve Maes", "BE", "nl"),
            ("fr_mayor", "Geneviève Dubois", "FR", "fr"),
            ("be_mayor", "Stefaan Vermeulen", "BE", "nl"),
            ("be_mayor_2", "Hilde Goossens", "BE", "nl"),
        ]:
            people[key] = factories.person(db, key, name, country=country, language=language)
            w.tokens[key] = factories.token(db, people[key], key)
        for forum, person, role in [
            ("taskforce", "co_chair", "co_chair"),
            ("taskforce", "co_chair_2", "co_chair"),
            ("taskforce", "secretariat", "secretariat"),
            ("taskforce", "member", "member"),
            ("taskforce", "observer", "observer"),
            ("mayors", "parent_co_chair", "co_chair"),
            ("cross_border", "fr_mayor", "co_chair"),
            ("cross_border", "be_mayor", "co_chair"),
            ("cross_border", "be_mayor_2", "co_chair"),
        ]:
            factories.member(db, forums[forum], people[person], role)
        w.forums = {k: f.id for k, f in forums.items() if f.id is not None}
        w.people = {k: p.id for k, p in people.items() if p.id is not None}
    return w
