"""The one clock the code reads. Tests move it instead of sleeping."""

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin the clock at `at` (aware), or release it with None. For tests and replays."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen = at
