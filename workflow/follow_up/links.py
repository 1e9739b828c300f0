"""Signed links in digests: mark an action item in progress or done, or report the
indicator's value, without logging in.

Each link carries item, person, what to do and an expiry under an HMAC signature (its own
salt, so an answer link can never pass for one of these). It cannot be altered, used for
another item or person, or used after it expires; and it works only while the person still
owns the item.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from workflow import clock
from workflow.config import get_settings

ACTIONS = ("in_progress", "done", "value")


@dataclass(frozen=True)
class ItemAction:
    action_item_id: int
    person_id: int
    action: str


class InvalidLink(Exception):
    pass


class ExpiredLink(Exception):
    """A genuine link past its expiry; knows whose it was, to answer in their language."""

    def __init__(self, person_id: int) -> None:
        super().__init__(person_id)
        self.person_id = person_id


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt="action-item")


def sign(item_id: int, person_id: int, action: str, expires_at: datetime) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    return _serializer().dumps([item_id, person_id, action, int(expires_at.timestamp())])


def read(token: str) -> ItemAction:
    try:
        item_id, person_id, action, expires = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink from None
    if action not in ACTIONS or not isinstance(item_id, int) or not isinstance(person_id, int):
        raise InvalidLink
    if not isinstance(expires, int) or clock.now().timestamp() > expires:
        raise ExpiredLink(person_id)
    return ItemAction(item_id, person_id, action)


def links(item_id: int, person_id: int) -> dict[str, str]:
    expires = clock.now() + timedelta(days=get_settings().action_link_days)
    base = f"{get_settings().effective_public_url}/act/"
    return {a: base + sign(item_id, person_id, a, expires) for a in ACTIONS}
