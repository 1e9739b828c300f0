"""A person's data: exported for them, erased by an administrator, with the forums' records
kept without the person in them."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from tests.api.test_follow_up import T0, at, close_body, deliveries, schedule
from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from workflow import clock, db
from workflow.invitations.reconcile import reconcile_session
from workflow.models import Delivery, Event, Participant


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def history(w: World) -> tuple[dict, dict]:
    """A held session the member attended, an action item they own, and a session ahead."""
    held = schedule(w, datetime(2027, 3, 8, 13, tzinfo=UTC), agenda=[{"title": "Jobkanalen"}])
    ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/action-items",
            json={
                "title": "Jobbeurs",
                "owner_person_id": w.people["member"],
                "due_date": "2027-04-01",
            },
            headers=ADMIN,
        ),
        201,
    )
    ahead = schedule(w, datetime(2027, 5, 3, 8, tzinfo=UTC))
    for s in (held, ahead):
        reconcile_session(s["id"])
    clock.freeze(datetime(2027, 3, 8, 16, tzinfo=UTC))
    current = ok(w.client.get(f"/api/v1/sessions/{held['id']}", headers=ADMIN))
    ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/close",
            json=close_body(w, held, current["version"]),
            headers=ADMIN,
        )
    )
    # The member reports progress with their own token.
    item = ok(
        w.client.get(
            "/api/v1/action-items", params={"owner_person_id": w.people["member"]}, headers=ADMIN
        )
    )["items"][0]
    ok(
        w.client.patch(
            f"/api/v1/action-items/{item['id']}",
            json={"note": "Zaal geboekt", "version": item["version"]},
            headers=w.auth("member"),
        )
    )
    return held, ahead


def test_a_person_exports_their_own_data(w: World) -> None:
    held, ahead = history(w)
    me = w.people["member"]
    data = ok(w.client.get(f"/api/v1/people/{me}/export", headers=w.auth("member")))
    assert data["person"]["email"] == "member@example.org"
    assert [m["role"] for m in data["memberships"]] == ["member"]
    assert {s["session_id"]: s["attendance"] for s in data["sessions"]} == {
        held["id"]: "excused",
        ahead["id"]: None,
    }
    assert [i["title"] for i in data["action_items_owned"]] == ["Jobbeurs"]
    assert [p["note"] for p in data["progress_reported"]] == ["Zaal geboekt"]
    assert {m["reason"] for m in data["mail"]} >= {"invitation", "summary"}
    assert [t["name"] for t in data["api_tokens"]] == ["member"]
    # Someone else's data: only for an administrator.
    assert (
        w.client.get(f"/api/v1/people/{me}/export", headers=w.auth("co_chair")).status_code == 403
    )
    assert w.client.get(f"/api/v1/people/{me}/export", headers=ADMIN).status_code == 200


def test_erasure_keeps_the_records_without_the_person(w: World) -> None:
    held, ahead = history(w)
    me = w.people["member"]
    assert w.client.delete(f"/api/v1/people/{me}", headers=w.auth("co_chair")).status_code == 403
    assert w.client.delete(f"/api/v1/people/{me}", headers=w.auth("member")).status_code == 403
    mail_before = [d for d in deliveries("invitation") + deliveries("summary") if d.person_id == me]
    done = ok(w.client.delete(f"/api/v1/people/{me}", headers=ADMIN))["erased"]
    assert done["memberships"] == 1 and done["sessions_left"] == 1 and done["api_tokens"] == 1
    assert sum(done["mail"].values()) == len(mail_before) > 0

    person = ok(w.client.get(f"/api/v1/people/{me}", headers=ADMIN))
    assert person["name"] == f"Erased person {me}" and person["email"].endswith("@erased.invalid")
    # Their token is gone; nothing about them is left to send.
    assert w.client.get("/api/v1/forums", headers=w.auth("member")).status_code == 401
    with db.db_session() as s:
        assert s.exec(select(Delivery).where(Delivery.person_id == me)).all() == []
        rows = s.exec(select(Participant).where(Participant.person_id == me)).all()
    assert [(r.session_id, r.attendance) for r in rows] == [(held["id"], "excused")]
    # The session ahead owes them nothing, not even a cancellation.
    _, created = reconcile_session(ahead["id"])
    assert created == []
    # The held session's attendance counts stay; the item stays, without its owner.
    assert at(datetime(2027, 3, 9, 8, tzinfo=UTC))["digests"] == 0
    items = ok(
        w.client.get("/api/v1/action-items", params={"session_id": held["id"]}, headers=ADMIN)
    )["items"]
    assert [(i["title"], i["owner_person_id"]) for i in items] == [("Jobbeurs", None)]
    detail = ok(w.client.get(f"/api/v1/action-items/{items[0]['id']}", headers=ADMIN))
    assert [p["author_person_id"] for p in detail["progress"]] == [None]
    events = ok(
        w.client.get(
            f"/api/v1/forums/{w.forums['taskforce']}/events", params={"limit": 200}, headers=ADMIN
        )
    )["items"]
    assert not [e for e in events if "Koen Wouters" in e["actor"]]
    # The mail they were sent survives as counts in the audit trail.
    with db.db_session() as s:
        [event] = s.exec(select(Event).where(Event.kind == "person.erased")).all()
    assert event.data["mail"] == done["mail"] and event.data["person_id"] == me
    assert w.client.get(f"/api/v1/people/{me}/export", headers=ADMIN).json()["mail"] == []


def test_the_report_link_of_an_erased_person_no_longer_opens(w: World) -> None:
    """The report mailed to a co-chair opens from its link without logging in; once the
    co-chair is erased, that link opens nothing, in HTML or PDF."""
    from tests.api.test_follow_up import composed
    from tests.api.test_reports import PARENT_START, held_taskforce_session

    held_taskforce_session(w)
    schedule(w, PARENT_START, forum="mayors")
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))  # the report is compiled and owed
    me = w.people["co_chair"]
    [mail] = [d for d in deliveries("report") if d.person_id == me]
    text = composed(mail).message.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+/report/\S+", text)
    path = "/" + link.split("/", 3)[3]
    assert w.client.get(path).status_code == 200
    assert w.client.get(f"{path}/pdf").status_code == 200
    ok(w.client.delete(f"/api/v1/people/{me}", headers=ADMIN))
    for url in (path, f"{path}/pdf", f"{path}?lang=fr"):
        page = w.client.get(url)
        assert page.status_code == 410, url
        assert page.headers["content-type"].startswith("text/html")
        assert "This link no longer works." in page.text
        assert "Taskforce Spitsregio Leuven" not in page.text
    # Another recipient's link still opens.
    other = next(d for d in deliveries("report") if d.person_id == w.people["parent_co_chair"])
    text = composed(other).message.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+/report/\S+", text)
    assert w.client.get("/" + link.split("/", 3)[3]).status_code == 200
