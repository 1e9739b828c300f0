from datetime import UTC, date, datetime, timedelta

from tests.api.world import World, ok
from workflow import clock
from workflow.follow_up import links


def _item(w: World, session_id: int, **overrides: object) -> dict:
    body = {
        "title": "Jobkanalen in kaart brengen",
        "owner_person_id": w.people["member"],
        "due_date": (date.today() + timedelta(days=30)).isoformat(),
        "indicator": "Werkzoekenden bereikt",
        "unit": "personen",
        "baseline": 120,
        "target": 400,
        "current_value": 120,
    }
    body.update(overrides)
    return ok(
        w.client.post(
            f"/api/v1/sessions/{session_id}/action-items", json=body, headers=w.auth("secretariat")
        ),
        201,
    )


def test_action_item_born_in_a_session_with_a_measurable_objective(w: World) -> None:
    s = w.schedule()
    item = _item(w, s["id"])
    assert item["forum_id"] == w.forums["taskforce"] and item["session_id"] == s["id"]
    assert (item["baseline"], item["target"], item["current_value"]) == (120, 400, 120)
    assert item["status"] == "open" and item["overdue"] is False


def test_an_action_item_and_the_event_of_its_creation_are_stored_together(w: World) -> None:
    """Written by one statement on PostgreSQL, two elsewhere: the same item and event."""
    s = w.schedule()
    before = clock.now().replace(microsecond=0)
    item = _item(w, s["id"], due_date="2027-06-30")
    events = ok(
        w.client.get(
            f"/api/v1/sessions/{s['id']}/events",
            params={"kind": "action_item.created"},
            headers=w.auth("secretariat"),
        )
    )["items"]
    assert len(events) == 1
    event = events[0]
    assert event["action_item_id"] == item["id"]
    assert event["actor"] == f"person:{w.people['secretariat']} Sofie Janssens"
    assert (event["forum_id"], event["session_id"]) == (w.forums["taskforce"], s["id"])
    assert event["data"] == {
        "title": "Jobkanalen in kaart brengen",
        "owner_person_id": w.people["member"],
        "owner_organisation_id": None,
        "due_date": "2027-06-30",
    }
    assert before <= datetime.fromisoformat(event["occurred_at"]) <= clock.now()
    read = ok(w.client.get(f"/api/v1/action-items/{item['id']}", headers=w.auth("member")))
    assert {k: read[k] for k in item} == item
    # A creation refused leaves neither an item nor an event behind.
    r = w.client.post(
        f"/api/v1/sessions/{s['id']}/action-items",
        headers=w.auth("secretariat"),
        json={"title": "Zonder eigenaar", "owner_person_id": 999_999},
    )
    assert r.status_code == 422
    page = ok(w.client.get("/api/v1/action-items", headers=w.auth("secretariat")))
    assert [i["id"] for i in page["items"]] == [item["id"]]


