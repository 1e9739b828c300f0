"""Whatever a form is sent, the answer is a page that says what is wrong: never a 500, never
a stack trace."""

from datetime import date

from tests.api.world import World, ok
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
    "end_date",
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


# Digits that str.isdigit() (and some str.isdecimal()) accept but int() or a person does not.
NOT_ASCII_DIGITS = ["²", "٣", "\uff11\uff12", "1²", "⑦"]  # fullwidth "12" among them


def test_digits_that_are_not_ascii_are_a_clear_page(w: World) -> None:
    s = w.schedule(agenda=[{"title": "Stand van zaken"}])
    agenda = ok(w.client.get(f"/api/v1/sessions/{s['id']}/agenda-items", headers=ADMIN))
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            headers=ADMIN,
            json={"title": "Actie", "owner_person_id": w.people["co_chair"]},
        ),
        201,
    )
    fid, sid = w.forums["taskforce"], s["id"]
    c = signed_in_as(w, "co_chair", lang="nl")
    token = csrf(c.get("/").text)
    person_fields = [f"attendance-{w.people[p]}" for p in ("co_chair", "member")]
    for value in NOT_ASCII_DIGITS:
        data = {name: value for name in [*FIELDS, *person_fields, f"outcome-{agenda[0]['id']}"]}
        data.update(owner=f"person:{value}", co_chairs_shown="1", due_date=value)
        for url in (
            f"/forums/{fid}/sessions/new",
            f"/sessions/{sid}/reschedule",
            f"/sessions/{sid}/cancel",
            f"/sessions/{sid}/attendance",
            f"/sessions/{sid}/outcomes",
            f"/sessions/{sid}/action-items",
            f"/sessions/{sid}/close",
            f"/action-items/{item['id']}/progress",
        ):
            r = c.post(url, data={**data, "csrf": token}, follow_redirects=False)
            assert r.status_code < 500, (url, value, r.text[:300])
            assert r.headers["content-type"].startswith("text/html"), (url, value)
        # The version a form was made for, in digits nobody typed: said as such.
        day = s["starts_at_local"][:10]
        r = c.post(
            f"/sessions/{sid}/reschedule",
            data={
                "csrf": token,
                "title": "Nieuw",
                "date": day,
                "start": "10:00",
                "end": "11:00",
                "version": value,
                "confirm": "1",
            },
        )
        assert r.status_code == 422, value
        assert "het formulier is de versie kwijt" in r.text, value
        for params in ({"forum_id": value}, {"owner": value}, {"session_id": value}):
            assert c.get("/action-items", params=params).status_code == 200, params
        assert c.get(f"/sessions/{sid}", params={"done": value}).status_code == 200
    after = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=ADMIN))
    assert after["status"] == "scheduled" and after["title"] == s["title"]


def test_a_session_beyond_five_years_is_refused_on_the_form_in_the_readers_language(
    w: World,
) -> None:
    fid = w.forums["taskforce"]
    c = signed_in_as(w, "co_chair", lang="nl")
    page = c.get(f"/forums/{fid}/sessions/new").text
    far = f"{date.today().year + 6}-03-29"
    r = c.post(
        f"/forums/{fid}/sessions/new",
        data={
            "csrf": csrf(page),
            "title": "Overleg",
            "date": far,
            "start": "14:00",
            "end": "16:00",
            "co_chair_ids": str(w.people["co_chair"]),
        },
        follow_redirects=False,
    )
    assert r.status_code == 422
    assert "een vergadering kan ten hoogste 5 jaar vooruit gepland worden" in r.text
    assert ok(w.client.get("/api/v1/sessions", headers=ADMIN))["total"] == 0
