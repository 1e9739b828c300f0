"""The outbox: every mail owed is a Delivery row before it is sent, and is sent once.

A send claims its row under a lease (a conditional UPDATE, so two workers never both take
it), hands the message to SMTP, then records the answer. A worker killed mid-send leaves the
row 'sending' with a lease that runs out; the sweep then offers it again. A worker cut off
from the network rather than killed may come back later with the answer to its old attempt:
it is recorded only if nobody claimed the row since. Temporary SMTP
failures come back after an exponential backoff; the sweep, not an ETA task, decides when.

Mail goes in batches (`deliver_batch`): one statement claims many deliveries, their composer
reads what they share once, and the messages go through the process's one SMTP connection,
each marked sent as soon as the server answered 250. A worker killed mid-batch has sent and
marked what went before; the one message in flight may go again; the rest wait out their lease
like any claim. A batch that runs long renews the lease of what it still holds, and drops
what another worker took over meanwhile. One delivery (a retry, the sweep) is a batch of one.

Each workflow composes its own mail: it registers a composer for each of its reasons
(`register`, beside the composer), and the outbox only knows how to deliver. A reason no
composer was registered for is refused when it is owed, not found out in the worker.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, and_, bindparam, exists, not_, or_, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.db import db_session, get_engine
from workflow.mail.message import Composed, Superseded
from workflow.mail.smtp import PermanentFailure, TemporaryFailure, mailer
from workflow.models import Delivery, DeliveryStatus, Participant

log = logging.getLogger(__name__)

UNFINISHED = (DeliveryStatus.pending, DeliveryStatus.sending)

# Where the outcome of an attempt is recorded: a session's transaction, or a connection
# whose every statement commits by itself (a batch's marks).
Marks = DBSession | Connection

# Composes the mail a delivery stands for, from the state as it is at sending time.
Composer = Callable[[DBSession, Delivery], Composed | Superseded]
_COMPOSERS: dict[str, Composer] = {}
# Composes many at once, reading what they share once: per delivery id, the mail, Superseded,
# or the ValueError that says why it cannot be composed. Optional, beside a reason's composer.
BatchComposer = Callable[[DBSession, list[Delivery]], dict[int, Composed | Superseded | ValueError]]
_BATCH_COMPOSERS: dict[str, BatchComposer] = {}


def register(reason: str, composer: Composer) -> None:
    """`composer` composes every mail owed with `reason`. One composer per reason: a second,
    different one is a mistake (two workflows claiming the same mail)."""
    known = _COMPOSERS.setdefault(reason, composer)
    if known is not composer:
        raise ValueError(f"a composer for {reason!r} is registered already: {known!r}")


def register_batch(reason: str, composer: BatchComposer) -> None:
    """`composer` composes a batch of mails owed with `reason` (beside `register`)."""
    known = _BATCH_COMPOSERS.setdefault(reason, composer)
    if known is not composer:
        raise ValueError(f"a batch composer for {reason!r} is registered already: {known!r}")


def reasons() -> frozenset[str]:
    """The reasons a composer is registered for."""
    return frozenset(_COMPOSERS)


def message_id_for(key: str) -> str:
    """The same Message-ID on every attempt, so a rare resend can be recognised downstream."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{get_settings().calendar_domain}>"


