"""Scheduled work, declared beside the domain it belongs to.

Beat runs two periodic tasks (workflow/tasks): the sweep, which re-drives what a lost
message or a killed worker left behind, and the follow-up scan, which asks every scan
declared here what is due now. A domain declares its scan where it lives:

    @schedule.scan("reminders", order=10)
    def scan(db: DBSession) -> list[int]: ...

A scan records the deliveries it owes in the transaction it is given (the same commit that
marks its work done) and returns their ids; the task layer commits, then queues them. The
scans run in `order`, each in its own transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session as DBSession

from workflow.config import Settings

Scan = Callable[[DBSession], list[int]]


@dataclass(frozen=True)
class Declared:
    name: str
    order: int
    run: Scan


_SCANS: dict[str, Declared] = {}


def scan(name: str, *, order: int) -> Callable[[Scan], Scan]:
    """Declare `name` a part of the follow-up scan; `order` places it among the others."""

    def declare(run: Scan) -> Scan:
        known = _SCANS.setdefault(name, Declared(name, order, run))
        if known.run is not run:
            raise ValueError(f"a scan named {name!r} is declared already: {known.run!r}")
        return run

    return declare


def scans() -> list[Declared]:
    """Every declared scan, in the order they run."""
    return sorted(_SCANS.values(), key=lambda s: (s.order, s.name))


def beat_schedule(settings: Settings) -> dict[str, dict]:
    """The periodic tasks beat sends, under the names the deployment knows them by."""
    every = settings.sweep_interval_seconds
    return {
        "sweep": {
            "task": "workflow.sweep",
            "schedule": every,
            "options": {"expires": every},
        },
        # Reminders, reports, digests and overviews: what is due is in the database.
        "follow-up": {
            "task": "workflow.follow_up",
            "schedule": every,
            "options": {"expires": every},
        },
    }
