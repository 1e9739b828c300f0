"""The one clock the code reads. Tests move it instead of sleeping.

In one process, `freeze` pins it. Across processes (a real worker and beat under test, or a
rehearsal), the setting clock_offset_file names a file holding seconds to add to real time:
time still runs, so leases and backoffs behave, but the test decides what day it is.
"""

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from workflow.config import get_settings

_frozen: datetime | None = None
_offset_cache: tuple[int, float] | None = None  # (mtime_ns, seconds)


def _offset() -> float:
    global _offset_cache
    path = get_settings().clock_offset_file
    if path is None:
        return 0.0
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0.0
    if _offset_cache is None or _offset_cache[0] != mtime:
        text = path.read_text().strip()
        _offset_cache = (mtime, float(text) if text else 0.0)
    return _offset_cache[1]


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + timedelta(seconds=_offset())


def local_now(zone: str | None = None) -> datetime:
    """Now on the wall clock of `zone`, by default the forums' zone (every forum served is on
    Central European time)."""
    return now().astimezone(ZoneInfo(zone or get_settings().default_timezone))


def today(zone: str | None = None) -> date:
    """Today's calendar day in `zone`, by default the forums' zone: a due date is a Belgian
    calendar day."""
    return local_now(zone).date()


def freeze(at: datetime | None) -> None:
    """Pin the clock at `at` (aware), or release it with None. For tests and replays."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen = at


def set_offset_file(path: Path, to: datetime) -> None:
    """Make every process reading `path` see `to` now (tests and rehearsals)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{(to - datetime.now(UTC)).total_seconds():.6f}\n")
    os.replace(tmp, path)
