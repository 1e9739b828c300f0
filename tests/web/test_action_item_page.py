"""An action item's own page: what it is and where it came from, its history (status
changes, values, notes, escalation and decision), the managers' edit and cancel, the owner's
progress; and a new-item form sent twice makes one item."""

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.api.world import World, ok
from tests.web.pages import csrf, signed_in_as


def _item(w: World, **overrides: object) -> dict:
    s = w.schedule()
    body = {
        "title": "Jobkanalen in kaart brengen",
        "owner_person_id": w.people["outsider"],
        "due_date": (date.today() + timedelta(days=30)).isoformat(),
        "indicator": "Werkzoekenden bereikt",
        "unit": "personen",
        "baseline": 100,
        "target": 300,
    }
    body.update(overrides)
    url = f"/api/v1/sessions/{s['id']}/action-items"
    return ok(w.client.post(url, json=body, headers=w.auth("secretariat")), 201)


def _api(w: World, item_id: int) -> dict:
    return ok(w.client.get(f"/api/v1/action-items/{item_id}", headers=w.auth("secretariat")))


def _post(c: TestClient, url: str, data: dict[str, str]) -> object:
    page = c.get(url.rsplit("/", 1)[0]).text
    return c.post(url, data={"csrf": csrf(page), **data}, follow_redirects=False)