def owe(db: DBSession, rows: Iterable[dict[str, Any]]) -> list[int]:
    """Insert the deliveries owed; a key that exists already is left as it is.
    Returns the ids of the rows this call created: send them once this is committed."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    values = [
        {
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "message_id": message_id_for(row["key"]),
            "session_id": None,
            "method": None,
            "sequence": None,
            "data": None,
            **row,
        }
        for row in rows
    ]
    if not values:
        return []
    # A mail nobody can compose would fail in the worker, long after the request: refuse it now.
    unknown = {v["reason"] for v in values} - set(_COMPOSERS)
    if unknown:
        raise ValueError(f"no composer for {sorted(unknown)}")
    if dialect == "postgresql":
        return sorted(_owe_unnested(db, values))
    # One executemany: SQLAlchemy batches it into a few multi-row INSERTs (insertmanyvalues)
    # from one cached compilation, so a thousand invitations are a few round trips.
    stmt = (
        insert(Delivery).on_conflict_do_nothing(index_elements=["key"]).returning(col(Delivery.id))
    )
    created = list(db.execute(stmt, values).scalars())
    return sorted(created)


def _owe_unnested(db: DBSession, values: list[dict[str, Any]]) -> list[int]:
    """`owe`'s insert on PostgreSQL: INSERT … SELECT FROM unnest(one array per column), a
    statement of a dozen parameters however many rows. A multi-row VALUES list has one
    parameter per value, and the driver's parsing of so long a statement took longer than
    the insert itself (some 0.4 ms a row)."""
    table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel's table
    dialect = db.get_bind().dialect
    names = sorted(set().union(*values))
    columns: list[str] = []
    arrays: dict[str, list[Any]] = {}
    for at, name in enumerate(names):
        column = table.c[name]  # a key that is no column fails here, as the insert would
        items = [v.get(name) for v in values]
        if isinstance(column.type, JSON):
            # As SQLAlchemy writes JSON (None too, as JSON null): the driver is given text.
            arrays[f"a{at}"] = [json.dumps(i) for i in items]
            columns.append(f"CAST(:a{at} AS json[])")
            continue
        bind = column.type.bind_processor(dialect)
        arrays[f"a{at}"] = [bind(i) for i in items] if bind is not None else items
        columns.append(f"CAST(:a{at} AS {column.type.compile(dialect=dialect)}[])")
    listed = ", ".join(names)
    stmt = text(
        f"INSERT INTO {table.name} ({listed}) SELECT * FROM unnest({', '.join(columns)}) "
        "ON CONFLICT (key) DO NOTHING RETURNING id"
    )
    return list(db.execute(stmt, arrays).scalars())


def _sibling_in_flight(db: DBSession, delivery_id: int, now: datetime) -> bool:
    """Is another calendar mail of the same session to the same person being sent right now?

    Calendar mails to one person go one at a time, so they arrive in the order they were
    sent: an update can never overtake the invitation it updates. The participant row's lock
    serialises two workers' claims for the same person on PostgreSQL; SQLite serialises every
    writer anyway.
    """
    row = db.exec(
        select(col(Delivery.session_id), col(Delivery.person_id), col(Delivery.method)).where(
            col(Delivery.id) == delivery_id
        )
    ).first()
    if row is None or row[0] is None or row[2] is None:
        return False
    session_id, person_id, _ = row
    if db.get_bind().dialect.name == "postgresql":
        db.exec(
            select(col(Participant.id))
            .where(
                col(Participant.session_id) == session_id, col(Participant.person_id) == person_id
            )
            .with_for_update()
        ).first()
    busy = db.exec(
        select(col(Delivery.id)).where(
            col(Delivery.session_id) == session_id,
            col(Delivery.person_id) == person_id,
            col(Delivery.method).is_not(None),
            col(Delivery.id) != delivery_id,
            col(Delivery.status) == DeliveryStatus.sending,
            col(Delivery.lease_until) >= now,
        )
    ).first()
    return busy is not None


def waiting_siblings(db: DBSession, delivery: Delivery) -> list[int]:
    """Calendar mails to the same person for the same session that wait their turn."""
    if delivery.session_id is None or delivery.method is None:
        return []
    return list(
        db.exec(  # type: ignore[arg-type]  # stored rows' ids are never NULL
            select(col(Delivery.id))
            .where(
                col(Delivery.session_id) == delivery.session_id,
                col(Delivery.person_id) == delivery.person_id,
                col(Delivery.method).is_not(None),
                col(Delivery.status) == DeliveryStatus.pending,
                col(Delivery.next_attempt_at) <= clock.now(),
            )
            .order_by(col(Delivery.id))
        ).all()
    )


def claim(db: DBSession, delivery_id: int) -> Delivery | None:
    """Take one delivery for sending, or None if it is not due, finished, leased, or another
    calendar mail to the same person for the same session is on its way."""
    now = clock.now()
    lease = timedelta(seconds=get_settings().delivery_lease_seconds)
    if _sibling_in_flight(db, delivery_id, now):
        return None
    result = db.exec(
        update(Delivery)
        .where(
            col(Delivery.id) == delivery_id,
            col(Delivery.status).in_(UNFINISHED),
            col(Delivery.next_attempt_at) <= now,
            col(Delivery.attempts) < get_settings().delivery_max_attempts,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
        )
        .values(
            status=DeliveryStatus.sending, lease_until=now + lease, attempts=Delivery.attempts + 1
        )
    )
    if result.rowcount == 0:
        return None
    return db.get(Delivery, delivery_id, populate_existing=True)


@lru_cache(maxsize=32)
def _finish_statement(names: tuple[str, ...]) -> Any:
    """The conditional UPDATE of `_finish` setting the columns `names`, built once: it runs
    for every mail, and building and compiling it each time cost more than the round trip."""
    table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel's table
    return (
        update(table)
        .where(
            table.c.id == bindparam("f_id"),
            table.c.status == DeliveryStatus.sending,
            table.c.attempts == bindparam("f_attempts"),
        )
        .values(lease_until=None, **{name: bindparam(f"f_{name}") for name in names})
    )


def _finish(db: Marks, delivery: Delivery, **values: Any) -> bool:
    """Record how the attempt `delivery` was claimed for ended, unless the row has moved on
    since: a worker cut off from the network past its lease comes back after another worker
    took the delivery over (and perhaps sent it), and what it learnt then is no longer news.
    The attempt count is the token: every claim raises it."""
    names = tuple(sorted(values))
    result = (db.connection() if isinstance(db, DBSession) else db).execute(
        _finish_statement(names),
        {"f_id": delivery.id, "f_attempts": delivery.attempts}
        | {f"f_{name}": values[name] for name in names},
    )
    if result.rowcount == 0:
        log.warning(
            "delivery %s: attempt %s ended after the delivery was taken over; left as it is",
            delivery.id,
            delivery.attempts,
        )
        return False
    return True


def mark_sent(db: Marks, delivery: Delivery, answer: str) -> None:
    _finish(
        db, delivery, status=DeliveryStatus.sent, sent_at=clock.now(), last_answer=answer[:1000]
    )


def mark_failed(db: Marks, delivery: Delivery, answer: str) -> None:
    if _finish(db, delivery, status=DeliveryStatus.failed, last_answer=answer[:1000]):
        log.warning("delivery %s failed: %s", delivery.id, answer)


def mark_superseded(db: Marks, delivery: Delivery, why: str) -> None:
    _finish(db, delivery, status=DeliveryStatus.superseded, last_answer=why[:1000])


def backoff(attempts: int) -> timedelta:
    s = get_settings()
    return timedelta(
        seconds=min(s.retry_base_seconds * 2 ** max(attempts - 1, 0), s.retry_max_seconds)
    )


def mark_retry(db: Marks, delivery: Delivery, answer: str) -> None:
    if delivery.attempts >= get_settings().delivery_max_attempts:
        mark_failed(db, delivery, f"gave up after {delivery.attempts} attempts: {answer}")
        return
    _finish(
        db,
        delivery,
        status=DeliveryStatus.pending,
        last_answer=answer[:1000],
        next_attempt_at=clock.now() + backoff(delivery.attempts),
    )


def give_up_exhausted(db: DBSession) -> int:
    """Deliveries whose every attempt ended with the worker gone (a message that kills the
    worker, say): mark them failed rather than try for ever."""
    now = clock.now()
    result = db.exec(
        update(Delivery)
        .where(
            col(Delivery.status).in_(UNFINISHED),
            col(Delivery.attempts) >= get_settings().delivery_max_attempts,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
        )
        .values(
            status=DeliveryStatus.failed,
            lease_until=None,
            last_answer="gave up: every attempt ended without an answer",
        )
    )
    return result.rowcount


def due(db: DBSession, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Unfinished deliveries whose time has come and whose lease, if any, ran out."""
    now = now or clock.now()
    return list(
        db.exec(  # type: ignore[arg-type]  # stored rows' ids are never NULL
            select(col(Delivery.id))
            .where(
                col(Delivery.status).in_(UNFINISHED),
                col(Delivery.next_attempt_at) <= now,
                col(Delivery.attempts) < get_settings().delivery_max_attempts,
                or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
            )
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(limit)
        ).all()
    )


