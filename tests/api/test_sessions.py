from datetime import UTC, datetime, timedelta

import pytest

from tests.api.world import World, ok
from workflow import clock


def test_schedule_invites_forum_members_with_its_co_chairs(w: World) -> None:
    s = w.schedule(who="secretariat")
    assert s["status"] == "scheduled" and s["sequence"] == 0 and s["version"] == 1
    assert s["uid"].endswith("@forum-workflow.example.org")
    roles = {p["person_id"]: p["role"] for p in s["participants"]}
    assert roles == {
        w.people["co_chair"]: "co_chair",
        w.people["co_chair_2"]: "co_chair",
        w.people["secretariat"]: "participant",
        w.people["member"]: "participant",
        w.people["observer"]: "optional",
    }
    assert all(p["partstat"] == "needs_action" for p in s["participants"])
    r = w.client.get(f"/api/v1/sessions/{s['id']}", headers=w.auth("member"))
    assert r.headers["ETag"] == '"1"'


def test_wall_clock_times_are_read_in_the_forums_zone(w: World) -> None:
    year = datetime.now(UTC).year + 1
    s = w.schedule(starts_at=f"{year}-07-02T10:00:00", ends_at=f"{year}-07-02T12:00:00")
    assert s["starts_at"].startswith(f"{year}-07-02T08:00:00")  # CEST is UTC+2
    assert s["starts_at_local"] == f"{year}-07-02T10:00:00+02:00"
    s = w.schedule(starts_at=f"{year}-01-14T10:00:00", ends_at=f"{year}-01-14T12:00:00")
    assert s["starts_at"].startswith(f"{year}-01-14T09:00:00")  # CET is UTC+1


def _last_sunday(year: int, month: int) -> datetime:
    d = datetime(year, month, 31 if month in (3, 10) else 30)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def test_a_time_the_clocks_skip_or_repeat_is_refused(w: World) -> None:
    year = datetime.now(UTC).year + 1
    spring = _last_sunday(year, 3).date()
    autumn = _last_sunday(year, 10).date()
    fid = w.forums["taskforce"]
    for day in (spring, autumn):
        r = w.client.post(
            f"/api/v1/forums/{fid}/sessions",
            headers=w.auth("admin"),
            json=w.session_body(starts_at=f"{day}T02:30:00", ends_at=f"{day}T04:00:00"),
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["pointer"] == "/starts_at"
        assert "Europe/Brussels" in r.json()["detail"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"ends_at": "start"}, "/ends_at"),
        ({"starts_at": "past"}, "/starts_at"),
    ],
)
def test_times_must_make_sense(w: World, change: dict, pointer: str) -> None:
    body = w.session_body()
    if change.get("ends_at") == "start":
        body["ends_at"] = body["starts_at"]
    if change.get("starts_at") == "past":
        body["starts_at"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions", json=body, headers=w.auth("admin")
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["pointer"] == pointer


def test_cross_border_forum_needs_one_co_chair_from_each_country(w: World) -> None:
    fid = w.forums["cross_border"]
    same_country = [w.people["be_mayor"], w.people["be_mayor_2"]]
    r = w.client.post(
        f"/api/v1/forums/{fid}/sessions",
        headers=w.auth("admin"),
        json=w.session_body(co_chair_ids=same_country),
    )
    assert r.status_code == 422
    assert "different countries" in r.json()["detail"]
    # Defaults to all three co-chairs: too many for a forum led by two.
    r = w.client.post(
        f"/api/v1/forums/{fid}/sessions", headers=w.auth("admin"), json=w.session_body()
    )
    assert r.status_code == 422 and "need 2 co-chairs" in r.json()["detail"]
    s = w.schedule("cross_border", co_chair_ids=[w.people["fr_mayor"], w.people["be_mayor"]])
    chairs = {p["person_id"] for p in s["participants"] if p["role"] == "co_chair"}
    assert chairs == {w.people["fr_mayor"], w.people["be_mayor"]}


def test_a_co_chair_must_be_a_co_chair_of_the_forum(w: World) -> None:
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions",
        headers=w.auth("admin"),
        json=w.session_body(co_chair_ids=[w.people["member"]]),
    )
    assert r.status_code == 422 and "not co-chairs of this forum" in r.json()["detail"]


def test_unknown_participant_is_a_clear_error(w: World) -> None:
    r = w.client.post(
        f"/api/v1/forums/{w.forums['taskforce']}/sessions",
        headers=w.auth("admin"),
        json=w.session_body(participant_ids=[999999]),
    )
    assert r.status_code == 422 and "999999" in r.json()["detail"]


