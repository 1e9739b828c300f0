"""A scheduled session's agenda and participants through their pages: each change previewed
(what changes, who will be told), nothing saved until it is confirmed, then the mail owed."""

import re
from typing import Any

from sqlmodel import select

from tests.api.world import World, ok
from tests.conftest import ADMIN
from tests.web.pages import csrf, signed_in_as
from workflow.db import db_session
from workflow.invitations.reconcile import reconcile_session
from workflow.models import Delivery


def _session(w: World, agenda: list[str]) -> int:
    body = w.session_body(
        participant_ids=[w.people[p] for p in ("secretariat", "member")],
        agenda=[{"title": t} for t in agenda],
    )
    sid = int(
        ok(
            w.client.post(
                f"/api/v1/forums/{w.forums['taskforce']}/sessions", json=body, headers=ADMIN
            ),
            201,
        )["id"]
    )
    reconcile_session(sid)  # the invitations are owed: what follows is the change's own mail
    return sid


def _read(w: World, sid: int) -> dict[str, Any]:
    return ok(w.client.get(f"/api/v1/sessions/{sid}", headers=ADMIN))


def _titles(w: World, sid: int) -> list[str]:
    return [a["title"] for a in _read(w, sid)["agenda"]]


def _owed(sid: int) -> list[tuple[str, int]]:
    """The mail the change owes, as (reason, person)."""
    _, created = reconcile_session(sid)
    with db_session() as db:
        rows = db.exec(select(Delivery).where(Delivery.id.in_(created))).all()  # type: ignore[attr-defined]
        return sorted((d.reason, d.person_id) for d in rows)


