"""The action items board: a compact table, filtered and sorted, overdue said in words, the
indicator chart; and progress updated on the item's page by those the API lets update it."""

import re
from datetime import date, timedelta

from tests.api.world import World, ok
from tests.web.pages import csrf, signed_in_as


def _item(w: World, session_id: int, **overrides: object) -> dict:
    body = {
        "title": "Jobkanalen in kaart brengen",
        "owner_person_id": w.people["outsider"],
        "due_date": (date.today() + timedelta(days=30)).isoformat(),
        "indicator": "Werkzoekenden bereikt",
        "unit": "personen",
        "baseline": 100,
        "target": 300,
        "current_value": 150,
    }
    body.update(overrides)
    url = f"/api/v1/sessions/{session_id}/action-items"
    return ok(w.client.post(url, json=body, headers=w.auth("secretariat")), 201)


def _rows(page: str) -> list[str]:
    """The board's rows, in order, as their HTML."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [r for r in body.split("<tr ")[1:]]


def _titles(page: str) -> list[str]:
    return [re.search(r'<a href="/action-items/\d+">([^<]+)</a>', r).group(1) for r in _rows(page)]  # type: ignore[union-attr]


def test_the_board_filters_and_highlights_what_is_overdue(w: World) -> None:
    s = w.schedule()
    late = _item(
        w, s["id"], title="Te laat", due_date=(date.today() - timedelta(days=3)).isoformat()
    )
    soon = _item(w, s["id"], title="Binnenkort", owner_person_id=w.people["member"])
    c = signed_in_as(w, "co_chair")
    page = c.get("/action-items").text
    assert "Te laat" in page and "Binnenkort" in page
    # One row per item, linking to its page; overdue said in words, not by colour alone.
    [late_row] = [r for r in _rows(page) if "Te laat" in r]
    [soon_row] = [r for r in _rows(page) if "Binnenkort" in r]
    assert late_row.startswith(f'id="item-{late["id"]}" class="overdue"')
    assert '<span class="badge bad late">overdue</span>' in late_row
    assert f'<a href="/action-items/{late["id"]}">Te laat</a>' in late_row
    assert soon_row.startswith(f'id="item-{soon["id"]}">') and "overdue" not in soon_row
    only_late = c.get("/action-items", params={"overdue": "1"}).text
    assert "Te laat" in only_late and "Binnenkort" not in only_late
    by_owner = c.get("/action-items", params={"owner": w.people["member"]}).text
    assert "Binnenkort" in by_owner and "Te laat" not in by_owner
    by_due = c.get("/action-items", params={"due_by": date.today().isoformat()}).text
    assert "Te laat" in by_due and "Binnenkort" not in by_due
    by_status = c.get("/action-items", params={"status": "done"}).text
    assert "Te laat" not in by_status and "No action items match." in by_status
    # Malformed filters are ignored, not a 500.
    for junk in (
        {"forum_id": "x"},
        {"due_by": "morgen"},
        {"status": "<b>"},
        {"owner": "9" * 30},
        {"sort": "<b>"},
    ):
        assert c.get("/action-items", params=junk).status_code == 200
    # The indicator against its target: 150 of 100 → 300 is a quarter of the way.
    assert 'role="img" aria-label="25% of the way from baseline to target"' in page


def test_the_board_is_a_compact_table_sorted_by_its_column_links(w: World) -> None:
    s = w.schedule()
    today = date.today()
    _item(w, s["id"], title="Later", due_date=(today + timedelta(days=40)).isoformat())
    done = _item(
        w,
        s["id"],
        title="Eerst",
        due_date=(today + timedelta(days=2)).isoformat(),
        owner_person_id=w.people["member"],
    )
    ok(
        w.client.patch(
            f"/api/v1/action-items/{done['id']}",
            json={"status": "done", "version": done["version"]},
            headers=w.auth("secretariat"),
        )
    )
    c = signed_in_as(w, "co_chair")
    page = c.get("/action-items").text
    # No form per item: the forms are on the item's page.
    assert "Update progress" not in page and "<textarea" not in page
    assert _titles(page) == ["Eerst", "Later"]  # by due date first
    # The sort links (above the table, so a phone shows them too) keep the filters; the
    # current one is marked, and so is its column.
    assert '<th scope="col" aria-sort="ascending">Due date' in page
    assert '<strong aria-current="true">Due date</strong>' in page
    for key in ("status", "owner", "forum"):
        assert f'href="/action-items?sort={key}"' in page
    assert _titles(c.get("/action-items", params={"sort": "status"}).text) == ["Later", "Eerst"]
    names = {w.people["member"]: "", w.people["outsider"]: ""}
    for pid in names:
        names[pid] = ok(w.client.get(f"/api/v1/people/{pid}", headers=w.auth("admin")))["name"]
    by_owner = _titles(c.get("/action-items", params={"sort": "owner"}).text)
    expected = sorted(
        [("Eerst", names[w.people["member"]]), ("Later", names[w.people["outsider"]])],
        key=lambda t: t[1].casefold(),
    )
    assert by_owner == [t for t, _ in expected]
    filtered = c.get("/action-items", params={"status": "done", "sort": "due"}).text
    assert 'href="/action-items?status=done&amp;sort=owner"' in filtered
    # On a phone each row is a block, every value under its column's name.
    row = _rows(page)[0]
    for label in ("Forum", "Owner", "Due date", "Status", "Progress"):
        assert f'data-label="{label}"' in row
    assert '<table class="stack board">' in page


def test_the_owner_updates_progress_on_the_items_page_as_through_the_api(w: World) -> None:
    s = w.schedule()
    item = _item(w, s["id"])
    c = signed_in_as(w, "outsider")  # the owner, not a member of the forum
    assert f'<a href="/action-items/{item["id"]}">' in c.get("/action-items").text
    page = c.get(f"/action-items/{item['id']}").text
    assert "Jobkanalen in kaart brengen" in page and "Update progress" in page
    form = {
        "csrf": csrf(page),
        "version": "1",
        "status": "in_progress",
        "current_value": "175,5",
        "note": "Eerste ronde gesprekken",
    }
    r = c.post(f"/action-items/{item['id']}/progress", data=form, follow_redirects=False)
    assert (
        r.status_code == 303
        and r.headers["location"] == f"/action-items/{item['id']}?done=progress"
    )
    after = ok(w.client.get(f"/api/v1/action-items/{item['id']}", headers=w.auth("secretariat")))
    assert (
        after["status"] == "in_progress"
        and after["current_value"] == 175.5
        and after["version"] == 2
    )
    assert after["progress"][-1]["note"] == "Eerste ronde gesprekken"
    assert "Progress saved." in c.get(r.headers["location"]).text
    # The same form again carries version 1: someone (this owner) changed it meanwhile.
    stale = c.post(f"/action-items/{item['id']}/progress", data={**form, "status": "done"})
    assert stale.status_code == 409 and "changed this action item meanwhile" in stale.text
    bad = c.post(
        f"/action-items/{item['id']}/progress",
        data={**form, "version": "2", "current_value": "veel"},
    )
    assert bad.status_code == 422 and "Please give a number" in bad.text
    nothing = c.post(
        f"/action-items/{item['id']}/progress",
        data={
            "csrf": form["csrf"],
            "version": "2",
            "status": "in_progress",
            "current_value": "175.5",
        },
    )
    assert nothing.status_code == 422 and "Nothing to save" in nothing.text


def test_a_member_who_does_not_own_the_item_cannot_update_it(w: World) -> None:
    s = w.schedule()
    item = _item(w, s["id"])
    c = signed_in_as(w, "member")
    assert "Jobkanalen in kaart brengen" in c.get("/action-items").text
    page = c.get(f"/action-items/{item['id']}").text
    assert "Jobkanalen in kaart brengen" in page and "Update progress" not in page
    r = c.post(
        f"/action-items/{item['id']}/progress",
        data={"csrf": csrf(page), "version": "1", "status": "done"},
    )
    assert r.status_code == 403
    assert (
        ok(w.client.get(f"/api/v1/action-items/{item['id']}", headers=w.auth("member")))["status"]
        == "open"
    )


def test_the_owners_form_does_not_offer_cancelling_and_a_forged_post_is_refused(
    w: World,
) -> None:
    s = w.schedule()
    item = _item(w, s["id"])  # owned by someone outside the forum
    option = '<option value="cancelled"'
    select = '<select id="status" name="status">'
    page_url = f"/action-items/{item['id']}"
    owner = signed_in_as(w, "outsider")
    page = owner.get(page_url).text
    form = page.split(select)[1].split("</select>")[0]
    assert option not in form and '<option value="done"' in form
    r = owner.post(
        f"/action-items/{item['id']}/progress",
        data={"csrf": csrf(page), "status": "cancelled", "version": str(item["version"])},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "You may not do this" in r.text
    detail = ok(w.client.get(f"/api/v1/action-items/{item['id']}", headers=w.auth("co_chair")))
    assert detail["status"] == "open" and detail["progress"] == []
    # The forum's co-chair is offered it, and cancels.
    chair = signed_in_as(w, "co_chair")
    page = chair.get(page_url).text
    assert option in page.split(select)[1].split("</select>")[0]
    r = chair.post(
        f"/action-items/{item['id']}/progress",
        data={"csrf": csrf(page), "status": "cancelled", "version": str(item["version"])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # Cancelled, the owner's form shows the status and offers nothing else for it.
    owner = signed_in_as(w, "outsider")
    form = owner.get(page_url).text.split(select)[1].split("</select>")[0]
    assert form.count("<option") == 1 and f"{option} selected" in form
