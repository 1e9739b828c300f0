"""What is due, as pure functions: no database, no clock of their own."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from workflow.vocabulary import ActionItemStatus, SessionStatus

OPEN = (ActionItemStatus.open, ActionItemStatus.in_progress)


# Reminders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderPlan:
    offset_hours: int
    due_at: datetime
    done: bool  # nothing to send for this offset (past already, or the session is not ahead)
    outcome: str | None


def reminder_moment(starts_at: datetime, timezone: str, offset_hours: int) -> datetime:
    """`offset_hours` before the session on the wall clock of its zone: the 7-day reminder
    of a Monday 10:00 session goes the Monday before at 10:00, summer time or not."""
    local = starts_at.astimezone(ZoneInfo(timezone))
    return (local - timedelta(hours=offset_hours)).astimezone(UTC)


def plan_reminders(
    starts_at: datetime,
    timezone: str,
    status: str,
    offsets_hours: Iterable[int],
    now: datetime,
) -> list[ReminderPlan]:
    """The reminders a session should have, as of a change made at `now`.

    A reminder whose moment is already past when the session is scheduled or moved is not
    sent: the invitation or update the participants just got says the same. One that passes
    while the service is down is still pending, and the scan sends it late, once.
    """
    plans = []
    for offset in sorted(set(offsets_hours), reverse=True):
        due_at = reminder_moment(starts_at, timezone, offset)
        if status != SessionStatus.scheduled:
            plans.append(ReminderPlan(offset, due_at, True, status))
        elif due_at <= now:
            plans.append(ReminderPlan(offset, due_at, True, "already past when scheduled or moved"))
        else:
            plans.append(ReminderPlan(offset, due_at, False, None))
    return plans


@dataclass(frozen=True)
class DueReminder:
    reminder_id: int
    session_id: int
    offset_hours: int
    starts_at: datetime
    status: str


def reminder_verdicts(due: Sequence[DueReminder], now: datetime) -> dict[int, str]:
    """For each due reminder: 'send', or why it is closed without mail.

    Of several reminders of one session due at once (the service was down across both), only
    the nearest to the session goes: two reminders in one minute help nobody.
    """
    nearest: dict[int, int] = {}
    for r in due:
        if r.session_id not in nearest or r.offset_hours < nearest[r.session_id]:
            nearest[r.session_id] = r.offset_hours
    verdicts = {}
    for r in due:
        if r.status != SessionStatus.scheduled:
            verdicts[r.reminder_id] = r.status
        elif r.starts_at <= now:
            verdicts[r.reminder_id] = "session started"
        elif r.offset_hours != nearest[r.session_id]:
            verdicts[r.reminder_id] = "a nearer reminder was due too"
        else:
            verdicts[r.reminder_id] = "send"
    return verdicts


# Action items ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFacts:
    """What the follow-up rules need to know about one action item."""

    id: int
    forum_id: int
    owner_person_id: int | None
    status: str
    due_date: date | None
    created_on: date
    completed_on: date | None = None
    last_progress_on: date | None = None
    baseline: float | None = None
    target: float | None = None
    current_value: float | None = None


def days_overdue(item: ItemFacts, today: date) -> int:
    if item.status not in OPEN or item.due_date is None or item.due_date >= today:
        return 0
    return (today - item.due_date).days


def needs_owner_attention(item: ItemFacts, today: date, horizon_days: int) -> bool:
    """Overdue, or due within the horizon, and not finished."""
    return (
        item.status in OPEN
        and item.due_date is not None
        and item.due_date <= today + timedelta(days=horizon_days)
    )


def digests(items: Iterable[ItemFacts], today: date, horizon_days: int) -> dict[int, list[int]]:
    """Per owning person, the items their digest lists (most urgent first). Only owners with
    something overdue or due soon get one; never one mail per item."""
    out: dict[int, list[ItemFacts]] = defaultdict(list)
    for item in items:
        if item.owner_person_id is not None and needs_owner_attention(item, today, horizon_days):
            out[item.owner_person_id].append(item)
    return {
        owner: [i.id for i in sorted(found, key=lambda i: (i.due_date, i.id))]
        for owner, found in out.items()
    }


def progress_fraction(item: ItemFacts) -> float | None:
    """How far the indicator has come from baseline to target (0 to 1, may exceed)."""
    if item.baseline is None or item.target is None or item.target == item.baseline:
        return None
    current = item.current_value if item.current_value is not None else item.baseline
    return (current - item.baseline) / (item.target - item.baseline)


def expected_fraction(item: ItemFacts, today: date) -> float | None:
    """Where a straight path from baseline (when the item was decided) to target (on the due
    date) would be today."""
    if item.due_date is None:
        return None
    span = (item.due_date - item.created_on).days
    if span <= 0:
        return 1.0
    return min(max((today - item.created_on).days / span, 0.0), 1.0)


# Behind by more than this share of the way is behind; small wobbles are not news.
BEHIND_TOLERANCE = 0.1


def is_behind_target_path(item: ItemFacts, today: date) -> bool:
    actual = progress_fraction(item)
    expected = expected_fraction(item, today)
    if item.status not in OPEN or actual is None or expected is None:
        return False
    return actual < expected - BEHIND_TOLERANCE


def is_stale(item: ItemFacts, today: date, stale_after_days: int) -> bool:
    last = item.last_progress_on or item.created_on
    return item.status in OPEN and (today - last).days >= stale_after_days


@dataclass(frozen=True)
class Overview:
    new: list[int]
    done: list[int]
    overdue: list[int]
    stale: list[int]
    behind: list[int]
    escalate: list[int]  # overdue past the forum's escalation threshold

    def is_empty(self) -> bool:
        return not (self.new or self.done or self.overdue or self.stale or self.behind)


def overview(
    items: Iterable[ItemFacts],
    today: date,
    *,
    week_start: date,
    stale_after_days: int,
    escalation_days: int,
) -> Overview:
    """The weekly overview of one forum's action items for its coordinators."""
    items = sorted(items, key=lambda i: (i.due_date or date.max, i.id))
    return Overview(
        new=[
            i.id
            for i in items
            if week_start <= i.created_on < today + timedelta(days=1)
            and i.status != ActionItemStatus.cancelled
        ],
        done=[
            i.id
            for i in items
            if i.status == ActionItemStatus.done
            and i.completed_on is not None
            and i.completed_on >= week_start
        ],
        overdue=[i.id for i in items if days_overdue(i, today) > 0],
        stale=[i.id for i in items if is_stale(i, today, stale_after_days)],
        behind=[i.id for i in items if is_behind_target_path(i, today)],
        escalate=[i.id for i in items if days_overdue(i, today) >= max(escalation_days, 1)],
    )


# Calendar-driven scans ----------------------------------------------------------------------


def digest_period(local_now: datetime, hour: int) -> str | None:
    """The day whose digest is due at local time `local_now`, or None before the hour."""
    if local_now.hour < hour:
        return None
    return local_now.date().isoformat()


def overview_period(local_now: datetime, hour: int, weekday: int) -> str | None:
    """The ISO week whose overview is due, or None. Due from `weekday` at `hour` onward in
    that week, so a service that was down on the day sends it late, once."""
    day = local_now.date()
    if day.weekday() < weekday or (day.weekday() == weekday and local_now.hour < hour):
        return None
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
