"""Mail in batches, on each database: one claim for many deliveries, one SMTP connection,
each mail marked sent as soon as the server took it; a worker killed mid-batch sends again
at most the mail in flight; one person's calendar mails still go one at a time, in order."""

import email
import email.policy
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import icalendar
import pytest
from sqlmodel import col, select

from tests.api.world import World, build_world
from tests.conftest import ADMIN
from workflow import clock
from workflow.db import db_session
from workflow.invitations.reconcile import reconcile_session
from workflow.mail import outbox
from workflow.mail.smtp import Accepted, TemporaryFailure
from workflow.models import Delivery

T0 = datetime(2027, 5, 3, 8, 0, tzinfo=UTC)


class Killed(BaseException):
    """The worker process dying (SIGKILL): nothing after it runs."""


class FakeServer:
    """The SMTP server as the outbox sees it: keeps what it accepts, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[str, EmailMessage]] = []
        self.kill_after: int | None = None  # accept this many, then the worker dies
        self.refuse_connections = False

    def send(self, message: object, sender: str, recipients: list[str]) -> Accepted:
        if self.refuse_connections:
            raise TemporaryFailure("ConnectionRefusedError: refused", connection=True)
        raw = message if isinstance(message, bytes) else message.as_bytes()  # type: ignore[attr-defined]
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append((recipients[0], parsed))  # type: ignore[arg-type]
        if self.kill_after is not None and len(self.received) >= self.kill_after:
            raise Killed  # after the server's 250, before the worker marked it
        return Accepted(f"250 2.0.0 queued as {len(self.received)}")

    def per_recipient(self) -> Counter[str]:
        return Counter(rcpt for rcpt, _ in self.received)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(outbox, "mailer", lambda: fake)
    return fake


def _rows(ids: list[int]) -> list[Delivery]:
    with db_session() as db:
        return list(
            db.exec(select(Delivery).where(col(Delivery.id).in_(ids)).order_by(col(Delivery.id)))
        )


def _invitations(client) -> tuple[World, dict, list[int]]:  # type: ignore[no-untyped-def]
    w = build_world(client)
    session = w.schedule()
    clock.freeze(T0)
    _, created = reconcile_session(session["id"])
    assert len(created) >= 3
    return w, session, created


def test_a_batch_sends_each_mail_once_and_records_each_answer(client, server) -> None:  # type: ignore[no-untyped-def]
    _, _, created = _invitations(client)
    done = outbox.deliver_batch(created)
    assert set(done.outcomes.values()) == {"sent"}
    rows = _rows(created)
    assert [r.status for r in rows] == ["sent"] * len(created)
    by_message_id = {str(m["Message-ID"]): (rcpt, m) for rcpt, m in server.received}
    assert set(by_message_id) == {r.message_id for r in rows}  # each row's own Message-ID
    assert sorted(r.last_answer for r in rows) == sorted(  # type: ignore[type-var]
        f"250 2.0.0 queued as {n}" for n in range(1, len(created) + 1)
    )
    assert set(server.per_recipient().values()) == {1}
    for rcpt, message in server.received:
        [part] = [
            p
            for p in message.walk()
            if p.get_content_type() == "text/calendar" and not p.get_filename()
        ]
        [event] = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        invited = [str(a) for a in attendees if a.params["RSVP"] == "TRUE"]
        assert invited == [f"mailto:{rcpt}"]  # only the recipient is asked to answer
        assert message["To"].addresses[0].addr_spec == rcpt
    # Queued twice (the sweep, a redelivered task): nothing goes twice.
    again = outbox.deliver_batch(created)
    assert set(again.outcomes.values()) == {"not due"}
    assert len(server.received) == len(created)


def test_a_worker_killed_mid_batch_sends_again_at_most_the_mail_in_flight(client, server) -> None:  # type: ignore[no-untyped-def]
    _, _, created = _invitations(client)
    server.kill_after = 2
    with pytest.raises(Killed):
        outbox.deliver_batch(created)
    statuses = [r.status for r in _rows(created)]
    # The first was marked sent right after its 250; the one in flight and the rest wait.
    assert statuses == ["sent"] + ["sending"] * (len(created) - 1)
    server.kill_after = None
    with db_session() as db:
        assert outbox.due(db) == []  # their lease still holds
    clock.freeze(T0 + timedelta(seconds=121))  # the lease ran out: the sweep offers them
    with db_session() as db:
        due = outbox.due(db)
    assert due == created[1:]
    assert set(outbox.deliver_batch(due).outcomes.values()) == {"sent"}
    assert [r.status for r in _rows(created)] == ["sent"] * len(created)
    per_recipient = server.per_recipient()
    assert len(per_recipient) == len(created)  # nobody missed their invitation
    doubled = [rcpt for rcpt, n in per_recipient.items() if n > 1]
    assert len(doubled) == 1  # only the mail in flight when the worker died


def test_a_superseded_mail_in_a_batch_is_not_sent_and_the_next_waits_its_turn(
    client, server
) -> None:  # type: ignore[no-untyped-def]
    _, session, created = _invitations(client)
    r = client.patch(
        f"/api/v1/sessions/{session['id']}",
        headers={**ADMIN, "If-Match": f'"{session["version"]}"'},
        json={"location": "Stadhuis, Leuven"},
    )
    assert r.status_code == 200, r.text
    _, updates = reconcile_session(session["id"])
    assert len(updates) == len(created)
    # The invitations and their updates in one batch: per person only the oldest is taken.
    done = outbox.deliver_batch(created + updates)
    assert [done.outcomes[i] for i in created] == ["superseded"] * len(created)
    assert [done.outcomes[i] for i in updates] == ["not due"] * len(updates)
    assert server.received == []
    assert sorted(done.next_in_line) == sorted(updates)  # the caller queues them
    assert set(outbox.deliver_batch(done.next_in_line).outcomes.values()) == {"sent"}
    assert set(server.per_recipient().values()) == {1}
    for _, message in server.received:
        assert "Stadhuis, Leuven" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_without_an_smtp_connection_the_whole_batch_waits(client, server) -> None:  # type: ignore[no-untyped-def]
    _, _, created = _invitations(client)
    server.refuse_connections = True
    done = outbox.deliver_batch(created)
    assert set(done.outcomes.values()) == {"retry"}
    rows = _rows(created)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert {r.next_attempt_at for r in rows} == {T0 + timedelta(seconds=30)}
    server.refuse_connections = False
    clock.freeze(T0 + timedelta(seconds=30))
    assert set(outbox.deliver_batch(created).outcomes.values()) == {"sent"}
    assert set(server.per_recipient().values()) == {1}


def test_a_long_batch_keeps_only_what_nobody_took_over(client, server) -> None:  # type: ignore[no-untyped-def]
    _, _, created = _invitations(client)
    with db_session() as db:
        held = outbox.claim_batch(db, created)
    assert [d.id for d in held] == created
    clock.freeze(T0 + timedelta(seconds=121))  # this batch ran past its lease
    with db_session() as db:
        [taken] = outbox.claim_batch(db, created[:1])  # another worker took one over
    with db_session() as db:
        assert outbox.renew(db, held) == set(created[1:])
    with db_session() as db:
        assert outbox.claim_batch(db, created) == []  # renewed: nobody takes the rest
    assert taken.attempts == 2