def test_two_co_chairs_editing_at_once_never_lose_an_update(w: World) -> None:
    s = w.schedule()
    url = f"/api/v1/sessions/{s['id']}"
    first = w.client.patch(
        url, json={"location": "Stadhuis Leuven"}, headers={**w.auth("co_chair"), "If-Match": '"1"'}
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = w.client.patch(
        url, json={"title": "Ander onderwerp"}, headers={**w.auth("co_chair_2"), "If-Match": '"1"'}
    )
    assert second.status_code == 412
    assert second.json()["status"] == 412 and second.headers["ETag"] == '"2"'
    now = ok(w.client.get(url, headers=w.auth("co_chair")))
    assert now["location"] == "Stadhuis Leuven" and now["title"] == s["title"]
    missing = w.client.patch(url, json={"title": "x"}, headers=w.auth("co_chair"))
    assert missing.status_code == 428
    by_body = w.client.patch(url, json={"title": "Nieuw", "version": 2}, headers=w.auth("co_chair"))
    assert by_body.status_code == 200 and by_body.json()["title"] == "Nieuw"


def test_reschedule_raises_sequence_only_for_what_calendars_show(w: World) -> None:
    s = w.schedule()
    url = f"/api/v1/sessions/{s['id']}"
    later = datetime.fromisoformat(s["starts_at"]) + timedelta(days=1)
    moved = ok(
        w.client.patch(
            url,
            headers={**w.auth("co_chair"), "If-Match": '"1"'},
            json={
                "starts_at": later.isoformat(),
                "ends_at": (later + timedelta(hours=3)).isoformat(),
            },
        )
    )
    assert moved["sequence"] == 1 and moved["version"] == 2
    assert moved["uid"] == s["uid"]
    # Recording an outcome is not something a calendar shows.
    item = ok(
        w.client.post(
            f"{url}/agenda-items", json={"title": "Jobkanalen"}, headers=w.auth("co_chair")
        ),
        201,
    )
    assert ok(w.client.get(url, headers=w.auth("co_chair")))["sequence"] == 2  # agenda: DESCRIPTION
    ok(
        w.client.patch(
            f"{url}/agenda-items/{item['id']}",
            json={"outcome": "Goedgekeurd"},
            headers=w.auth("co_chair"),
        )
    )
    after = ok(w.client.get(url, headers=w.auth("co_chair")))
    assert after["sequence"] == 2 and after["version"] == 4


def test_cancelled_session_cannot_be_moved(w: World) -> None:
    s = w.schedule()
    url = f"/api/v1/sessions/{s['id']}"
    c = ok(
        w.client.post(
            f"{url}/cancel", json={"reason": "Geen quorum"}, headers=w.auth("secretariat")
        )
    )
    assert c["status"] == "cancelled" and c["sequence"] == 1
    r = w.client.patch(url, json={"title": "x"}, headers={**w.auth("co_chair"), "If-Match": '"2"'})
    assert r.status_code == 422 and "cancelled" in r.json()["detail"]
    assert w.client.post(f"{url}/cancel", json={}, headers=w.auth("co_chair")).status_code == 422


def test_rescheduling_into_the_past_is_refused(w: World) -> None:
    s = w.schedule()
    clock.freeze(datetime.now(UTC) + timedelta(days=30))
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        json={"title": "Later"},
        headers={**w.auth("co_chair"), "If-Match": '"1"'},
    )
    assert r.status_code == 200  # not moving it: fine even after it started
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        json={"starts_at": s["starts_at"]},
        headers={**w.auth("co_chair"), "If-Match": '"2"'},
    )
    assert r.status_code == 422 and "past" in r.json()["detail"]


def test_participants_added_and_removed(w: World) -> None:
    s = w.schedule()
    url = f"/api/v1/sessions/{s['id']}/participants"
    added = ok(
        w.client.post(url, json={"person_id": w.people["outsider"]}, headers=w.auth("secretariat")),
        201,
    )
    assert added["sequence"] == 0  # the others' calendars do not change
    assert w.people["outsider"] in {p["person_id"] for p in added["participants"]}
    again = w.client.post(
        url, json={"person_id": w.people["outsider"]}, headers=w.auth("secretariat")
    )
    assert again.status_code == 409
    removed = ok(w.client.delete(f"{url}/{w.people['member']}", headers=w.auth("secretariat")))
    assert removed["sequence"] == 1
    assert w.people["member"] not in {p["person_id"] for p in removed["participants"]}
    r = w.client.delete(f"{url}/{w.people['co_chair']}", headers=w.auth("secretariat"))
    assert r.status_code == 422
    events = ok(w.client.get(f"/api/v1/sessions/{s['id']}/events", headers=w.auth("member")))
    kinds = [e["kind"] for e in events["items"]]
    assert kinds == [
        "session.participant_removed",
        "session.participant_added",
        "session.scheduled",
    ]


