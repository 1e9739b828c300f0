"""Chasing action items: a daily digest per owner, a weekly overview per forum for its
coordinators, and escalations for its co-chairs.

Both are calendar-driven scans: once the local hour has come, the first scan of the day (or
week) claims the period in scan_mark with a conditional upsert, and owes the mails under
keys holding the period, all in one transaction. A second beat process finds the period
claimed; a service down at 08:00 sends when it comes back, once.
"""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, rules, schedule
from workflow.config import get_settings
from workflow.follow_up import due
from workflow.mail import outbox
from workflow.models import (
    ActionItem,
    ActionItemProgress,
    Forum,
    Membership,
    Role,
    ScanMark,
)

DIGEST = "digest"
OVERVIEW = "overview"
ESCALATION = "escalation"


def claim_period(db: DBSession, name: str, period: str) -> bool:
    """Take `period` of scan `name` if no scan took it (or a later one) yet."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(ScanMark)
        .values(name=name, period=period, done_at=clock.now())
        .on_conflict_do_update(
            index_elements=["name"],
            set_={"period": period, "done_at": clock.now()},
            where=col(ScanMark.period) < period,
        )
        .returning(col(ScanMark.name))
    )
    return db.exec(stmt).first() is not None


def heartbeat(db: DBSession) -> None:
    """Note when the follow-up scans last completed (shown by /readyz, awaited by tests)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = clock.now()
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    db.exec(
        insert(ScanMark)
        .values(name="follow-up", period=stamp, done_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"period": stamp, "done_at": now})
    )


def _local_date(moment: datetime) -> date:
    return moment.astimezone(rules.zone(get_settings().default_timezone)).date()


def facts(item: ActionItem, last_progress: datetime | None = None) -> due.ItemFacts:
    return due.ItemFacts(
        id=item.id,  # type: ignore[arg-type]  # a stored row has its id
        forum_id=item.forum_id,
        owner_person_id=item.owner_person_id,
        status=item.status,
        due_date=item.due_date,
        created_on=_local_date(item.created_at),
        completed_on=_local_date(item.completed_at) if item.completed_at else None,
        last_progress_on=_local_date(last_progress) if last_progress else None,
        baseline=item.baseline,
        target=item.target,
        current_value=item.current_value,
    )


def items_needing_attention(
    db: DBSession, today: date, owner_person_id: int | None = None
) -> list[ActionItem]:
    """Unfinished items overdue or due within the horizon (the (status, due_date) index)."""
    horizon = today + timedelta(days=get_settings().digest_horizon_days)
    query = select(ActionItem).where(
        col(ActionItem.status).in_(due.OPEN),
        col(ActionItem.due_date) <= horizon,
        col(ActionItem.owner_person_id).is_not(None),
    )
    if owner_person_id is not None:
        query = query.where(col(ActionItem.owner_person_id) == owner_person_id)
    return list(db.exec(query.order_by(col(ActionItem.due_date), col(ActionItem.id))).all())


@schedule.scan("digests", order=30)
def scan_digests(db: DBSession) -> list[int]:
    now = clock.local_now()
    period = due.digest_period(now, get_settings().digest_hour)
    if period is None or not claim_period(db, DIGEST, period):
        return []
    today = now.date()
    owners = due.digests(
        (facts(i) for i in items_needing_attention(db, today)),
        today,
        get_settings().digest_horizon_days,
    )
    return outbox.owe(
        db,
        [
            {
                "key": f"digest:{person_id}:{period}",
                "reason": DIGEST,
                "person_id": person_id,
                "data": {"day": period},
            }
            for person_id in sorted(owners)
        ],
    )


def last_progress(db: DBSession, item_ids: list[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for start in range(0, len(item_ids), 1000):
        chunk = item_ids[start : start + 1000]
        out.update(
            db.exec(
                select(
                    col(ActionItemProgress.action_item_id),
                    func.max(col(ActionItemProgress.created_at)),
                )
                .where(col(ActionItemProgress.action_item_id).in_(chunk))
                .group_by(col(ActionItemProgress.action_item_id))
            ).all()
        )
    return out


def forum_overview(db: DBSession, forum: Forum, today: date) -> due.Overview:
    """The week's overview of one forum's action items, as of `today`."""
    week_start = today - timedelta(days=7)
    since = datetime.combine(week_start, datetime.min.time(), tzinfo=rules.zone(forum.timezone))
    items = db.exec(
        select(ActionItem).where(
            col(ActionItem.forum_id) == forum.id,
            or_(
                col(ActionItem.status).in_(due.OPEN),
                col(ActionItem.created_at) >= since,
                col(ActionItem.completed_at) >= since,
            ),
        )
    ).all()
    progress = last_progress(db, [i.id for i in items if i.status in due.OPEN])  # type: ignore[misc]  # a stored row has its id
    return due.overview(
        (facts(i, progress.get(i.id)) for i in items),  # type: ignore[arg-type]  # a stored row has its id
        today,
        week_start=week_start,
        stale_after_days=get_settings().stale_after_days,
        escalation_days=forum.escalation_days,
    )


def _members(db: DBSession, forum_id: int, role: str) -> list[int]:
    return list(
        db.exec(
            select(col(Membership.person_id)).where(
                col(Membership.forum_id) == forum_id, col(Membership.role) == role
            )
        ).all()
    )


@schedule.scan("overviews", order=40)
def scan_overviews(db: DBSession) -> list[int]:
    s = get_settings()
    now = clock.local_now()
    period = due.overview_period(now, s.digest_hour, s.overview_weekday)
    if period is None or not claim_period(db, OVERVIEW, period):
        return []
    today = now.date()
    active_forums = db.exec(
        select(col(ActionItem.forum_id))
        .where(
            or_(
                col(ActionItem.status).in_(due.OPEN),
                col(ActionItem.completed_at) >= clock.now() - timedelta(days=8),
            )
        )
        .distinct()
    ).all()
    rows: list[dict] = []
    for forum_id in sorted(active_forums):
        forum = db.get(Forum, forum_id)
        assert forum is not None
        view = forum_overview(db, forum, today)
        data = {"forum_id": forum_id, "week": period, "day": today.isoformat()}
        if not view.is_empty():
            for person_id in _members(db, forum_id, Role.secretariat):
                rows.append(
                    {
                        "key": f"overview:{forum_id}:{person_id}:{period}",
                        "reason": OVERVIEW,
                        "person_id": person_id,
                        "data": data,
                    }
                )
        if view.escalate:
            for person_id in _members(db, forum_id, Role.co_chair):
                rows.append(
                    {
                        "key": f"escalation:{forum_id}:{person_id}:{period}",
                        "reason": ESCALATION,
                        "person_id": person_id,
                        "data": data,
                    }
                )
    return outbox.owe(db, rows)
