"""Escalation to the parent forum and the decision that flows back.

A child forum's co-chairs or secretariat put an action item before the mayors (it then
appears in the child's report-back). The parent forum's co-chairs or secretariat record the
decision; the item shows it, and the child's co-chairs and the item's owner are told by mail.
"""

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, rules, spine
from workflow.action_items import get_item
from workflow.auth import Principal
from workflow.errors import Forbidden
from workflow.mail import outbox
from workflow.models import ActionItem, ActionItemProgress, Forum, Membership, Role
from workflow.permissions import Action

REASON = "decision"


def _claim(db: DBSession, item_id: int, expected_version: int | None) -> ActionItem:
    return spine.claim(db, ActionItem, item_id, expected_version)


def escalate(
    db: DBSession, principal: Principal, item_id: int, note: str, expected_version: int | None
) -> ActionItem:
    current = get_item(db, item_id)
    if not principal.may(current.forum_id, Action.manage):
        raise Forbidden()
    forum = db.get(Forum, current.forum_id)
    if forum is None or forum.parent_id is None:
        raise rules.RuleError("this forum reports to no parent forum", "forum_id")
    if current.status in ("done", "cancelled"):
        raise rules.RuleError("a finished action item is not escalated", "status")
    item = _claim(db, item_id, expected_version)
    item.escalated_at = clock.now()
    item.escalation_note = note
    item.parent_decision = None
    item.parent_decided_at = None
    spine.record(
        db,
        principal.actor,
        "action_item.escalated",
        forum_id=item.forum_id,
        action_item_id=item_id,
        parent_forum_id=forum.parent_id,
    )
    return item


def decide(
    db: DBSession,
    principal: Principal,
    item_id: int,
    decision: str,
    expected_version: int | None,
) -> ActionItem:
    current = get_item(db, item_id)
    forum = db.get(Forum, current.forum_id)
    parent_id = forum.parent_id if forum else None
    if parent_id is None or not principal.may(parent_id, Action.manage):
        raise Forbidden("the decision is the parent forum's co-chairs' or secretariat's")
    if current.escalated_at is None:
        raise rules.RuleError("this action item was not escalated", "escalated_at")
    item = _claim(db, item_id, expected_version)
    now = clock.now()
    item.parent_decision = decision
    item.parent_decided_at = now
    db.add(
        ActionItemProgress(
            action_item_id=item_id, author_person_id=principal.person_id, note=decision
        )
    )
    told = set(
        db.exec(
            select(col(Membership.person_id)).where(
                col(Membership.forum_id) == item.forum_id, col(Membership.role) == Role.co_chair
            )
        ).all()
    )
    if item.owner_person_id is not None:
        told.add(item.owner_person_id)
    owed = outbox.owe(
        db,
        [
            {
                "key": f"decision:{item_id}:{person_id}:{int(now.timestamp())}",
                "reason": REASON,
                "person_id": person_id,
                "session_id": item.session_id,
                "data": {"action_item_id": item_id},
            }
            for person_id in sorted(told)
        ],
    )
    spine.mark_owed(db, owed)
    spine.record(
        db,
        principal.actor,
        "action_item.decided",
        forum_id=item.forum_id,
        action_item_id=item_id,
        parent_forum_id=parent_id,
        told=len(owed),
    )
    return item
