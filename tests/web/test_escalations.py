"""Escalation to the mayors and their decision, through the pages: the taskforce's co-chair
puts an action item before the mayors' forum from the item's page; the mayors' co-chair sees
it under the taskforce's report-back item on the parent session and on the forum page, and
records the decision; the decision shows on the item's page, on the board and in the next
report. Each form is one-time, and only the API's people may use it."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_follow_up import T0, at, deliveries, schedule
from tests.api.test_reports import PARENT_START, held_taskforce_session
from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from tests.web.pages import csrf, signed_in_as
from workflow import clock

QUESTION = "Budget voor de opleidingen: vraagt het overleg het aan bij de provincie?"
DECISION = "De burgemeesters vragen het budget aan bij de provincie."
NBSP = "\u00a0"


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def _setup(w: World) -> tuple[int, dict]:
    """A held taskforce session with its items, and the mayors' next session (whose agenda
    holds the taskforce's report-back). Returns the item to escalate and that session."""
    tf = held_taskforce_session(w)
    parent = schedule(w, PARENT_START, forum="mayors")
    items = ok(w.client.get(f"/api/v1/action-items?session_id={tf['id']}", headers=ADMIN))
    [item] = [i for i in items["items"] if i["title"] == "=Nota opleidingen"]
    clock.freeze(datetime(2027, 3, 10, 9, tzinfo=UTC))
    return item["id"], parent


def _field(page: str, form_action: str, name: str) -> str:
    form = page.split(f'action="{form_action}', 1)[1].split("</form>", 1)[0]
    found = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert found, (name, form)
    return found.group(1)


def _form(page: str, form_action: str, **fields: str) -> dict[str, str]:
    """The hidden fields of the form posting to `form_action`, as the page carries them."""
    hidden = {n: _field(page, form_action, n) for n in ("csrf", "version", "nonce")}
    if 'name="back"' in page.split(f'action="{form_action}', 1)[1].split("</form>", 1)[0]:
        hidden["back"] = _field(page, form_action, "back")
    return {**hidden, **fields}


def _api(w: World, iid: int) -> dict:
    return ok(w.client.get(f"/api/v1/action-items/{iid}", headers=ADMIN))


def _escalate(c: TestClient, iid: int) -> None:
    page = c.get(f"/action-items/{iid}").text
    action = f"/action-items/{iid}/escalate"
    r = c.post(action, data=_form(page, action, question=QUESTION), follow_redirects=False)
    assert r.status_code == 303, r.text


