"""The ledger of inbound messages, and applying a calendar reply exactly once.

`process(raw, ...)` records the message in `inbound_message` and applies the reply in one
transaction: the row is written first (its unique key stops a second reader), then the reply
is applied through `answers.record_itip_reply`, the one function that says what a reply
means. A message whose key is already recorded applies nothing and only returns what was
recorded, so the mailbox can be told again after a crash. Telling the mailbox (move, flag)
is the caller's, after the commit; `settle` then notes it.
"""

import logging
from dataclasses import dataclass

from icalendar import Calendar
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, spine
from workflow.errors import DomainError, Invalid
from workflow.invitations import answers
from workflow.models import InboundMessage
from workflow.replies.classify import Inbound, classify

log = logging.getLogger(__name__)

APPLIED, NOT_A_REPLY, FAILED = "applied", "not_a_reply", "failed"


@dataclass(frozen=True)
class Outcome:
    id: int
    key: str
    outcome: str  # applied | not_a_reply | failed
    kind: str
    reason: str | None
    first_time: bool  # False: recorded before, nothing applied now

    @property
    def for_the_service(self) -> bool:
        return self.outcome == APPLIED


def _attendees(calendar: bytes) -> set[str]:
    found = set()
    for event in Calendar.from_ical(calendar).walk():
        attendees = event.get("ATTENDEE")
        for a in attendees if isinstance(attendees, list) else [attendees]:
            if a is not None:
                found.add(str(a).split(":", 1)[-1].strip().lower())
    return found


def _sender_problem(inbound: Inbound) -> str | None:
    """RFC 6047 3: the reply must come from the attendee it answers for (anyone could
    otherwise accept for someone else by writing their address in the calendar data)."""
    assert inbound.calendar is not None
    try:
        attendees = _attendees(inbound.calendar)
    except (ValueError, IndexError, KeyError) as exc:
        return f"not a readable iCalendar object: {exc}"[:300]
    if inbound.sender is None:
        return "the message has no From address"
    if attendees and inbound.sender not in attendees:
        return f"sent by {inbound.sender}, not by the ATTENDEE it answers for"
    return None


def _existing(db: DBSession, key: str) -> InboundMessage | None:
    return db.exec(select(InboundMessage).where(col(InboundMessage.message_key) == key)).first()


def _outcome(row: InboundMessage, first_time: bool) -> Outcome:
    assert row.id is not None
    return Outcome(row.id, row.message_key, row.outcome, row.kind, row.reason, first_time)


def process(
    db: DBSession,
    raw: bytes,
    *,
    mailbox: str,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> Outcome:
    """Record and (if it is a calendar reply) apply one message; commits. Safe to call again
    with the same message: the second call changes nothing."""
    inbound = classify(raw)
    row = _existing(db, inbound.key)
    if row is not None:
        return _outcome(row, first_time=False)
    row = InboundMessage(
        message_key=inbound.key,
        mailbox=mailbox[:300],
        uidvalidity=uidvalidity,
        uid=uid,
        outcome=APPLIED if inbound.kind == "reply" else NOT_A_REPLY,
        kind=inbound.kind,
        reason=inbound.reason,
        sender=inbound.sender,
        subject=inbound.subject,
    )
    db.add(row)
    try:
        db.flush()  # recorded before it is applied: a second reader stops on the key
    except IntegrityError:
        db.rollback()
        again = _existing(db, inbound.key)
        assert again is not None
        return _outcome(again, first_time=False)
    if inbound.kind == "reply":
        assert inbound.calendar is not None
        problem = _sender_problem(inbound)
        try:
            if problem is not None:
                raise Invalid(problem)
            answers.record_itip_reply(db, inbound.calendar)
        except (DomainError, ValueError) as exc:
            spine.discard(db)  # nothing of the reply stays; the message is recorded as failed
            row = InboundMessage(**{**row.model_dump(exclude={"id"}), "outcome": FAILED})
            row.reason = str(getattr(exc, "detail", exc))[:500]
            db.add(row)
    spine.commit(db)  # a deputy's invitation or a REFRESH is queued after the commit
    db.refresh(row)
    log.info(
        "inbound message %s from %s: %s (%s)%s",
        row.id,
        row.sender or "nobody",
        row.outcome,
        row.kind,
        f": {row.reason}" if row.reason and row.outcome != APPLIED else "",
    )
    return _outcome(row, first_time=True)


def settle(db: DBSession, outcome_id: int) -> None:
    """The mailbox was told (moved or flagged): noted, after the fact."""
    row = db.get(InboundMessage, outcome_id)
    if row is not None and row.settled_at is None:
        row.settled_at = clock.now()
        db.commit()


def settled_uids(db: DBSession, mailbox: str, uidvalidity: int) -> set[int]:
    rows = db.exec(
        select(col(InboundMessage.uid)).where(
            col(InboundMessage.mailbox) == mailbox,
            col(InboundMessage.uidvalidity) == uidvalidity,
            col(InboundMessage.settled_at).is_not(None),
        )
    ).all()
    return {uid for uid in rows if uid is not None}


def left_for_the_secretariat(db: DBSession, limit: int = 100) -> list[InboundMessage]:
    """Messages that were not applied (no reply, or a reply that could not be), newest first."""
    return list(
        db.exec(
            select(InboundMessage)
            .where(col(InboundMessage.outcome) != APPLIED)
            .order_by(col(InboundMessage.id).desc())
            .limit(limit)
        ).all()
    )