def test_agenda_is_ordered_and_reorderable(w: World) -> None:
    s = w.schedule(
        agenda=[
            {"title": "Verwelkoming", "kind": "information"},
            {"title": "Jobkanalen", "kind": "decision"},
        ]
    )
    url = f"/api/v1/sessions/{s['id']}/agenda-items"
    ok(
        w.client.post(url, json={"title": "Mobiliteit", "position": 1}, headers=w.auth("co_chair")),
        201,
    )
    titles = [i["title"] for i in ok(w.client.get(url, headers=w.auth("member")))]
    assert titles == ["Mobiliteit", "Verwelkoming", "Jobkanalen"]
    items = ok(w.client.get(url, headers=w.auth("member")))
    ok(w.client.patch(f"{url}/{items[0]['id']}", json={"position": 3}, headers=w.auth("co_chair")))
    after = ok(w.client.get(url, headers=w.auth("member")))
    assert [i["title"] for i in after] == ["Verwelkoming", "Jobkanalen", "Mobiliteit"]
    assert [i["position"] for i in after] == [1, 2, 3]
    assert w.client.delete(f"{url}/{after[0]['id']}", headers=w.auth("co_chair")).status_code == 204
    assert [i["position"] for i in ok(w.client.get(url, headers=w.auth("member")))] == [1, 2]


def test_list_sessions_filters_and_paginates(w: World) -> None:
    for n in range(5):
        w.schedule(title=f"Sessie {n}")
    w.schedule("cross_border", co_chair_ids=[w.people["fr_mayor"], w.people["be_mayor"]])
    page = ok(
        w.client.get("/api/v1/sessions", params={"limit": 2, "offset": 2}, headers=w.auth("member"))
    )
    assert page["total"] == 5 and len(page["items"]) == 2  # only the member's forum
    everything = ok(w.client.get("/api/v1/sessions", headers=w.auth("admin")))
    assert everything["total"] == 6
    only = ok(
        w.client.get(
            "/api/v1/sessions",
            headers=w.auth("admin"),
            params={"forum_id": w.forums["cross_border"]},
        )
    )
    assert only["total"] == 1
    r = w.client.get("/api/v1/sessions", headers=w.auth("admin"), params={"limit": 1000})
    assert r.status_code == 422


def test_a_page_of_sessions_shows_each_session_as_reading_it_does(w: World) -> None:
    """The page is read by its own statement (on PostgreSQL the server marks the times as
    UTC): every summary on it, times and local times included, is what reading that session
    says, in winter and in summer time, and a session across the night the clocks change."""
    year = datetime.now(UTC).year + 1
    change = _last_sunday(year, 10)  # the autumn change, at 03:00 CEST
    day = change.date().isoformat()
    eve = (change - timedelta(days=1)).date().isoformat()
    for starts_at, ends_at in [
        (f"{year}-01-14T10:00:00", f"{year}-01-14T12:00:00"),
        (f"{year}-07-02T10:00:00", f"{year}-07-02T12:30:00"),
        (f"{eve}T22:00:00", f"{day}T05:00:00"),
    ]:
        w.schedule(starts_at=starts_at, ends_at=ends_at)
    page = ok(w.client.get("/api/v1/sessions", headers=w.auth("member")))
    assert page["total"] == 3
    for item in page["items"]:
        read = ok(w.client.get(f"/api/v1/sessions/{item['id']}", headers=w.auth("member")))
        assert item == {k: v for k, v in read.items() if k in item}, read
    night = page["items"][2]
    assert night["starts_at_local"] == f"{eve}T22:00:00+02:00"
    assert night["ends_at_local"] == f"{day}T05:00:00+01:00"
    assert night["ends_at"].startswith(f"{day}T04:00:00")


