"""Follow-up through the API on SQLite and PostgreSQL, with the clock moved by the test:
reminders, closing a session, digests with their links, the weekly overview, escalation and
the parent's decision. The scans run in-process here; tests/integration runs them in beat."""

import email
import email.policy
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import vobject
from sqlmodel import select

from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from workflow import clock, db
from workflow.follow_up import links
from workflow.mail import outbox
from workflow.mail.message import Superseded
from workflow.models import Delivery
from workflow.tasks.jobs import run_scans

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Brussels
# Monday 29 March 2027 at 10:00 in Brussels (08:00Z): the day after the clocks go forward.
SESSION_START = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def at(moment: datetime) -> dict[str, int]:
    clock.freeze(moment)
    return run_scans()


def deliveries(reason: str) -> list[Delivery]:
    with db.db_session() as s:
        return list(
            s.exec(select(Delivery).where(Delivery.reason == reason).order_by(Delivery.id)).all()
        )


def composed(delivery: Delivery) -> Any:
    with db.db_session() as s:
        return outbox.compose_mail(s, s.get(Delivery, delivery.id))


def text_of(message: email.message.EmailMessage) -> str:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def schedule(
    w: World, start: datetime = SESSION_START, forum: str = "taskforce", **kw: Any
) -> dict:
    return w.schedule(
        forum,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
        **kw,
    )


def move(w: World, session: dict, start: datetime, who: str = "secretariat") -> dict:
    current = ok(w.client.get(f"/api/v1/sessions/{session['id']}", headers=w.auth("admin")))
    return ok(
        w.client.patch(
            f"/api/v1/sessions/{session['id']}",
            json={
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
            },
            headers={**w.auth(who), "If-Match": f'"{current["version"]}"'},
        )
    )


# Reminders ----------------------------------------------------------------------------------


def test_reminders_go_at_the_right_moments_across_daylight_saving(w: World) -> None:
    s = schedule(w)
    reminders = ok(w.client.get(f"/api/v1/sessions/{s['id']}/reminders", headers=w.auth("member")))
    # 7 days before is Monday 22 March 10:00 winter time (09:00Z); 1 day before is Sunday
    # 28 March 10:00 summer time (08:00Z): the wall-clock time, not 168 hours.
    assert [(r["offset_hours"], r["due_at"]) for r in reminders] == [
        (168, "2027-03-22T09:00:00+00:00"),
        (24, "2027-03-28T08:00:00+00:00"),
    ]
    # The member declines; the others are reminded.
    answer = links_for_rsvp(w, s["id"], "member", "declined")
    assert answer == 200

    assert at(datetime(2027, 3, 22, 8, 59, tzinfo=UTC))["reminders"] == 0
    assert at(datetime(2027, 3, 22, 9, 0, tzinfo=UTC))["reminders"] == 4  # 5 invited, 1 declined
    assert at(datetime(2027, 3, 22, 9, 1, tzinfo=UTC))["reminders"] == 0  # never twice
    sent_to = {d.person_id for d in deliveries("reminder")}
    assert w.people["member"] not in sent_to and w.people["co_chair"] in sent_to

    assert at(datetime(2027, 3, 28, 7, 59, tzinfo=UTC))["reminders"] == 0
    assert at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))["reminders"] == 4
    assert len(deliveries("reminder")) == 8

    # The mail: in the recipient's language, with the agenda and the calendar data; those
    # yet to answer get Accept/Decline (the inline part) and answer links.
    observer = next(d for d in deliveries("reminder") if d.person_id == w.people["observer"])
    mail = composed(observer)
    text = text_of(mail.message)
    assert mail.message["Subject"].startswith("Herinnering: Overleg werk en economie")
    assert "maandag 29 maart 2027, 10:00–12:00 (Midden-Europese zomertijd)" in text
    assert "/rsvp/" in text
    parts = [p.get_content_type() for p in mail.message.walk()]
    assert "text/calendar" in parts and "application/ics" in parts
    ics = next(p for p in mail.message.walk() if p.get_content_type() == "application/ics")
    event = vobject.readOne(ics.get_payload(decode=True).decode())
    assert event.vevent.dtstart.value.astimezone(UTC) == SESSION_START


def links_for_rsvp(w: World, session_id: int, who: str, answer: str) -> int:
    from workflow.invitations import rsvp

    token = rsvp.sign(session_id, w.people[who], answer, SESSION_START + timedelta(days=1))
    return w.client.post(f"/rsvp/{token}").status_code