def test_escalate_see_it_on_the_parent_pages_decide_and_see_the_decision(w: World) -> None:
    iid, parent = _setup(w)
    tf_forum, mayors = w.forums["taskforce"], w.forums["mayors"]
    c = signed_in_as(w, "co_chair")
    page = c.get(f"/action-items/{iid}").text
    assert "Escalation to the mayors" in page and "Escalate to the mayors" in page
    assert "Burgemeestersoverleg Oost-Brabant" in page  # whom it goes to
    action = f"/action-items/{iid}/escalate"
    fields = _form(page, action, question=QUESTION)

    # An empty question: the page again, the reason at the field, nothing escalated.
    empty = c.post(action, data={**fields, "question": "  "})
    assert empty.status_code == 422
    assert "Nothing was saved" in empty.text and "write the question for the mayors" in empty.text
    assert _api(w, iid)["escalated_at"] is None

    r = c.post(action, data=fields, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/action-items/{iid}?done=escalated#h-escalation"
    shown = c.get(r.headers["location"]).text
    assert "The action item is put before the mayors." in shown
    assert QUESTION in shown and "Waiting for the mayors' decision" in shown
    assert "by Mieke Vandenberghe" in shown and "10 March 2027" in shown
    assert 'action="/action-items/' + str(iid) + "/escalate" not in shown  # asked once
    escalated = _api(w, iid)
    assert escalated["escalation_note"] == QUESTION
    # The same form sent again (a double click, a reload): nothing new.
    again = c.post(action, data=fields, follow_redirects=False)
    assert again.headers["location"] == f"/action-items/{iid}?done=escalated_again#h-escalation"
    assert "already sent" in c.get(again.headers["location"]).text
    assert _api(w, iid)["version"] == escalated["version"]

    # The mayors' co-chair: under the taskforce's report-back item on the parent session ...
    m = signed_in_as(w, "parent_co_chair")
    session_page = m.get(f"/sessions/{parent['id']}").text
    agenda = session_page.split('id="h-agenda"', 1)[1].split("</section>", 1)[0]
    report_back = agenda.split("Taskforce Spitsregio Leuven", 1)[1]
    assert "=Nota opleidingen" in report_back and QUESTION in report_back
    assert f'action="/action-items/{iid}/decision' in report_back
    assert f'name="back" value="/sessions/{parent["id"]}"' in report_back
    # ... and on the forum page, where the decision is recorded.
    forum_page = m.get(f"/forums/{mayors}").text
    waiting = forum_page.split('id="h-waiting"', 1)[1].split("</section>", 1)[0]
    assert "=Nota opleidingen" in waiting and QUESTION in waiting
    assert "Taskforce Spitsregio Leuven" in waiting and "Mieke Vandenberghe" in waiting
    decide = f"/action-items/{iid}/decision"
    form = _form(forum_page, decide, decision=DECISION)
    assert form["back"] == f"/forums/{mayors}"

    # Empty, then from a page made before someone changed the item: clear pages.
    empty = m.post(decide, data={**form, "decision": ""})
    assert empty.status_code == 422 and "write the mayors&#39; decision" in empty.text
    stale = m.post(decide, data={**form, "version": str(int(form["version"]) - 1)})
    assert stale.status_code == 409 and "changed this action item meanwhile" in stale.text
    assert DECISION in stale.text  # what was typed is kept
    assert _api(w, iid)["parent_decision"] is None

    r = m.post(decide, data=form, follow_redirects=False)
    assert r.status_code == 303
    landing = m.get(r.headers["location"]).text
    assert "The decision is recorded." in landing and DECISION in landing
    assert f'href="/forums/{mayors}"' in landing  # back to where it was decided
    assert _api(w, iid)["parent_decision"] == DECISION
    told = deliveries("decision")
    assert {d.person_id for d in told} >= {w.people["co_chair"], w.people["observer"]}
    # Sent twice: nothing new; a fresh form for a decided item: refused, clearly.
    again = m.post(decide, data=form, follow_redirects=False)
    assert "done=again" in again.headers["location"]
    assert len(deliveries("decision")) == len(told)
    assert f'action="{decide}' not in landing  # no form on a decided item
    forged = m.post(
        decide,
        data={**form, "nonce": "another", "version": str(_api(w, iid)["version"])},
    )
    assert forged.status_code == 422
    assert "the mayors already decided on this action item" in forged.text
    assert _api(w, iid)["parent_decision"] == DECISION
    # It is no longer waiting on the parent's pages.
    assert "=Nota opleidingen" not in m.get(f"/forums/{mayors}").text.split('id="h-waiting"')[1]

    # The taskforce sees the decision on the item's page and on its board.
    c = signed_in_as(w, "co_chair")
    item_page = c.get(f"/action-items/{iid}").text
    assert "Decided by the mayors" in item_page and DECISION in item_page
    assert "Recorded on 10 March 2027" in item_page and "by Lieve Maes" in item_page
    board = c.get(f"/action-items?forum_id={tf_forum}").text
    card = board.split(f'id="item-{iid}"', 1)[1].split("</section>", 1)[0]
    assert "Decision of the mayors" in card and DECISION in card

    # And in the next report, compiled when due.
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    report = ok(w.client.get(f"/api/v1/reports/{summary['id']}", headers=ADMIN))
    content = report.get("content", report)
    [decided] = content["parent_decisions"]
    assert decided["title"] == "=Nota opleidingen" and decided["decision"] == DECISION
    assert decided["note"] == QUESTION and content["escalations"] == []
    m = signed_in_as(w, "parent_co_chair")
    report_page = m.get(f"/reports/{summary['id']}/view").text
    assert "Decisions of the mayors" in report_page and DECISION in report_page


def test_who_may_escalate_and_decide_is_as_the_api(w: World) -> None:
    iid, _parent = _setup(w)
    # A member and an observer of the taskforce read the item but get no escalate form;
    # a forged post is the 403 page, as the API's answer.
    for who in ("member", "observer"):
        c = signed_in_as(w, who)
        page = c.get(f"/action-items/{iid}").text
        assert "Escalate to the mayors" not in page
        r = c.post(
            f"/action-items/{iid}/escalate",
            data={"csrf": csrf(page), "version": "1", "nonce": "x", "question": QUESTION},
        )
        assert r.status_code == 403 and "You may not do this" in r.text
        api = w.client.post(
            f"/api/v1/action-items/{iid}/escalate", json={"note": "x"}, headers=w.auth(who)
        )
        assert api.status_code == 403
    assert _api(w, iid)["escalated_at"] is None
    _escalate(signed_in_as(w, "secretariat"), iid)
    # The taskforce's own managers do not decide, nor another forum's co-chair.
    for who in ("co_chair", "fr_mayor", "member"):
        c = signed_in_as(w, who)
        home = c.get("/").text
        r = c.post(
            f"/action-items/{iid}/decision",
            data={"csrf": csrf(home), "version": "2", "nonce": "y", "decision": DECISION},
        )
        assert r.status_code == 403, who
        assert c.get(f"/action-items/{iid}/decision").status_code == 403
    # The mayors' co-chair sees no escalate form either (not the taskforce's manager), and
    # readers of the parent who do not manage it would get no decision form.
    m = signed_in_as(w, "parent_co_chair")
    r = m.post(
        f"/action-items/{iid}/escalate",
        data={"csrf": csrf(m.get("/").text), "version": "2", "nonce": "z", "question": "x"},
    )
    assert r.status_code == 403
    assert _api(w, iid)["parent_decision"] is None
    # A forum with no parent has no escalate form; its session page lists nothing to decide.
    other = schedule(
        w,
        PARENT_START,
        forum="cross_border",
        co_chair_ids=[w.people["fr_mayor"], w.people["be_mayor"]],
    )
    assert (
        "Waiting for the mayors"
        not in signed_in_as(w, "fr_mayor").get(f"/sessions/{other['id']}").text
    )


def test_the_pages_speak_the_readers_language(w: World) -> None:
    iid, parent = _setup(w)
    c = signed_in_as(w, "co_chair", lang="fr")
    page = c.get(f"/action-items/{iid}").text
    assert "Soumettre aux bourgmestres" in page and "Question aux bourgmestres" in page
    action = f"/action-items/{iid}/escalate"
    empty = c.post(action, data=_form(page, action, question=""))
    assert empty.status_code == 422 and "écrivez la question aux bourgmestres" in empty.text
    _escalate(c, iid)
    m = signed_in_as(w, "parent_co_chair", lang="nl")
    page = m.get(f"/sessions/{parent['id']}").text
    assert "Wacht op de beslissing van de burgemeesters" in page and "Beslissing vastleggen" in page
    decide = f"/action-items/{iid}/decision"
    r = m.post(decide, data=_form(page, decide, decision=DECISION), follow_redirects=False)
    assert r.status_code == 303
    assert "De beslissing is vastgelegd." in m.get(r.headers["location"]).text
    m = signed_in_as(w, "parent_co_chair", lang="fr")
    refused = m.post(
        decide,
        data={
            "csrf": csrf(m.get("/").text),
            "version": str(_api(w, iid)["version"]),
            "nonce": "autre",
            "decision": "Autre chose",
        },
    )
    assert refused.status_code == 422
    assert "les bourgmestres ont déjà décidé de cette action" in refused.text
    c = signed_in_as(w, "co_chair", lang="fr")
    page = c.get(f"/action-items/{iid}").text
    assert "Décidée par les bourgmestres" in page and DECISION in page
    assert f"Décision des bourgmestres{NBSP}:" in c.get("/action-items").text
