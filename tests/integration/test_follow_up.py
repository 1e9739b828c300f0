"""Follow-up end to end, with time driven by the test: the API, a real Celery worker and two
beat processes (by mistake, as it happens in real deployments) on Redis and PostgreSQL, a
real SMTP server, and a clock every process reads from a file the test moves.

The seeded East Brabant forums: the Taskforce Spitsregio Leuven holds a session, closes it
with attendance and decisions, records action items; the Burgemeestersoverleg Oost-Brabant
schedules a session the day after the clocks go forward. Checked from the mail received:
reminders at the wall-clock moments, moved with a reschedule, none after a cancellation;
digests grouped per owner; the report back with the right numbers; nothing twice.
"""

import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlmodel import Session as DBSession

from tests.integration.processes import running, wait_for, wait_ready
from tests.integration.smtp_sink import smtp_sink
from workflow import clock
from workflow.seed import seed_demo

pytestmark = pytest.mark.integration

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PARENT_START = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)  # Monday 10:00 summer time


@pytest.fixture
def live(stack: dict, tmp_path: Path) -> Iterator[dict]:
    clock_file = tmp_path / "clock"
    clock.set_offset_file(clock_file, T0)
    with DBSession(stack["engine"]) as db:
        seeded = seed_demo(db)
        db.commit()
    with smtp_sink() as sink:
        env = {
            **stack["env"],
            "WORKFLOW_SMTP_PORT": str(sink.port),
            "WORKFLOW_CLOCK_OFFSET_FILE": str(clock_file),
        }
        second_beat = {**env, "WORKFLOW_DATA_DIR": str(tmp_path / "beat2")}
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("worker", ["worker", "--concurrency", "2"], env, stack["logs"]) as worker,
            running("beat", ["beat"], env, stack["logs"]) as beat,
            running("beat2", ["beat"], second_beat, stack["logs"]) as beat2,
        ):
            wait_ready(stack["base"], api)
            yield {
                "client": httpx.Client(
                    base_url=stack["base"],
                    headers={"Authorization": "Bearer integration-admin"},
                    timeout=15,
                ),
                "sink": sink,
                "seed": seeded,
                "clock": clock_file,
                "procs": (api, worker, beat, beat2),
                **stack,
            }


def set_clock(live: dict, moment: datetime) -> None:
    """Move every process's clock to `moment`, then wait until a follow-up scan has run
    with it (the scans note when they last completed): no sleeping, no guessing."""
    clock.set_offset_file(live["clock"], moment)
    wanted = moment.strftime("%Y-%m-%dT%H:%M:%S")

    def scanned() -> bool:
        with live["engine"].connect() as conn:
            stamp = conn.execute(
                text("SELECT period FROM scan_mark WHERE name = 'follow-up'")
            ).scalar()
        return stamp is not None and stamp >= wanted

    wait_for(scanned, 30, f"a follow-up scan at {wanted}", live["procs"])


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def owed(live: dict) -> dict[str, tuple[str, str, int]]:
    """Every delivery recorded: Message-ID -> (reason, status, person)."""
    with live["engine"].connect() as conn:
        rows = conn.execute(text("SELECT message_id, reason, status, person_id FROM delivery"))
        return {m: (r, s, p) for m, r, s, p in rows}


def received(live: dict, reason: str) -> list:
    """The mails the SMTP server received for deliveries of `reason`."""
    reasons = owed(live)
    return [
        r
        for r in live["sink"].received
        if reasons.get(str(r.message["Message-ID"]), ("",))[0] == reason
    ]


def wait_mail(live: dict, reason: str, n: int) -> list:
    """Wait until `n` mails of `reason` have arrived and nothing is left to send; exactly n."""

    def done() -> bool:
        statuses = {s for _, s, _ in owed(live).values()}
        return len(received(live, reason)) >= n and not statuses & {"pending", "sending"}

    wait_for(done, 60, f"{n} {reason} mails", live["procs"])
    got = received(live, reason)
    assert len(got) == n, [str(r.message["Subject"]) for r in got]
    return got


