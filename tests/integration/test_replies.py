"""Calendar replies with nobody forwarding them: the API, a Celery worker and beat on
PostgreSQL and Redis, a real IMAP server (dovecot, started by .ci/run) and real SMTP.

Each participant answers the invitation as their mail client writes it (Outlook, Google
Calendar, Apple Calendar, Thunderbird: tests/fixtures/replies). The message is handed over
LMTP, the SMTP dialect a mail server uses to deliver into a mailbox, to dovecot, which files
it in the reply mailbox; beat's poll reads it; the answer shows in the API and on the session
page. One more reply goes over SMTP to the embedded capture server, which applies it itself.
The same message twice, a crash between record and move, and mail that is no reply (an
out-of-office, a bounce, a person's words) are checked on the same mailbox."""

import re
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses

import httpx
import icalendar
import pytest
from sqlmodel import Session as DBSession

from tests import replies
from tests.integration.conftest import ADMIN
from tests.integration.processes import free_port, running, wait_for, wait_ready
from tests.integration.smtp_sink import smtp_sink
from workflow.replies import inbound

pytestmark = pytest.mark.integration

SECRETARIAT = ("ERSV Vlaams-Brabant", "taskforce@ersv.example.org")
PEOPLE = [  # name, address, client, what they answer
    ("Mieke Vandenberghe", "mieke@example.org", "outlook", "accepted"),
    ("Jan Peeters", "jan@example.org", "google", "tentative"),
    ("Sofie Claes", "sofie@example.org", "apple", "declined"),
    ("Geneviève Dubois", "genevieve@example.org", "thunderbird", "accepted"),
    ("Alex Morgan", "alex@example.org", "thunderbird", "accepted"),  # via the capture server
]
_LINK = re.compile(r"(https?://\S+/sign-in/\S+)")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def live(stack: dict) -> Iterator[dict]:
    replies.require_imap()
    inbox, processed, _ = replies.new_folders()
    reply_address = f"replies+{inbox}@forum.test"
    capture_port = free_port()
    with smtp_sink() as sink:
        env = {
            **stack["env"],
            "WORKFLOW_SMTP_PORT": str(sink.port),
            "WORKFLOW_REPLY_ADDRESS": reply_address,
            "WORKFLOW_IMAP_HOST": replies.IMAP_HOST,
            "WORKFLOW_IMAP_PORT": str(replies.IMAP_PORT),
            "WORKFLOW_IMAP_TLS": "false",
            "WORKFLOW_IMAP_USER": replies.IMAP_USER,
            "WORKFLOW_IMAP_PASSWORD": replies.IMAP_PASSWORD,
            "WORKFLOW_IMAP_FOLDER": inbox,
            "WORKFLOW_IMAP_PROCESSED_FOLDER": processed,
            "WORKFLOW_IMAP_POLL_SECONDS": "1",
        }
        capture_env = {**env, "WORKFLOW_SMTP_PORT": str(capture_port)}
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("worker", ["worker", "--concurrency", "2"], env, stack["logs"]) as worker,
            running("beat", ["beat"], env, stack["logs"]) as beat,
            running("capture", ["mailcatcher"], capture_env, stack["logs"]) as capture,
        ):
            wait_ready(stack["base"], api)
            client = httpx.Client(base_url=stack["base"], headers=ADMIN, timeout=15)
            forum = client.post(
                "/api/v1/forums",
                json={
                    "name": "Taskforce Spitsregio Leuven",
                    "secretariat_name": SECRETARIAT[0],
                    "secretariat_email": SECRETARIAT[1],
                },
            ).json()
            people = {}
            for i, (name, address, _, _) in enumerate(PEOPLE):
                p = client.post(
                    "/api/v1/people", json={"name": name, "email": address, "language": "nl"}
                ).json()
                role = "co_chair" if i == 0 else "member"
                client.post(
                    f"/api/v1/forums/{forum['id']}/members",
                    json={"person_id": p["id"], "role": role},
                )
                people[address] = p["id"]
            start = (datetime.now(UTC) + timedelta(days=20)).replace(
                minute=0, second=0, microsecond=0
            )
            r = client.post(
                f"/api/v1/forums/{forum['id']}/sessions",
                json={
                    "title": "Jobkanalen en mobiliteit",
                    "location": "Provinciehuis, Leuven",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat(),
                },
            )
            assert r.status_code == 201, r.text
            procs = (api, worker, beat, capture)
            wait_for(lambda: sink.count() >= len(PEOPLE), 60, "the invitations", procs)
            yield {
                "client": client,
                "sink": sink,
                "session": r.json(),
                "start": start,
                "reply_address": reply_address,
                "inbox": inbox,
                "processed": processed,
                "capture_port": capture_port,
                "env": env,
                "procs": procs,
                **stack,
            }


