"""What each workflow declares at start: a composer for every mail reason it owes, and its
part of the follow-up scan, in the order the scan has always run them."""

import pytest

from workflow import schedule, workflows
from workflow.config import get_settings
from workflow.mail import outbox


def test_every_mail_reason_has_its_composer_once_the_workflows_are_loaded() -> None:
    workflows.load()
    assert outbox.reasons() == {
        "invitation",
        "update",
        "cancellation",
        "removal",
        "reminder",
        "summary",
        "digest",
        "overview",
        "escalation",
        "decision",
        "report",
        "sign_in",
        "address_changed",
        "declinecounter",
    }


def test_a_reason_cannot_get_a_second_composer() -> None:
    workflows.load()
    with pytest.raises(ValueError, match="registered already"):
        # A stand-in that composes nothing: only its being a second composer matters.
        outbox.register("invitation", lambda db, delivery: None)  # type: ignore[arg-type,return-value]  # see above


def test_the_follow_up_scan_runs_each_domains_part_in_order() -> None:
    workflows.load()
    assert [s.name for s in schedule.scans()] == ["reminders", "reports", "digests", "overviews"]


def test_beat_sends_the_sweep_and_the_follow_up_scan() -> None:
    every = get_settings().sweep_interval_seconds
    beat = schedule.beat_schedule(get_settings())
    assert {name: entry["task"] for name, entry in beat.items()} == {
        "sweep": "workflow.sweep",
        "follow-up": "workflow.follow_up",
    }
    assert all(e["schedule"] == every and e["options"] == {"expires": every} for e in beat.values())