def test_a_rescheduled_sessions_reminders_move_with_it(w: World) -> None:
    s = schedule(w)
    assert at(datetime(2027, 3, 22, 9, 0, tzinfo=UTC))["reminders"] == 5
    [first] = {d.data["starts_at"] for d in deliveries("reminder")}
    # Moved a week later after the 7-day reminder went: that reminder is owed again for the
    # new date; the pending ones for the old date are superseded when their turn comes.
    clock.freeze(datetime(2027, 3, 23, 9, 0, tzinfo=UTC))
    moved = move(w, s, SESSION_START + timedelta(days=7))
    assert at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC))["reminders"] == 0  # old moment: nothing
    assert at(datetime(2027, 3, 29, 9, 0, tzinfo=UTC))["reminders"] == 5  # new 7-day moment
    assert at(datetime(2027, 4, 4, 8, 0, tzinfo=UTC))["reminders"] == 5  # new 1-day moment
    new_starts = {d.data["starts_at"] for d in deliveries("reminder")} - {first}
    assert new_starts == {moved["starts_at"].replace("Z", "+00:00")}
    old = next(d for d in deliveries("reminder") if d.data["starts_at"] == first)
    assert isinstance(composed(old), Superseded)


def test_no_reminder_after_cancellation_and_none_for_a_session_already_begun(w: World) -> None:
    s = schedule(w)
    current = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=w.auth("admin")))
    ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/cancel",
            json={"reason": "Te weinig deelnemers", "version": current["version"]},
            headers=w.auth("secretariat"),
        )
    )
    for moment in (datetime(2027, 3, 22, 9, tzinfo=UTC), datetime(2027, 3, 28, 8, tzinfo=UTC)):
        assert at(moment)["reminders"] == 0
    reminders = ok(w.client.get(f"/api/v1/sessions/{s['id']}/reminders", headers=w.auth("member")))
    assert {r["outcome"] for r in reminders} == {"cancelled"}


def test_a_reminder_missed_while_down_goes_late_once_and_only_the_nearest(w: World) -> None:
    schedule(w)
    # Down from before the 7-day moment until after the 1-day moment: one reminder, late.
    assert at(datetime(2027, 3, 28, 12, 0, tzinfo=UTC))["reminders"] == 5
    assert {d.data["offset_hours"] for d in deliveries("reminder")} == {24}
    assert at(datetime(2027, 3, 28, 12, 1, tzinfo=UTC))["reminders"] == 0
    # Down until after the session began: nothing goes.
    clock.freeze(T0)
    other = schedule(w, SESSION_START + timedelta(days=30))
    assert at(SESSION_START + timedelta(days=30, minutes=5))["reminders"] == 0
    rows = ok(w.client.get(f"/api/v1/sessions/{other['id']}/reminders", headers=w.auth("member")))
    assert {r["outcome"] for r in rows} == {"session started"}


def test_a_forum_sets_its_own_reminder_offsets(w: World) -> None:
    ok(
        w.client.patch(
            f"/api/v1/forums/{w.forums['taskforce']}",
            json={"reminder_offsets_hours": [72, 2]},
            headers=w.auth("secretariat"),
        )
    )
    s = schedule(w)
    rows = ok(w.client.get(f"/api/v1/sessions/{s['id']}/reminders", headers=w.auth("member")))
    assert [r["offset_hours"] for r in rows] == [72, 2]


def test_two_scans_at_once_owe_each_reminder_once(w: World, backend: str) -> None:
    import threading

    for n in range(4):
        schedule(w, SESSION_START + timedelta(hours=n * 3))
    clock.freeze(datetime(2027, 3, 28, 10, tzinfo=UTC))
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def scan() -> None:
        barrier.wait()
        results.append(run_scans())

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["reminders"] for r in results) == 4 * 5
    keys = [d.key for d in deliveries("reminder")]
    assert len(keys) == len(set(keys)) == 20


# After the session ----------------------------------------------------------------------------


def close_body(w: World, s: dict, version: int) -> dict:
    agenda = ok(w.client.get(f"/api/v1/sessions/{s['id']}/agenda-items", headers=w.auth("member")))
    return {
        "version": version,
        "attendance": [
            {"person_id": w.people["co_chair"], "attendance": "present"},
            {"person_id": w.people["co_chair_2"], "attendance": "present"},
            {"person_id": w.people["member"], "attendance": "excused"},
            {"person_id": w.people["observer"], "attendance": "absent"},
        ],
        "outcomes": [{"agenda_item_id": agenda[0]["id"], "outcome": "Akkoord: twee jobbeurzen."}],
    }


