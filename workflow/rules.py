"""Pure domain rules: no I/O, no database. Each raises RuleError (workflow.errors) with the
field it is about."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from workflow.errors import RuleError
from workflow.vocabulary import ActionItemStatus, Role, SessionStatus

# Every time the service takes in lies between these days (on the UTC clock as well), so no
# arithmetic on a stored time (a calendar line, a reminder, an end past midnight) can ever
# reach year 10000. What may be scheduled is bounded much tighter: SCHEDULE_YEARS_AHEAD.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2999, 12, 31)
SCHEDULE_YEARS_AHEAD = 5


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError("unknown time zone %(name)s", "timezone", {"name": repr(name)}) from None


@lru_cache(maxsize=4096)
def local_iso(instant: datetime, zone_name: str) -> str:
    """An aware instant as ISO 8601 on the zone's wall clock, with its offset:
    2027-03-29T14:00:00+02:00. Remembered: a forum's pages show the same sessions' times over
    and over, converting and writing one costs more than reading the rest of its row, and the
    text depends on the instant and the zone alone, so it cannot go stale."""
    return instant.astimezone(zone(zone_name)).isoformat()


def is_known_timezone(name: str) -> bool:
    return name in available_timezones()


def to_utc(value: datetime, tz_name: str, field: str) -> datetime:
    """An aware time as given, or a wall-clock time in the forum's zone, as UTC.

    A wall-clock time that does not exist (skipped by the spring change) or exists twice
    (repeated by the autumn change) is refused rather than guessed.
    """
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tz = zone(tz_name)
    first = value.replace(tzinfo=tz, fold=0)
    second = value.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != value:
            raise RuleError(
                "%(time)s does not exist in %(zone)s (the clocks skip it)",
                field,
                {"time": f"{value:%Y-%m-%d %H:%M}", "zone": tz_name},
            )
        raise RuleError(
            "%(time)s happens twice in %(zone)s; give a UTC offset",
            field,
            {"time": f"{value:%Y-%m-%d %H:%M}", "zone": tz_name},
        )
    return first.astimezone(UTC)


def latest_start(now: datetime) -> datetime:
    """The latest moment a session may start: SCHEDULE_YEARS_AHEAD years from now."""
    try:
        return now.replace(year=now.year + SCHEDULE_YEARS_AHEAD)
    except ValueError:  # 29 February
        return now.replace(year=now.year + SCHEDULE_YEARS_AHEAD, day=28)


def check_session_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise RuleError("a session must end after it starts", "ends_at")
    if starts_at <= now:
        raise RuleError("a session cannot be scheduled in the past", "starts_at")
    if starts_at > latest_start(now):
        raise RuleError(
            "a session can be scheduled at most %(years)s years ahead",
            "starts_at",
            {"years": SCHEDULE_YEARS_AHEAD},
        )
    if (ends_at - starts_at).days >= 7:
        raise RuleError("a session cannot last a week or more", "ends_at")


def check_can_change(status: str) -> None:
    if status == SessionStatus.cancelled:
        raise RuleError("a cancelled session cannot be changed; schedule a new one", "status")
    if status == SessionStatus.held:
        raise RuleError("a session that was held cannot be moved", "status")


@dataclass(frozen=True)
class CoChairPolicy:
    minimum: int
    maximum: int
    distinct_countries: bool


@dataclass(frozen=True)
class CoChairCandidate:
    person_id: int
    country: str
    role_in_forum: str | None  # None when not a member of the forum


def check_co_chairs(policy: CoChairPolicy, candidates: Sequence[CoChairCandidate]) -> None:
    not_co_chairs = [c.person_id for c in candidates if c.role_in_forum != Role.co_chair]
    if not_co_chairs:
        raise RuleError(
            "persons %(ids)s are not co-chairs of this forum",
            "co_chair_ids",
            {"ids": not_co_chairs},
        )
    if len({c.person_id for c in candidates}) != len(candidates):
        raise RuleError("a co-chair is listed twice", "co_chair_ids")
    n = len(candidates)
    if n < policy.minimum or n > policy.maximum:
        counts: dict[str, object] = {"minimum": policy.minimum, "maximum": policy.maximum, "n": n}
        if policy.minimum == policy.maximum:
            raise RuleError(
                "this forum's sessions need %(minimum)s co-chairs, not %(n)s",
                "co_chair_ids",
                counts,
            )
        raise RuleError(
            "this forum's sessions need %(minimum)s to %(maximum)s co-chairs, not %(n)s",
            "co_chair_ids",
            counts,
        )
    if policy.distinct_countries and len({c.country for c in candidates}) != n:
        raise RuleError("this forum's co-chairs must come from different countries", "co_chair_ids")


def check_co_chair_policy(minimum: int, maximum: int, distinct_countries: bool) -> None:
    if minimum < 1 or maximum < minimum:
        raise RuleError("co-chairs: need 1 <= minimum <= maximum", "co_chairs_max")
    if distinct_countries and maximum < 2:
        raise RuleError(
            "co-chairs from different countries needs a maximum of 2 or more", "co_chairs_max"
        )


# What a calendar shows. A change to any of these raises the iCalendar SEQUENCE.
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "timezone", "location", "online_url", "status")


def calendar_changed(before: dict[str, object], after: dict[str, object]) -> bool:
    return any(before.get(f) != after.get(f) for f in CALENDAR_FIELDS)


def check_parent(forum_id: int, parent_id: int | None, ancestors_of_parent: Iterable[int]) -> None:
    """A forum cannot report to itself, directly or through its descendants."""
    if parent_id is None:
        return
    if parent_id == forum_id or forum_id in set(ancestors_of_parent):
        raise RuleError("a forum cannot report to itself or to one of its own bodies", "parent_id")


def is_overdue(status: str, due_date: date | None, today: date) -> bool:
    return (
        due_date is not None
        and due_date < today
        and status in (ActionItemStatus.open, ActionItemStatus.in_progress)
    )


def check_action_item_owner(owner_person_id: int | None, owner_organisation_id: int | None) -> None:
    if owner_person_id is None and owner_organisation_id is None:
        raise RuleError(
            "an action item needs an owner: a person or an organisation", "owner_person_id"
        )


# Numbers as Belgians write them ---------------------------------------------------------------

_SPACES = (" ", "\u00a0", "\u202f")  # a space, a no-break space, a narrow no-break space
_GROUPED = re.compile(r"\d{1,3}(?:[%s]\d{3})+")


def _ungrouped(whole: str, separators: str) -> str | None:
    """'12.000' or '12 000' without its thousands separators; None when the groups are not
    of three digits."""
    if whole.isdigit():
        return whole
    if not re.fullmatch(_GROUPED.pattern % re.escape(separators), whole):
        return None
    return re.sub(f"[{re.escape(separators)}]", "", whole)


def read_number(text: str, field: str) -> float | None:
    """A number as a person writes it on a Belgian page: '12,5', '12000.5', '12.000,5',
    '12 000,5' (also with a no-break space); empty is no value. A form that reads two ways
    ('12.000': twelve, or twelve thousand?) or with other digits than 0 to 9 is refused."""
    value = text.strip()
    if not value:
        return None
    sign = ""
    if value[0] in "-+\u2212":  # a hyphen, a plus or a minus sign
        sign, value = ("-" if value[0] != "+" else ""), value[1:].lstrip()
    if any(c.isdigit() and c not in "0123456789" for c in value):
        raise RuleError("write the number with the digits 0 to 9", field)
    if not value or not all(c in "0123456789.," or c in _SPACES for c in value):
        raise RuleError("give a number", field)
    commas, dots = value.count(","), value.count(".")
    spaced = any(s in value for s in _SPACES)
    spaces = "".join(_SPACES)
    if commas and dots:  # the last of the two is the decimal mark, the other groups thousands
        mark = "," if value.rfind(",") > value.rfind(".") else "."
        whole, _, part = value.rpartition(mark)
        whole = _ungrouped(whole, ("." if mark == "," else ",") + spaces) or ""
    elif commas == 1:  # the decimal comma
        whole, _, part = value.partition(",")
        whole = _ungrouped(whole, "." + spaces) or ""
    elif dots == 1 and (spaced or len(value.partition(".")[2]) != 3):  # a decimal point
        whole, _, part = value.partition(".")
        whole = _ungrouped(whole, spaces) or ""
    elif dots == 1:  # '12.000': twelve thousand on a Belgian page, twelve on an English one
        whole, _, part = value.partition(".")
        raise RuleError(
            "%(value)s can be read two ways: write %(thousands)s or %(decimal)s",
            field,
            {"value": text.strip(), "thousands": whole + part, "decimal": f"{whole},{part}"},
        )
    elif commas == 0:  # '1.000.000', '12 000', '12000'
        whole, part = _ungrouped(value, "." + spaces) or "", ""
    else:
        whole, part = "", ""
    if not whole.isdigit() or not (part == "" or part.isdigit()):
        raise RuleError("give a number", field)
    return float(f"{sign}{whole}.{part or 0}")


# The closing items of an agenda ("Varia", "Rondvraag", "Divers", "Any other business"): an
# item added without a place of its own, a child forum's report-back included, goes before
# them, so they stay last as the forums write their agendas.
CLOSING_AGENDA_TITLES = frozenset(
    {
        "varia",
        "rondvraag",
        "allerlei",
        "mededelingen",
        "volgende vergadering",
        "sluiting",
        "divers",
        "points divers",
        "questions diverses",
        "tour de table",
        "prochaine réunion",
        "clôture",
        "any other business",
        "aob",
        "other business",
        "next meeting",
        "closing",
    }
)


def is_closing_agenda_title(title: str) -> bool:
    """'Varia', '7. Varia en rondvraag', 'Divers / tour de table', 'AOB': an item that closes
    a meeting (its number and punctuation aside, every part is a closing item's name)."""
    words = "".join(
        c if c.isalnum() or c.isspace() else " " if c not in "/&+" else " en "
        for c in title.casefold()
    ).split()
    while words and words[0].isdigit():
        words.pop(0)
    parts = " ".join(words)
    for joiner in (" et ", " and "):
        parts = parts.replace(joiner, " en ")
    return bool(parts) and all(p in CLOSING_AGENDA_TITLES for p in parts.split(" en "))


def agenda_insert_position(titles: Sequence[str]) -> int:
    """Where (1-based) an item without a place of its own joins an agenda whose items have
    these titles in order: before the closing items at its end, else last."""
    index = len(titles)
    while index > 0 and is_closing_agenda_title(titles[index - 1]):
        index -= 1
    return index + 1
