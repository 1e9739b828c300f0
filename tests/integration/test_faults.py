"""Nothing lost, nothing doubled: a worker killed with SIGKILL in the middle of sending 1,000
invitations; five reschedules in two seconds with two workers."""

import asyncio
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import pytest
from aiosmtpd.smtp import SMTP, Envelope
from sqlalchemy import text

from tests.integration.conftest import ADMIN
from tests.integration.processes import running, wait_for, wait_ready
from tests.integration.smtp_sink import Sink, smtp_sink
from workflow.follow_up.due import reminder_moment

pytestmark = pytest.mark.integration

PARTICIPANTS = 1000
# Mails the killed worker can have had on the wire: one per SMTP connection, one per pool
# process (prefork) or one for the process (threads, the default): two at most.
IN_FLIGHT = 2


class SlowSink(Sink):
    """Takes 20 ms per message, so a kill lands in the middle of the fan-out."""

    async def handle_DATA(self, server: SMTP, session: object, envelope: Envelope) -> str:
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


class JitterSink(Sink):
    """Takes 0 to 300 ms per message, at random: a mail sent later may finish first unless
    the sender keeps one person's mails in line."""

    async def handle_DATA(self, server: SMTP, session: object, envelope: Envelope) -> str:
        await asyncio.sleep(random.uniform(0, 0.3))
        return await super().handle_DATA(server, session, envelope)


def _seed(engine, forum_id: int, count: int = PARTICIPANTS) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO person (name, email, language, country, created_at) "
                "VALUES (:name, :email, 'nl', 'BE', :now)"
            ),
            [
                {"name": f"Deelnemer {i}", "email": f"p{i}@example.org", "now": now}
                for i in range(count)
            ],
        )
        conn.execute(
            text(
                "INSERT INTO membership (forum_id, person_id, role, created_at) "
                "SELECT :f, id, CASE WHEN email = 'p0@example.org' THEN 'co_chair' "
                "ELSE 'member' END, :now FROM person"
            ),
            {"f": forum_id, "now": now},
        )


def test_a_worker_killed_mid_send_loses_nothing(stack: dict) -> None:
    env = {**stack["env"], "WORKFLOW_DELIVERY_LEASE_SECONDS": "3"}
    base = stack["base"]
    with smtp_sink(SlowSink) as sink:
        env["WORKFLOW_SMTP_PORT"] = str(sink.port)
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("beat", ["beat"], env, stack["logs"]) as beat,
        ):
            wait_ready(base, api)
            client = httpx.Client(base_url=base, headers=ADMIN, timeout=15)
            forum = client.post("/api/v1/forums", json={"name": "Burgemeestersoverleg"}).json()
            _seed(stack["engine"], forum["id"])
            start = datetime.now(UTC) + timedelta(days=9)
            with running("worker-1", ["worker", "--concurrency", "2"], env, stack["logs"]) as first:
                r = client.post(
                    f"/api/v1/forums/{forum['id']}/sessions",
                    json={
                        "title": "Overleg",
                        "starts_at": start.isoformat(),
                        "ends_at": (start + timedelta(hours=2)).isoformat(),
                    },
                )
                assert r.status_code == 201, r.text
                session_id = r.json()["id"]
                # Generous bounds: they wait for progress, they time nothing. On a loaded
                # 2-core machine a worker sends a few mails a second.
                wait_for(
                    lambda: sink.count() >= PARTICIPANTS // 3,
                    240,
                    "a third of the invitations",
                    (api, first),
                )
                first.kill(signal.SIGKILL)
            killed_at = sink.count()
            assert killed_at < PARTICIPANTS, "the kill came too late to prove anything"
            # Claimed by the killed worker and not marked sent: the rest of its batches, and
            # in each process at most the one mail the SMTP server was taking.
            with stack["engine"].connect() as conn:
                held = conn.execute(
                    text("SELECT count(*) FROM delivery WHERE status = 'sending'")
                ).scalar_one()
            assert held > IN_FLIGHT, "the kill did not land in the middle of a batch"
            time.sleep(1)
            with running(
                "worker-2", ["worker", "--concurrency", "2"], env, stack["logs"]
            ) as second:
                wait_for(
                    lambda: len({r.rcpt for r in sink.received}) >= PARTICIPANTS,
                    360,
                    "every invitation after the restart",
                    (api, beat, second),
                )

                def settled() -> bool:
                    page = client.get(
                        f"/api/v1/sessions/{session_id}/deliveries", params={"limit": 200}
                    ).json()
                    return all(d["status"] == "sent" for d in page["items"])

                wait_for(settled, 120, "every delivery marked sent", (api, beat, second))
    per_person = Counter(r.rcpt for r in sink.received)
    assert set(per_person) == {f"p{i}@example.org" for i in range(PARTICIPANTS)}  # none lost
    doubled = {p: n for p, n in per_person.items() if n > 1}
    # A mail the SMTP server accepted in the instant before its worker died is sent again:
    # at most one per process that was sending; every other mail of the batches it held
    # was either marked sent before or never handed to the server.
    assert all(n == 2 for n in doubled.values()), doubled
    assert len(doubled) <= IN_FLIGHT, doubled
    print(
        f"killed after {killed_at} of {PARTICIPANTS}, holding {held} claimed in its batches; "
        f"received twice: {len(doubled)} (at most {IN_FLIGHT} in flight)"
    )


