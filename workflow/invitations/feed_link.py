"""The signed link on the thank-you page of an answer: one's calendar feed without signing in.

The link is for one person, valid FEED_LINK_HOURS and used once: it carries a fingerprint of
the person's feed as it was when the link was made, so once it has issued a feed (or the
person issued or revoked one on their settings page) it no longer works. Opening it (GET)
shows a button; only posting it issues the feed, as mail scanners and link previews only GET.
"""

from datetime import timedelta

from sqlmodel import Session as DBSession

from workflow import clock, signed
from workflow.models import Person
from workflow.signed import ExpiredLink, InvalidLink

__all__ = ["ExpiredLink", "InvalidLink", "UsedLink", "path", "read"]

PURPOSE = "calendar-feed"
FEED_LINK_HOURS = 24


class UsedLink(Exception):
    """A genuine link whose feed has been issued (or changed) since it was made."""

    def __init__(self, person: Person) -> None:
        super().__init__(person.id)
        self.person = person


def _fingerprint(person: Person) -> int:
    """The feed as it stands: 0 for none, else 48 bits of its hash."""
    return int(person.feed_token_hash[:12], 16) if person.feed_token_hash else 0


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
