"""Signed links in mail: the link is the credential, for one person and one purpose.

A token holds [subject id, person id, what, expiry] under an HMAC signature (itsdangerous)
with a salt per purpose, so an answer link can never pass for an action link or a report
link. It cannot be altered, used for another person or thing, or used after it expires.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer

from workflow import clock
from workflow.config import get_settings


class InvalidLink(Exception):
    """Not a link the service signed for this purpose (changed, cut short, made up)."""


class ExpiredLink(Exception):
    """A genuine link past its expiry; knows whose it was, to answer in their language."""

    def __init__(self, person_id: int) -> None:
        super().__init__(person_id)
        self.person_id = person_id


@dataclass(frozen=True)
class Claim:
    subject_id: int  # the session, action item or report
    person_id: int
    what: str  # the answer, the action, or "read"


def _serializer(purpose: str) -> URLSafeSerializer:
    return _serializer_for(get_settings().secret_key.get_secret_value(), purpose)


@lru_cache(maxsize=16)
def _serializer_for(secret: str, purpose: str) -> URLSafeSerializer:
    # One per key and purpose: a fan-out signs three answer links for every mail.
    return URLSafeSerializer(secret, salt=purpose)


def sign(purpose: str, claim: Claim, expires_at: datetime) -> str:
    payload = [claim.subject_id, claim.person_id, claim.what, int(expires_at.timestamp())]
    return _serializer(purpose).dumps(payload)


def read(purpose: str, token: str, allowed: tuple[str, ...]) -> Claim:
    """The claim of a genuine, unexpired token whose `what` is one of `allowed`."""
    try:
        subject_id, person_id, what, expires = _serializer(purpose).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink from None
    ids_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (subject_id, person_id))
    if not ids_ok or what not in allowed or not isinstance(expires, int):
        raise InvalidLink
    if clock.now().timestamp() > expires:
        raise ExpiredLink(person_id)
    return Claim(subject_id, person_id, what)
