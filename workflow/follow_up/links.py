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


# Report pages, from the link in a report-back mail -------------------------------------------

REPORT_LINK_DAYS = 180  # a report stays worth reading long after its session


def _report_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt="report")


def report_link(report_id: int, person_id: int) -> str:
    expires = int((clock.now() + timedelta(days=REPORT_LINK_DAYS)).timestamp())
    token = _report_serializer().dumps([report_id, person_id, expires])
    return f"{get_settings().effective_public_url}/report/{token}"


def read_report_link(token: str) -> tuple[int, int]:
    """(report id, person id) of a genuine, unexpired report link."""
    try:
        report_id, person_id, expires = _report_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink from None
    if not all(isinstance(v, int) for v in (report_id, person_id, expires)):
        raise InvalidLink
    if clock.now().timestamp() > expires:
        raise ExpiredLink(person_id)
    return report_id, person_id
