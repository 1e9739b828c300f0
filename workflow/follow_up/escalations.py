"""Escalation to the parent forum and the decision that flows back.

A child forum's co-chairs or secretariat put an action item before the mayors (it then
appears in the child's report-back). The parent forum's co-chairs or secretariat record the
decision; the item shows it, and the child's co-chairs and the item's owner are told by mail.
"""

from dataclasses import dataclass

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, rules, spine
from workflow.action_items import get_item
from workflow.auth import Principal
from workflow.errors import Forbidden
from workflow.mail import outbox
from workflow.models import (
    ActionItem,
    ActionItemProgress,
    ActionItemStatus,
    Event,
    Forum,
    Membership,
    Role,
)
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
    if current.parent_decision is not None:
        # Decided once; the child forum escalates it again to ask a new question.
        raise rules.RuleError("the mayors already decided on this action item", "decision")
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


# Reading: who asked and who decided, what waits for the mayors -------------------------------


@dataclass(frozen=True)
class Escalation:
    """An escalated item as the pages show it: the question, when and by whom; the decision,
    when and by whom (None while the mayors have not decided)."""

    item: ActionItem
    forum_name: str
    parent_name: str
    asked_by: str | None
    decided_by: str | None


def may_escalate(principal: Principal, item: ActionItem, forum: Forum | None) -> bool:
    """Does the escalate form belong on the item's page (as escalate() would allow it)?"""
    return (
        principal.may(item.forum_id, Action.manage)
        and forum is not None
        and forum.parent_id is not None
        and item.status not in (ActionItemStatus.done, ActionItemStatus.cancelled)
    )


def may_decide(principal: Principal, item: ActionItem, forum: Forum | None) -> bool:
    """Is the visitor among the parent forum's co-chairs or secretariat (as decide() asks)?"""
    return (
        forum is not None
        and forum.parent_id is not None
        and principal.may(forum.parent_id, Action.manage)
    )


def _actor_name(actor: str) -> str:
    return actor.split(" ", 1)[1] if actor.startswith("person:") and " " in actor else actor


def actors(db: DBSession, item_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """Per item: who escalated it last, and who recorded the decision after that."""
    out: dict[int, tuple[str | None, str | None]] = {}
    events = db.exec(
        select(Event)
        .where(
            col(Event.action_item_id).in_(item_ids or [-1]),
            col(Event.kind).in_(["action_item.escalated", "action_item.decided"]),
        )
        .order_by(col(Event.occurred_at), col(Event.id))
    ).all()
    for e in events:
        asked, _ = out.get(e.action_item_id, (None, None))  # type: ignore[arg-type]  # the query keeps items
        if e.kind == "action_item.escalated":
            out[e.action_item_id] = (_actor_name(e.actor), None)  # type: ignore[index]  # the query keeps items
        else:
            out[e.action_item_id] = (asked, _actor_name(e.actor))  # type: ignore[index]  # the query keeps items
    return out


def of_item(db: DBSession, item: ActionItem) -> Escalation | None:
    if item.escalated_at is None:
        return None
    forum = db.get(Forum, item.forum_id)
    parent = db.get(Forum, forum.parent_id) if forum and forum.parent_id else None
    asked, decided = actors(db, [item.id]).get(item.id, (None, None))  # type: ignore[list-item,arg-type]  # a stored row has its id
    return Escalation(
        item, forum.name if forum else "", parent.name if parent else "", asked, decided
    )


def waiting(
    db: DBSession, parent_forum_id: int, child_forum_id: int | None = None
) -> list[Escalation]:
    """What the children of `parent_forum_id` (or this one child) put before it and it has not
    decided yet, oldest question first. A cancelled item is off the list."""
    children = {
        f.id: f.name
        for f in db.exec(select(Forum).where(col(Forum.parent_id) == parent_forum_id)).all()
        if child_forum_id is None or f.id == child_forum_id
    }
    items = db.exec(
        select(ActionItem)
        .where(
            col(ActionItem.forum_id).in_(list(children) or [-1]),
            col(ActionItem.escalated_at).is_not(None),
            col(ActionItem.parent_decision).is_(None),
            col(ActionItem.status) != ActionItemStatus.cancelled,
        )
        .order_by(col(ActionItem.escalated_at), col(ActionItem.id))
    ).all()
    parent = db.get(Forum, parent_forum_id)
    who = actors(db, [i.id for i in items])  # type: ignore[misc]  # stored rows have their ids
    return [
        Escalation(
            i,
            children[i.forum_id],
            parent.name if parent else "",
            *who.get(i.id, (None, None)),  # type: ignore[arg-type]  # a stored row has its id
        )
        for i in items
    ]