def test_closing_a_session_sends_a_summary_and_to_dos(w: World) -> None:
    s = schedule(
        w,
        agenda=[{"title": "Jobkanalen voor laaggeschoolden", "kind": "decision"}],
    )
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            json={
                "title": "Jobbeurs in Tienen organiseren",
                "owner_person_id": w.people["member"],
                "due_date": "2027-06-30",
                "indicator": "Werkzoekenden bereikt",
                "unit": "personen",
                "baseline": 0,
                "target": 250,
            },
            headers=w.auth("secretariat"),
        ),
        201,
    )
    # Not before the session has begun.
    early = w.client.post(
        f"/api/v1/sessions/{s['id']}/close",
        json={"version": s["version"]},
        headers=w.auth("secretariat"),
    )
    assert early.status_code == 422
    clock.freeze(SESSION_START + timedelta(hours=2))
    current = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=w.auth("admin")))
    # A member may not close it.
    assert (
        w.client.post(
            f"/api/v1/sessions/{s['id']}/close",
            json=close_body(w, s, current["version"]),
            headers=w.auth("member"),
        ).status_code
        == 403
    )
    closed = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/close",
            json=close_body(w, s, current["version"]),
            headers=w.auth("secretariat"),
        )
    )
    assert closed["status"] == "held" and closed["sequence"] == s["sequence"]
    marks = {p["person_id"]: p["attendance"] for p in closed["participants"]}
    assert marks[w.people["member"]] == "excused" and marks[w.people["secretariat"]] is None
    again = w.client.post(
        f"/api/v1/sessions/{s['id']}/close",
        json={"version": closed["version"]},
        headers=w.auth("secretariat"),
    )
    assert again.status_code == 422

    summaries = deliveries("summary")
    assert {d.person_id for d in summaries} == {
        w.people[k] for k in ("co_chair", "co_chair_2", "secretariat", "member", "observer")
    }
    owner_mail = composed(next(d for d in summaries if d.person_id == w.people["member"]))
    text = text_of(owner_mail.message)
    assert owner_mail.message["Subject"].startswith("Verslag: Overleg werk en economie")
    assert "Akkoord: twee jobbeurzen." in text
    assert "Jobbeurs in Tienen organiseren" in text and "Koen Wouters" in text
    assert "2 aanwezig, 1 verontschuldigd, 1 afwezig" in text
    [todo_part] = [p for p in owner_mail.message.walk() if p.get_filename() == "action-items.ics"]
    cal = icalendar.Calendar.from_ical(todo_part.get_payload(decode=True))
    [todo] = cal.walk("VTODO")
    assert str(todo["SUMMARY"]) == "Jobbeurs in Tienen organiseren"
    assert todo.decoded("DUE").isoformat() == "2027-06-30"
    assert str(todo["UID"]).startswith(f"action-item-{item['id']}@")
    # Someone who owns nothing decided here gets no to-dos.
    other = composed(next(d for d in summaries if d.person_id == w.people["observer"]))
    assert not [p for p in other.message.walk() if p.get_filename() == "action-items.ics"]


