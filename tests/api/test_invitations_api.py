from datetime import UTC, datetime, timedelta

import icalendar

from tests.api.world import World, ok
from tests.conftest import ADMIN
from workflow import clock
from workflow.invitations import rsvp


def test_session_calendar_file(w: World) -> None:
    s = w.schedule()
    r = w.client.get(f"/api/v1/sessions/{s['id']}/calendar.ics", headers=w.auth("member"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    assert str(cal["METHOD"]) == "PUBLISH"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == s["uid"]
    assert (
        w.client.get(
            f"/api/v1/sessions/{s['id']}/calendar.ics", headers=w.auth("outsider")
        ).status_code
        == 403
    )


def test_personal_feed_can_be_issued_rotated_and_revoked(w: World) -> None:
    s = w.schedule()
    me = w.people["member"]
    url = ok(w.client.post(f"/api/v1/people/{me}/calendar-feed", headers=w.auth("member")), 201)[
        "url"
    ]
    path = url.split("://", 1)[1].split("/", 1)[1]
    feed = w.client.get(f"/{path}")
    assert feed.status_code == 200
    assert s["uid"] in {
        str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    }
    newer = ok(w.client.post(f"/api/v1/people/{me}/calendar-feed", headers=w.auth("member")), 201)[
        "url"
    ]
    assert newer != url
    assert w.client.get(f"/{path}").status_code == 404
    assert (
        w.client.delete(f"/api/v1/people/{me}/calendar-feed", headers=w.auth("member")).status_code
        == 204
    )
    assert w.client.get("/" + newer.split("://", 1)[1].split("/", 1)[1]).status_code == 404
    assert (
        w.client.post(f"/api/v1/people/{me}/calendar-feed", headers=w.auth("co_chair")).status_code
        == 403
    )


def _link(session: dict, person: int, answer: str) -> str:
    ends = datetime.fromisoformat(session["ends_at"])
    return "/rsvp/" + rsvp.sign(session["id"], person, answer, ends)


def test_rsvp_link_confirms_on_post_only(w: World) -> None:
    s = w.schedule()
    link = _link(s, w.people["member"], "declined")
    page = w.client.get(link)
    assert page.status_code == 200 and '<html lang="nl">' in page.text
    assert "Ik kom niet" in page.text and 'method="post"' in page.text
    answers = ok(w.client.get(f"/api/v1/sessions/{s['id']}/answers", headers=w.auth("co_chair")))
    assert answers["declined"] == []
    done = w.client.post(link)
    assert done.status_code == 200 and "genoteerd" in done.text
    answers = ok(w.client.get(f"/api/v1/sessions/{s['id']}/answers", headers=w.auth("co_chair")))
    assert [p["person_id"] for p in answers["declined"]] == [w.people["member"]]
    events = ok(
        w.client.get(
            f"/api/v1/sessions/{s['id']}/events", headers=ADMIN, params={"kind": "session.answered"}
        )
    )
    assert events["items"][0]["data"]["answer"] == "declined"


def test_rsvp_links_that_cannot_be_used(w: World) -> None:
    s = w.schedule()
    assert w.client.get("/rsvp/not-a-token").status_code == 404
    assert w.client.post("/rsvp/not-a-token").status_code == 404
    expired = _link(s, w.people["member"], "accepted")
    clock.freeze(datetime.fromisoformat(s["ends_at"]) + timedelta(minutes=1))
    assert w.client.post(expired).status_code == 410
    clock.freeze(None)
    # Someone no longer invited, or a cancelled session: answers are closed.
    outsider = _link(s, w.people["outsider"], "accepted")
    assert w.client.post(outsider).status_code == 409
    ok(w.client.post(f"/api/v1/sessions/{s['id']}/cancel", json={}, headers=ADMIN))
    r = w.client.post(_link(s, w.people["member"], "accepted"))
    assert r.status_code == 409 and "geannuleerd" in r.text


def _reply(uid: str, email: str, partstat: str = "ACCEPTED", method: str = "REPLY") -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Test//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime.now(UTC))
    attendee = icalendar.vCalAddress(f"mailto:{email}")
    attendee.params["PARTSTAT"] = partstat
    ev.add("attendee", attendee)
    cal.add_component(ev)
    return cal.to_ical()


def test_itip_reply(w: World) -> None:
    s = w.schedule()
    cal = {"Content-Type": "text/calendar"}
    post = w.client.post
    r = post(
        "/api/v1/itip/reply",
        content=_reply(s["uid"], "MEMBER@example.org", "TENTATIVE"),
        headers={**ADMIN, **cal},
    )
    assert r.status_code == 200 and r.json()[0]["partstat"] == "tentative"
    assert (
        post(
            "/api/v1/itip/reply",
            content=_reply(s["uid"], "member@example.org"),
            headers={**w.auth("co_chair"), **cal},
        ).status_code
        == 403
    )
    assert (
        post(
            "/api/v1/itip/reply",
            content=b"{}",
            headers={**ADMIN, "Content-Type": "application/json"},
        ).status_code
        == 415
    )
    for body in (
        b"garbage",
        _reply("unknown@x", "member@example.org"),
        _reply(s["uid"], "member@example.org", method="REQUEST"),
        _reply(s["uid"], "nobody@example.org"),
        _reply(s["uid"], "member@example.org", "DELEGATED"),
    ):
        r = post("/api/v1/itip/reply", content=body, headers={**ADMIN, **cal})
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_deliveries_are_for_managers(w: World) -> None:
    s = w.schedule()
    assert (
        w.client.get(f"/api/v1/sessions/{s['id']}/deliveries", headers=w.auth("member")).status_code
        == 403
    )
    page = ok(w.client.get(f"/api/v1/sessions/{s['id']}/deliveries", headers=w.auth("co_chair")))
    assert page["total"] == 0  # no worker in these tests: nothing reconciled yet
    assert ok(w.client.get("/api/v1/deliveries", headers=w.auth("member")))["total"] == 0
