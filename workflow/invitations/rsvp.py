"""Signed answer links: accept, tentative or decline without logging in.

The link carries session, person, answer and an expiry (the session's end) under an HMAC
signature, so it cannot be guessed, altered for another person or session, or used after
the session. Recording the same answer twice is harmless.
"""

from dataclasses import dataclass
from datetime import datetime

from workflow import signed
from workflow.config import get_settings
from workflow.invitations.view import RsvpLinks
from workflow.signed import ExpiredLink, InvalidLink

__all__ = ["ANSWERS", "Answer", "ExpiredLink", "InvalidLink", "links", "read", "sign"]

ANSWERS = ("accepted", "tentative", "declined")
PURPOSE = "rsvp"


@dataclass(frozen=True)
class Answer:
    session_id: int
    person_id: int
    answer: str


def sign(session_id: int, person_id: int, answer: str, expires_at: datetime) -> str:
    if answer not in ANSWERS:
        raise ValueError(answer)
    return signed.sign(PURPOSE, signed.Claim(session_id, person_id, answer), expires_at)


def read(token: str) -> Answer:
    claim = signed.read(PURPOSE, token, ANSWERS)
    return Answer(claim.subject_id, claim.person_id, claim.what)


def links(session_id: int, person_id: int, expires_at: datetime) -> RsvpLinks:
    base = f"{get_settings().effective_public_url}/rsvp/"
    accept, tentative, decline = (
        base + sign(session_id, person_id, a, expires_at) for a in ANSWERS
    )
    return RsvpLinks(accept=accept, tentative=tentative, decline=decline)