def test_attendance_can_be_recorded_before_closing(w: World) -> None:
    s = schedule(w)
    clock.freeze(SESSION_START + timedelta(minutes=30))
    current = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=w.auth("admin")))
    r = ok(
        w.client.put(
            f"/api/v1/sessions/{s['id']}/attendance",
            json={"attendance": [{"person_id": w.people["member"], "attendance": "present"}]},
            headers={**w.auth("co_chair"), "If-Match": f'"{current["version"]}"'},
        )
    )
    assert {p["person_id"]: p["attendance"] for p in r["participants"]}[
        w.people["member"]
    ] == "present"
    bad = w.client.put(
        f"/api/v1/sessions/{s['id']}/attendance",
        json={"attendance": [{"person_id": w.people["outsider"], "attendance": "present"}]},
        headers=w.auth("co_chair"),
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


# Digests and their links --------------------------------------------------------------------


def make_items(w: World) -> dict[str, dict]:
    s = schedule(w, T0 + timedelta(days=1))

    def item(title: str, owner: str, due: str, **kw: Any) -> dict:
        return ok(
            w.client.post(
                f"/api/v1/sessions/{s['id']}/action-items",
                json={"title": title, "owner_person_id": w.people[owner], "due_date": due, **kw},
                headers=w.auth("secretariat"),
            ),
            201,
        )

    return {
        "overdue": item("Nota mobiliteit", "member", "2027-03-01"),
        "soon": item(
            "Bevraging bedrijven",
            "member",
            "2027-03-10",
            indicator="Bedrijven bevraagd",
            baseline=0,
            target=40,
        ),
        "later": item("Eindrapport", "member", "2027-09-01"),
        "observer": item("Fietsroutes in kaart", "observer", "2027-03-12"),
        "far": item("Evaluatie", "co_chair", "2027-12-01"),
    }


def test_one_digest_per_owner_at_eight_only_when_something_is_due(w: World) -> None:
    make_items(w)
    assert at(datetime(2027, 3, 5, 6, 59, tzinfo=UTC))["digests"] == 0  # 07:59 in Brussels
    assert at(datetime(2027, 3, 5, 7, 0, tzinfo=UTC))["digests"] == 2
    assert at(datetime(2027, 3, 5, 15, 0, tzinfo=UTC))["digests"] == 0  # once a day
    by_person = {d.person_id: d for d in deliveries("digest")}
    assert set(by_person) == {w.people["member"], w.people["observer"]}  # not the co-chair
    text = text_of(composed(by_person[w.people["member"]]).message)
    # Most urgent first; the item due in September is not in it.
    assert text.index("Nota mobiliteit") < text.index("Bevraging bedrijven")
    assert "Eindrapport" not in text
    assert text.count("/act/") == 5  # in progress + done for both, and the value for one
    assert at(datetime(2027, 3, 6, 7, 0, tzinfo=UTC))["digests"] == 2  # the next day, again


def test_digest_links_update_the_item_without_logging_in(w: World) -> None:
    items = make_items(w)
    clock.freeze(datetime(2027, 3, 5, 7, 0, tzinfo=UTC))
    soon = items["soon"]
    urls = links.links(soon["id"], w.people["member"])
    path = lambda u: "/" + u.split("/", 3)[3]  # noqa: E731
    page = w.client.get(path(urls["value"]))
    assert (
        page.status_code == 200 and "Bevraging bedrijven" in page.text and 'lang="nl"' in page.text
    )
    # GET records nothing (mail scanners follow links).
    assert (
        ok(w.client.get(f"/api/v1/action-items/{soon['id']}", headers=w.auth("admin")))[
            "current_value"
        ]
        is None
    )
    bad = w.client.post(path(urls["value"]), data={"value": "veel"})
    assert bad.status_code == 422
    assert (
        w.client.post(
            path(urls["value"]), data={"value": "12,5", "note": "Eerste ronde"}
        ).status_code
        == 200
    )
    assert w.client.post(path(urls["done"])).status_code == 200
    after = ok(w.client.get(f"/api/v1/action-items/{soon['id']}", headers=w.auth("admin")))
    assert after["current_value"] == 12.5 and after["status"] == "done"
    assert [p["note"] for p in after["progress"]] == ["Eerste ronde", None]
    assert {p["author_person_id"] for p in after["progress"]} == {w.people["member"]}

    # Forged, for another person, expired, or after the item changed hands: refused.
    forged = path(urls["done"])[:-3] + "abc"
    assert w.client.post(forged).status_code == 404
    theirs = links.sign(soon["id"], w.people["observer"], "done", T0 + timedelta(days=60))
    assert w.client.post(f"/act/{theirs}").status_code == 403
    rsvp_style = path(urls["done"]).replace("/act/", "/rsvp/")
    assert w.client.post(rsvp_style).status_code == 404  # another kind of link entirely
    clock.freeze(datetime(2027, 4, 30, tzinfo=UTC))
    expired = w.client.post(path(urls["in_progress"]))
    assert expired.status_code == 410
    assert 'lang="nl"' in expired.text and "verlopen" in expired.text  # in the owner's language


# Weekly overview and escalation ---------------------------------------------------------------


def test_weekly_overview_for_the_secretariat_and_escalation_for_co_chairs(w: World) -> None:
    make_items(w)
    # No scan ran in the week of 8 March: its overview goes late, once, on the Sunday.
    assert at(datetime(2027, 3, 14, 9, 0, tzinfo=UTC))["overviews"] == 1
    # Monday 15 March: not before 08:00; then the overview, and the item overdue since
    # 1 March has passed the 14 days, so the co-chairs hear about it.
    assert at(datetime(2027, 3, 15, 6, 59, tzinfo=UTC))["overviews"] == 0
    assert at(datetime(2027, 3, 15, 7, 0, tzinfo=UTC))["overviews"] == 3
    assert at(datetime(2027, 3, 17, 7, 0, tzinfo=UTC))["overviews"] == 0  # once a week
    overview = deliveries("overview")[-1]
    assert overview.person_id == w.people["secretariat"]
    escalations = deliveries("escalation")
    assert {d.person_id for d in escalations} == {w.people["co_chair"], w.people["co_chair_2"]}
    text = text_of(composed(overview).message)
    assert "Achterstallig" in text and "Nota mobiliteit" in text
    esc = text_of(composed(escalations[0]).message)
    assert "Nota mobiliteit" in esc and "Bevraging bedrijven" not in esc


def test_escalation_to_the_parent_and_its_decision_flowing_back(w: World) -> None:
    items = make_items(w)
    iid = items["overdue"]["id"]
    # Only the child's managers escalate; only the parent's decide.
    body = {"note": "Budget van de provincie nodig"}
    assert (
        w.client.post(
            f"/api/v1/action-items/{iid}/escalate", json=body, headers=w.auth("member")
        ).status_code
        == 403
    )
    escalated = ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/escalate", json=body, headers=w.auth("secretariat")
        )
    )
    assert escalated["escalation_note"] == body["note"] and escalated["escalated_at"]
    decision = {"decision": "De burgemeesters vragen het budget aan bij de provincie."}
    assert (
        w.client.post(
            f"/api/v1/action-items/{iid}/decision", json=decision, headers=w.auth("co_chair")
        ).status_code
        == 403
    )
    decided = ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/decision", json=decision, headers=w.auth("parent_co_chair")
        )
    )
    assert decided["parent_decision"] == decision["decision"]
    assert decided["progress"][-1]["note"] == decision["decision"]
    told = deliveries("decision")
    assert {d.person_id for d in told} == {
        w.people[k] for k in ("co_chair", "co_chair_2", "member")
    }
    text = text_of(composed(told[0]).message)
    assert "Burgemeestersoverleg Oost-Brabant" in text and decision["decision"] in text
    # A forum without a parent has no one to escalate to.
    other = w.client.post(
        f"/api/v1/action-items/{items['far']['id']}/escalate", json=body, headers=w.auth("admin")
    )
    assert other.status_code == 200  # the taskforce has a parent


