"""The report-back page: the compiled report with its charts, versions and PDF, for the
readers of the child forum and of the parent forum."""

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import select

from tests.api.test_follow_up import T0, at, schedule
from tests.api.test_reports import PARENT_START, held_taskforce_session
from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from tests.web.pages import csrf, signed_in_as
from tests.web.test_follow_up import _version
from workflow import clock
from workflow.db import db_session
from workflow.models import Delivery


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def _report(w: World) -> int:
    held_taskforce_session(w)
    parent = schedule(w, PARENT_START, forum="mayors")
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    return summary["id"]


def test_the_report_page_has_its_charts_versions_and_pdf(w: World) -> None:
    rid = _report(w)
    c = signed_in_as(w, "parent_co_chair")
    page = c.get(f"/reports/{rid}/view")
    assert page.status_code == 200
    text = page.text
    assert "Follow-up report: Taskforce Spitsregio Leuven" in text
    # Action-item status and indicator progress as SVG charts with a text alternative.
    assert 'aria-labelledby="status-chart-text"' in text and "Action items opened: 2" in text
    assert (
        'aria-labelledby="indicator-chart-text"' in text and "Jobbeurs &lt;Tienen&gt;: 10%" in text
    )
    assert "<Tienen>" not in text  # escaped
    assert f'href="/reports/{rid}/view.pdf" download' in text
    pdf = c.get(f"/reports/{rid}/view.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The overview lists it as the taskforce's last report-back.
    assert f'href="/reports/{rid}/view"' in c.get("/").text


@pytest.mark.parametrize(
    ("who", "status"),
    [("member", 200), ("parent_co_chair", 200), ("outsider", 403), ("fr_mayor", 403)],
)
def test_who_may_read_the_report_page(w: World, who: str, status: int) -> None:
    rid = _report(w)
    c = signed_in_as(w, who)
    assert c.get(f"/reports/{rid}/view").status_code == status
    assert c.get(f"/reports/{rid}/view.pdf").status_code == status
    assert c.get("/reports/999999/view").status_code == 404


def test_a_meeting_recorded_on_the_web_reports_every_outcome_in_every_format(w: World) -> None:
    """Three outcomes on items for discussion (the web's default kind) reach the report; the
    parent forum's page shows what the taskforce reported and what waits for a decision; the
    report page offers PDF, CSV and JSON, and its managers recompile it."""
    s = schedule(
        w,
        datetime(2027, 3, 8, 13, tzinfo=UTC),
        agenda=[{"title": "Jobkanalen"}, {"title": "Mobiliteit"}, {"title": "Opleidingen"}],
    )
    sid, agenda = s["id"], s["agenda"]
    assert {a["kind"] for a in agenda} == {"discussion"}
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{sid}/action-items",
            json={"title": "Pendelfonds", "owner_person_id": w.people["member"]},
            headers=ADMIN,
        ),
        201,
    )
    clock.freeze(datetime(2027, 3, 8, 13, 30, tzinfo=UTC))
    secretariat = signed_in_as(w, "secretariat")
    token = csrf(secretariat.get(f"/sessions/{sid}").text)
    outcomes = ["Twee jobbeurzen in het najaar", "Busplan besproken", "Aanbod gebundeld"]
    r = secretariat.post(
        f"/sessions/{sid}/outcomes",
        data={
            "csrf": token,
            "version": _version(w, sid),
            **{f"outcome-{a['id']}": o for a, o in zip(agenda, outcomes, strict=True)},
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = secretariat.post(
        f"/sessions/{sid}/close",
        data={"csrf": token, "version": _version(w, sid), "confirm": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    ok(
        w.client.post(
            f"/api/v1/action-items/{item['id']}/escalate",
            json={"note": "Budget van € 50 000 nodig"},
            headers=w.auth("secretariat"),
        )
    )
    parent = schedule(w, PARENT_START, forum="mayors")
    mayor = signed_in_as(w, "parent_co_chair")
    forum_page = f"/forums/{w.forums['mayors']}"
    before = mayor.get(forum_page).text
    assert "Report-backs received" in before and "No report-back compiled yet." in before
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    rid = summary["id"]
    mayor = signed_in_as(w, "parent_co_chair")  # weeks later: signed in again

    # The parent forum's page: the taskforce's latest report, its date and counts, and the
    # item that waits for the mayors.
    page = mayor.get(forum_page).text
    assert "has not reported" not in page and "No report-back compiled yet." not in page
    assert f'<a href="/reports/{rid}/view">Read the report (version 1)</a>' in page
    assert "compiled: 24 March 2027, 10:00" in page
    assert "<li>Decisions: 0</li><li>Other outcomes recorded: 3</li>" in page
    assert "<li>Sessions held: 1</li>" in page
    waiting = page[page.index('id="waiting"') :]
    assert "Pendelfonds" in waiting and "Budget van € 50 000 nodig" in waiting
    # The parent's co-chair does not read the taskforce's items: no link to a 403.
    assert f'href="/action-items/{item["id"]}"' not in waiting

    view = mayor.get(f"/reports/{rid}/view").text
    assert "Other outcomes recorded (3)" in view
    for title, outcome in zip(("Jobkanalen", "Mobiliteit", "Opleidingen"), outcomes, strict=True):
        assert f"<strong>{title}</strong> (Overleg werk en economie, for discussion):" in view
        assert outcome in view
    for ext in ("pdf", "csv", "json"):
        assert f'href="/reports/{rid}/view.{ext}" download' in view
    csv_file = mayor.get(f"/reports/{rid}/view.csv")
    assert csv_file.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.text, newline="")))
    assert [(r["title"], r["kind"], r["note"]) for r in rows if r["section"] == "outcome"] == [
        ("Jobkanalen", "discussion", outcomes[0]),
        ("Mobiliteit", "discussion", outcomes[1]),
        ("Opleidingen", "discussion", outcomes[2]),
    ]
    # The PDF from the web, in the reader's language: read back with another library.
    pdf = PdfReader(io.BytesIO(mayor.get(f"/reports/{rid}/view.pdf?lang=fr").content))
    printed = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert printed.startswith("Rapport de suivi : Taskforce Spitsregio Leuven")
    assert f"Taskforce Spitsregio Leuven – version 1 Page 1 sur {len(pdf.pages)}" in printed
    assert "Action Responsable Échéance Statut Pendelfonds Koen Wouters" in printed
    assert "Autres résultats enregistrés (3)" in printed and outcomes[1] in printed
    data = mayor.get(f"/reports/{rid}/view.json")
    assert data.headers["content-type"] == "application/json"
    assert "report-back-" in data.headers["content-disposition"]
    body = data.json()
    assert body == ok(w.client.get(f"/api/v1/reports/{rid}", headers=ADMIN))
    assert [o["outcome"] for o in body["content"]["outcomes"]] == outcomes
    assert body["content"]["totals"]["decisions"] == 0

    # Recompile, by a manager of the child forum; sent twice, it compiles once.
    member_view = signed_in_as(w, "member").get(f"/reports/{rid}/view").text
    assert "/recompile" not in member_view
    secretariat = signed_in_as(w, "secretariat")
    tf = secretariat.get(f"/reports/{rid}/view").text
    assert f'action="/reports/{rid}/recompile"' in tf
    form = {"csrf": csrf(tf), "version": "1"}
    r = secretariat.post(f"/reports/{rid}/recompile", data=form, follow_redirects=False)
    assert r.status_code == 303
    new_view = secretariat.get(r.headers["location"]).text
    assert "Version 2 is compiled from the records as they are now. Nobody was mailed." in new_view
    again = secretariat.post(f"/reports/{rid}/recompile", data=form, follow_redirects=False)
    assert again.headers["location"] == r.headers["location"].replace("compiled", "already")
    versions = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    assert [v["version"] for v in versions] == [2, 1]
    with db_session() as db:
        mailed = len(db.exec(select(Delivery).where(Delivery.reason == "report")).all())
    # Asked to, it mails the new version to the report's recipients.
    form = {**form, "version": "2", "notify": "1"}
    r = secretariat.post(f"/reports/{versions[0]['id']}/recompile", data=form)
    assert "Version 3 is compiled" in r.text and "on its way to its recipients" in r.text
    with db_session() as db:
        assert len(db.exec(select(Delivery).where(Delivery.reason == "report")).all()) > mailed
    old = secretariat.get(f"/reports/{rid}/view").text
    assert "This is not the newest version of this report." in old
