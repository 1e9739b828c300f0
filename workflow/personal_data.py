"""A person's data: everything the service holds about them, exported; and erasure, as a
public body in Belgium must allow (GDPR articles 15, 17 and 20).

Erasure keeps what the forums' records need without the person in them: attendance and
decisions of sessions already held stay, under an anonymous name; the mail they were sent is
kept only as counts (in the audit trail); what was still to come for them (sessions ahead,
pending mail, tokens, memberships) goes, and the links mailed to them stop working
(`is_erased`, asked by the pages behind those links).
"""

from collections import Counter
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import spine
from workflow.auth import Principal
from workflow.directory import get_person
from workflow.errors import Forbidden
from workflow.models import (
    ActionItem,
    ActionItemProgress,
    ApiToken,
    CounterProposal,
    Delivery,
    Event,
    MeetingSession,
    Membership,
    Organisation,
    Participant,
    Person,
    SessionStatus,
    WebSignIn,
)

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox


def erased_address(person_id: int) -> str:
    return f"erased-{person_id}@{ERASED_DOMAIN}"


def is_erased(person: Person) -> bool:
    """Was this person erased? Their row stays (held sessions keep an anonymous attendee),
    so links signed for them earlier must ask this before they show anything."""
    return person.email == erased_address(person.id)  # type: ignore[arg-type]  # a stored row has its id


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: _iso(getattr(obj, f)) for f in fields}


def export(db: DBSession, principal: Principal, person_id: int) -> dict[str, Any]:
    """Everything held about one person, for them or an administrator."""
    if not (principal.is_admin or principal.person_id == person_id):
        raise Forbidden("a person's data is exported for themselves or by an administrator")
    person = get_person(db, person_id)
    organisation = db.get(Organisation, person.organisation_id) if person.organisation_id else None
    sessions = db.exec(
        select(Participant, MeetingSession)
        .join(MeetingSession, col(MeetingSession.id) == col(Participant.session_id))
        .where(col(Participant.person_id) == person_id)
        .order_by(col(MeetingSession.starts_at))
    ).all()
    return {
        "person": _row(person, "id", "name", "email", "language", "country", "created_at")
        | {"calendar_feed_issued": person.feed_token_hash is not None},
        "organisation": organisation.name if organisation else None,
        "memberships": [
            _row(m, "forum_id", "role", "created_at")
            for m in db.exec(select(Membership).where(col(Membership.person_id) == person_id))
        ],
        "sessions": [
            {
                "session_id": s.id,
                "title": s.title,
                "starts_at": _iso(s.starts_at),
                "status": s.status,
                **_row(p, "role", "partstat", "responded_at", "attendance", "removed_at"),
            }
            for p, s in sessions
        ],
        "action_items_owned": [
            _row(i, "id", "forum_id", "title", "status", "due_date", "current_value", "target")
            for i in db.exec(select(ActionItem).where(col(ActionItem.owner_person_id) == person_id))
        ],
        "progress_reported": [
            _row(p, "action_item_id", "note", "value", "status", "created_at")
            for p in db.exec(
                select(ActionItemProgress).where(
                    col(ActionItemProgress.author_person_id) == person_id
                )
            )
        ],
        "proposed_times": [
            _row(c, "session_id", "starts_at", "ends_at", "comment", "status", "created_at")
            for c in db.exec(
                select(CounterProposal)
                .where(col(CounterProposal.person_id) == person_id)
                .order_by(col(CounterProposal.id))
            )
        ],
        "mail": [
            _row(d, "reason", "session_id", "status", "created_at", "sent_at")
            for d in db.exec(
                select(Delivery)
                .where(col(Delivery.person_id) == person_id)
                .order_by(col(Delivery.id))
            )
        ],
        "api_tokens": [
            _row(t, "name", "created_at", "revoked_at")
            for t in db.exec(select(ApiToken).where(col(ApiToken.person_id) == person_id))
        ],
        "web_sign_ins": [
            _row(w, "created_at", "used_at", "ended_at")
            for w in db.exec(
                select(WebSignIn)
                .where(col(WebSignIn.person_id) == person_id)
                .order_by(col(WebSignIn.id))
            )
        ],
    }


def erase(db: DBSession, principal: Principal, person_id: int) -> dict[str, Any]:
    """Erase a person (administrators only). Returns what was done, as counts."""
    if not principal.is_admin:
        raise Forbidden("only an administrator erases a person")
    person = get_person(db, person_id)
    mail = Counter(
        f"{reason}:{status}"
        for reason, status in db.exec(
            select(col(Delivery.reason), col(Delivery.status)).where(
                col(Delivery.person_id) == person_id
            )
        )
    )
    held = select(col(MeetingSession.id)).where(col(MeetingSession.status) == SessionStatus.held)
    done: dict[str, Any] = {
        "mail": dict(sorted(mail.items())),
        "memberships": db.exec(
            delete(Membership).where(col(Membership.person_id) == person_id)
        ).rowcount,
        # Sessions ahead (or cancelled): gone, so no calendar mail is owed to the address.
        "sessions_left": db.exec(
            delete(Participant).where(
                col(Participant.person_id) == person_id,
                col(Participant.session_id).not_in(held),
            )
        ).rowcount,
        # New times they proposed from their calendar, with what they wrote.
        "proposed_times": db.exec(
            delete(CounterProposal).where(col(CounterProposal.person_id) == person_id)
        ).rowcount,
        "api_tokens": db.exec(
            delete(ApiToken).where(col(ApiToken.person_id) == person_id)
        ).rowcount,
        "action_items_unowned": db.exec(
            update(ActionItem)
            .where(col(ActionItem.owner_person_id) == person_id)
            .values(owner_person_id=None)
        ).rowcount,
    }
    db.exec(delete(Delivery).where(col(Delivery.person_id) == person_id))
    db.exec(delete(WebSignIn).where(col(WebSignIn.person_id) == person_id))
    db.exec(
        update(ActionItemProgress)
        .where(col(ActionItemProgress.author_person_id) == person_id)
        .values(author_person_id=None)
    )
    # The audit trail names actors as "person:<id> <name>": keep the id, drop the name.
    db.exec(
        update(Event)
        .where(col(Event.actor).startswith(f"person:{person_id} "))
        .values(actor=f"person:{person_id} (erased)")
    )
    person.name = f"Erased person {person_id}"
    person.email = erased_address(person_id)
    person.organisation_id = None
    person.feed_token_hash = None
    spine.record(db, principal.actor, "person.erased", person_id=person_id, **done)
    return done