RESCHEDULED = 20


def test_five_reschedules_in_two_seconds_with_two_workers(stack: dict) -> None:
    """Each participant's calendar, replayed from the mails they received in the order they
    arrived, ends on the final time; SEQUENCE never goes down; reminders follow the final
    time only."""
    env = stack["env"]
    base = stack["base"]
    with smtp_sink(JitterSink) as sink:
        env = {**env, "WORKFLOW_SMTP_PORT": str(sink.port)}
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("beat", ["beat"], env, stack["logs"]) as beat,
            running("worker-1", ["worker", "--concurrency", "2"], env, stack["logs"]) as w1,
            running("worker-2", ["worker", "--concurrency", "2"], env, stack["logs"]) as w2,
        ):
            procs = (api, beat, w1, w2)
            wait_ready(base, api)
            client = httpx.Client(base_url=base, headers=ADMIN, timeout=15)
            forum = client.post("/api/v1/forums", json={"name": "Toekomstforum"}).json()
            _seed(stack["engine"], forum["id"], RESCHEDULED)
            start = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
            r = client.post(
                f"/api/v1/forums/{forum['id']}/sessions",
                json={
                    "title": "Overleg",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat(),
                },
            )
            assert r.status_code == 201, r.text
            session = r.json()
            version, final = session["version"], start
            for n in range(1, 6):
                time.sleep(0.4)
                final = start + timedelta(hours=n)
                r = client.patch(
                    f"/api/v1/sessions/{session['id']}",
                    headers={"If-Match": f'"{version}"'},
                    json={
                        "starts_at": final.isoformat(),
                        "ends_at": (final + timedelta(hours=2)).isoformat(),
                    },
                )
                assert r.status_code == 200, r.text
                version = r.json()["version"]
            last_sequence = r.json()["sequence"]
            assert last_sequence == 5

            def settled() -> bool:
                page = client.get(
                    f"/api/v1/sessions/{session['id']}/deliveries", params={"limit": 200}
                ).json()
                return (
                    page["total"] >= RESCHEDULED
                    and all(d["status"] in ("sent", "superseded") for d in page["items"])
                    and all(
                        any(
                            d["sequence"] == 5 and d["status"] == "sent"
                            for d in page["items"]
                            if d["person_id"] == p
                        )
                        for p in {d["person_id"] for d in page["items"]}
                    )
                )

            wait_for(settled, 90, "every participant's calendar at SEQUENCE 5", procs)
            reminders = client.get(f"/api/v1/sessions/{session['id']}/reminders").json()
    arrived: dict[str, list[tuple[int, datetime]]] = {}
    for mail in sink.received:
        cal = icalendar.Calendar.from_ical(mail.ics())
        [event] = cal.walk("VEVENT")
        arrived.setdefault(mail.rcpt, []).append(
            (int(event["SEQUENCE"]), event.decoded("DTSTART").astimezone(UTC))
        )
    assert len(arrived) == RESCHEDULED
    for rcpt, mails in arrived.items():
        sequences = [seq for seq, _ in mails]
        assert sequences == sorted(sequences), (rcpt, sequences)  # never backwards
        assert len(set(sequences)) == len(sequences), (rcpt, sequences)  # none twice
        assert mails[-1] == (5, final), (rcpt, mails)  # the calendar ends on the final time
    # Quick changes coalesce: far fewer than six mails each.
    print("mails per participant:", Counter(len(m) for m in arrived.values()))
    assert {r["offset_hours"]: r["due_at"] for r in reminders} == {
        h: reminder_moment(final, "Europe/Brussels", h).isoformat() for h in (168, 24)
    }