def test_the_owner_sees_the_item_and_its_history_and_reports_progress(w: World) -> None:
    item = _item(w)
    iid = item["id"]
    c = signed_in_as(w, "outsider")  # owns it, no role in the forum
    page = c.get(f"/action-items/{iid}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    text = page.text
    assert "Jobkanalen in kaart brengen" in text and "Werkzoekenden bereikt" in text
    assert f'href="/sessions/{item["session_id"]}"' in text
    assert "History" in text and "Recorded" in text
    assert "Update progress" in text
    assert "Edit the action item" not in text and "Cancel the action item" not in text
    r = c.post(
        f"/action-items/{iid}/progress",
        data={
            "csrf": csrf(text),
            "version": str(item["version"]),
            "from": "page",
            "status": "in_progress",
            "current_value": "150,5",
            "note": "Eerste gesprekken gevoerd",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/action-items/{iid}?done=progress"
    after = c.get(r.headers["location"]).text
    assert "Progress saved." in after
    assert "Status: in progress" in after
    assert "Value reported: 150.5" in after
    assert "Note: Eerste gesprekken gevoerd" in after
    # The owner has no cancel: a forged post is the 403 page, and nothing changes.
    forged = c.post(
        f"/action-items/{iid}/cancel",
        data={"csrf": csrf(after), "version": "2", "reason": "x"},
    )
    assert forged.status_code == 403
    assert _api(w, iid)["status"] == "in_progress"


def test_the_page_reads_in_the_readers_language(w: World) -> None:
    item = _item(w)
    c = signed_in_as(w, "member", lang="fr")
    text = c.get(f"/action-items/{item['id']}").text
    assert "Historique" in text and "Enregistrée" in text and "Décidée lors de" in text
    c = signed_in_as(w, "member", lang="nl")
    text = c.get(f"/action-items/{item['id']}").text
    assert "Geschiedenis" in text and "Beslist in" in text
    # A member reads it but has no form.
    assert '<form method="post" action="/action-items/' not in text


def test_a_manager_edits_with_the_version_and_cancels_with_a_reason(w: World) -> None:
    item = _item(w)
    iid = item["id"]
    c = signed_in_as(w, "secretariat")
    page = c.get(f"/action-items/{iid}").text
    assert "Edit the action item" in page and "Cancel the action item" in page
    fields = {
        "csrf": csrf(page),
        "version": "1",
        "title": "Jobkanalen en opleidingen in kaart brengen",
        "description": "",
        "owner": f"person:{w.people['member']}",
        "due_date": "2030-06-30",
        "indicator": "Werkzoekenden bereikt",
        "unit": "personen",
        "baseline": "100",
        "target": "350,5",
    }
    r = c.post(f"/action-items/{iid}/edit", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = _api(w, iid)
    assert after["title"] == "Jobkanalen en opleidingen in kaart brengen"
    assert after["owner_person_id"] == w.people["member"] and after["target"] == 350.5
    assert after["due_date"] == "2030-06-30" and after["version"] == 2
    shown = c.get(r.headers["location"]).text
    assert "The action item is saved." in shown and "Edited" in shown
    # The same form again carries version 1: someone changed it meanwhile, nothing saved.
    stale = c.post(f"/action-items/{iid}/edit", data={**fields, "title": "Oud"})
    assert stale.status_code == 409 and "changed this action item meanwhile" in stale.text
    assert _api(w, iid)["title"] == "Jobkanalen en opleidingen in kaart brengen"
    bad = c.post(f"/action-items/{iid}/edit", data={**fields, "version": "2", "target": "veel"})
    assert bad.status_code == 422 and "Nothing was saved" in bad.text
    # Cancel, with a reason: it is in the history, and the cancel form is gone.
    r = c.post(
        f"/action-items/{iid}/cancel",
        data={"csrf": csrf(shown), "version": "2", "reason": "Dubbel ingevoerd"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _api(w, iid)["status"] == "cancelled"
    done = c.get(r.headers["location"]).text
    assert "The action item is cancelled." in done
    assert "Status: cancelled" in done and "Note: Dubbel ingevoerd" in done
    assert 'action="/action-items/' + str(iid) + '/cancel"' not in done


def test_escalation_and_the_mayors_decision_are_on_the_page(w: World) -> None:
    item = _item(w, due_date=(date.today() - timedelta(days=20)).isoformat())
    iid = item["id"]
    ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/escalate",
            json={"note": "Budget nodig"},
            headers=w.auth("secretariat"),
        )
    )
    ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/decision",
            json={"decision": "De provincie betaalt."},
            headers=w.auth("parent_co_chair"),
        )
    )
    text = signed_in_as(w, "co_chair").get(f"/action-items/{iid}").text
    assert "Escalated to the parent forum" in text and "Budget nodig" in text
    assert "Decision of the mayors" in text and "De provincie betaalt." in text


def test_unknown_and_malformed_item_ids_are_pages(w: World) -> None:
    c = signed_in_as(w, "co_chair")
    r = c.get("/action-items/999999")
    assert r.status_code == 404 and "<html" in r.text
    r = c.get("/action-items/abc")
    assert r.status_code == 422 and "<html" in r.text


def test_the_new_item_form_sent_twice_records_one_item(w: World) -> None:
    from tests.web.test_follow_up import _during, _session

    s = _session(w)
    sid = s["id"]
    c = _during(w)
    page = c.get(f"/sessions/{sid}").text
    nonce = page.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    assert len(nonce) >= 32
    form = {
        "csrf": csrf(page),
        "nonce": nonce,
        "title": "Jobbeurs organiseren",
        "owner": f"person:{w.people['member']}",
        "due_date": "2030-06-30",
    }
    first = c.post(f"/sessions/{sid}/action-items", data=form, follow_redirects=False)
    assert first.status_code == 303 and "done=action_item" in first.headers["location"]
    again = c.post(f"/sessions/{sid}/action-items", data=form, follow_redirects=False)
    assert again.status_code == 303
    items = ok(
        w.client.get(f"/api/v1/action-items?session_id={sid}", headers=w.auth("secretariat"))
    )["items"]
    assert [i["title"] for i in items] == ["Jobbeurs organiseren"]
    assert again.headers["location"] == f"/action-items/{items[0]['id']}?done=again"
    shown = c.get(again.headers["location"]).text
    assert "This form was already sent" in shown and "Jobbeurs organiseren" in shown
    # A fresh form (a new value) records a second one, as asked.
    fresh = c.get(f"/sessions/{sid}").text
    other = fresh.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    assert other != nonce
    c.post(f"/sessions/{sid}/action-items", data={**form, "nonce": other})
    items = ok(
        w.client.get(f"/api/v1/action-items?session_id={sid}", headers=w.auth("secretariat"))
    )["items"]
    assert len(items) == 2
