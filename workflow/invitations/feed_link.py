"""The signed link on the thank-you page of an answer: one's calendar feed without signing in.

The link is for one person, valid FEED_LINK_HOURS and used once: it carries a fingerprint of
the person's feed and address as they were when the link was made, so once it has issued a
feed (or the person issued or revoked one on their settings page, or their address changed)
it no longer works. Opening it (GET) shows a button; only posting it issues the feed, as mail
scanners and link previews only GET.

An answer link is not ended by a change of address, so whoever holds an invitation sent to
an old address could still answer with it; it must not also make them a standing feed. The
link is offered only when the mail the answer link came in is newer than the last change.
"""

import hashlib
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, signed
from workflow.models import Delivery, Person
from workflow.signed import ExpiredLink, InvalidLink

__all__ = ["ExpiredLink", "InvalidLink", "UsedLink", "may_offer", "path", "read"]

PURPOSE = "calendar-feed"
FEED_LINK_HOURS = 24


class UsedLink(Exception):
    """A genuine link whose feed has been issued (or changed) since it was made."""

    def __init__(self, person: Person) -> None:
        super().__init__(person.id)
        self.person = person


ANSWER_MAIL = ("invitation", "update", "reminder")  # the mail that carries answer links
ADDRESS_CHANGED = "address_changed"  # workflow.directory's mail to the old address


def _fingerprint(person: Person) -> int:
    """The feed and the address as they stand, in 48 bits."""
    seen = f"{person.feed_token_hash or '-'}|{person.email}"
    return int(hashlib.sha256(seen.encode()).hexdigest()[:12], 16)


def may_offer(db: DBSession, person_id: int, session_id: int) -> bool:
    """Whether the answer links of this session reached the person at their present address:
    no change of address after the last mail for the session that carried them."""
    changed = db.exec(
        select(func.max(col(Delivery.created_at))).where(
            col(Delivery.person_id) == person_id, col(Delivery.reason) == ADDRESS_CHANGED
        )
    ).one()
    if changed is None:
        return True
    mailed = db.exec(
        select(func.max(col(Delivery.created_at))).where(
            col(Delivery.session_id) == session_id,
            col(Delivery.person_id) == person_id,
            col(Delivery.reason).in_(ANSWER_MAIL),
        )
    ).one()
    return mailed is not None and mailed > changed


def path(person: Person) -> str:
    """The link for this person's feed, a path on this service."""
    claim = signed.Claim(_fingerprint(person), person.id, "issue")  # type: ignore[arg-type]  # a stored person has an id
    expires = clock.now() + timedelta(hours=FEED_LINK_HOURS)
    return f"/calendar-feed/{signed.sign(PURPOSE, claim, expires)}"


def read(db: DBSession, token: str) -> Person:
    """The person a genuine, unexpired, unused link is for."""
    claim = signed.read(PURPOSE, token, ("issue",))
    person = db.get(Person, claim.person_id)
    if person is None:
        raise InvalidLink
    if claim.subject_id != _fingerprint(person):
        raise UsedLink(person)
    return person