def test_owner_must_be_known(w: World) -> None:
    s = w.schedule()
    r = w.client.post(
        f"/api/v1/sessions/{s['id']}/action-items",
        headers=w.auth("co_chair"),
        json={"title": "x", "owner_person_id": 424242},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/owner_person_id"
    r = w.client.post(
        f"/api/v1/sessions/{s['id']}/action-items", headers=w.auth("co_chair"), json={"title": "x"}
    )
    assert r.status_code == 422 and "needs an owner" in r.json()["detail"]


def test_owner_reports_progress_and_history_is_kept(w: World) -> None:
    s = w.schedule()
    item = _item(w, s["id"])
    url = f"/api/v1/action-items/{item['id']}"
    r = ok(
        w.client.patch(
            url,
            headers=w.auth("member"),
            json={
                "status": "in_progress",
                "current_value": 180,
                "note": "Eerste workshop in Tienen",
            },
        )
    )
    assert r["status"] == "in_progress" and r["current_value"] == 180
    assert r["progress"][-1]["note"] == "Eerste workshop in Tienen"
    assert r["progress"][-1]["value"] == 180
    done = ok(w.client.patch(url, headers=w.auth("member"), json={"status": "done"}))
    assert done["completed_at"] is not None
    stale = w.client.patch(
        url, headers={**w.auth("member"), "If-Match": '"1"'}, json={"current_value": 1}
    )
    assert stale.status_code == 412
    events = ok(
        w.client.get(
            f"/api/v1/forums/{w.forums['taskforce']}/events",
            headers=w.auth("member"),
            params={"kind": "action_item.updated"},
        )
    )
    assert events["total"] == 2
    assert events["items"][1]["data"]["changes"]["current_value"] == [120.0, 180.0]


def test_list_by_owner_status_and_overdue(w: World) -> None:
    s = w.schedule()
    soon = (date.today() + timedelta(days=3)).isoformat()
    a = _item(w, s["id"], due_date=soon)
    _item(w, s["id"], owner_person_id=w.people["co_chair"], due_date=soon)
    _item(w, s["id"], due_date=None)
    clock.freeze(datetime.now(UTC) + timedelta(days=10))
    lst = ok(
        w.client.get("/api/v1/action-items", headers=w.auth("co_chair"), params={"overdue": True})
    )
    assert lst["total"] == 2 and all(i["overdue"] for i in lst["items"])
    mine = ok(
        w.client.get(
            "/api/v1/action-items",
            headers=w.auth("member"),
            params={"owner_person_id": w.people["member"], "overdue": True},
        )
    )
    assert [i["id"] for i in mine["items"]] == [a["id"]]
    ok(
        w.client.patch(
            f"/api/v1/action-items/{a['id']}", headers=w.auth("member"), json={"status": "done"}
        )
    )
    assert (
        ok(
            w.client.get(
                "/api/v1/action-items", headers=w.auth("co_chair"), params={"overdue": True}
            )
        )["total"]
        == 1
    )
    assert (
        ok(
            w.client.get(
                "/api/v1/action-items", headers=w.auth("co_chair"), params={"status": "done"}
            )
        )["total"]
        == 1
    )


def test_no_action_items_from_a_cancelled_session(w: World) -> None:
    s = w.schedule()
    ok(w.client.post(f"/api/v1/sessions/{s['id']}/cancel", json={}, headers=w.auth("co_chair")))
    r = w.client.post(
        f"/api/v1/sessions/{s['id']}/action-items",
        headers=w.auth("co_chair"),
        json={"title": "x", "owner_person_id": w.people["member"]},
    )
    assert r.status_code == 422


def test_indicator_values_must_be_numbers(w: World) -> None:
    s = w.schedule()
    for bad in ("NaN", "Infinity", "veel", 1e300):
        r = w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            headers=w.auth("co_chair"),
            content=f'{{"title": "x", "owner_person_id": {w.people["member"]}, '
            f'"target": {bad if not isinstance(bad, str) else chr(34) + bad + chr(34)}}}',
        )
        assert r.status_code == 422, (bad, r.text)


def test_only_managers_cancel_an_item_or_take_it_out_of_cancelled(w: World) -> None:
    """Cancelling takes an item off every overdue and escalation list: not the owner's call
    (the owner here is a plain member of the forum, reporting with their own token)."""
    s = w.schedule()
    late = (date.today() - timedelta(days=20)).isoformat()
    item = _item(w, s["id"], due_date=late)
    url, owner = f"/api/v1/action-items/{item['id']}", w.auth("member")
    overdue = {"forum_id": w.forums["taskforce"], "overdue": "true"}
    r = w.client.patch(url, json={"status": "cancelled", "note": "Niet meer nodig"}, headers=owner)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert "co-chairs and secretariat cancel" in r.json()["detail"]
    after = ok(w.client.get(url, headers=owner))
    assert (after["status"], after["version"], after["progress"]) == ("open", 1, [])
    listed = ok(w.client.get("/api/v1/action-items", params=overdue, headers=owner))
    assert [i["id"] for i in listed["items"]] == [item["id"]]  # still overdue, still chased
    # Everything else of their progress is still theirs to report.
    ok(w.client.patch(url, json={"status": "in_progress", "current_value": 150}, headers=owner))
    # A co-chair cancels; the owner cannot undo it, the secretariat can.
    ok(w.client.patch(url, json={"status": "cancelled"}, headers=w.auth("co_chair")))
    assert w.client.patch(url, json={"status": "open"}, headers=owner).status_code == 403
    # Nor by the "done" link of a digest mailed before: the page says why.
    done = links.links(item["id"], w.people["member"])["done"]
    page = w.client.post("/" + done.split("/", 3)[3])
    assert page.status_code == 403 and "heropenen" in page.text  # the member reads Dutch
    ok(w.client.patch(url, json={"note": "Jammer", "current_value": 160}, headers=owner))
    assert ok(w.client.get(url, headers=owner))["status"] == "cancelled"
    ok(w.client.patch(url, json={"status": "open"}, headers=w.auth("secretariat")))
