"""A small world built through the API: a mayors' forum with a taskforce reporting to it,
a cross-border forum, people in every role, and a token for each."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

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
    w = World(client)
    w.forums["mayors"] = ok(
        client.post(
            "/api/v1/forums",
            headers=ADMIN,
            json={
                "name": "Burgemeestersoverleg Oost-Brabant",
                "kind": "mayors_forum",
                "secretariat_email": "secretariaat@interleuven.example.org",
                "secretariat_name": "Interleuven",
            },
        ),
        201,
    )["id"]
    w.forums["taskforce"] = ok(
        client.post(
            "/api/v1/forums",
            headers=ADMIN,
            json={
                "name": "Taskforce Spitsregio Leuven",
                "kind": "taskforce",
                "parent_id": w.forums["mayors"],
                "languages": ["nl", "en"],
                "secretariat_email": "taskforce@ersv.example.org",
                "secretariat_name": "ERSV",
            },
        ),
        201,
    )["id"]
    w.forums["cross_border"] = ok(
        client.post(
            "/api/v1/forums",
            headers=ADMIN,
            json={
                "name": "Lokaal overleg grensgemeenten",
                "kind": "local_consultation",
                "languages": ["fr", "nl"],
                "co_chairs_min": 2,
                "co_chairs_max": 2,
                "co_chairs_distinct_countries": True,
            },
        ),
        201,
    )["id"]

    w.person("co_chair", "Mieke Vandenberghe")
    w.person("co_chair_2", "Jan Peeters")
    w.person("secretariat", "Sofie Janssens")
    w.person("member", "Koen Wouters")
    w.person("observer", "Els Claes")
    w.person("outsider", "Pieter De Smet")
    w.person("parent_co_chair", "Lieve Maes")
    w.person("fr_mayor", "Geneviève Dubois", country="FR", language="fr")
    w.person("be_mayor", "Stefaan Vermeulen")
    w.person("be_mayor_2", "Hilde Goossens")

    for person, role in [
        ("co_chair", "co_chair"),
        ("co_chair_2", "co_chair"),
        ("secretariat", "secretariat"),
        ("member", "member"),
        ("observer", "observer"),
    ]:
        w.member("taskforce", person, role)
    w.member("mayors", "parent_co_chair", "co_chair")
    for person in ("fr_mayor", "be_mayor", "be_mayor_2"):
        w.member("cross_border", person, "co_chair")
    return w