def test_a_page_of_sessions_and_its_caller_are_read_in_one_statement_each(w: World) -> None:
    """A member's token, person and memberships in one statement, the page and its total in
    another; and a token revoked is refused from the very next request."""
    from sqlalchemy import event
    from sqlmodel import col, select

    from workflow.auth import revoke
    from workflow.db import db_session, get_engine
    from workflow.models import ApiToken

    for n in range(3):
        w.schedule(title=f"Sessie {n}")
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        page = ok(w.client.get("/api/v1/sessions", params={"limit": 2}, headers=w.auth("member")))
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)
    assert page["total"] == 3 and [s["title"] for s in page["items"]] == ["Sessie 0", "Sessie 1"]
    assert len(seen) == 2, seen
    with db_session() as db:
        for row in db.exec(select(ApiToken).where(col(ApiToken.name) == "member")):
            revoke(row)
    r = w.client.get("/api/v1/sessions", headers=w.auth("member"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


def test_every_session_filter_shows_the_same_sessions_on_the_api_page_and_the_web_lists(
    w: World,
) -> None:
    """The API's page and the pages' lists of sessions are read by different statements with
    one set of filters: for each caller and each combination of forum, status and start
    window, both show exactly the sessions a person would pick out by hand."""
    from tests import factories
    from tests.conftest import ADMIN
    from workflow import sessions
    from workflow.auth import ADMIN as ADMINISTRATOR
    from workflow.auth import principal_for_token
    from workflow.errors import Forbidden

    now = datetime.now(UTC).replace(microsecond=0)
    made = []
    for forum, days in [("taskforce", 10), ("taskforce", 20), ("taskforce", 30), ("mayors", 15)]:
        start = now + timedelta(days=days)
        made.append(
            w.schedule(
                forum,
                starts_at=start.isoformat(),
                ends_at=(start + timedelta(hours=2)).isoformat(),
            )
        )
    cancelled = made[1]
    ok(
        w.client.post(
            f"/api/v1/sessions/{cancelled['id']}/cancel",
            json={"reason": "Geen agendapunten"},
            headers={**ADMIN, "If-Match": f'"{cancelled["version"]}"'},
        )
    )
    status_of = {s["id"]: "cancelled" if s is cancelled else "scheduled" for s in made}
    start_of = {s["id"]: datetime.fromisoformat(s["starts_at"]) for s in made}
    forum_of = {s["id"]: s["forum_id"] for s in made}
    window = (now + timedelta(days=12), now + timedelta(days=25))

    for who, reads in [
        ("admin", None),
        ("member", {w.forums["taskforce"]}),
        ("parent_co_chair", {w.forums["mayors"]}),
        ("outsider", set()),
    ]:
        with factories.unit_of_work() as db:
            principal = (
                ADMINISTRATOR if who == "admin" else principal_for_token(db, w.tokens[who], "")
            )
        assert principal is not None
        for forum_id in [None, w.forums["taskforce"], w.forums["mayors"]]:
            for status in [None, "scheduled", "cancelled"]:
                for after, before in [(None, None), (window[0], None), (None, window[1]), window]:
                    want = sorted(
                        (
                            i
                            for i in status_of
                            if (reads is None or forum_of[i] in reads)
                            and (forum_id is None or forum_of[i] == forum_id)
                            and (status is None or status_of[i] == status)
                            and (after is None or start_of[i] >= after)
                            and (before is None or start_of[i] < before)
                        ),
                        key=lambda i: (start_of[i], i),
                    )
                    params: dict[str, str] = {}
                    if forum_id is not None:
                        params["forum_id"] = str(forum_id)
                    if status is not None:
                        params["status"] = status
                    if after is not None:
                        params["starts_after"] = after.isoformat()
                    if before is not None:
                        params["starts_before"] = before.isoformat()
                    case = (who, params)
                    answer = w.client.get("/api/v1/sessions", params=params, headers=w.auth(who))
                    refused = forum_id is not None and reads is not None and forum_id not in reads
                    with factories.unit_of_work() as db:
                        try:
                            listed, total = sessions.list_sessions(
                                db,
                                principal,
                                forum_id=forum_id,
                                status=status,
                                starts_after=after,
                                starts_before=before,
                                limit=50,
                                offset=0,
                            )
                        except Forbidden:
                            listed, total = [], -1
                    if refused:
                        assert answer.status_code == 403, case
                        assert total == -1, case
                        continue
                    page = ok(answer)
                    assert [s["id"] for s in page["items"]] == want, case
                    assert page["total"] == len(want), case
                    assert [s.id for s in listed] == want and total == len(want), case
