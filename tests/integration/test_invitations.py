"""Invitations end to end: the API, a real Celery worker on Redis and PostgreSQL, and a real
SMTP server. Every captured mail is parsed as a mail client would and checked."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import pytest

from tests.integration.conftest import ADMIN
from tests.integration.processes import running, wait_for, wait_ready
from tests.integration.smtp_sink import Sink, smtp_sink

pytestmark = pytest.mark.integration

PEOPLE = [
    ("Mieke Vandenberghe", "mieke@example.org", "nl", "co_chair"),
    ("Jan Peeters", "jan@example.org", "nl", "member"),
    ("Geneviève Dubois", "genevieve@example.org", "fr", "member"),
    ("Alex Morgan", "alex@example.org", "en", "observer"),
]


@pytest.fixture
def live(stack: dict) -> Iterator[dict]:
    with smtp_sink() as sink:
        env = {**stack["env"], "WORKFLOW_SMTP_PORT": str(sink.port)}
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("worker", ["worker", "--concurrency", "4"], env, stack["logs"]) as worker,
            running("beat", ["beat"], env, stack["logs"]) as beat,
        ):
            wait_ready(stack["base"], api)
            client = httpx.Client(base_url=stack["base"], headers=ADMIN, timeout=15)
            forum = client.post(
                "/api/v1/forums",
                json={
                    "name": "Taskforce Spitsregio Leuven",
                    "secretariat_name": "ERSV Vlaams-Brabant",
                    "secretariat_email": "taskforce@ersv.example.org",
                },
            ).json()
            people = {}
            for name, mail, lang, role in PEOPLE:
                p = client.post(
                    "/api/v1/people", json={"name": name, "email": mail, "language": lang}
                ).json()
                client.post(
                    f"/api/v1/forums/{forum['id']}/members",
                    json={"person_id": p["id"], "role": role},
                )
                people[mail] = p["id"]
            yield {
                "client": client,
                "sink": sink,
                "forum": forum,
                "people": people,
                "procs": (api, worker, beat),
                **stack,
            }


def _event(mail) -> icalendar.cal.Component:  # type: ignore[no-untyped-def]
    cal = icalendar.Calendar.from_ical(mail.ics())
    [event] = cal.walk("VEVENT")
    return cal, event


def _settled(live: dict, session_id: int) -> bool:
    page = (
        live["client"]
        .get(f"/api/v1/sessions/{session_id}/deliveries", params={"limit": 200})
        .json()
    )
    return page["total"] > 0 and all(
        d["status"] in ("sent", "superseded", "failed") for d in page["items"]
    )


def _wait_settled(live: dict, session_id: int, expect_mails: int) -> None:
    wait_for(
        lambda: live["sink"].count() >= expect_mails and _settled(live, session_id),
        60,
        f"{expect_mails} mails",
        live["procs"],
    )


def _schedule(live: dict, start: datetime) -> dict:
    r = live["client"].post(
        f"/api/v1/forums/{live['forum']['id']}/sessions",
        json={
            "title": "Jobkanalen; mobiliteit, en « Comines »",
            "location": "Provinciehuis, Leuven",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "agenda": [
                {"title": "Verwelkoming", "kind": "information"},
                {"title": "Jobkanalen", "kind": "decision"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_invite_update_remove_answer_and_cancel(live: dict) -> None:
    sink: Sink = live["sink"]
    client: httpx.Client = live["client"]
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    s = _schedule(live, start)
    _wait_settled(live, s["id"], 4)

    # Invite: one mail each, METHOD:REQUEST, SEQUENCE 0, in the recipient's language.
    for _, address, lang, _ in PEOPLE:
        [mail] = sink.to(address)
        assert (
            mail.calendar_part().get_params()[1:]
            and mail.calendar_part().get_param("method") == "REQUEST"
        )
        cal, event = _event(mail)
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == s["uid"] and int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART").astimezone(UTC) == start
        assert str(event["SUMMARY"]) == s["title"]
        subject = str(mail.message["Subject"])
        assert {"nl": "Uitnodiging", "fr": "Invitation", "en": "Invitation"}[lang] in subject
        assert mail.message["Auto-Submitted"] == "auto-generated"
    assert (
        sink.to("genevieve@example.org")[0].message["To"].addresses[0].display_name
        == "Geneviève Dubois"
    )

    # Reschedule twice: same UID, rising SEQUENCE, the last mail shows the final time.
    version = s["version"]
    for hours in (1, 3):
        r = client.patch(
            f"/api/v1/sessions/{s['id']}",
            headers={"If-Match": f'"{version}"'},
            json={
                "starts_at": (start + timedelta(hours=hours)).isoformat(),
                "ends_at": (start + timedelta(hours=hours + 2)).isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    _wait_settled(live, s["id"], 5)
    for _, address, _, _ in PEOPLE:
        mails = sink.to(address)
        sequences = [int(_event(m)[1]["SEQUENCE"]) for m in mails]
        assert sequences == sorted(sequences) and sequences[-1] == 2, sequences
        _, last = _event(mails[-1])
        assert last.decoded("DTSTART").astimezone(UTC) == start + timedelta(hours=3)
        assert str(last["UID"]) == s["uid"]

    # Remove a participant: a CANCEL to that person only; the others an update.
    before = {a: len(sink.to(a)) for _, a, _, _ in PEOPLE}
    r = client.delete(
        f"/api/v1/sessions/{s['id']}/participants/{live['people']['jan@example.org']}"
    )
    assert r.status_code == 200
    _wait_settled(live, s["id"], sum(before.values()) + 4)
    cal, event = _event(sink.to("jan@example.org")[-1])
    assert str(cal["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 3
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a).lower() for a in attendees] == ["mailto:jan@example.org"]
    cal, event = _event(sink.to("genevieve@example.org")[-1])
    assert str(cal["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 3
    assert "mailto:jan@example.org" not in [str(a).lower() for a in event.get("ATTENDEE")]

    # RSVP by link: GET shows a page and records nothing; POST records the answer.
    mail = sink.to("genevieve@example.org")[-1]
    accept = re.search(r"(http://\S+/rsvp/\S+)", mail.text()).group(1)  # type: ignore[union-attr]
    page = httpx.get(accept, timeout=10)
    assert page.status_code == 200 and 'lang="fr"' in page.text
    answers = client.get(f"/api/v1/sessions/{s['id']}/answers").json()
    assert answers["accepted"] == []
    done = httpx.post(accept, timeout=10)
    assert done.status_code == 200
    answers = client.get(f"/api/v1/sessions/{s['id']}/answers").json()
    assert [p["email"] for p in answers["accepted"]] == ["genevieve@example.org"]
    # The same link does not work for another session or person (it is signed).
    forged = accept[:-3] + ("AAA" if not accept.endswith("AAA") else "BBB")
    assert httpx.post(forged, timeout=10).status_code == 404

    # RSVP from a calendar client's Decline button: an iTIP REPLY forwarded to the API.
    reply = icalendar.Calendar()
    reply.add("prodid", "-//Test client//EN")
    reply.add("version", "2.0")
    reply.add("method", "REPLY")
    ev = icalendar.Event()
    ev.add("uid", s["uid"])
    ev.add("dtstamp", datetime.now(UTC))
    ev.add("sequence", 3)
    attendee = icalendar.vCalAddress("mailto:alex@example.org")
    attendee.params["PARTSTAT"] = "DECLINED"
    ev.add("attendee", attendee)
    reply.add_component(ev)
    r = client.post(
        "/api/v1/itip/reply",
        content=reply.to_ical(),
        headers={"Content-Type": "text/calendar; method=REPLY"},
    )
    assert r.status_code == 200, r.text
    answers = client.get(f"/api/v1/sessions/{s['id']}/answers").json()
    assert [p["email"] for p in answers["declined"]] == ["alex@example.org"]
    assert {p["email"] for p in answers["needs_action"]} == {"mieke@example.org"}

    # Cancel: METHOD:CANCEL with STATUS:CANCELLED to everyone still invited.
    count = sink.count()
    r = client.post(f"/api/v1/sessions/{s['id']}/cancel", json={"reason": "Geen quorum"})
    assert r.status_code == 200
    _wait_settled(live, s["id"], count + 3)
    for address in ("mieke@example.org", "genevieve@example.org", "alex@example.org"):
        cal, event = _event(sink.to(address)[-1])
        assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert int(event["SEQUENCE"]) == 4
    assert len(sink.to("jan@example.org")) == len([m for m in sink.to("jan@example.org")])
    assert str(_event(sink.to("jan@example.org")[-1])[0]["METHOD"]) == "CANCEL"
    # Nothing was sent twice: one mail per person per sequence and method.
    seen = set()
    for r_ in sink.received:
        cal, event = _event(r_)
        key = (r_.rcpt, str(cal["METHOD"]), int(event["SEQUENCE"]))
        assert key not in seen, key
        seen.add(key)


def test_adding_a_participant_sends_them_the_current_invitation(live: dict) -> None:
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    s = _schedule(live, start)
    _wait_settled(live, s["id"], 4)
    newcomer = (
        live["client"]
        .post("/api/v1/people", json={"name": "Kris Jacobs", "email": "kris@example.org"})
        .json()
    )
    r = live["client"].post(
        f"/api/v1/sessions/{s['id']}/participants", json={"person_id": newcomer["id"]}
    )
    assert r.status_code == 201
    _wait_settled(live, s["id"], 5)
    [mail] = live["sink"].to("kris@example.org")
    cal, event = _event(mail)
    assert str(cal["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert live["sink"].count() == 5  # nobody else was mailed


def test_smtp_trouble_delays_mail_and_a_refusal_is_visible(live: dict) -> None:
    sink: Sink = live["sink"]
    sink.refusals.extend(["451 4.3.0 try again later"] * 3)
    sink.refuse_rcpt["alex@example.org"] = "550 5.1.1 mailbox unknown"
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    s = _schedule(live, start)
    _wait_settled(live, s["id"], 3)
    deliveries = live["client"].get(f"/api/v1/sessions/{s['id']}/deliveries").json()["items"]
    by_person = {d["person_id"]: d for d in deliveries}
    failed = by_person[live["people"]["alex@example.org"]]
    assert failed["status"] == "failed" and "550 5.1.1 mailbox unknown" in failed["last_answer"]
    sent = [d for d in deliveries if d["status"] == "sent"]
    assert len(sent) == 3 and sum(d["attempts"] for d in sent) >= 3 + 3
    assert {r.rcpt for r in sink.received} == {
        "mieke@example.org",
        "jan@example.org",
        "genevieve@example.org",
    }
    failed_list = live["client"].get("/api/v1/deliveries", params={"status": "failed"}).json()
    assert [d["id"] for d in failed_list["items"]] == [failed["id"]]


def _delivery(live: dict, session_id: int, address: str, sequence: int) -> dict | None:
    page = (
        live["client"]
        .get(f"/api/v1/sessions/{session_id}/deliveries", params={"limit": 200})
        .json()
    )
    person = live["people"][address]
    return next(
        (d for d in page["items"] if d["person_id"] == person and d["sequence"] == sequence),
        None,
    )


def _tried(live: dict, session_id: int, address: str, sequence: int) -> bool:
    d = _delivery(live, session_id, address, sequence)
    return d is not None and d["attempts"] >= 1 and d["status"] == "pending"


def test_an_update_says_what_changed_since_the_last_mail_each_person_received(
    live: dict,
) -> None:
    """Geneviève's mailbox refuses for a while: the reschedule and the title change made
    meanwhile reach her as one update listing both. Alex's mailbox accepts: he gets one
    update per change, each listing only its own. A later change of place is the only thing
    the next mail to either of them lists."""
    sink: Sink = live["sink"]
    client: httpx.Client = live["client"]
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    s = _schedule(live, start)
    _wait_settled(live, s["id"], 4)

    sink.refuse_rcpt["genevieve@example.org"] = "451 4.2.1 mailbox busy, try again later"
    version = s["version"]

    def patch(changes: dict) -> None:
        nonlocal version
        r = client.patch(
            f"/api/v1/sessions/{s['id']}", headers={"If-Match": f'"{version}"'}, json=changes
        )
        assert r.status_code == 200, r.text
        version = r.json()["version"]

    later = start + timedelta(days=2)
    patch({"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()})
    wait_for(
        lambda: (
            _tried(live, s["id"], "genevieve@example.org", 1)
            and len(sink.to("alex@example.org")) == 2
        ),
        60,
        "the first update refused once",
        live["procs"],
    )
    patch({"title": "Jobkanalen en mobiliteit"})
    wait_for(
        lambda: (
            _tried(live, s["id"], "genevieve@example.org", 2)
            and len(sink.to("alex@example.org")) == 3
        ),
        60,
        "the second update refused once",
        live["procs"],
    )
    del sink.refuse_rcpt["genevieve@example.org"]
    wait_for(
        lambda: len(sink.to("genevieve@example.org")) == 2 and _settled(live, s["id"]),
        60,
        "the update to Geneviève",
        live["procs"],
    )
    assert _delivery(live, s["id"], "genevieve@example.org", 1)["status"] == "superseded"  # type: ignore[index]
    [_invitation, update] = sink.to("genevieve@example.org")
    assert int(_event(update)[1]["SEQUENCE"]) == 2
    assert str(update.message["Subject"]).startswith(
        "Modifié\u00a0: horaire, titre — Jobkanalen en mobiliteit – "
    )
    lines = [line.strip() for line in update.text().splitlines()]
    changed = [line for line in lines if line.startswith("- ")]
    assert len(changed) == 2, lines
    assert changed[0].startswith("- L’horaire a changé\u00a0: ")
    assert changed[1] == (
        "- Le titre a changé\u00a0: «\u00a0Jobkanalen; mobiliteit, en « Comines »\u00a0»"
        " → «\u00a0Jobkanalen en mobiliteit\u00a0»"
    )

    # Alex got each change as it came, each mail saying only its own.
    subjects = [str(m.message["Subject"]) for m in sink.to("alex@example.org")[1:]]
    assert subjects[0].startswith("Changed: time — Jobkanalen; mobiliteit, en « Comines » – ")
    assert subjects[1].startswith("Changed: title — Jobkanalen en mobiliteit – ")

    # Sent to both: the next change is the only one their next mail lists.
    patch({"location": "Stadhuis, Leuven"})
    wait_for(
        lambda: (
            len(sink.to("genevieve@example.org")) == 3
            and len(sink.to("alex@example.org")) == 4
            and _settled(live, s["id"])
        ),
        60,
        "the change of place",
        live["procs"],
    )
    place = sink.to("genevieve@example.org")[-1]
    assert str(place.message["Subject"]).startswith("Modifié\u00a0: lieu — ")
    changed = [line.strip() for line in place.text().splitlines() if line.startswith("  - ")]
    assert changed == ["- Le lieu a changé\u00a0: Provinciehuis, Leuven → Stadhuis, Leuven"]
    en = sink.to("alex@example.org")[-1].text()
    assert "The place changed: Provinciehuis, Leuven → Stadhuis, Leuven" in en
    assert "The time changed" not in en and "The title changed" not in en