def _preview_then_confirm(w: World, sid: int, page: str, post: str, data: dict) -> str:
    """Post the change from `page`: the preview saves nothing; its own form confirms it."""
    c = w.client
    html = c.get(page).text
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version, html
    form = {"csrf": csrf(html), "version": version.group(1), **data}
    before = _read(w, sid)
    preview = c.post(post, data=form)
    assert preview.status_code == 200, preview.text
    assert "Who will be told" in preview.text and "Confirm and notify" in preview.text
    assert _read(w, sid) == before  # the preview changed nothing
    r = c.post(post, data={**form, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(post + "?done=")
    assert _read(w, sid)["version"] > before["version"]  # one step per domain change
    return preview.text


def test_adding_an_item_goes_before_varia_and_tells_everyone(w: World) -> None:
    sid = _session(w, ["Goedkeuring verslag", "Jobkanalen", "Varia"])
    signed_in_as(w, "co_chair")
    page = f"/sessions/{sid}/agenda"
    assert "Varia" in w.client.get(page).text
    preview = _preview_then_confirm(
        w,
        sid,
        page,
        page,
        {
            "action": "add",
            "title": "Mobiliteitsplan",
            "kind": "decision",
            "presenter": "VDAB, Koen Wouters",
            "description": "Voorstel ter goedkeuring",
        },
    )
    changes = preview.split("What changes")[1].split("Who will be told")[0]
    assert "Mobiliteitsplan" in changes and "for decision" in changes
    assert preview.count("an updated invitation") == 4
    # The taskforce's parent is no child of it: no report-back here, just the four items.
    assert _titles(w, sid) == ["Goedkeuring verslag", "Jobkanalen", "Mobiliteitsplan", "Varia"]
    added = _read(w, sid)["agenda"][2]
    assert added["kind"] == "decision" and added["presenter"] == "VDAB, Koen Wouters"
    assert added["description"] == "Voorstel ter goedkeuring"
    everyone = {w.people[p] for p in ("co_chair", "co_chair_2", "secretariat", "member")}
    owed = _owed(sid)
    assert {r for r, _ in owed} == {"update"} and {p for _, p in owed} == everyone
    assert "Presented by VDAB, Koen Wouters" in w.client.get(f"/sessions/{sid}").text


def test_editing_moving_and_removing_an_item(w: World) -> None:
    sid = _session(w, ["Verslag", "Jobkanalen", "Rondvraag"])
    signed_in_as(w, "secretariat")
    page = f"/sessions/{sid}/agenda"
    items = _read(w, sid)["agenda"]
    edit = w.client.get(f"{page}/{items[1]['id']}/edit")
    assert edit.status_code == 200 and 'value="Jobkanalen"' in edit.text
    _preview_then_confirm(
        w,
        sid,
        f"{page}/{items[1]['id']}/edit",
        page,
        {
            "action": "edit",
            "item": str(items[1]["id"]),
            "title": "Jobkanalen in de regio",
            "kind": "information",
            "presenter": "Interleuven",
            "description": "",
        },
    )
    edited = _read(w, sid)["agenda"][1]
    assert edited["title"] == "Jobkanalen in de regio" and edited["kind"] == "information"
    assert edited["presenter"] == "Interleuven"
    assert {r for r, _ in _owed(sid)} == {"update"}

    _preview_then_confirm(w, sid, page, page, {"action": "up", "item": str(items[1]["id"])})
    assert _titles(w, sid) == ["Jobkanalen in de regio", "Verslag", "Rondvraag"]
    _preview_then_confirm(w, sid, page, page, {"action": "down", "item": str(items[0]["id"])})
    assert _titles(w, sid) == ["Jobkanalen in de regio", "Rondvraag", "Verslag"]
    assert len(_owed(sid)) == 4

    preview = _preview_then_confirm(
        w, sid, page, page, {"action": "remove", "item": str(items[2]["id"])}
    )
    assert "Rondvraag" in preview.split("After the change")[0]
    assert _titles(w, sid) == ["Jobkanalen in de regio", "Verslag"]
    assert [a["position"] for a in _read(w, sid)["agenda"]] == [1, 2]
    assert len(_owed(sid)) == 4


def test_moving_the_first_item_up_is_refused_and_a_stale_form_says_so(w: World) -> None:
    sid = _session(w, ["Verslag", "Varia"])
    c = signed_in_as(w, "co_chair")
    page = f"/sessions/{sid}/agenda"
    html = c.get(page).text
    first = _read(w, sid)["agenda"][0]["id"]
    data = {"csrf": csrf(html), "version": "1", "item": str(first)}
    r = c.post(page, data={**data, "action": "up"})
    assert r.status_code == 422 and "Nothing was changed" in r.text
    # Meanwhile the other co-chair adds an item through the API.
    ok(
        c.post(
            f"/api/v1/sessions/{sid}/agenda-items",
            headers={**w.auth("co_chair_2"), "If-Match": '"1"'},
            json={"title": "Nieuw punt"},
        ),
        201,
    )
    r = c.post(page, data={**data, "action": "remove", "confirm": "1"})
    assert r.status_code == 409 and "Someone changed this session meanwhile" in r.text
    assert 'name="version" value="2"' in r.text and "Nieuw punt" in r.text
    assert _titles(w, sid) == ["Verslag", "Nieuw punt", "Varia"]


def test_adding_and_removing_a_person(w: World) -> None:
    sid = _session(w, ["Verslag"])
    signed_in_as(w, "co_chair")
    page = f"/sessions/{sid}/participants"
    outsider = w.people["outsider"]
    preview = _preview_then_confirm(w, sid, page, page, {"action": "add", "person_id": outsider})
    assert "Added: Pieter De Smet" in preview and preview.count("an invitation") == 1
    assert outsider in {p["person_id"] for p in _read(w, sid)["participants"]}
    assert _owed(sid) == [("invitation", outsider)]

    member = w.people["member"]
    preview = _preview_then_confirm(
        w, sid, page, page, {"action": "remove", "person_id": str(member)}
    )
    assert "Removed: Koen Wouters" in preview
    assert "a notice that they are no longer invited" in preview
    assert member not in {p["person_id"] for p in _read(w, sid)["participants"]}
    owed = dict((p, r) for r, p in _owed(sid))
    assert owed[member] == "removal" and owed[outsider] == "update"


def test_adding_every_member_of_an_organisation(w: World) -> None:
    org = ok(w.client.post("/api/v1/organisations", json={"name": "VDAB"}, headers=ADMIN), 201)
    ids = [
        ok(
            w.client.post(
                "/api/v1/people",
                json={"name": name, "email": f"{key}@example.org", "organisation_id": org["id"]},
                headers=ADMIN,
            ),
            201,
        )["id"]
        for key, name in (("an", "An Verbeke"), ("bram", "Bram Lemmens"))
    ]
    sid = _session(w, ["Verslag"])
    signed_in_as(w, "co_chair")
    page = f"/sessions/{sid}/participants"
    preview = _preview_then_confirm(
        w, sid, page, page, {"action": "add_organisation", "organisation_id": str(org["id"])}
    )
    assert "An Verbeke" in preview and "Bram Lemmens" in preview
    assert preview.count("an invitation") == 2
    assert set(ids) <= {p["person_id"] for p in _read(w, sid)["participants"]}
    assert _owed(sid) == sorted(("invitation", i) for i in ids)
    # Everyone is in already: said so at the field, nothing saved.
    html = w.client.get(page).text
    r = w.client.post(
        page,
        data={
            "csrf": csrf(html),
            "version": str(_read(w, sid)["version"]),
            "action": "add_organisation",
            "organisation_id": str(org["id"]),
        },
    )
    assert r.status_code == 422 and "already takes part" in r.text


def test_a_member_gets_the_forbidden_page(w: World) -> None:
    sid = _session(w, ["Verslag"])
    item = _read(w, sid)["agenda"][0]["id"]
    c = signed_in_as(w, "member")
    for url in (
        f"/sessions/{sid}/agenda",
        f"/sessions/{sid}/agenda/{item}/edit",
        f"/sessions/{sid}/participants",
    ):
        r = c.get(url)
        assert r.status_code == 403 and "<html" in r.text, url
    assert f"/sessions/{sid}/agenda" not in c.get(f"/sessions/{sid}").text


def test_the_agenda_page_in_dutch_and_french(w: World) -> None:
    sid = _session(w, ["Verslag"])
    c = signed_in_as(w, "co_chair", lang="nl")
    nl = c.get(f"/sessions/{sid}/agenda").text
    assert "Agendapunt toevoegen" in nl and "ter beslissing" in nl
    c.get("/?lang=fr")
    fr = c.get(f"/sessions/{sid}/agenda").text
    assert "Ajouter un point" in fr and "pour décision" in fr


def test_report_backs_go_before_the_closing_items(w: World) -> None:
    body = w.session_body(agenda=[{"title": "Goedkeuring verslag"}, {"title": "Varia"}])
    s = ok(
        w.client.post(f"/api/v1/forums/{w.forums['mayors']}/sessions", json=body, headers=ADMIN),
        201,
    )
    agenda = s["agenda"]
    assert [a["title"] for a in agenda] == [
        "Goedkeuring verslag",
        "Taskforce Spitsregio Leuven",
        "Varia",
    ]
    assert agenda[1]["kind"] == "report_back" and [a["position"] for a in agenda] == [1, 2, 3]
    # An item a manager adds keeps the closing item last too.
    signed_in_as(w, "parent_co_chair")
    page = f"/sessions/{s['id']}/agenda"
    _preview_then_confirm(w, s["id"], page, page, {"action": "add", "title": "Mobiliteit"})
    assert _titles(w, s["id"])[-2:] == ["Mobiliteit", "Varia"]
    # The fixed report-back item has no Remove button.
    html = w.client.get(page).text
    assert html.count('value="remove"') == 3
