"""Bad input gets a clear problem document, never a 500 or a stack trace."""

import pytest

from tests.api.world import World, build_world
from tests.conftest import ADMIN

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


@pytest.fixture
def w(client) -> World:
    return build_world(client)


def assert_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    assert "Traceback" not in r.text
    return body


def test_no_token_or_a_bad_one_is_401(client) -> None:
    r = client.get("/api/v1/forums")
    assert_problem(r, 401)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(client.get("/api/v1/forums", headers={"Authorization": "Bearer wf_nope"}), 401)
    assert_problem(client.get("/api/v1/forums", headers={"Authorization": "Basic YTpi"}), 401)
    assert_problem(
        client.get("/api/v1/forums", headers={"Authorization": "Bearer " + "x" * 5000}), 401
    )


def test_unknown_things_are_404(w: World) -> None:
    for path in (
        "/api/v1/forums/999",
        "/api/v1/sessions/999",
        "/api/v1/action-items/999",
        "/api/v1/people/999",
        "/api/v1/nothing-here",
    ):
        assert_problem(w.client.get(path, headers=ADMIN), 404)


def test_malformed_json_and_wrong_types_are_422(w: World) -> None:
    fid = w.forums["taskforce"]
    body = assert_problem(
        w.client.post(f"/api/v1/forums/{fid}/sessions", headers=ADMIN, content=b"{not json"), 422
    )
    assert body["errors"]
    body = assert_problem(
        w.client.post(
            f"/api/v1/forums/{fid}/sessions",
            headers=ADMIN,
            json={"title": 5, "starts_at": "tomorrow"},
        ),
        422,
    )
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"/title", "/starts_at", "/ends_at"} <= pointers
    assert_problem(w.client.get("/api/v1/forums/abc", headers=ADMIN), 422)
    assert_problem(
        w.client.post(
            f"/api/v1/forums/{fid}/sessions", headers=ADMIN, content="\xff\xfe".encode("latin-1")
        ),
        422,
    )


def test_unknown_fields_are_refused(w: World) -> None:
    body = assert_problem(
        w.client.post("/api/v1/forums", headers=ADMIN, json={"name": "X", "colour": "blue"}), 422
    )
    assert body["errors"][0]["pointer"] == "/colour"


@pytest.mark.parametrize(
    "title",
    [
        "Overleg\r\nBcc: everyone@example.org",
        "Overleg\nDESCRIPTION:x",
        "Tab\there",
        "Nul\x00",
        "=?utf-8?q?Subject=0ABcc:x?=",
        "Line\u2028separator",
    ],
)
def test_control_characters_never_get_in(w: World, title: str) -> None:
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions",
        headers=ADMIN,
        json=w.session_body(title=title),
    )
    assert assert_problem(r, 422)["errors"][0]["pointer"] == "/title"
    r = w.client.post(
        "/api/v1/people", headers=ADMIN, json={"name": title, "email": "x@example.org"}
    )
    assert_problem(r, 422)


def test_accents_commas_and_semicolons_are_welcome(w: World) -> None:
    s = w.schedule(
        title="Réunion; Menen, Halluin & Comines — « frontière »",
        location="Hôtel de ville, Grand-Place 1; Comines-Warneton",
    )
    assert s["title"] == "Réunion; Menen, Halluin & Comines — « frontière »"


def test_oversized_body_is_413(w: World) -> None:
    huge = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    assert_problem(w.client.post("/api/v1/forums", headers=ADMIN, content=huge), 413)

    def chunks():  # no Content-Length: streamed
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    assert_problem(w.client.post("/api/v1/forums", headers=ADMIN, content=chunks()), 413)


def test_wrong_if_match_is_a_clear_error(w: World) -> None:
    s = w.schedule()
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        json={"title": "x"},
        headers={**ADMIN, "If-Match": "yesterday"},
    )
    assert_problem(r, 412)
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        json={"title": "x", "version": 2},
        headers={**ADMIN, "If-Match": '"1"'},
    )
    assert_problem(r, 422)


def test_health(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_openapi_and_docs_are_served(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/forums/{forum_id}/sessions" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_login_free_pages_are_rate_limited_per_address(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workflow.config import get_settings
    from workflow.http import ratelimit

    monkeypatch.setattr(get_settings(), "public_rate_limit", "3/minute")
    ratelimit.reset()
    for _ in range(3):
        assert client.get("/rsvp/not-a-real-link").status_code == 404
    r = client.post("/act/not-a-real-link")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 429
    # The API with a token is not counted against the pages.
    assert client.get("/api/v1/forums", headers=ADMIN).status_code == 200
    monkeypatch.setattr(get_settings(), "public_rate_limit", "")
    ratelimit.reset()
    assert client.get("/rsvp/not-a-real-link").status_code == 404
