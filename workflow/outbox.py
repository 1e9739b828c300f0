"""The outbox: every mail owed is a Delivery row before it is sent, and is sent once.

A send claims its row under a lease (a conditional UPDATE, so two workers never both take
it), hands the message to SMTP, then records the answer. A worker killed mid-send leaves the
row 'sending' with a lease that runs out; the sweep then offers it again. A worker cut off
from the network rather than killed may come back later with the answer to its old attempt:
it is recorded only if nobody claimed the row since. Temporary SMTP
failures come back after an exponential backoff; the sweep, not an ETA task, decides when.
"""

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.models import Delivery, DeliveryStatus, Participant

log = logging.getLogger(__name__)

UNFINISHED = (DeliveryStatus.pending, DeliveryStatus.sending)


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
    unknown = {v["reason"] for v in values} - set(_composers())
    if unknown:
        raise ValueError(f"no composer for {sorted(unknown)}")
    # One executemany: SQLAlchemy batches it into a few multi-row INSERTs (insertmanyvalues)
    # from one cached compilation, so a thousand invitations are a few round trips.
    stmt = (
        insert(Delivery).on_conflict_do_nothing(index_elements=["key"]).returning(col(Delivery.id))
    )
    created = list(db.execute(stmt, values).scalars())
    return sorted(created)


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


def _finish(db: DBSession, delivery: Delivery, **values: Any) -> bool:
    """Record how the attempt `delivery` was claimed for ended, unless the row has moved on
    since: a worker cut off from the network past its lease comes back after another worker
    took the delivery over (and perhaps sent it), and what it learnt then is no longer news.
    The attempt count is the token: every claim raises it."""
    result = db.exec(
        update(Delivery)
        .where(
            col(Delivery.id) == delivery.id,
            col(Delivery.status) == DeliveryStatus.sending,
            col(Delivery.attempts) == delivery.attempts,
        )
        .values(lease_until=None, **values)
    )
    if result.rowcount == 0:
        log.warning(
            "delivery %s: attempt %s ended after the delivery was taken over; left as it is",
            delivery.id,
            delivery.attempts,
        )
        return False
    return True


def mark_sent(db: DBSession, delivery: Delivery, answer: str) -> None:
    _finish(
        db, delivery, status=DeliveryStatus.sent, sent_at=clock.now(), last_answer=answer[:1000]
    )


def mark_failed(db: DBSession, delivery: Delivery, answer: str) -> None:
    if _finish(db, delivery, status=DeliveryStatus.failed, last_answer=answer[:1000]):
        log.warning("delivery %s failed: %s", delivery.id, answer)


def mark_superseded(db: DBSession, delivery: Delivery, why: str) -> None:
    _finish(db, delivery, status=DeliveryStatus.superseded, last_answer=why[:1000])


def backoff(attempts: int) -> timedelta:
    s = get_settings()
    return timedelta(
        seconds=min(s.retry_base_seconds * 2 ** max(attempts - 1, 0), s.retry_max_seconds)
    )


def mark_retry(db: DBSession, delivery: Delivery, answer: str) -> None:
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


def _composers() -> dict[str, Any]:
    # Each workflow composes its own mail; the outbox only knows how to deliver it.
    from workflow import directory, sign_in
    from workflow.follow_up import compose as follow_up
    from workflow.invitations import counters
    from workflow.invitations.compose import compose as calendar_mail
    from workflow.reports import mail as report_mail

    return {
        "invitation": calendar_mail,
        "update": calendar_mail,
        "cancellation": calendar_mail,
        "removal": calendar_mail,
        "reminder": follow_up.reminder,
        "summary": follow_up.summary,
        "digest": follow_up.digest,
        "overview": follow_up.overview,
        "escalation": follow_up.overview,
        "decision": follow_up.decision,
        "report": report_mail.compose,
        sign_in.REASON: sign_in.compose,
        directory.ADDRESS_CHANGED: directory.compose_address_changed,
        counters.REASON: counters.compose,
    }


def compose_mail(db: DBSession, delivery: Delivery) -> Any:
    """The mail a delivery stands for, composed now, or Superseded."""
    composer = _composers().get(delivery.reason)
    if composer is None:
        raise ValueError(f"no composer for {delivery.reason!r}")
    return composer(db, delivery)


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is due. Returns what happened, for logs and tests."""
    from workflow.db import db_session
    from workflow.invitations.compose import Superseded
    from workflow.smtp import PermanentFailure, TemporaryFailure, mailer

    with db_session() as db:
        delivery = claim(db, delivery_id)
    if delivery is None:
        return "not due"
    try:
        with db_session() as db:
            composed = compose_mail(db, delivery)
    except ValueError as exc:  # e.g. a header that would not be safe: never retried
        with db_session() as db:
            mark_failed(db, delivery, f"cannot compose: {exc}")
        return "failed"
    if isinstance(composed, Superseded):
        with db_session() as db:
            mark_superseded(db, delivery, composed.why)
        _next_in_line(delivery)
        return "superseded"
    try:
        accepted = mailer().send(composed.message, get_settings().mail_from, [composed.recipient])
    except TemporaryFailure as exc:
        log.info("delivery %s (%s) to be tried again: %s", delivery_id, delivery.reason, exc)
        with db_session() as db:
            mark_retry(db, delivery, str(exc))
        _next_in_line(delivery)
        return "retry"
    except PermanentFailure as exc:
        with db_session() as db:
            mark_failed(db, delivery, str(exc))
        _next_in_line(delivery)
        return "failed"
    with db_session() as db:
        mark_sent(db, delivery, accepted.answer)
    log.info("delivery %s (%s) sent: %s", delivery_id, delivery.reason, accepted.answer)
    _next_in_line(delivery)
    return "sent"


def _next_in_line(delivery: Delivery) -> None:
    """Once this one's outcome is committed, queue the calendar mails that waited for it
    (the sweep would too, later)."""
    from workflow.db import db_session
    from workflow.tasks import enqueue_send

    with db_session() as db:
        waiting = waiting_siblings(db, delivery)
    for sibling in waiting:
        enqueue_send(sibling)
