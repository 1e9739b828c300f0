"""What is due, as pure rules: reminder moments across daylight-saving changes, which
reminders go, digests per owner, the weekly overview's lists, and the scan periods."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflow.follow_up import due

BRUSSELS = ZoneInfo("Europe/Brussels")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


@pytest.mark.parametrize(
    ("session", "offset", "expected"),
    [
        # Spring: the clocks go forward on Sunday 28 March 2027.
        (local(2027, 3, 29, 10), 168, local(2027, 3, 22, 10)),  # 09:00Z, winter time
        (local(2027, 3, 29, 10), 24, local(2027, 3, 28, 10)),  # 08:00Z, summer time
        # Autumn: back on Sunday 31 October 2027.
        (local(2027, 11, 1, 10), 168, local(2027, 10, 25, 10)),  # 08:00Z, summer time
        (local(2027, 11, 1, 10), 24, local(2027, 10, 31, 10)),  # 09:00Z, winter time
        (local(2027, 7, 14, 14), 2, local(2027, 7, 14, 12)),
    ],
)
def test_reminders_keep_the_wall_clock_time_across_daylight_saving(
    session: datetime, offset: int, expected: datetime
) -> None:
    moment = due.reminder_moment(session.astimezone(UTC), "Europe/Brussels", offset)
    assert moment == expected
    assert moment.astimezone(BRUSSELS).hour == expected.hour


def test_plan_skips_moments_already_past_and_everything_when_not_scheduled() -> None:
    starts = datetime(2027, 6, 10, 8, tzinfo=UTC)
    now = starts - timedelta(days=3)
    plans = {
        p.offset_hours: p
        for p in due.plan_reminders(starts, "UTC", "scheduled", [168, 24, 24], now)
    }
    assert sorted(plans) == [24, 168]
    assert plans[168].done and plans[168].outcome == "already past when scheduled or moved"
    assert not plans[24].done and plans[24].due_at == starts - timedelta(days=1)
    cancelled = due.plan_reminders(starts, "UTC", "cancelled", [168, 24], now)
    assert all(p.done and p.outcome == "cancelled" for p in cancelled)


def reminder(
    rid: int, session: int, offset: int, starts: datetime, status: str = "scheduled"
) -> due.DueReminder:
    return due.DueReminder(rid, session, offset, starts, status)


def test_only_the_nearest_of_several_due_reminders_goes() -> None:
    now = datetime(2027, 6, 10, 7, tzinfo=UTC)
    ahead = now + timedelta(hours=5)
    verdicts = due.reminder_verdicts(
        [
            reminder(1, 10, 168, ahead),
            reminder(2, 10, 24, ahead),
            reminder(3, 11, 24, now - timedelta(minutes=1)),  # started while we were down
            reminder(4, 12, 24, ahead, "cancelled"),
            reminder(5, 13, 168, ahead + timedelta(days=6)),
        ],
        now,
    )
    assert verdicts == {
        1: "a nearer reminder was due too",
        2: "send",
        3: "session started",
        4: "cancelled",
        5: "send",
    }


TODAY = date(2027, 6, 14)  # a Monday


def item(iid: int, owner: int | None = 1, **kw: object) -> due.ItemFacts:
    defaults: dict = {
        "forum_id": 1,
        "status": "open",
        "due_date": TODAY + timedelta(days=30),
        "created_on": TODAY - timedelta(days=60),
    }
    defaults.update(kw)
    return due.ItemFacts(id=iid, owner_person_id=owner, **defaults)


def test_digest_lists_overdue_and_due_soon_per_owner_most_urgent_first() -> None:
    items = [
        item(1, 1, due_date=TODAY + timedelta(days=3)),
        item(2, 1, due_date=TODAY - timedelta(days=2)),
        item(3, 1, due_date=TODAY + timedelta(days=20)),  # not yet
        item(4, 2, due_date=TODAY + timedelta(days=7)),  # the horizon's last day
        item(5, 3, due_date=TODAY - timedelta(days=1), status="done"),
        item(6, None, due_date=TODAY),  # owned by an organisation: no one to mail
        item(7, 4, due_date=None),
    ]
    assert due.digests(items, TODAY, 7) == {1: [2, 1], 2: [4]}


def test_indicator_behind_its_straight_path_to_target() -> None:
    # Decided 100 days ago, due in 100 days: halfway through, the value should be halfway.
    base = {"created_on": TODAY - timedelta(days=100), "due_date": TODAY + timedelta(days=100)}
    on_track = item(1, baseline=0.0, target=200.0, current_value=95.0, **base)
    behind = item(2, baseline=0.0, target=200.0, current_value=50.0, **base)
    falling = item(3, baseline=40.0, target=10.0, current_value=35.0, **base)  # lower is better
    no_value = item(4, baseline=0.0, target=10.0, **base)
    assert not due.is_behind_target_path(on_track, TODAY)
    assert due.is_behind_target_path(behind, TODAY)
    assert due.is_behind_target_path(falling, TODAY)
    assert due.progress_fraction(falling) == pytest.approx(1 / 6)
    assert due.is_behind_target_path(no_value, TODAY)
    assert not due.is_behind_target_path(item(5, **base), TODAY)  # no indicator


def test_weekly_overview_lists() -> None:
    week_start = TODAY - timedelta(days=7)
    items = [
        item(1, created_on=TODAY - timedelta(days=2)),  # new
        item(2, status="done", completed_on=TODAY - timedelta(days=1)),  # done this week
        item(3, status="done", completed_on=TODAY - timedelta(days=30)),  # done long ago
        item(4, due_date=TODAY - timedelta(days=3), last_progress_on=TODAY),  # overdue
        item(5, due_date=TODAY - timedelta(days=20), last_progress_on=TODAY),  # escalate
        item(6, last_progress_on=TODAY - timedelta(days=45)),  # stale
    ]
    view = due.overview(
        items, TODAY, week_start=week_start, stale_after_days=30, escalation_days=14
    )
    assert view.new == [1]
    assert view.done == [2]
    assert view.overdue == [5, 4]
    assert view.escalate == [5]
    assert view.stale == [6]
    assert not view.is_empty()
    quiet = due.overview(
        [item(9, last_progress_on=TODAY)],
        TODAY,
        week_start=week_start,
        stale_after_days=30,
        escalation_days=14,
    )
    assert quiet.is_empty()


@pytest.mark.parametrize(
    ("now", "digest", "overview"),
    [
        (local(2027, 6, 14, 7, 59), None, None),
        (local(2027, 6, 14, 8, 0), "2027-06-14", "2027-W24"),
        (local(2027, 6, 16, 15, 0), "2027-06-16", "2027-W24"),  # down on Monday: late, once
        (local(2027, 6, 13, 23, 0), "2027-06-13", "2027-W23"),
    ],
)
def test_scan_periods(now: datetime, digest: str | None, overview: str | None) -> None:
    assert due.digest_period(now, 8) == digest
    assert due.overview_period(now, 8, 0) == overview


def test_a_cancelled_item_is_not_new_in_the_overview_nor_on_any_list() -> None:
    week_start = TODAY - timedelta(days=7)
    view = due.overview(
        [
            item(1, created_on=TODAY - timedelta(days=2)),
            item(2, created_on=TODAY - timedelta(days=2), status="cancelled"),
            item(3, status="cancelled", due_date=TODAY - timedelta(days=30)),
        ],
        TODAY,
        week_start=week_start,
        stale_after_days=30,
        escalation_days=14,
    )
    assert view.new == [1]
    assert view.overdue == view.escalate == view.stale == view.behind == view.done == []
