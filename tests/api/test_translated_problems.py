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


def test_the_services_own_field_checks_in_the_asked_language(w: World) -> None:
    """The checks written for this service (one line, a known zone, ISO times), not only
    pydantic's own, come back in French: a French secretariat's integration reads them."""
    body = {
        "title": "Jobkanalen\x07",
        "location": "Leuven",
        "timezone": "Mars/Olympus",
        "starts_at": "morgen om 14 uur",
        "ends_at": "2030-03-29T16:00:00",
    }
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions", headers=_in("fr"), json=body
    )
    assert r.status_code == 422, r.text
    said = {e["pointer"]: e["detail"] for e in r.json()["errors"]}
    assert said == {
        "/title": "doit tenir sur une ligne, sans caractères de contrôle",
        "/timezone": "fuseau horaire inconnu\u00a0; utilisez un nom IANA comme Europe/Brussels",
        "/starts_at": "doit être une date et une heure ISO 8601, comme 2027-03-29T14:00:00+02:00",
    }