def _lmtp(live: dict, raw: bytes) -> None:
    """What the municipality's mail server does with mail for the reply address."""
    with smtplib.LMTP(replies.IMAP_HOST, replies.LMTP_PORT) as lmtp:
        refused = lmtp.sendmail("bounces@example.org", [live["reply_address"]], raw)
        assert not refused


def _reply(live: dict, client: str, address: str, **kw: object) -> bytes:
    name = next(p[0] for p in PEOPLE if p[1] == address)
    return replies.render(
        client,
        uid=live["session"]["uid"],
        attendee=address,
        attendee_name=name,
        reply_address=live["reply_address"],
        organizer_name=SECRETARIAT[0],
        starts_at=live["start"],
        **kw,  # type: ignore[arg-type]
    )


def _answer_of(live: dict, person_id: int) -> str:
    got = live["client"].get(f"/api/v1/sessions/{live['session']['id']}/answers").json()
    return next(s for s, ps in got.items() for p in ps if p["person_id"] == person_id)


def _answered_events(live: dict) -> list[dict]:
    events = live["client"].get(
        f"/api/v1/sessions/{live['session']['id']}/events", params={"limit": 200}
    )
    return [e for e in events.json()["items"] if e["kind"] == "session.answered"]


def _session_page(live: dict, address: str) -> str:
    """The session page as `address` sees it after signing in by the mailed link."""
    web = httpx.Client(base_url=live["base"], timeout=15)
    token = _CSRF.search(web.get("/sign-in").text)[1]  # type: ignore[index]
    web.post("/sign-in", data={"csrf": token, "email": address})
    mail = wait_for(
        lambda: [m for m in live["sink"].to(address) if _LINK.search(m.text())],
        60,
        "the sign-in mail",
        live["procs"],
    )
    link = "/" + _LINK.search(mail[-1].text())[1].split("/", 3)[3]  # type: ignore[index]
    token = _CSRF.search(web.get(link).text)[1]  # type: ignore[index]
    assert web.post(link, data={"csrf": token}).status_code in (200, 303)
    web.get("/?lang=en")
    return web.get(f"/sessions/{live['session']['id']}").text


