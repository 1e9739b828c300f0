"""What each domain error answers through the API, on a session: its status, its problem
document and its headers. And what listens to a session's changes: a reschedule moves the
reminders and the report-back's due time, a cancellation clears them."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import col, select

from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from workflow import clock, db
from workflow.models import AgendaItem

Ask = Callable[[World, dict], Response]


def _patch(who: str, body: dict[str, Any], version: str | None = '"1"') -> Ask:
    def ask(w: World, s: dict) -> Response:
        headers = {**w.auth(who), **({"If-Match": version} if version else {})}
        return w.client.patch(f"/api/v1/sessions/{s['id']}", json=body, headers=headers)

    return ask


def _backwards(w: World, s: dict) -> Response:
    start = datetime.fromisoformat(s["starts_at"])
    body = {"ends_at": (start - timedelta(hours=1)).isoformat()}
    return _patch("co_chair", body)(w, s)


def _again(w: World, s: dict) -> Response:
    return w.client.post(
        f"/api/v1/sessions/{s['id']}/participants",
        json={"person_id": w.people["member"]},
        headers={**w.auth("co_chair"), "If-Match": '"1"'},
    )


def _unknown(w: World, s: dict) -> Response:
    return w.client.get("/api/v1/sessions/987654", headers=ADMIN)


@pytest.mark.parametrize(
    ("ask", "status", "detail", "pointer", "etag"),
    [
        (_unknown, 404, "session 987654 does not exist", None, None),
        (_patch("member", {"title": "x"}), 403, "you may not do this in this forum", None, None),
        (_again, 409, "person {member} already takes part in this session", None, None),
        (
            _patch("co_chair", {"title": "x"}, '"7"'),
            412,
            "this was changed meanwhile (now at version 1); reload it and apply your change again",
            None,
            '"1"',
        ),
        (
            _patch("co_chair", {"title": "x"}, None),
            428,
            "send the version you edited as If-Match (or 'version') so no change is lost",
            None,
            None,
        ),
        (_backwards, 422, "a session must end after it starts", "/ends_at", None),
    ],
    ids=["not-found", "forbidden", "conflict", "version-conflict", "no-version", "rule"],
)
def test_each_refusal_answers_with_its_status_and_problem(
    w: World, ask: Ask, status: int, detail: str, pointer: str | None, etag: str | None
) -> None:
    s = w.schedule()
    r = ask(w, s)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["detail"] == detail.format(member=w.people["member"])
    assert body["instance"] == r.request.url.path
    assert r.headers.get("ETag") == etag
    if pointer:
        assert body["errors"] == [{"pointer": pointer, "detail": detail}]
    else:
        assert "errors" not in body
    assert ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=ADMIN))["version"] == 1


# Listeners on the spine ------------------------------------------------------------------

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
START = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)  # Monday 10:00 in Brussels


@pytest.fixture
def frozen(client: TestClient) -> World:
    clock.freeze(T0)
    return build_world(client)


def _reminders(w: World, s: dict) -> dict[int, datetime]:
    rows = ok(w.client.get(f"/api/v1/sessions/{s['id']}/reminders", headers=ADMIN))
    return {
        r["offset_hours"]: datetime.fromisoformat(r["due_at"]).astimezone(UTC)
        for r in rows
        if r["done_at"] is None
    }


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _report_due(s: dict) -> list[datetime | None]:
    with db.db_session() as d:
        items = d.exec(
            select(AgendaItem).where(
                col(AgendaItem.session_id) == s["id"], col(AgendaItem.child_forum_id).is_not(None)
            )
        ).all()
        return [i.report_due_at and i.report_due_at.replace(tzinfo=UTC) for i in items]


def test_a_reschedule_moves_the_reminders_and_the_report_back(frozen: World) -> None:
    w = frozen
    body = {"starts_at": START.isoformat(), "ends_at": (START + timedelta(hours=2)).isoformat()}
    s = w.schedule("mayors", **body)
    # The parent forum's session: reminders 7 days and 1 day before, and the taskforce's
    # report due 5 days before, all at 10:00 on the Brussels wall clock.
    assert _reminders(w, s) == {168: _at("2027-03-22 09:00"), 24: _at("2027-03-28 08:00")}
    assert _report_due(s) == [datetime(2027, 3, 24, 9, 0, tzinfo=UTC)]
    later = START + timedelta(days=7)
    moved = ok(
        w.client.patch(
            f"/api/v1/sessions/{s['id']}",
            json={
                "starts_at": later.isoformat(),
                "ends_at": (later + timedelta(hours=2)).isoformat(),
            },
            headers={**w.auth("parent_co_chair"), "If-Match": '"1"'},
        )
    )
    assert moved["sequence"] == 1
    assert _reminders(w, s) == {168: _at("2027-03-29 08:00"), 24: _at("2027-04-04 08:00")}
    assert _report_due(s) == [datetime(2027, 3, 31, 8, 0, tzinfo=UTC)]
    # A change that does not move the session leaves them where they are.
    ok(
        w.client.patch(
            f"/api/v1/sessions/{s['id']}",
            json={"location": "Stadhuis Leuven"},
            headers={**w.auth("parent_co_chair"), "If-Match": '"2"'},
        )
    )
    assert _report_due(s) == [datetime(2027, 3, 31, 8, 0, tzinfo=UTC)]
    ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/cancel",
            json={"reason": "Geen quorum", "version": 3},
            headers=w.auth("parent_co_chair"),
        )
    )
    assert _reminders(w, s) == {} and _report_due(s) == [None]
