"""Signed answer links: accept, tentative or decline without logging in.

The link carries session, person, answer and an expiry (the session's end) under an HMAC
signature, so it cannot be guessed, altered for another person or session, or used after
the session. Recording the same answer twice is harmless.
"""

from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from workflow import clock
from workflow.config import get_settings
from workflow.invitations.view import RsvpLinks

ANSWERS = ("accepted", "tentative", "declined")


@dataclass(frozen=True)
class Answer:
    session_id: int
    person_id: int
    answer: str


class InvalidLink(Exception):
    pass


class ExpiredLink(Exception):
    """A genuine link past its expiry; knows whose it was, to answer in their language."""

    def __init__(self, person_id: int) -> None:
        super().__init__(person_id)
        self.person_id = person_id


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt="rsvp")


def sign(session_id: int, person_id: int, answer: str, expires_at: datetime) -> str:
    if answer not in ANSWERS:
        raise ValueError(answer)
    return _serializer().dumps([session_id, person_id, answer, int(expires_at.timestamp())])


def read(token: str) -> Answer:
    try:
        session_id, person_id, answer, expires = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink from None
    if answer not in ANSWERS or not isinstance(session_id, int) or not isinstance(person_id, int):
        raise InvalidLink
    if clock.now().timestamp() > expires:
        raise ExpiredLink(person_id)
    return Answer(session_id, person_id, answer)


def links(session_id: int, person_id: int, expires_at: datetime) -> RsvpLinks:
    base = f"{get_settings().effective_public_url}/rsvp/"
    accept, tentative, decline = (
        base + sign(session_id, person_id, a, expires_at) for a in ANSWERS
    )
    return RsvpLinks(accept=accept, tentative=tentative, decline=decline)
