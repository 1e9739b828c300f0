"""The outbox on each database: a mail owed is one row, claimed by one worker at a time,
offered again when a worker vanished, retried with backoff, and given up on in the end."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from tests.api.world import World, build_world
from tests.conftest import ADMIN
from workflow import clock
from workflow.db import db_session
from workflow.mail import outbox
from workflow.models import Delivery

T0 = datetime(2027, 5, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def delivery(client) -> int:
    w: World = build_world(client)
    person = w.people["member"]
    clock.freeze(T0)
    row = {"key": "calendar:1:2:REQUEST:0", "reason": "invitation", "person_id": person}
    with db_session() as db:
        [created] = outbox.owe(db, [row])
    with db_session() as db:
        assert outbox.owe(db, [row]) == []  # the same mail cannot be owed twice
    return created


def _row(delivery_id: int) -> Delivery:
    with db_session() as db:
        return db.get(Delivery, delivery_id)  # type: ignore[return-value]


def test_one_worker_at_a_time_and_again_when_it_vanished(delivery: int) -> None:
    with db_session() as db:
        assert outbox.claim(db, delivery) is not None
    with db_session() as db:
        assert outbox.claim(db, delivery) is None  # leased
        assert outbox.due(db) == []
    clock.freeze(T0 + timedelta(seconds=121))  # the worker died: its lease ran out
    with db_session() as db:
        assert outbox.due(db) == [delivery]
        again = outbox.claim(db, delivery)
    assert again is not None and again.attempts == 2
    with db_session() as db:
        outbox.mark_sent(db, again, "250 OK")
    clock.freeze(T0 + timedelta(hours=1))
    with db_session() as db:
        assert outbox.claim(db, delivery) is None and outbox.due(db) == []
    assert _row(delivery).status == "sent" and _row(delivery).last_answer == "250 OK"


def test_a_worker_back_after_its_lease_records_nothing_over_the_one_that_took_over(
    delivery: int,
) -> None:
    """Cut off from the network rather than killed, a worker learns how its attempt ended long
    after its lease; by then another worker has taken the delivery over."""
    with db_session() as db:
        cut_off = outbox.claim(db, delivery)
    clock.freeze(T0 + timedelta(seconds=121))
    with db_session() as db:
        other = outbox.claim(db, delivery)
    assert cut_off is not None and other is not None
    with db_session() as db:
        outbox.mark_retry(db, cut_off, "timed out")  # while the other one is sending
    assert _row(delivery).status == "sending"
    with db_session() as db:
        outbox.mark_sent(db, other, "250 OK")
    for late in (outbox.mark_retry, outbox.mark_failed, outbox.mark_sent):
        with db_session() as db:
            late(db, cut_off, "451 late")
        row = _row(delivery)
        assert (row.status, row.last_answer, row.lease_until) == ("sent", "250 OK", None)
    with db_session() as db:
        assert outbox.due(db) == []  # nothing to send again


def test_temporary_failures_back_off(delivery: int) -> None:
    with db_session() as db:
        claimed = outbox.claim(db, delivery)
        outbox.mark_retry(db, claimed, "451 try later")  # type: ignore[arg-type]
    row = _row(delivery)
    assert row.status == "pending" and row.next_attempt_at == T0 + timedelta(seconds=30)
    with db_session() as db:
        assert outbox.due(db) == [] and outbox.claim(db, delivery) is None
    clock.freeze(T0 + timedelta(seconds=30))
    with db_session() as db:
        assert outbox.due(db) == [delivery]


def test_a_permanent_failure_is_final_and_visible(delivery: int) -> None:
    with db_session() as db:
        claimed = outbox.claim(db, delivery)
        outbox.mark_failed(db, claimed, "550 5.1.1 mailbox unknown")  # type: ignore[arg-type]
    clock.freeze(T0 + timedelta(days=1))
    with db_session() as db:
        assert outbox.due(db) == [] and outbox.claim(db, delivery) is None
    assert _row(delivery).last_answer == "550 5.1.1 mailbox unknown"


def test_a_mail_that_never_gets_an_answer_is_given_up(delivery: int) -> None:
    moment = T0
    for _ in range(12):  # every attempt ends with the worker gone
        with db_session() as db:
            assert outbox.claim(db, delivery) is not None
        moment += timedelta(seconds=121)
        clock.freeze(moment)
    with db_session() as db:
        assert outbox.claim(db, delivery) is None
        assert outbox.give_up_exhausted(db) == 1
    row = _row(delivery)
    assert row.status == "failed" and row.attempts == 12


def test_calendar_mails_to_one_person_go_one_at_a_time(client) -> None:  # type: ignore[no-untyped-def]
    """An update cannot overtake the invitation still on its way to the same person."""
    w: World = build_world(client)
    session = w.schedule()
    clock.freeze(T0)
    person = w.people["member"]
    rows = [
        {
            "key": f"calendar:{session['id']}:{person}:REQUEST:{seq}",
            "reason": "invitation" if seq == 0 else "update",
            "person_id": person,
            "session_id": session["id"],
            "method": "REQUEST",
            "sequence": seq,
        }
        for seq in (0, 1)
    ]
    other = {**rows[0], "key": "calendar:x", "person_id": w.people["observer"]}
    with db_session() as db:
        first, second, someone_else = outbox.owe(db, [*rows, other])
    with db_session() as db:
        claimed = outbox.claim(db, first)
        assert claimed is not None
    with db_session() as db:
        assert outbox.claim(db, second) is None  # waits for the first
        assert outbox.claim(db, someone_else) is not None  # others are not held up
    with db_session() as db:
        outbox.mark_sent(db, claimed, "250 OK")
        assert outbox.waiting_siblings(db, _row(first)) == [second]
    with db_session() as db:
        assert outbox.claim(db, second) is not None
    # A worker that died mid-send holds nobody up once its lease ran out.
    with db_session() as db:
        outbox.mark_retry(db, _row(second), "451 later")
    clock.freeze(T0 + timedelta(hours=2))
    with db_session() as db:
        assert outbox.claim(db, second) is not None


def test_a_mail_no_workflow_can_compose_is_never_owed(client) -> None:  # type: ignore[no-untyped-def]
    w: World = build_world(client)
    row = {"key": "mystery:1", "reason": "mystery", "person_id": w.people["member"]}
    with pytest.raises(ValueError, match="no composer"), db_session() as db:
        outbox.owe(db, [row])
    with db_session() as db:
        assert db.exec(select(Delivery).where(Delivery.key == "mystery:1")).first() is None


def test_a_retried_update_says_the_same_as_its_first_attempt(client) -> None:  # type: ignore[no-untyped-def]
    """What an update says changed is fixed when it is first composed: a retry (after a
    refusal, or a worker lost after the server took it) sends the same words under the same
    Message-ID, even once the person has since been sent something else."""
    from workflow.invitations.reconcile import reconcile_session

    w: World = build_world(client)
    session = w.schedule()
    person = w.people["member"]

    def mine() -> Delivery:
        with db_session() as db:
            rows = db.exec(
                select(Delivery)
                .where(Delivery.session_id == session["id"], Delivery.person_id == person)
                .order_by(Delivery.id.desc())  # type: ignore[union-attr]  # a column
            ).all()
            return rows[0]

    def attempt(delivery: Delivery) -> tuple[str, str, str]:
        with db_session() as db:
            claimed = outbox.claim(db, delivery.id)  # type: ignore[arg-type]  # stored rows have ids
        assert claimed is not None
        with db_session() as db:
            composed = outbox.compose_mail(db, claimed)
        with db_session() as db:
            outbox.mark_retry(db, claimed, "451 later")
        message = composed.message
        text = message.get_body(("plain",)).get_content()
        return str(message["Subject"]), text, str(message["Message-ID"])

    reconcile_session(session["id"])
    invitation = mine()
    with db_session() as db:
        claimed = outbox.claim(db, invitation.id)  # type: ignore[arg-type]  # stored rows have ids
        assert claimed is not None
    with db_session() as db:
        outbox.compose_mail(db, claimed)
    with db_session() as db:
        outbox.mark_sent(db, claimed, "250 OK")

    r = client.patch(
        f"/api/v1/sessions/{session['id']}",
        headers={**ADMIN, "If-Match": f'"{session["version"]}"'},
        json={"location": "Stadhuis, Leuven"},
    )
    assert r.status_code == 200, r.text
    reconcile_session(session["id"])
    update = mine()
    first = attempt(update)
    assert first[0].startswith("Gewijzigd: plaats — ")
    assert "De plaats is gewijzigd: Provinciehuis, Leuven → Stadhuis, Leuven" in first[1]
    # As if the person had meanwhile been sent another calendar mail: the update's own
    # record of what it compares with stays.
    with db_session() as db:
        row = db.get(Delivery, invitation.id)
        assert row is not None and row.data is not None
        row.data = {**row.data, "told": {**row.data["told"], "location": "Elders"}}
        db.add(row)
    clock.freeze(datetime.now(UTC) + timedelta(hours=2))
    assert attempt(update) == first
    assert mine().data["since_delivery"] == invitation.id  # type: ignore[index]


def test_owed_rows_read_back_as_given_many_at_once(client) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL takes a batch as one array per column (workflow.mail.outbox._owe_unnested),
    SQLite as a list of rows: on each, every value reads back as it was owed, a key owed
    twice in one call is one row, and only the rows created are returned."""
    w: World = build_world(client)
    people = [w.people["member"], w.people["fr_mayor"]]
    clock.freeze(T0)
    rows: list[dict[str, Any]] = [
        {
            "key": f"many:{i}",
            "reason": "invitation" if i % 2 else "reminder",
            "person_id": people[i % 2],
            "data": {"offset_hours": 24, "day": "2027-05-04", "note": "l’ordre “du jour”"}
            if i % 3 == 0
            else None,
        }
        for i in range(120)
    ]
    with db_session() as db:
        created = outbox.owe(db, [*rows, rows[0]])
        [new] = outbox.owe(db, [*rows[:5], {**rows[0], "key": "many:new"}])
    assert len(created) == 120 and created == sorted(created) and new not in created
    assert _row(new).key == "many:new"
    with db_session() as db:
        stored = {
            d.key: d
            for d in db.exec(select(Delivery).where(Delivery.id.in_(created))).all()  # type: ignore[union-attr]  # a column
        }
    for row in rows:
        d = stored[row["key"]]
        assert (d.reason, d.person_id, d.data) == (row["reason"], row["person_id"], row["data"])
        assert (d.status, d.attempts, d.session_id, d.method, d.sequence) == (
            "pending",
            0,
            None,
            None,
            None,
        )
        assert d.next_attempt_at == T0 and d.created_at == T0
        assert d.message_id == outbox.message_id_for(row["key"])
