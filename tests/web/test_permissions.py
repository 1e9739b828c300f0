"""The pages allow exactly what the API allows: for each role, page, and own or other forum.

Each page is asked as each role, in the role's own forum (the taskforce) and in another
forum (the cross-border consultation), and compared with an API call that needs the same
permission. Roles: co-chair, secretariat, member, observer, someone from outside the
forum, and the owner of an action item who is not a member."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.api.world import World, ok
from tests.conftest import ADMIN
from tests.web.pages import csrf, signed_in_as
from workflow.models import AgendaItem, FollowUpReport

ROLES = {
    "co_chair": "co_chair",
    "secretariat": "secretariat",
    "member": "member",
    "observer": "observer",
    "outsider": "parent_co_chair",  # co-chair of the parent forum, not of the taskforce
    "owner": "outsider",  # owns an action item of the taskforce, no role in it
}


def _fixtures(w: World) -> dict[str, dict[str, int]]:
    own = w.schedule("taskforce")
    pair = [w.people["fr_mayor"], w.people["be_mayor"]]
    other = w.schedule("cross_border", co_chair_ids=pair)
    out = {}
    for key, session, owner in (("own", own, "outsider"), ("other", other, "fr_mayor")):
        item = ok(
            w.client.post(
                f"/api/v1/sessions/{session['id']}/action-items",
                json={"title": "Actie", "owner_person_id": w.people[owner]},
                headers=ADMIN,
            ),
            201,
        )
        out[key] = {"forum": session["forum_id"], "session": session["id"], "item": item["id"]}
    # A report the taskforce gave the mayors' forum; and one of the other forum, which no
    # role here reads (made in the database: that forum reports to nobody).
    mayors = w.schedule("mayors")
    body = {"child_forum_id": w.forums["taskforce"], "notify": False}
    report = ok(
        w.client.post(f"/api/v1/sessions/{mayors['id']}/reports", json=body, headers=ADMIN), 201
    )
    out["own"] |= {
        "report": report["id"],
        "report_session": mayors["id"],
        "report_child": w.forums["taskforce"],
    }
    with factories.unit_of_work() as db:
        agenda_item = AgendaItem(session_id=other["id"], position=1, title="Terugkoppeling")
        db.add(agenda_item)
        db.flush()
        row = FollowUpReport(
            agenda_item_id=agenda_item.id,  # type: ignore[arg-type]  # flushed
            parent_session_id=other["id"],
            child_forum_id=other["forum_id"],
            version=1,
            period_start=datetime(2027, 1, 1, tzinfo=UTC),
            period_end=datetime(2027, 2, 1, tzinfo=UTC),
            compiled_by="test",
            content={"parent": {"forum_id": other["forum_id"]}},
        )
        db.add(row)
        db.flush()
        out["other"] |= {
            "report": row.id,
            "report_session": other["id"],
            "report_child": other["forum_id"],
        }  # type: ignore[dict-item]  # flushed
    return out


Probe = Callable[[TestClient, dict[str, str], dict[str, int]], int]


def _api(method: str, path: str, **kwargs: Any) -> Probe:
    def probe(c: TestClient, headers: dict[str, str], ids: dict[str, int]) -> int:
        return c.request(method, path.format(**ids), headers=headers, **kwargs).status_code

    return probe


READ_FORUM = _api("GET", "/api/v1/forums/{forum}")
READ_SESSION = _api("GET", "/api/v1/sessions/{session}")
CALENDAR = _api("GET", "/api/v1/sessions/{session}/calendar.ics")
MANAGE = _api("GET", "/api/v1/sessions/{session}/deliveries")  # managers only, changes nothing
PROGRESS = _api("PATCH", "/api/v1/action-items/{item}", json={"note": "Via de API"})
CANCEL_ITEM = _api("PATCH", "/api/v1/action-items/{item}", json={"status": "cancelled"})
READ_ITEM = _api("GET", "/api/v1/action-items/{item}")
EDIT_ITEM = _api("PATCH", "/api/v1/action-items/{item}", json={"title": "Via de API"})
# Escalating is the child forum's managers'; deciding the parent forum's (the item is not
# escalated here, so an allowed decision is refused by the rule, not the permission: 422).
ESCALATE = _api("POST", "/api/v1/action-items/{item}/escalate", json={"note": "Via de API"})
DECIDE = _api("POST", "/api/v1/action-items/{item}/decision", json={"decision": "Via de API"})
READ_REPORT = _api("GET", "/api/v1/reports/{report}")


def _compile_report(c: TestClient, headers: dict[str, str], ids: dict[str, int]) -> int:
    """POST /api/v1/sessions/{id}/reports: the managers of the parent or the child forum."""
    body = {"child_forum_id": ids["report_child"], "notify": False}
    url = f"/api/v1/sessions/{ids['report_session']}/reports"
    return c.post(url, json=body, headers=headers).status_code


COMPILE_REPORT = _compile_report


# (method, page, form, the API call that needs the same permission)
PAGES: list[tuple[str, str, dict[str, str], Probe]] = [
    ("GET", "/forums/{forum}", {}, READ_FORUM),
    ("GET", "/forums/{forum}/sessions/new", {}, MANAGE),
    ("POST", "/forums/{forum}/sessions/new", {"title": ""}, MANAGE),
    ("GET", "/forums/{forum}/co-chair-check", {}, MANAGE),
    ("GET", "/sessions/{session}", {}, READ_SESSION),
    ("GET", "/sessions/{session}/calendar.ics", {}, CALENDAR),
    ("GET", "/sessions/{session}/reschedule", {}, MANAGE),
    ("POST", "/sessions/{session}/reschedule", {"version": "x"}, MANAGE),
    ("GET", "/sessions/{session}/cancel", {}, MANAGE),
    ("POST", "/sessions/{session}/cancel", {"version": "x"}, MANAGE),
    ("GET", "/sessions/{session}/agenda", {}, MANAGE),
    ("POST", "/sessions/{session}/agenda", {"version": "x"}, MANAGE),
    ("GET", "/sessions/{session}/participants", {}, MANAGE),
    ("POST", "/sessions/{session}/participants", {"version": "x"}, MANAGE),
    ("POST", "/action-items/{item}/progress", {"note": "Via de pagina"}, PROGRESS),
    ("POST", "/sessions/{session}/attendance", {"version": "x"}, MANAGE),
    ("POST", "/sessions/{session}/outcomes", {"version": "x"}, MANAGE),
    ("POST", "/sessions/{session}/action-items", {"title": ""}, MANAGE),
    ("GET", "/sessions/{session}/close", {}, MANAGE),
    ("POST", "/sessions/{session}/close", {"version": "x"}, MANAGE),
    # "Everyone present", on the session page and on the close form.
    ("POST", "/sessions/{session}/attendance", {"everyone": "present"}, MANAGE),
    ("POST", "/sessions/{session}/close", {"everyone": "present"}, MANAGE),
    # The attendance list to download: whoever reads the session page.
    ("GET", "/sessions/{session}/attendance.csv", {}, READ_SESSION),
    ("GET", "/sessions/{session}/attendance.pdf", {}, READ_SESSION),
    # Only managers cancel an action item; its owner reports progress but does not cancel it.
    ("POST", "/action-items/{item}/progress", {"status": "cancelled"}, CANCEL_ITEM),
    # The item's own page: its readers; its edit and cancel forms: the managers.
    ("GET", "/action-items/{item}", {}, READ_ITEM),
    ("POST", "/action-items/{item}/edit", {"version": "x"}, EDIT_ITEM),
    ("POST", "/action-items/{item}/cancel", {"version": "x"}, CANCEL_ITEM),
    # Escalation to the mayors: the item's forum's managers; the decision: the managers of
    # the forum it reports to (in the other forum, which reports to none: nobody).
    ("POST", "/action-items/{item}/escalate", {"version": "x"}, ESCALATE),
    ("GET", "/action-items/{item}/decision", {}, DECIDE),
    ("POST", "/action-items/{item}/decision", {"version": "x"}, DECIDE),
    # A report-back: the readers of the child or the parent forum; compiled again by the
    # managers of either.
    ("GET", "/reports/{report}/view", {}, READ_REPORT),
    ("GET", "/reports/{report}/view.pdf", {}, READ_REPORT),
    ("GET", "/reports/{report}/view.csv", {}, READ_REPORT),
    ("GET", "/reports/{report}/view.json", {}, READ_REPORT),
    ("POST", "/reports/{report}/recompile", {"version": "x"}, COMPILE_REPORT),
]


@pytest.mark.parametrize("role", list(ROLES))
def test_each_page_allows_what_the_api_allows(w: World, role: str) -> None:
    ids = _fixtures(w)
    who = ROLES[role]
    c = signed_in_as(w, who)
    token = csrf(c.get("/").text)
    api_headers = w.auth(who)
    seen = []
    for forum in ("own", "other"):
        for method, page, form, probe in PAGES:
            url = page.format(**ids[forum])
            if method == "GET":
                web = c.get(url, follow_redirects=False).status_code
            else:
                web = c.post(url, data={"csrf": token, **form}, follow_redirects=False).status_code
            api = probe(c, api_headers, ids[forum])
            assert web < 500, (role, forum, method, url, web)
            what = f"{page} {','.join(form)}" if method == "POST" else page
            seen.append((forum, method, what, web == 403, api == 403))
    differ = [s for s in seen if s[3] != s[4]]
    assert not differ, f"{role}: the pages and the API disagree on {differ}"
    allowed = {(f, m, p) for f, m, p, denied, _ in seen if not denied}
    # And the table itself, so a change to both is noticed: in the other forum nothing.
    assert not any(f == "other" for f, _, _ in allowed), sorted(allowed)
    decides = 2  # the decision page and its form: the parent forum's managers only
    expected_own = {
        "co_chair": len(PAGES) - decides,
        "secretariat": len(PAGES) - decides,
        # the forum page, the session page, its calendar file and attendance list (CSV, PDF),
        # the item's page, the report in its four forms
        "member": 10,
        "observer": 10,
        # the co-chair of the parent forum: the decision on the taskforce's item, the report
        # and compiling it again
        "outsider": decides + 5,
        "owner": 2,  # the page of the item they own, and progress on it
    }[role]
    assert len([a for a in allowed if a[0] == "own"]) == expected_own, sorted(allowed)


def test_signed_out_every_page_leads_to_the_sign_in_page(w: World) -> None:
    ids = _fixtures(w)["own"]
    c = w.client
    token = csrf(c.get("/sign-in").text)
    for method, page, form, _ in PAGES:
        url = page.format(**ids)
        if method == "GET":
            r = c.get(url, follow_redirects=False)
        else:
            r = c.post(url, data={"csrf": token, **form}, follow_redirects=False)
        assert r.status_code == 303, url
        expected = f"/sign-in?next={quote(url, safe='')}" if method == "GET" else "/sign-in"
        assert r.headers["location"] == expected, url
    assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    for url in (
        "/action-items",
        "/action-items.csv",
        "/action-items.pdf",
        "/me",
        "/outbox",
        "/reports/1/view",
    ):
        location = c.get(url, follow_redirects=False).headers["location"]
        assert location == f"/sign-in?next={quote(url, safe='')}"


def test_unknown_ids_and_junk_in_paths_are_clear_pages(w: World) -> None:
    c = signed_in_as(w, "co_chair")
    for url in (
        "/forums/999999",
        "/sessions/999999",
        "/sessions/999999/reschedule",
        "/reports/999999/view",
    ):
        r = c.get(url)
        assert r.status_code == 404 and "Not found" in r.text, url
    for url in (
        "/forums/abc",
        "/sessions/0",
        "/sessions/99999999999999",
        "/forums/-1/sessions/new",
    ):
        r = c.get(url)
        assert r.status_code == 422 and "<html" in r.text and "Traceback" not in r.text, url
