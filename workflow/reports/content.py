"""What a follow-up report contains, as a pure function of plain facts.

A report covers one child forum for a period (since the parent forum's previous session):
its sessions held with attendance, every outcome recorded there (the decisions, from agenda
items of kind "decision", listed apart from the other outcomes), its action items opened,
done and overdue, each indicator against its target, and the items it escalates for a
decision by the mayors. Grandchildren roll up: each child's own children appear as nested
sections, and the totals count the whole subtree.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.follow_up.due import (
    ItemFacts,
    days_overdue,
    is_behind_target_path,
    progress_fraction,
)
from workflow.vocabulary import ActionItemStatus, AgendaItemKind

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Outcome:
    """What was recorded for one agenda item, with the item's kind (information, discussion,
    decision, report-back): a decision is one of kind "decision"."""

    agenda_item: str
    text: str
    kind: str = AgendaItemKind.discussion


@dataclass(frozen=True)
class SessionFacts:
    id: int
    title: str
    starts_at: datetime
    attendance: tuple[str | None, ...]  # one per participant: present, excused, absent, None
    outcomes: tuple[Outcome, ...] = ()  # in agenda order


@dataclass(frozen=True)
class ItemRecord:
    facts: ItemFacts
    title: str
    owner: str | None
    indicator: str | None = None
    unit: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_note: str | None = None
    parent_decision: str | None = None
    parent_decided_at: datetime | None = None


@dataclass(frozen=True)
class ForumFacts:
    id: int
    name: str
    sessions: tuple[SessionFacts, ...] = ()
    items: tuple[ItemRecord, ...] = ()
    children: tuple["ForumFacts", ...] = field(default=())


def _iso(v: datetime | date | None) -> str | None:
    return v.isoformat() if v is not None else None


def _in(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _item(r: ItemRecord, today: date) -> dict[str, Any]:
    return {
        "id": r.facts.id,
        "title": r.title,
        "owner": r.owner,
        "status": r.facts.status,
        "due_date": _iso(r.facts.due_date),
        "days_overdue": days_overdue(r.facts, today),
    }


def _indicator(r: ItemRecord, today: date) -> dict[str, Any]:
    progress = progress_fraction(r.facts)
    return {
        "action_item_id": r.facts.id,
        "title": r.title,
        "indicator": r.indicator,
        "unit": r.unit,
        "baseline": r.facts.baseline,
        "target": r.facts.target,
        "current_value": r.facts.current_value,
        "progress": None if progress is None else round(progress, 4),
        "behind_target_path": is_behind_target_path(r.facts, today),
        "status": r.facts.status,
        "due_date": _iso(r.facts.due_date),
    }


def _outcome(s: SessionFacts, o: Outcome) -> dict[str, Any]:
    return {
        "session_id": s.id,
        "session_title": s.title,
        "agenda_item": o.agenda_item,
        "kind": o.kind,
        "outcome": o.text,
    }


def _attendance(marks: tuple[str | None, ...]) -> dict[str, int]:
    counts = {"present": 0, "excused": 0, "absent": 0, "unrecorded": 0}
    for m in marks:
        counts[m if m in counts else "unrecorded"] += 1
    return counts


def section(forum: ForumFacts, start: datetime, end: datetime, today: date) -> dict[str, Any]:
    """One forum's part of the report, its children nested, totals over the subtree."""
    sessions = sorted(
        (s for s in forum.sessions if start <= s.starts_at < end), key=lambda s: s.starts_at
    )
    items = sorted(forum.items, key=lambda r: r.facts.id)
    # A cancelled item was a mistake or dropped: it is not counted as opened.
    opened = [
        r
        for r in items
        if _in(r.created_at, start, end) and r.facts.status != ActionItemStatus.cancelled
    ]
    done = [
        r
        for r in items
        if r.facts.status == ActionItemStatus.done and _in(r.completed_at, start, end)
    ]
    overdue = [r for r in items if days_overdue(r.facts, today) > 0]
    still_open = [r for r in items if r.facts.status in ("open", "in_progress")]
    # Indicators of the items still being worked on, and of those finished in the period.
    counted = {r.facts.id for r in still_open} | {r.facts.id for r in done}
    indicators = [
        r
        for r in items
        if r.indicator is not None and r.facts.target is not None and r.facts.id in counted
    ]
    escalations = [r for r in items if r.escalated_at is not None and r.parent_decision is None]
    # The mayors' decisions on what this forum put before them, recorded in the period.
    parent_decisions = [
        r for r in items if r.parent_decision is not None and _in(r.parent_decided_at, start, end)
    ]
    children = [section(c, start, end, today) for c in sorted(forum.children, key=_order)]
    recorded = [(s, o) for s in sessions for o in s.outcomes]
    decisions = [_outcome(s, o) for s, o in recorded if o.kind == AgendaItemKind.decision]
    others = [_outcome(s, o) for s, o in recorded if o.kind != AgendaItemKind.decision]
    own = {
        "sessions_held": len(sessions),
        "decisions": len(decisions),
        "outcomes": len(others),  # the other outcomes recorded, decisions apart
        "action_items_opened": len(opened),
        "action_items_done": len(done),
        "action_items_overdue": len(overdue),
        "action_items_open": len(still_open),
        "indicators_behind": sum(1 for r in indicators if is_behind_target_path(r.facts, today)),
        "escalations": len(escalations),
    }
    totals = dict(own)
    for c in children:
        for k, v in c["totals"].items():
            totals[k] += v
    return {
        "forum": {"id": forum.id, "name": forum.name},
        "sessions": [
            {
                "id": s.id,
                "title": s.title,
                "starts_at": _iso(s.starts_at),
                "attendance": _attendance(s.attendance),
            }
            for s in sessions
        ],
        "decisions": decisions,
        "outcomes": others,
        "action_items": {
            "opened": [_item(r, today) for r in opened],
            "done": [_item(r, today) for r in done],
            "overdue": [_item(r, today) for r in overdue],
        },
        "indicators": [_indicator(r, today) for r in indicators],
        "escalations": [
            {
                **_item(r, today),
                "note": r.escalation_note,
                "escalated_at": _iso(r.escalated_at),
            }
            for r in escalations
        ],
        "parent_decisions": [
            {
                **_item(r, today),
                "note": r.escalation_note,
                "escalated_at": _iso(r.escalated_at),
                "decision": r.parent_decision,
                "decided_at": _iso(r.parent_decided_at),
            }
            for r in parent_decisions
        ],
        "counts": own,
        "totals": totals,
        "children": children,
    }


def _order(f: ForumFacts) -> tuple[str, int]:
    return (f.name.casefold(), f.id)


def compile_report(
    child: ForumFacts,
    *,
    parent: dict[str, Any],
    period_start: datetime,
    period_end: datetime,
    today: date,
) -> dict[str, Any]:
    """The whole report: which parent session it is for, the period, and the child's section.
    `parent` names the parent forum and session ({forum_id, forum_name, session_id, ...})."""
    return {
        "schema": SCHEMA_VERSION,
        "parent": parent,
        "period": {"start": _iso(period_start), "end": _iso(period_end)},
        "as_of": today.isoformat(),
        **section(child, period_start, period_end, today),
    }