def test_follow_up_end_to_end(live: dict) -> None:
    c, sink, seed = live["client"], live["sink"], live["seed"]
    taskforce, mayors = seed.forums["taskforce_leuven"], seed.forums["oost_brabant"]
    email = {k: c.get(f"/api/v1/people/{v}").json()["email"] for k, v in seed.people.items()}

    # The taskforce meets on 8 March, decides, and is closed with attendance.
    start = datetime(2027, 3, 8, 13, 0, tzinfo=UTC)
    tf = ok(
        c.post(
            f"/api/v1/forums/{taskforce}/sessions",
            json={
                "title": "Taskforce maart",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "agenda": [
                    {"title": "Jobkanalen voor laaggeschoolden", "kind": "decision"},
                    {"title": "Stand van zaken", "kind": "information"},
                ],
            },
        ),
        201,
    )
    invited = len(tf["participants"])
    wait_mail(live, "invitation", invited)
    owner = seed.people["taskforce_secretariat"]
    for body in (
        {
            "title": "Jobbeurs Tienen",
            "owner_person_id": owner,
            "due_date": "2027-03-28",
            "indicator": "Werkzoekenden bereikt",
            "baseline": 0,
            "target": 200,
        },
        {"title": "Nota opleidingen", "owner_person_id": owner, "due_date": "2027-03-20"},
        {
            "title": "Bevraging",
            "owner_person_id": seed.people["taskforce_co_chair"],
            "due_date": "2027-03-26",
        },
    ):
        ok(c.post(f"/api/v1/sessions/{tf['id']}/action-items", json=body), 201)
    set_clock(live, start + timedelta(hours=3))
    present = [p["person_id"] for p in tf["participants"]][:3]
    ok(
        c.post(
            f"/api/v1/sessions/{tf['id']}/close",
            json={
                "version": ok(c.get(f"/api/v1/sessions/{tf['id']}"))["version"],
                "attendance": [{"person_id": p, "attendance": "present"} for p in present],
                "outcomes": [{"agenda_item_id": tf["agenda"][0]["id"], "outcome": "Akkoord"}],
            },
        )
    )
    wait_mail(live, "summary", invited)

    # The mayors' forum schedules its session: the taskforce's report-back is on the agenda.
    parent = ok(
        c.post(
            f"/api/v1/forums/{mayors}/sessions",
            json={
                "title": "Burgemeestersoverleg april",
                "starts_at": PARENT_START.isoformat(),
                "ends_at": (PARENT_START + timedelta(hours=2)).isoformat(),
                "agenda": [{"title": "Verwelkoming", "kind": "information"}],
            },
        ),
        201,
    )
    assert [(a["kind"], a["child_forum_id"]) for a in parent["agenda"]] == [
        ("information", None),
        ("report_back", taskforce),
    ]
    parent_invited = len(parent["participants"])
    wait_mail(live, "invitation", invited + parent_invited)

    # 7 days before, on the wall clock: Monday 22 March 10:00 winter time = 09:00Z.
    set_clock(live, datetime(2027, 3, 22, 8, 59, tzinfo=UTC))
    wait_mail(live, "reminder", 0)
    set_clock(live, datetime(2027, 3, 22, 9, 0, tzinfo=UTC))
    reminders = wait_mail(live, "reminder", parent_invited)
    assert all("Burgemeestersoverleg april" in str(r.message["Subject"]) for r in reminders)

    # A digest each morning from 22 March (something is due within 7 days): one per owner,
    # all their items in one mail.
    wait_mail(live, "digest", 2)
    set_clock(live, datetime(2027, 3, 23, 6, 59, tzinfo=UTC))  # 07:59 in Brussels
    wait_mail(live, "digest", 2)
    set_clock(live, datetime(2027, 3, 23, 7, 0, tzinfo=UTC))
    digests = wait_mail(live, "digest", 4)[-2:]
    assert {r.rcpt for r in digests} == {
        email["taskforce_secretariat"],
        email["taskforce_co_chair"],
    }
    owner_mail = next(r for r in digests if r.rcpt == email["taskforce_secretariat"])
    assert "Nota opleidingen" in owner_mail.text() and "Jobbeurs Tienen" in owner_mail.text()
    assert owner_mail.text().count("/act/") == 5

    # The report is due 5 days before the session (24 March, 10:00 winter time = 09:00Z),
    # for the mayors' two co-chairs and secretariat and the taskforce's two co-chairs.
    set_clock(live, datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    reports = wait_mail(live, "report", 5)
    assert {r.rcpt for r in reports} == {
        email[k]
        for k in (
            "oost_brabant_co_chair",
            "oost_brabant_co_chair_2",
            "oost_brabant_secretariat",
            "taskforce_co_chair",
            "taskforce_co_chair_2",
        )
    }
    [report] = ok(c.get(f"/api/v1/sessions/{parent['id']}/reports"))
    content = ok(c.get(f"/api/v1/reports/{report['id']}"))["content"]
    assert content["forum"]["name"] == "Taskforce Spitsregio Leuven"
    assert [s["attendance"]["present"] for s in content["sessions"]] == [3]
    assert [(d["agenda_item"], d["outcome"]) for d in content["decisions"]] == [
        ("Jobkanalen voor laaggeschoolden", "Akkoord")
    ]
    assert content["counts"]["action_items_opened"] == 3
    assert [i["title"] for i in content["action_items"]["overdue"]] == ["Nota opleidingen"]
    assert [i["target"] for i in content["indicators"]] == [200]
    pdf = next(p for p in reports[0].message.walk() if p.get_content_type() == "application/pdf")
    pages = PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages
    assert "Taskforce Spitsregio Leuven" in "".join(page.extract_text() for page in pages)

    # Rescheduled a week later: no reminder on the old date; the new date's go.
    set_clock(live, datetime(2027, 3, 25, 9, 0, tzinfo=UTC))
    moved = PARENT_START + timedelta(days=7)
    current = ok(c.get(f"/api/v1/sessions/{parent['id']}"))
    ok(
        c.patch(
            f"/api/v1/sessions/{parent['id']}",
            json={
                "starts_at": moved.isoformat(),
                "ends_at": (moved + timedelta(hours=2)).isoformat(),
            },
            headers={"If-Match": f'"{current["version"]}"'},
        )
    )
    wait_mail(live, "update", parent_invited)
    set_clock(live, datetime(2027, 3, 28, 8, 0, tzinfo=UTC))  # the old 1-day moment
    wait_mail(live, "reminder", parent_invited)
    set_clock(live, datetime(2027, 3, 29, 8, 0, tzinfo=UTC))  # the new 7-day moment
    wait_mail(live, "reminder", 2 * parent_invited)

    # A cancelled session never reminds anyone.
    extra = ok(
        c.post(
            f"/api/v1/forums/{mayors}/sessions",
            json={
                "title": "Extra overleg",
                "starts_at": "2027-04-20T08:00:00Z",
                "ends_at": "2027-04-20T10:00:00Z",
            },
        ),
        201,
    )
    wait_mail(live, "invitation", invited + parent_invited + len(extra["participants"]))
    ok(c.post(f"/api/v1/sessions/{extra['id']}/cancel", json={"version": extra["version"]}))
    wait_mail(live, "cancellation", len(extra["participants"]))
    set_clock(live, datetime(2027, 4, 4, 8, 0, tzinfo=UTC))  # the moved session's 1-day
    wait_mail(live, "reminder", 3 * parent_invited)
    set_clock(live, datetime(2027, 4, 19, 8, 0, tzinfo=UTC))  # the cancelled one's 1-day
    wait_mail(live, "reminder", 3 * parent_invited)
    extra_reminders = ok(c.get(f"/api/v1/sessions/{extra['id']}/reminders"))
    assert {r["outcome"] for r in extra_reminders} == {"cancelled"}

    # Nothing was sent twice, with two beat processes running all along.
    seen = Counter((str(r.message["Message-ID"]), r.rcpt) for r in sink.received)
    assert [k for k, n in seen.items() if n > 1] == []
    assert len(sink.received) == len([1 for _, s, _ in owed(live).values() if s == "sent"])
