"""The report back to the parent forum through the API: the fixed agenda item, the report
compiled when due with the right numbers, its versions, its four formats, and who may see
or compile it."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from tests.api.test_follow_up import T0, at, deliveries, move, schedule
from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from workflow import clock

PARENT_START = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def held_taskforce_session(w: World) -> dict:
    """The taskforce meets on 8 March, decides, records action items, and is closed."""
    s = schedule(
        w,
        datetime(2027, 3, 8, 13, tzinfo=UTC),
        agenda=[
            {"title": "Jobkanalen", "kind": "decision"},
            {"title": "Stand van zaken", "kind": "information"},
        ],
    )
    jobbeurs = {"title": "Jobbeurs <Tienen>", "owner_person_id": w.people["member"]}
    jobbeurs |= {"due_date": "2027-03-20", "indicator": "Werkzoekenden", "baseline": 0}
    jobbeurs |= {"target": 200, "current_value": 20}
    nota = {"title": "=Nota opleidingen", "owner_person_id": w.people["observer"]}
    for body in (jobbeurs, {**nota, "due_date": "2027-06-30"}):
        ok(w.client.post(f"/api/v1/sessions/{s['id']}/action-items", json=body, headers=ADMIN), 201)
    clock.freeze(datetime(2027, 3, 8, 16, tzinfo=UTC))
    current = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=ADMIN))
    ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/close",
            json={
                "version": current["version"],
                "attendance": [
                    {"person_id": w.people["co_chair"], "attendance": "present"},
                    {"person_id": w.people["member"], "attendance": "present"},
                    {"person_id": w.people["observer"], "attendance": "excused"},
                ],
                "outcomes": [{"agenda_item_id": s["agenda"][0]["id"], "outcome": "Akkoord"}],
            },
            headers=w.auth("secretariat"),
        )
    )
    return s


def test_report_back_is_a_fixed_agenda_item_compiled_when_due(w: World) -> None:
    tf = held_taskforce_session(w)
    parent = schedule(
        w, PARENT_START, forum="mayors", agenda=[{"title": "Verwelkoming", "kind": "information"}]
    )
    [_welcome, report_item] = parent["agenda"]
    assert report_item["kind"] == "report_back"
    assert report_item["child_forum_id"] == w.forums["taskforce"]
    assert report_item["title"] == "Taskforce Spitsregio Leuven"
    # A fixed item: it cannot be deleted.
    r = w.client.delete(
        f"/api/v1/sessions/{parent['id']}/agenda-items/{report_item['id']}",
        headers={**ADMIN, "If-Match": f'"{parent["version"]}"'},
    )
    assert r.status_code == 422

    # Due 5 days before the session: Wednesday 24 March, 10:00 in Brussels (09:00Z).
    assert at(datetime(2027, 3, 24, 8, 59, tzinfo=UTC))["reports"] == 0
    counts = at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    # The mayors' co-chair (their only manager here) and the taskforce's two co-chairs.
    assert counts["reports"] == 3
    assert at(datetime(2027, 3, 24, 9, 5, tzinfo=UTC))["reports"] == 0
    assert {d.person_id for d in deliveries("report")} == {
        w.people[k] for k in ("parent_co_chair", "co_chair", "co_chair_2")
    }
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    assert summary["version"] == 1 and summary["compiled_by"] == "scheduler"
    report = ok(w.client.get(f"/api/v1/reports/{summary['id']}", headers=w.auth("parent_co_chair")))
    c = report["content"]
    assert c["parent"]["session_id"] == parent["id"]
    assert [s["id"] for s in c["sessions"]] == [tf["id"]]
    assert c["sessions"][0]["attendance"] == {
        "present": 2,
        "excused": 1,
        "absent": 0,
        "unrecorded": 2,
    }
    assert c["decisions"][0]["outcome"] == "Akkoord"
    assert c["counts"]["action_items_opened"] == 2
    assert [i["title"] for i in c["action_items"]["overdue"]] == ["Jobbeurs <Tienen>"]
    assert c["indicators"][0]["progress"] == 0.1

    # HTML in each language, escaped; CSV with formulas neutralised; a PDF others can read.
    for lang in ("nl", "fr", "en"):
        page = w.client.get(f"/api/v1/reports/{summary['id']}/html?lang={lang}", headers=ADMIN)
        assert page.status_code == 200 and f'lang="{lang}"' in page.text
        assert "Jobbeurs &lt;Tienen&gt;" in page.text and "<Tienen>" not in page.text
    rows = list(
        csv.DictReader(
            io.StringIO(w.client.get(f"/api/v1/reports/{summary['id']}/csv", headers=ADMIN).text)
        )
    )
    assert {r["section"] for r in rows} >= {"session", "decision", "opened", "overdue", "indicator"}
    assert "'=Nota opleidingen" in {r["title"] for r in rows}
    pdf = w.client.get(f"/api/v1/reports/{summary['id']}/pdf?lang=fr", headers=ADMIN)
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Taskforce Spitsregio Leuven" in text and "Séances tenues" in text
    assert reader.metadata.title.endswith("Taskforce Spitsregio Leuven")


def test_versions_on_demand_and_after_a_reschedule(w: World) -> None:
    held_taskforce_session(w)
    parent = schedule(w, PARENT_START, forum="mayors")
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    # The secretariat compiles again on demand; without mail if asked.
    body = {"child_forum_id": w.forums["taskforce"], "notify": False}
    assert (
        w.client.post(
            f"/api/v1/sessions/{parent['id']}/reports", json=body, headers=w.auth("member")
        ).status_code
        == 403
    )
    second = ok(
        w.client.post(
            f"/api/v1/sessions/{parent['id']}/reports", json=body, headers=w.auth("secretariat")
        ),
        201,
    )
    assert second["version"] == 2 and len(deliveries("report")) == 3
    # Moved a week later: the report falls due again for the new date, as version 3.
    clock.freeze(datetime(2027, 3, 25, 9, 0, tzinfo=UTC))
    move(w, parent, PARENT_START + timedelta(days=7), "parent_co_chair")
    assert at(datetime(2027, 3, 31, 8, 0, tzinfo=UTC))["reports"] == 3
    versions = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    assert [v["version"] for v in versions] == [3, 2, 1]
    page = w.client.get(f"/api/v1/reports/{versions[0]['id']}/html", headers=ADMIN).text
    assert f"/api/v1/reports/{versions[2]['id']}/html" in page  # earlier versions linked
    # The first version's mail, not yet sent, gives way to the newest.
    from tests.api.test_follow_up import composed
    from workflow.mail.message import Superseded

    first_mail = next(d for d in deliveries("report") if d.data["report_id"] == versions[2]["id"])
    assert isinstance(composed(first_mail), Superseded)
    latest = next(d for d in deliveries("report") if d.data["report_id"] == versions[0]["id"])
    mail = composed(latest).message
    assert [p.get_content_type() for p in mail.walk()][-1] == "application/pdf"
    # The mail's link opens the report in a browser, without an API token, in the
    # recipient's language; a changed link does not.
    text = mail.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+/report/\S+", text)
    page = w.client.get("/" + link.split("/", 3)[3])
    assert page.status_code == 200 and 'lang="nl"' in page.text
    assert "Opvolgingsrapport: Taskforce Spitsregio Leuven" in page.text
    pdf = w.client.get("/" + link.split("/", 3)[3] + "/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert w.client.get("/" + link.split("/", 3)[3][:-2] + "xx").status_code == 404


def test_who_may_read_reports(w: World) -> None:
    held_taskforce_session(w)
    parent = schedule(w, PARENT_START, forum="mayors")
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    for who, status in (
        ("member", 200),
        ("parent_co_chair", 200),
        ("outsider", 403),
        ("fr_mayor", 403),
    ):
        assert (
            w.client.get(f"/api/v1/reports/{summary['id']}", headers=w.auth(who)).status_code
            == status
        ), who
    assert w.client.get("/api/v1/reports/999999", headers=ADMIN).status_code == 404
    listing = ok(
        w.client.get(f"/api/v1/forums/{w.forums['taskforce']}/reports", headers=w.auth("member"))
    )
    assert [r["id"] for r in listing] == [summary["id"]]


def test_a_new_child_forum_reports_at_the_parents_upcoming_sessions(w: World) -> None:
    parent = schedule(w, PARENT_START, forum="mayors")
    child = ok(
        w.client.post(
            "/api/v1/forums",
            json={
                "name": "Themawerkgroep Mobiliteit",
                "kind": "working_group",
                "parent_id": w.forums["mayors"],
            },
            headers=ADMIN,
        ),
        201,
    )
    after = ok(w.client.get(f"/api/v1/sessions/{parent['id']}", headers=ADMIN))
    assert [(a["kind"], a["child_forum_id"]) for a in after["agenda"]] == [
        ("report_back", w.forums["taskforce"]),
        ("report_back", child["id"]),
    ]
    assert after["sequence"] == parent["sequence"] + 1  # the calendar's agenda changed