def compose_mail(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    """The mail a delivery stands for, composed now, or Superseded."""
    composer = _COMPOSERS.get(delivery.reason)
    if composer is None:
        raise ValueError(f"no composer for {delivery.reason!r}")
    return composer(db, delivery)


def _key(delivery: Delivery) -> int:
    assert delivery.id is not None  # a stored row has its id
    return delivery.id


def _due_now(table: Any, now: datetime) -> tuple[Any, ...]:
    """Unfinished, its time come, attempts left, and no live lease: what may be claimed."""
    return (
        col(table.status).in_(UNFINISHED),
        col(table.next_attempt_at) <= now,
        col(table.attempts) < get_settings().delivery_max_attempts,
        or_(col(table.lease_until).is_(None), col(table.lease_until) < now),
    )


# Made once: an alias made per claim built its column collections again each time, a third
# of the claim's cost.
_SIBLING, _CANDIDATE = aliased(Delivery), aliased(Delivery)


def claim_batch(db: DBSession, delivery_ids: Sequence[int]) -> list[Delivery]:
    """Take those of `delivery_ids` that are due for sending, in one conditional UPDATE …
    RETURNING (with FOR UPDATE SKIP LOCKED on PostgreSQL: rows another worker is claiming
    right now are left to it). As `claim`, one calendar mail per person and session at a
    time: the oldest of the batch, and none while another is on its way."""
    if not delivery_ids:
        return []
    now = clock.now()
    lease = timedelta(seconds=get_settings().delivery_lease_seconds)
    postgres = db.get_bind().dialect.name == "postgresql"
    rows = db.exec(
        select(
            col(Delivery.id),
            col(Delivery.session_id),
            col(Delivery.person_id),
            col(Delivery.method),
        )
        .where(col(Delivery.id).in_(sorted(set(delivery_ids))), *_due_now(Delivery, now))
        .order_by(col(Delivery.id))
    ).all()
    chosen: list[int] = []
    people: set[tuple[int, int]] = set()
    for delivery_id, session_id, person_id, method in rows:
        if session_id is not None and method is not None:
            if (session_id, person_id) in people:
                continue  # a later calendar mail to the same person waits for this one
            people.add((session_id, person_id))
        chosen.append(delivery_id)  # type: ignore[arg-type]  # stored rows' ids are never NULL
    if not chosen:
        return []
    if postgres and people:
        # As in `_sibling_in_flight`: the participant rows' locks serialise two workers'
        # claims for the same person, in one order so that two batches cannot deadlock.
        db.exec(
            select(col(Participant.id))
            .where(
                tuple_(col(Participant.session_id), col(Participant.person_id)).in_(sorted(people))
            )
            .order_by(col(Participant.id))
            .with_for_update()
        ).all()
    in_flight = exists().where(
        col(_SIBLING.session_id) == col(Delivery.session_id),
        col(_SIBLING.person_id) == col(Delivery.person_id),
        col(_SIBLING.method).is_not(None),
        col(_SIBLING.id) != col(Delivery.id),
        col(_SIBLING.status) == DeliveryStatus.sending,
        col(_SIBLING.lease_until) >= now,
    )
    candidates = select(_CANDIDATE.id).where(
        col(_CANDIDATE.id).in_(chosen), *_due_now(_CANDIDATE, now)
    )
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (
        update(Delivery)
        .where(
            col(Delivery.id).in_(candidates),
            not_(and_(col(Delivery.method).is_not(None), in_flight)),
        )
        .values(
            status=DeliveryStatus.sending, lease_until=now + lease, attempts=Delivery.attempts + 1
        )
        .returning(Delivery)
        .execution_options(synchronize_session=False)
    )
    claimed = list(db.execute(stmt).scalars())
    return sorted(claimed, key=_key)


def renew(db: Marks, held: Sequence[Delivery]) -> set[int]:
    """Extend the lease of the claims in `held` that are still this attempt's (nobody took
    them over); returns their ids."""
    if not held:
        return set()
    lease = timedelta(seconds=get_settings().delivery_lease_seconds)
    result = db.execute(
        update(Delivery)
        .where(
            tuple_(col(Delivery.id), col(Delivery.attempts)).in_(
                [(d.id, d.attempts) for d in held]
            ),
            col(Delivery.status) == DeliveryStatus.sending,
        )
        .values(lease_until=clock.now() + lease)
        .returning(col(Delivery.id))
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def compose_all(
    db: DBSession, deliveries: Sequence[Delivery]
) -> dict[int, Composed | Superseded | ValueError]:
    """Each delivery's mail (or Superseded, or why it cannot be composed): through a batch
    composer where its reason has one, else one by one."""
    out: dict[int, Composed | Superseded | ValueError] = {}
    batches: dict[BatchComposer, list[Delivery]] = {}
    for d in deliveries:
        batch = _BATCH_COMPOSERS.get(d.reason)
        if batch is not None:
            batches.setdefault(batch, []).append(d)
            continue
        try:
            out[_key(d)] = compose_mail(db, d)
        except ValueError as exc:  # e.g. a header that would not be safe: never retried
            out[_key(d)] = exc
    for batch, group in batches.items():
        out.update(batch(db, group))
    return out


@dataclass(frozen=True)
class Delivered:
    """How one send ended ('sent', 'retry', 'failed', 'superseded', 'not due'), and the
    calendar mails that waited for it to finish: the caller queues them (the sweep would too,
    later)."""

    outcome: str
    next_in_line: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BatchDelivered:
    """How each send of a batch ended (as `Delivered.outcome`, or 'taken over' when another
    worker took the claim over during a long batch), and the calendar mails that waited."""

    outcomes: dict[int, str]
    next_in_line: list[int] = field(default_factory=list)


def deliver(delivery_id: int) -> Delivered:
    """Send one delivery if it is due: a batch of one."""
    done = deliver_batch([delivery_id])
    return Delivered(done.outcomes[delivery_id], done.next_in_line)


def deliver_batch(delivery_ids: Sequence[int]) -> BatchDelivered:
    """Send those of `delivery_ids` that are due, through one SMTP connection, each marked
    as soon as its answer came."""
    outcomes = {i: "not due" for i in delivery_ids}
    with db_session() as db:
        claimed = claim_batch(db, delivery_ids)
    claimed_at = time.monotonic()
    if not claimed:
        return BatchDelivered(outcomes)
    with db_session() as db:
        composed = compose_all(db, claimed)
    sendable: list[tuple[Delivery, Composed]] = []
    with db_session() as db:
        for d in claimed:
            mail = composed[_key(d)]
            if isinstance(mail, ValueError):
                mark_failed(db, d, f"cannot compose: {mail}")
                outcomes[_key(d)] = "failed"
            elif isinstance(mail, Superseded):
                mark_superseded(db, d, mail.why)
                outcomes[_key(d)] = "superseded"
            else:
                sendable.append((d, mail))
    if sendable:
        _send(sendable, outcomes, claimed_at)
    with db_session() as db:
        waiting = waiting_behind(db, [d for d in claimed if outcomes[_key(d)] != "taken over"])
    return BatchDelivered(outcomes, waiting)


def _send(
    sendable: list[tuple[Delivery, Composed]], outcomes: dict[int, str], claimed_at: float
) -> None:
    settings = get_settings()
    lease = settings.delivery_lease_seconds
    renewed_at = claimed_at
    smtp = mailer()
    # The marks on one connection kept for the batch, each statement its own transaction
    # (autocommit): committed before the next message goes, in one round trip.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        for i, (delivery, mail) in enumerate(sendable):
            assert delivery.id is not None  # a stored row has its id
            if outcomes[delivery.id] != "not due":
                continue  # taken over since
            if time.monotonic() - renewed_at > lease / 3:
                rest = [d for d, _ in sendable[i:] if outcomes[_key(d)] == "not due"]
                mine = renew(db, rest)
                renewed_at = time.monotonic()
                for d in rest:
                    if d.id not in mine:
                        log.warning("delivery %s: taken over during a long batch", d.id)
                        outcomes[_key(d)] = "taken over"
                if delivery.id not in mine:
                    continue
            try:
                accepted = smtp.send(mail.payload, settings.mail_from, [mail.recipient])
            except TemporaryFailure as exc:
                log.info(
                    "delivery %s (%s) to be tried again: %s",
                    delivery.id,
                    delivery.reason,
                    exc,
                )
                # Without a connection the rest of the batch would fare the same: all later.
                later = [delivery]
                if exc.connection:
                    later += [d for d, _ in sendable[i + 1 :] if outcomes[_key(d)] == "not due"]
                for d in later:
                    mark_retry(db, d, str(exc))
                    outcomes[_key(d)] = "retry"
                if exc.connection:
                    return
                continue
            except PermanentFailure as exc:
                mark_failed(db, delivery, str(exc))
                outcomes[delivery.id] = "failed"
                continue
            mark_sent(db, delivery, accepted.answer)
            outcomes[delivery.id] = "sent"
            log.info("delivery %s (%s) sent: %s", delivery.id, delivery.reason, accepted.answer)


def waiting_behind(db: DBSession, deliveries: Sequence[Delivery]) -> list[int]:
    """Calendar mails to the same people for the same sessions as `deliveries` that wait
    their turn, now that these are finished."""
    people = {
        (d.session_id, d.person_id)
        for d in deliveries
        if d.session_id is not None and d.method is not None
    }
    if not people:
        return []
    return list(
        db.exec(  # type: ignore[arg-type]  # stored rows' ids are never NULL
            select(col(Delivery.id))
            .where(
                tuple_(col(Delivery.session_id), col(Delivery.person_id)).in_(sorted(people)),
                col(Delivery.method).is_not(None),
                col(Delivery.status) == DeliveryStatus.pending,
                col(Delivery.next_attempt_at) <= clock.now(),
            )
            .order_by(col(Delivery.id))
        ).all()
    )
