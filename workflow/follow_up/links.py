"""Signed links in digests and report mails (see workflow.signed).

Digest links mark an action item in progress or done, or report the indicator's value,
without logging in; they work only while the person still owns the item. Report links open
the report a person was mailed, in a browser.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflow import clock, signed
from workflow.config import get_settings
from workflow.signed import ExpiredLink, InvalidLink

__all__ = ["ACTIONS", "ExpiredLink", "InvalidLink", "ItemAction", "links", "read", "sign"]

ACTIONS = ("in_progress", "done", "value")
ACTION_PURPOSE = "action-item"
REPORT_PURPOSE = "report"
REPORT_LINK_DAYS = 180  # a report stays worth reading long after its session


@dataclass(frozen=True)
class ItemAction:
    action_item_id: int
    person_id: int
    action: str


def sign(item_id: int, person_id: int, action: str, expires_at: datetime) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    return signed.sign(ACTION_PURPOSE, signed.Claim(item_id, person_id, action), expires_at)


def read(token: str) -> ItemAction:
    claim = signed.read(ACTION_PURPOSE, token, ACTIONS)
    return ItemAction(claim.subject_id, claim.person_id, claim.what)


def links(item_id: int, person_id: int) -> dict[str, str]:
    expires = clock.now() + timedelta(days=get_settings().action_link_days)
    base = f"{get_settings().effective_public_url}/act/"
    return {a: base + sign(item_id, person_id, a, expires) for a in ACTIONS}


def report_link(report_id: int, person_id: int) -> str:
    expires = clock.now() + timedelta(days=REPORT_LINK_DAYS)
    token = signed.sign(REPORT_PURPOSE, signed.Claim(report_id, person_id, "read"), expires)
    return f"{get_settings().effective_public_url}/report/{token}"


def read_report_link(token: str) -> tuple[int, int]:
    """(report id, person id) of a genuine, unexpired report link."""
    claim = signed.read(REPORT_PURPOSE, token, ("read",))
    return claim.subject_id, claim.person_id
