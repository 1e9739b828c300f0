from datetime import UTC, date, datetime, timedelta

import pytest

from workflow import rules
from workflow.rules import CoChairCandidate, CoChairPolicy, RuleError

BRUSSELS = "Europe/Brussels"


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2027, 3, 28, 10, 0), datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),  # change day
        (datetime(2027, 7, 1, 10, 0), datetime(2027, 7, 1, 8, 0, tzinfo=UTC)),
        (datetime(2027, 10, 31, 10, 0), datetime(2027, 10, 31, 9, 0, tzinfo=UTC)),  # change day
        (datetime(2027, 1, 14, 10, 0), datetime(2027, 1, 14, 9, 0, tzinfo=UTC)),
    ],
)
def test_wall_clock_time_in_brussels_to_utc(local: datetime, utc: datetime) -> None:
    assert rules.to_utc(local, BRUSSELS, "starts_at") == utc


def test_an_aware_time_is_kept_as_given() -> None:
    given = datetime(2027, 7, 1, 10, 0, tzinfo=UTC)
    assert rules.to_utc(given, BRUSSELS, "starts_at") == given


def test_skipped_and_repeated_times_are_refused() -> None:
    with pytest.raises(RuleError, match="does not exist"):
        rules.to_utc(datetime(2027, 3, 28, 2, 30), BRUSSELS, "starts_at")
    with pytest.raises(RuleError, match="happens twice") as exc:
        rules.to_utc(datetime(2027, 10, 31, 2, 30), BRUSSELS, "ends_at")
    assert exc.value.field == "ends_at"


def test_session_times() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    start = now + timedelta(days=1)
    rules.check_session_times(start, start + timedelta(hours=2), now)
    with pytest.raises(RuleError, match="end after"):
        rules.check_session_times(start, start, now)
    with pytest.raises(RuleError, match="past"):
        rules.check_session_times(now, now + timedelta(hours=1), now)
    with pytest.raises(RuleError, match="week"):
        rules.check_session_times(start, start + timedelta(days=7), now)


CROSS_BORDER = CoChairPolicy(minimum=2, maximum=2, distinct_countries=True)


def chair(pid: int, country: str, role: str | None = "co_chair") -> CoChairCandidate:
    return CoChairCandidate(pid, country, role)


def test_cross_border_policy_wants_one_french_and_one_belgian_co_chair() -> None:
    rules.check_co_chairs(CROSS_BORDER, [chair(1, "FR"), chair(2, "BE")])
    with pytest.raises(RuleError, match="different countries"):
        rules.check_co_chairs(CROSS_BORDER, [chair(1, "BE"), chair(2, "BE")])
    with pytest.raises(RuleError, match="need 2 co-chairs, not 1"):
        rules.check_co_chairs(CROSS_BORDER, [chair(1, "FR")])
    with pytest.raises(RuleError, match="need 2 co-chairs, not 3"):
        rules.check_co_chairs(CROSS_BORDER, [chair(1, "FR"), chair(2, "BE"), chair(3, "LU")])


def test_co_chairs_must_hold_the_role_in_the_forum() -> None:
    policy = CoChairPolicy(1, 2, False)
    with pytest.raises(RuleError, match=r"\[7\] are not co-chairs"):
        rules.check_co_chairs(policy, [chair(1, "BE"), chair(7, "BE", "member")])
    with pytest.raises(RuleError, match="not co-chairs"):
        rules.check_co_chairs(policy, [chair(8, "BE", None)])
    with pytest.raises(RuleError, match="twice"):
        rules.check_co_chairs(policy, [chair(1, "BE"), chair(1, "BE")])


def test_co_chair_policy_itself_is_consistent() -> None:
    rules.check_co_chair_policy(2, 2, True)
    with pytest.raises(RuleError):
        rules.check_co_chair_policy(3, 2, False)
    with pytest.raises(RuleError):
        rules.check_co_chair_policy(1, 1, True)


def test_calendar_changed_only_for_what_calendars_show() -> None:
    base = {"title": "A", "location": "Leuven", "status": "scheduled"}
    assert not rules.calendar_changed(base, dict(base))
    assert rules.calendar_changed(base, {**base, "location": "Tienen"})
    assert not rules.calendar_changed({**base, "outcome": "x"}, {**base, "outcome": "y"})


def test_a_forum_cannot_report_to_itself_or_its_descendants() -> None:
    rules.check_parent(1, None, [])
    rules.check_parent(2, 1, [1])
    with pytest.raises(RuleError):
        rules.check_parent(1, 1, [1])
    with pytest.raises(RuleError):
        # 3 reports to 2 which reports to 1: 1 cannot report to 3.
        rules.check_parent(1, 3, [3, 2, 1])


def test_overdue() -> None:
    today = date(2027, 5, 10)
    assert rules.is_overdue("open", date(2027, 5, 9), today)
    assert rules.is_overdue("in_progress", date(2027, 5, 9), today)
    assert not rules.is_overdue("open", today, today)
    assert not rules.is_overdue("done", date(2027, 5, 1), today)
    assert not rules.is_overdue("open", None, today)


def test_unknown_time_zone() -> None:
    with pytest.raises(RuleError, match="unknown time zone"):
        rules.zone("Europe/Atlantis")


@pytest.mark.parametrize(
    "title",
    [
        "Varia",
        "7. Varia",
        "Varia en rondvraag",
        "Rondvraag",
        "Divers",
        "Divers / tour de table",
        "Points divers",
        "Any other business",
        "AOB",
        "Volgende vergadering",
        "Clôture",
    ],
)
def test_closing_agenda_items_are_recognised(title: str) -> None:
    assert rules.is_closing_agenda_title(title)


@pytest.mark.parametrize(
    "title",
    [
        "Jobkanalen en mobiliteit",
        "Variabele snelheid op de R0",
        "Diversiteit op de werkvloer",
        "Closing the skills gap",
        "Goedkeuring verslag",
        "",
        "12.",
    ],
)
def test_other_agenda_items_are_not_closing(title: str) -> None:
    assert not rules.is_closing_agenda_title(title)


def test_new_items_go_before_the_closing_items() -> None:
    assert rules.agenda_insert_position([]) == 1
    assert rules.agenda_insert_position(["Goedkeuring verslag", "Mobiliteit"]) == 3
    assert rules.agenda_insert_position(["Goedkeuring verslag", "Mobiliteit", "Varia"]) == 3
    assert rules.agenda_insert_position(["Verslag", "Varia", "Rondvraag"]) == 2
    # Only the closing items at the end count: a 'Varia' in the middle is the managers' choice.
    assert rules.agenda_insert_position(["Varia", "Mobiliteit"]) == 3
    assert rules.agenda_insert_position(["Varia"]) == 1


def test_an_instant_is_written_on_the_zones_wall_clock_whatever_zone_it_is_given_in() -> None:
    from zoneinfo import ZoneInfo

    summer = datetime(2027, 7, 2, 8, 0, tzinfo=UTC)
    assert rules.local_iso(summer, "Europe/Brussels") == "2027-07-02T10:00:00+02:00"
    assert rules.local_iso(summer.astimezone(ZoneInfo("America/New_York")), "Europe/Brussels") == (
        "2027-07-02T10:00:00+02:00"
    )
    # The last hour before the autumn change and the first after it, one instant apart.
    assert rules.local_iso(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "Europe/Brussels") == (
        "2027-10-31T02:30:00+02:00"
    )
    assert rules.local_iso(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "Europe/Brussels") == (
        "2027-10-31T02:30:00+01:00"
    )
    with pytest.raises(RuleError):
        rules.local_iso(summer, "Europe/Atlantis")
