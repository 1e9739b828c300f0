"""A problem document says what is wrong in the language the client asks for
(Accept-Language): a broken rule, something not found, a refused field."""

import pytest

from tests.api.world import World, build_world
from tests.conftest import ADMIN


@pytest.fixture
def w(client) -> World:
    return build_world(client)


def _in(language: str) -> dict[str, str]:
    return {**ADMIN, "Accept-Language": language}


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("nl-BE,nl;q=0.9", "een vergadering moet eindigen na het begin"),
        ("fr-BE", "une séance doit se terminer après son début"),
        ("en-GB", "a session must end after it starts"),
    ],
)
def test_a_broken_rule_in_the_asked_language(w: World, language: str, said: str) -> None:
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions",
        headers=_in(language),
        json={
            "title": "Jobkanalen",
            "location": "Leuven",
            "starts_at": "2030-03-29T16:00:00",
            "ends_at": "2030-03-29T14:00:00",
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == said
    assert r.json()["errors"] == [{"pointer": "/ends_at", "detail": said}]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("nl", "vergadering 999 bestaat niet"),
        ("fr", "la séance 999 n’existe pas"),
        ("en", "session 999 does not exist"),
    ],
)
def test_not_found_in_the_asked_language(w: World, language: str, said: str) -> None:
    r = w.client.get("/api/v1/sessions/999", headers=_in(language))
    assert r.status_code == 404 and r.json()["detail"] == said


def test_refused_fields_in_the_asked_language(w: World) -> None:
    body = {
        "title": "Jobkanalen",
        "location": "Leuven",
        "online_url": "ftp://meet.example.org/x",
        "starts_at": "2030-03-29T14:00:00",
        "ends_at": "2030-03-29T16:00:00",
    }
    path = f"/api/v1/forums/{w.forums['taskforce']}/sessions"
    english = w.client.post(path, headers=_in("en"), json=body).json()
    french = w.client.post(path, headers=_in("fr"), json=body).json()
    dutch = w.client.post(path, headers=_in("nl"), json={"title": "x"}).json()
    assert english["errors"][0]["detail"] == "URL scheme should be 'http' or 'https'"
    assert french["errors"] == [
        {
            "pointer": "/online_url",
            "detail": "l’adresse web doit commencer par http:// ou https://",
        }
    ]
    assert {"pointer": "/starts_at", "detail": "dit veld is verplicht"} in dutch["errors"]
