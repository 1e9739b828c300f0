"""Whatever a form is sent, the answer is a page that says what is wrong: never a 500, never
a stack trace."""

import pytest

from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from tests.web.pages import csrf, signed_in_as

JUNK = [
    "",
    " ",
    "\x00",
    "a\r\nBcc: x@example.org",
    "=?utf-8?q?x?=",
    "<script>x</script>",
    "9" * 40,
    "-1",
    "1e309",
    "x" * 20_000,
    "🙂",
    "2027-02-30",
    "25:61",
]
FIELDS = [
    "title",
    "date",
    "start",
    "end",
    "location",
    "online_url",
    "co_chair_ids",
    "participant_ids",
    "agenda",
    "version",
    "reason",
    "confirm",
    "status",
    "current_value",
    "note",
    "language",
    "name",
    "email",
    "next",
    "back",
]


@pytest.fixture
def w(client) -> World:
    return build_world(client)


def test_junk_in_every_form_is_a_clear_page(w: World) -> None:
    s = w.schedule()
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            headers=ADMIN,
            json={
                "title": "Actie",
                "owner_person_id": w.people["co_chair"],
                "indicator": "Bereik",
                "baseline": 0,
                "target": 10,
            },
        ),
        201,
    )
    fid = w.forums["taskforce"]
    c = signed_in_as(w, "co_chair")
    token = csrf(c.get("/").text)
    posts = [
        f"/forums/{fid}/sessions/new",
        f"/sessions/{s['id']}/reschedule",
        f"/sessions/{s['id']}/cancel",
        f"/action-items/{item['id']}/progress",
        "/me/language",
        "/me/tokens",
    ]
    for url in posts:
        for value in JUNK:
            data = {name: value for name in FIELDS}
            r = c.post(url, data={**data, "csrf": token}, follow_redirects=False)
            assert r.status_code < 500, (url, value[:20], r.text[:300])
            assert "Traceback" not in r.text
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("text/html"), (url, value[:20])
    for value in (j for j in JUNK if len(j) < 100):  # a URL has its own limits
        r = c.get("/action-items", params={name: value for name in [*FIELDS, "forum_id", "owner"]})
        assert r.status_code == 200, value[:20]
    # The session is still as it was: nothing slipped through.
    after = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=ADMIN))
    assert after["status"] == "scheduled" and after["title"] == s["title"]