def test_replies_from_mail_clients_reach_the_answers_with_nobody_forwarding(live: dict) -> None:
    session_id = live["session"]["id"]
    people = {
        p["email"]: p["id"]
        for p in live["client"].get("/api/v1/people", params={"limit": 200}).json()["items"]
    }

    # The invitation names the reply address as ORGANIZER, with the secretariat's name, and
    # the secretariat as Reply-To; the inline calendar part is there for Accept/Decline.
    [invitation] = live["sink"].to("jan@example.org")
    cal = icalendar.Calendar.from_ical(invitation.ics())
    [event] = cal.walk("VEVENT")
    assert str(event["ORGANIZER"]) == f"mailto:{live['reply_address']}"
    assert event["ORGANIZER"].params["CN"] == SECRETARIAT[0]
    assert invitation.calendar_part().get_param("method") == "REQUEST"
    assert getaddresses([str(invitation.message["Reply-To"])]) == [SECRETARIAT]
    assert str(event["UID"]) == live["session"]["uid"]

    # Each client's reply, delivered into the reply mailbox; beat's poll applies it.
    for _, address, client, _ in PEOPLE[:4]:
        _lmtp(live, _reply(live, client, address))
    # The fifth over SMTP to the embedded capture server, addressed to the reply address.
    with smtplib.SMTP("127.0.0.1", live["capture_port"]) as smtp:
        smtp.sendmail(
            "alex@example.org",
            [live["reply_address"]],
            _reply(live, "thunderbird", "alex@example.org"),
        )
    expected = {people[a]: answer for _, a, _, answer in PEOPLE}
    wait_for(
        lambda: all(_answer_of(live, pid) == want for pid, want in expected.items()),
        60,
        "every answer in the API",
        live["procs"],
    )
    assert len(_answered_events(live)) == len(PEOPLE)

    # Applied replies moved to the processed folder; nothing left unread in the inbox.
    wait_for(lambda: len(replies.in_folder(live["processed"])) == 4, 30, "the moves")
    assert replies.in_folder(live["inbox"]) == []

    # The session page shows each answer.
    page = _session_page(live, "mieke@example.org")
    for name, _, _, answer in PEOPLE:
        badge = {"accepted": "good", "tentative": "warn", "declined": "bad"}[answer]
        row = re.search(re.escape(name) + r".*?</tr>", page, re.S)
        assert row and f'class="badge {badge}"' in row[0], (name, row and row[0])

    # The same message again (a second copy, as a forwarding rule makes): nothing changes.
    outlook = _reply(live, "outlook", "mieke@example.org", message_id="<same-1@example.net>")
    _lmtp(live, outlook)
    wait_for(lambda: len(replies.in_folder(live["processed"])) == 5, 30, "the first copy")
    _lmtp(live, outlook)
    wait_for(lambda: len(replies.in_folder(live["processed"])) == 6, 30, "the second copy")
    outlook_events = [
        e
        for e in _answered_events(live)
        if e["data"].get("person_id") == people["mieke@example.org"]
    ]
    assert len(outlook_events) == 2  # the first reply and the first copy; never the second

    # A crash between the commit and the move: the message was recorded and applied, then
    # the process died before telling the mailbox. Read again, it applies nothing.
    late = _reply(live, "google", "jan@example.org", message_id="<crash-1@example.net>")
    with DBSession(live["engine"]) as db:
        first = inbound.process(db, late, mailbox="imap://crashed")
    assert first.first_time and first.outcome == inbound.APPLIED
    before = len(_answered_events(live))
    _lmtp(live, late)
    wait_for(lambda: len(replies.in_folder(live["processed"])) == 7, 30, "the re-read")
    assert len(_answered_events(live)) == before

    # Out-of-office, bounce, words: left unread and flagged for the secretariat, and listed.
    for name in replies.NOT_REPLIES:
        _lmtp(live, _reply(live, name, "jan@example.org"))
    wait_for(
        lambda: len([f for f, _ in replies.in_folder(live["inbox"]) if b"\\Flagged" in f]) == 3,
        30,
        "the non-replies flagged",
    )
    for flags, _ in replies.in_folder(live["inbox"]):
        assert b"\\Seen" not in flags
    assert len(_answered_events(live)) == before
    listed = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "replies", "list"],
        env=live["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for kind in ("auto_reply", "bounce", "no_calendar"):
        assert kind in listed.stdout, listed.stdout
    assert all(answer == _answer_of(live, pid) for pid, answer in expected.items())
    assert session_id


def test_idle_wakes_the_reader_when_a_reply_arrives() -> None:
    """`workflow replies watch` waits with IMAP IDLE: it returns as soon as dovecot says a
    message arrived, not when the wait runs out."""
    import threading
    import time

    from workflow.replies.imap import _idle

    replies.require_imap()
    inbox, _, _ = replies.new_folders()
    conn = replies.imap()
    conn.select(f'"{inbox}"')
    raw = replies.render(
        "words",
        uid="x@forum-workflow.example.org",
        attendee="jan@example.org",
        attendee_name="Jan Peeters",
        reply_address=f"replies+{inbox}@forum.test",
        organizer_name=SECRETARIAT[0],
        starts_at=datetime(2027, 3, 29, 12, tzinfo=UTC),
    )

    def deliver() -> None:
        time.sleep(1)
        _lmtp({"reply_address": f"replies+{inbox}@forum.test"}, raw)

    threading.Thread(target=deliver).start()
    began = time.monotonic()
    _idle(conn, 20)
    assert time.monotonic() - began < 10
    _, data = conn.uid("SEARCH", "ALL")
    assert len(data[0].split()) == 1  # the connection is usable after DONE
    conn.logout()
