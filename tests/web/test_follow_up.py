"""After the session, on its page: attendance, outcomes, action items and closing with a
preview of who gets the summary. The same domain effects as the API, clear refusals."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.api.world import World, build_world, ok
from tests.web.pages import csrf, signed_in_as
from workflow import clock
from workflow.db import db_session
from workflow.models import Delivery

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW + timedelta(days=2)


@pytest.fixture
def w(client) -> World:
    clock.freeze(NOW)
    return build_world(client)


def _session(w: World) -> dict:
    return w.schedule(
        starts_at=START.isoformat(),
        ends_at=(START + timedelta(hours=2)).isoformat(),
        agenda=[{"title": "Jobkanalen", "kind": "decision"}, {"title": "Varia"}],
    )


def _during(w: World, who: str = "secretariat") -> TestClient:
    """Half an hour into the session, signed in as `who`."""
    clock.freeze(START + timedelta(minutes=30))
    return signed_in_as(w, who)


def _page(c: TestClient, sid: int) -> str:
    r = c.get(f"/sessions/{sid}")
    assert r.status_code == 200, r.text
    return r.text


def _version(w: World, sid: int) -> str:
    return str(ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("admin")))["version"])


def test_a_manager_records_what_happened_and_closes_the_session(w: World) -> None:
    s = _session(w)
    sid = s["id"]
    c = _during(w)
    page = _page(c, sid)
    for label in ("Attendance of Koen Wouters", "Outcome: Jobkanalen", "Owner", "Baseline"):
        assert label in page
    token = csrf(page)
    member, observer = w.people["member"], w.people["observer"]
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={
            "csrf": token,
            "version": _version(w, sid),
            f"attendance-{member}": "excused",
            f"attendance-{observer}": "absent",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "Attendance saved." in c.get(r.headers["location"]).text
    marks = {
        p["person_id"]: p["attendance"]
        for p in ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))[
            "participants"
        ]
    }
    assert marks[member] == "excused" and marks[observer] == "absent"

    agenda = ok(w.client.get(f"/api/v1/sessions/{sid}/agenda-items", headers=w.auth("member")))
    r = c.post(
        f"/sessions/{sid}/outcomes",
        data={
            "csrf": token,
            "version": _version(w, sid),
            f"outcome-{agenda[0]['id']}": "Akkoord: twee jobbeurzen.",
            f"outcome-{agenda[1]['id']}": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "Akkoord: twee jobbeurzen." in c.get(r.headers["location"]).text

    r = c.post(
        f"/sessions/{sid}/action-items",
        data={
            "csrf": token,
            "title": "Jobbeurs in Tienen organiseren",
            "owner": f"person:{member}",
            "due_date": "2030-06-30",
            "indicator": "Werkzoekenden bereikt",
            "unit": "personen",
            "baseline": "0",
            "target": "250,5",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    [item] = ok(w.client.get(f"/api/v1/action-items?session_id={sid}", headers=w.auth("member")))[
        "items"
    ]
    assert item["owner_person_id"] == member and item["target"] == 250.5
    assert item["due_date"] == "2030-06-30" and item["indicator"] == "Werkzoekenden bereikt"
    assert "Jobbeurs in Tienen organiseren" in c.get(f"/action-items?session_id={sid}").text

    form = c.get(f"/sessions/{sid}/close").text
    assert "Preview closing" in form and "selected>excused" in form
    data = {"csrf": csrf(form), "version": _version(w, sid), f"attendance-{member}": "present"}
    preview = c.post(f"/sessions/{sid}/close", data=data)
    assert preview.status_code == 200 and "Who gets the summary" in preview.text
    assert (
        preview.text.count("the summary") >= 5
        and "1 action items as calendar to-dos" in preview.text
    )
    assert "Confirm and send the summary" in preview.text
    assert ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))["status"] == (
        "scheduled"
    )
    r = c.post(f"/sessions/{sid}/close", data={**data, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}?done=closed"
    closed = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert closed["status"] == "held"
    assert {p["person_id"]: p["attendance"] for p in closed["participants"]}[member] == "present"
    with db_session() as db:
        owed = db.exec(select(Delivery.person_id).where(Delivery.reason == "summary")).all()
    assert sorted(owed) == sorted(p["person_id"] for p in closed["participants"])
    after = c.get(r.headers["location"]).text
    assert "The summary is on its way" in after and f"/sessions/{sid}/close" not in after


def test_attendance_before_the_session_began_says_so(w: World) -> None:
    sid = _session(w)["id"]
    c = signed_in_as(w, "co_chair")
    page = _page(c, sid)
    assert "Attendance can be recorded once the session has begun." in page
    assert f"/sessions/{sid}/close" not in page
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={
            "csrf": csrf(page),
            "version": _version(w, sid),
            f"attendance-{w.people['member']}": "present",
        },
    )
    assert r.status_code == 422 and "once the session has started" in r.text
    assert "Nothing was saved" in r.text
    r = c.post(f"/sessions/{sid}/close", data={"csrf": csrf(page), "version": _version(w, sid)})
    assert r.status_code == 422 and "once the session has started" in r.text


def test_bad_input_csrf_and_stale_versions_are_clear_pages(w: World) -> None:
    sid = _session(w)["id"]
    c = _during(w, "co_chair")
    token = csrf(_page(c, sid))
    good = {"csrf": token, "title": "Actie", "owner": f"person:{w.people['member']}"}
    for bad, field in (
        ({"title": ""}, "title"),
        ({"title": "a\x07b"}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"due_date": "2027-02-30"}, "due_date"),
        ({"target": "1e309"}, "target"),
        ({"baseline": "9" * 40}, "baseline"),
        ({"baseline": "veel"}, "baseline"),
        ({"unit": "x" * 41}, "unit"),
        ({"owner": ""}, "owner"),
        ({"owner": "person:999999"}, "owner"),
        ({"owner": "organisation:x"}, "owner"),
    ):
        r = c.post(f"/sessions/{sid}/action-items", data={**good, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert f'id="err-{field}"' in r.text and "Traceback" not in r.text, bad
    assert 'value="Actie"' in r.text  # what was typed is kept
    # Every field's reason at once, not only the first one's.
    bad = {"csrf": token, "title": "", "owner": "", "due_date": "2027-02-30", "target": "1e309"}
    r = c.post(f"/sessions/{sid}/action-items", data=bad)
    for field in ("title", "owner", "due_date", "target"):
        assert f'id="err-{field}"' in r.text, field
    agenda = ok(w.client.get(f"/api/v1/sessions/{sid}/agenda-items", headers=w.auth("member")))
    name = f"outcome-{agenda[0]['id']}"
    for text in ("a\x00b", "x" * 20_001):
        r = c.post(
            f"/sessions/{sid}/outcomes",
            data={"csrf": token, "version": _version(w, sid), name: text},
        )
        assert r.status_code == 422 and f'id="err-{name}"' in r.text
        r = c.post(
            f"/sessions/{sid}/close", data={"csrf": token, "version": _version(w, sid), name: text}
        )
        assert r.status_code == 422 and f'id="err-{name}"' in r.text
    junk = f"attendance-{w.people['member']}"
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={"csrf": token, "version": _version(w, sid), junk: "maybe"},
    )
    assert r.status_code == 422 and f'id="err-{junk}"' in r.text
    r = c.post(f"/sessions/{sid}/attendance", data={"csrf": token, "version": _version(w, sid)})
    assert r.status_code == 422 and "for someone" in r.text
    assert (
        ok(w.client.get(f"/api/v1/action-items?session_id={sid}", headers=w.auth("member")))[
            "total"
        ]
        == 0
    )
    # Without the CSRF field: refused. With a version someone else moved on: said so.
    for action in ("attendance", "outcomes", "action-items", "close"):
        r = c.post(f"/sessions/{sid}/{action}", data={"version": _version(w, sid), "title": "x"})
        assert r.status_code == 403, action
    page = _page(c, sid)
    # Meanwhile the other co-chair records attendance through the API.
    mark = {"person_id": w.people["observer"], "attendance": "absent"}
    ok(
        w.client.put(
            f"/api/v1/sessions/{sid}/attendance",
            json={"attendance": [mark]},
            headers={**w.auth("co_chair_2"), "If-Match": '"1"'},
        )
    )
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={"csrf": csrf(page), "version": "1", f"attendance-{w.people['member']}": "present"},
    )
    assert r.status_code == 409 and "Someone changed this session meanwhile" in r.text


def _marks(w: World, sid: int) -> dict[int, str | None]:
    participants = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))[
        "participants"
    ]
    return {p["person_id"]: p["attendance"] for p in participants}


def test_everyone_present_then_the_exceptions(w: World) -> None:
    """One button marks everyone present who has no mark; a choice made in the list is kept
    (so 11 people with 2 exceptions are 2 choices and one button, not 11 choices)."""
    sid = _session(w)["id"]
    c = _during(w)
    page = _page(c, sid)
    assert '<button type="submit" name="everyone" value="present"' in page
    assert 'aria-describedby="everyone-hint">Everyone present</button>' in page
    member, observer = w.people["member"], w.people["observer"]
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={
            "csrf": csrf(page),
            "version": _version(w, sid),
            "everyone": "present",
            f"attendance-{member}": "excused",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    marks = _marks(w, sid)
    assert marks[member] == "excused"
    assert {m for pid, m in marks.items() if pid != member} == {"present"}
    # Then an exception changed in the list; everyone else stays as recorded.
    page = _page(c, sid)
    r = c.post(
        f"/sessions/{sid}/attendance",
        data={"csrf": csrf(page), "version": _version(w, sid), f"attendance-{observer}": "absent"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = _marks(w, sid)
    assert after[observer] == "absent" and after[member] == "excused"
    assert sum(1 for m in after.values() if m == "present") == len(after) - 2
    # A recorded mark is not overwritten by the button.
    page = _page(c, sid)
    c.post(
        f"/sessions/{sid}/attendance",
        data={"csrf": csrf(page), "version": _version(w, sid), "everyone": "present"},
    )
    assert _marks(w, sid) == after


def test_everyone_present_on_the_close_form_fills_the_form_and_saves_nothing(w: World) -> None:
    sid = _session(w)["id"]
    c = _during(w)
    page = c.get(f"/sessions/{sid}/close").text
    assert 'name="everyone" value="present"' in page
    member = w.people["member"]
    agenda = ok(w.client.get(f"/api/v1/sessions/{sid}/agenda-items", headers=w.auth("member")))
    outcome = f"outcome-{agenda[0]['id']}"
    r = c.post(
        f"/sessions/{sid}/close",
        data={
            "csrf": csrf(page),
            "version": _version(w, sid),
            "everyone": "present",
            f"attendance-{member}": "absent",
            outcome: "Akkoord",
        },
    )
    assert r.status_code == 200 and "Everyone without a mark is present in the form" in r.text
    assert "Preview closing" in r.text and "Akkoord</textarea>" in r.text  # nothing typed lost
    selected = dict(
        re.findall(r'<select id="attendance-(\d+)".*?selected>([^<]+)</option>', r.text, re.S)
    )
    assert selected.pop(str(member)) == "absent"
    assert set(selected.values()) == {"present"} and selected
    assert set(_marks(w, sid).values()) == {None}  # nothing saved yet
    assert ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))["status"] == (
        "scheduled"
    )
