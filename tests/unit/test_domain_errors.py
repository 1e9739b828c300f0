"""Domain errors carry a message id and its parameters, and nothing of HTTP; the HTTP side
gives each class its status and headers. The calendar SEQUENCE rises in one function."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from workflow import calendar_sequence, errors, rules, spine
from workflow.http.problem import detail_of, headers_of, status_of
from workflow.models import MeetingSession


def test_an_error_says_its_message_id_with_its_parameters() -> None:
    missing = errors.NotFound("session %(id)s does not exist", id=42)
    assert missing.msgid == "session %(id)s does not exist" and missing.params == {"id": 42}
    assert missing.detail == str(missing) == "session 42 does not exist"
    taken = errors.Conflict("person %(person)s already takes part in this session", person=7)
    assert taken.detail == "person 7 already takes part in this session"
    # Without parameters the id is the text, even with a % in it.
    odd = errors.Invalid("100% sure")
    assert odd.msgid == odd.detail == "100% sure" and odd.params == {}
    assert errors.Forbidden().detail == "you may not do this in this forum"


def test_a_version_conflict_tells_the_current_version() -> None:
    exc = errors.VersionConflict(4)
    assert exc.current == 4 and exc.params == {"current": 4}
    assert exc.detail == (
        "this was changed meanwhile (now at version 4); reload it and apply your change again"
    )


def test_a_broken_rule_is_a_domain_error_about_a_field() -> None:
    with pytest.raises(errors.DomainError) as caught:
        rules.check_session_times(
            datetime(2030, 1, 1, 10, tzinfo=UTC),
            datetime(2030, 1, 1, 9, tzinfo=UTC),
            datetime(2029, 1, 1, tzinfo=UTC),
        )
    assert isinstance(caught.value, rules.RuleError) and caught.value.field == "ends_at"
    far = rules.RuleError("at most %(years)s years ahead", "starts_at", {"years": 5})
    assert far.msgid == "at most %(years)s years ahead" and far.params == {"years": 5}
    assert far.detail == "at most 5 years ahead"


def test_domain_errors_hold_no_http() -> None:
    for exc in (errors.NotFound("gone"), errors.VersionConflict(2), errors.PreconditionRequired()):
        assert not hasattr(exc, "status") and not hasattr(exc, "headers")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, workflow.rules; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "fastapi" not in loaded and "starlette" not in loaded and "celery" not in loaded


@pytest.mark.parametrize(
    ("exc", "status", "headers"),
    [
        (errors.NotFound("x %(id)s does not exist", id=1), 404, {}),
        (errors.Forbidden(), 403, {}),
        (errors.Conflict("taken"), 409, {}),
        (errors.VersionConflict(3), 412, {"ETag": '"3"'}),
        (errors.PreconditionRequired(), 428, {}),
        (errors.Invalid("nothing to change"), 422, {}),
        (rules.RuleError("a session must end after it starts", "ends_at"), 422, {}),
    ],
)
def test_the_http_side_gives_each_class_its_status(
    exc: errors.DomainError, status: int, headers: dict[str, str]
) -> None:
    assert status_of(exc) == status and headers_of(exc) == headers


def test_the_api_says_how_to_send_the_version() -> None:
    assert "If-Match" not in errors.PreconditionRequired().detail
    assert detail_of(errors.PreconditionRequired()) == (
        "send the version you edited as If-Match (or 'version') so no change is lost"
    )
    assert detail_of(errors.Forbidden()) == "you may not do this in this forum"


# The calendar SEQUENCE ---------------------------------------------------------------------


def _session() -> MeetingSession:
    start = datetime(2030, 3, 4, 9, tzinfo=UTC)
    return MeetingSession(
        forum_id=1,
        title="Overleg",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Brussels",
        location="Leuven",
        uid="s@example.org",
        sequence=3,
    )


def test_sequence_rises_only_for_what_a_calendar_shows() -> None:
    s = _session()
    before = calendar_sequence.shown(s)
    s.cancel_reason = "not shown in a calendar"
    assert not calendar_sequence.raise_if_changed(s, before) and s.sequence == 3
    s.location = "Tienen"
    assert calendar_sequence.raise_if_changed(s, before) and s.sequence == 4
    # Once per change, however many fields it touched.
    before = calendar_sequence.shown(s)
    s.title, s.status = "Ander overleg", "cancelled"
    assert calendar_sequence.raise_if_changed(s, before) and s.sequence == 5


def test_sequence_rises_for_the_agenda_and_the_attendees_as_the_caller_says() -> None:
    s = _session()
    assert not calendar_sequence.raise_if_changed(s) and s.sequence == 3
    assert not calendar_sequence.raise_if_changed(s, agenda=False) and s.sequence == 3
    assert calendar_sequence.raise_if_changed(s, agenda=True) and s.sequence == 4
    assert calendar_sequence.raise_if_changed(s, attendees=True) and s.sequence == 5
    before = calendar_sequence.shown(s)
    s.location = "Tienen"
    assert calendar_sequence.raise_if_changed(s, before, attendees=True) and s.sequence == 6


# Listeners on the spine ---------------------------------------------------------------------


def test_reminders_and_report_backs_listen_to_session_changes() -> None:
    import workflow.workflows  # noqa: F401  # what the application, worker and tests import
    from workflow.follow_up import reminders
    from workflow.reports import report_back

    listening = spine._session_listeners
    assert reminders.follow_the_session in listening
    assert report_back.follow_the_session in listening
    spine.on_session_changed(reminders.follow_the_session)  # registering twice: once
    assert listening.count(reminders.follow_the_session) == 1


def test_a_change_nobody_listens_to_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[spine.SessionChange] = []
    monkeypatch.setattr(spine, "_session_listeners", [lambda db, s, change: heard.append(change)])
    monkeypatch.setattr(spine, "_all_registered", False)
    with pytest.raises(RuntimeError, match=r"import workflow\.workflows"):
        spine.session_changed(None, _session(), spine.SessionChange.moved)  # type: ignore[arg-type]
    monkeypatch.setattr(spine, "_all_registered", True)
    spine.session_changed(None, _session(), spine.SessionChange.moved)  # type: ignore[arg-type]
    assert heard == [spine.SessionChange.moved]