def test_the_follow_up_command_runs_the_scans_once(w: World) -> None:
    from typer.testing import CliRunner

    from workflow.cli import app

    schedule(w)
    clock.freeze(datetime(2027, 3, 22, 9, 0, tzinfo=UTC))
    result = CliRunner().invoke(app, ["follow-up"])
    assert result.exit_code == 0, result.output
    assert "reminders: 5 mail(s) owed" in result.output
    assert "reminders: 0 mail(s) owed" in CliRunner().invoke(app, ["follow-up"]).output


def test_html_in_titles_is_escaped_in_every_follow_up_mail(w: World) -> None:
    """Titles, outcomes and notes are text: no follow-up mail's HTML part runs them."""
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    s = schedule(
        w,
        T0 + timedelta(days=1),
        title=f"Overleg {evil}",
        agenda=[{"title": f"Punt {evil}", "kind": "decision"}],
    )
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            json={
                "title": f"Actie {evil}",
                "owner_person_id": w.people["member"],
                "due_date": "2027-03-03",
                "indicator": f"Indicator {evil}",
                "baseline": 0,
                "target": 10,
            },
            headers=ADMIN,
        ),
        201,
    )
    ok(
        w.client.post(
            f"/api/v1/action-items/{item['id']}/escalate", json={"note": evil}, headers=ADMIN
        )
    )
    ok(
        w.client.post(
            f"/api/v1/action-items/{item['id']}/decision",
            json={"decision": evil},
            headers=w.auth("parent_co_chair"),
        )
    )
    clock.freeze(T0 + timedelta(days=1, hours=3))
    current = ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=ADMIN))
    body = close_body(w, current, current["version"])
    body["outcomes"][0]["outcome"] = evil
    ok(w.client.post(f"/api/v1/sessions/{s['id']}/close", json=body, headers=ADMIN))
    at(datetime(2027, 3, 8, 7, 0, tzinfo=UTC))  # a Monday: digest, overview, escalation
    parent = schedule(w, datetime(2027, 3, 29, 8, tzinfo=UTC), forum="mayors")
    ok(
        w.client.post(
            f"/api/v1/sessions/{parent['id']}/reports",
            json={"child_forum_id": w.forums["taskforce"]},
            headers=ADMIN,
        ),
        201,
    )
    seen = set()
    for reason in ("summary", "digest", "overview", "decision", "report"):
        for d in deliveries(reason):
            mail = composed(d)
            assert not isinstance(mail, Superseded), (reason, mail)
            html = mail.message.get_body(("html",)).get_content()
            assert "<script" not in html and "<img" not in html, reason
            seen.add(reason)
    assert seen == {"summary", "digest", "overview", "decision", "report"}
