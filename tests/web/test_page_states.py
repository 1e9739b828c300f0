"""Pages that say where things stand: a session's place among upcoming and past, its
reminders, when its outcomes can be recorded, what is overdue, one's own answer, and forms
that come back with a problem or in another language."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.api.world import World, build_world, ok
from tests.web.pages import csrf, signed_in_as
from workflow import clock
from workflow.invitations import rsvp

NOW = datetime.now(UTC).replace(microsecond=0)
BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture
def w(client) -> World:
    clock.freeze(NOW)
    return build_world(client)


def _at(days: float, **body: object) -> dict:
    start = NOW + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()} | (
        body
    )


def _section(page: str, heading_id: str) -> str:
    """The HTML of the card whose heading has this id."""
    found = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, heading_id
    return found.group(1)


def test_upcoming_holds_only_sessions_still_to_be_held(w: World) -> None:
    ahead = w.schedule(**_at(3, title="Nog te houden"))
    cancelled = w.schedule(**_at(4, title="Afgelast overleg"))
    ok(
        w.client.post(
            f"/api/v1/sessions/{cancelled['id']}/cancel", json={}, headers=w.auth("admin")
        )
    )
    c = signed_in_as(w, "co_chair")
    page = c.get(f"/forums/{w.forums['taskforce']}").text
    upcoming, past = _section(page, "h-upcoming"), _section(page, "h-past")
    assert ahead["title"] in upcoming and cancelled["title"] not in upcoming
    assert cancelled["title"] in past and "None yet." not in past
    assert "cancelled" in past  # marked as such, in words


def test_a_reminder_from_before_the_scheduling_is_skipped_not_failed(w: World) -> None:
    # Two days ahead: the week-before reminder's moment had passed when it was scheduled.
    sid = w.schedule(**_at(2))["id"]
    c = signed_in_as(w, "co_chair")
    reminders = _section(c.get(f"/sessions/{sid}").text, "h-reminders")
    assert "skipped: the session was scheduled or moved after this moment" in reminders
    assert "not sent" not in reminders
    assert "to come" in reminders  # the day-before reminder still goes
    nl = _section(signed_in_as(w, "co_chair", "nl").get(f"/sessions/{sid}").text, "h-reminders")
    assert "overgeslagen" in nl


def test_outcomes_and_action_items_wait_for_the_session_day(w: World) -> None:
    sid = w.schedule(**_at(21, agenda=[{"title": "Jobkanalen"}]))["id"]
    c = signed_in_as(w, "co_chair")
    page = c.get(f"/sessions/{sid}").text
    assert "Outcomes and action items can be recorded from the day of the session." in page
    assert "Record outcomes" not in page and "New action item" not in page
    clock.freeze(NOW + timedelta(days=21) - timedelta(hours=1))  # its day, before it starts
    c = signed_in_as(w, "co_chair")  # three weeks on: the browser session has ended
    page = c.get(f"/sessions/{sid}").text
    assert "Record outcomes" in page and "New action item" in page
    assert "can be recorded from the day of the session" not in page


def test_overdue_is_said_in_words_and_nothing_overdue_has_no_badge(w: World) -> None:
    c = signed_in_as(w, "co_chair")
    overview = c.get("/").text
    assert "Nothing overdue." in overview
    assert not re.search(r'class="badge bad">\s*0\s*<', overview)
    sid = w.schedule(**_at(1))["id"]
    ok(
        w.client.post(
            f"/api/v1/sessions/{sid}/action-items",
            json={
                "title": "Pendelenquête",
                "owner_person_id": w.people["member"],
                "due_date": str((NOW + timedelta(days=5)).date()),
            },
            headers=w.auth("admin"),
        ),
        201,
    )
    clock.freeze(NOW + timedelta(days=8))
    items = _section(c.get(f"/sessions/{sid}").text, "h-items")
    late = r'class="overdue".*Pendelenquête.*class="badge bad late">overdue<'
    assert re.search(late, items, re.S)
    overview = c.get("/").text
    assert re.search(r'Overdue in my forums <span class="badge bad">1</span>', overview)


def test_a_failed_form_comes_back_at_itself_with_its_problem_focused(w: World) -> None:
    sid = w.schedule(**_at(1, agenda=[{"title": "Jobkanalen"}]))["id"]
    clock.freeze(NOW + timedelta(days=1, minutes=30))
    c = signed_in_as(w, "co_chair")
    page = c.get(f"/sessions/{sid}").text
    for form in ("attendance#problem-attendance", "outcomes#problem-outcomes"):
        assert f'action="/sessions/{sid}/{form}"' in page, form
    assert f'action="/sessions/{sid}/action-items#problem-new-item"' in page
    r = c.post(f"/sessions/{sid}/action-items", data={"csrf": csrf(page), "title": ""})
    assert r.status_code == 422
    summary = r'role="alert" id="problem-new-item" tabindex="-1" data-focus>Nothing was saved'
    assert re.search(summary, r.text)
    assert 'document.querySelector("[data-focus]")' in r.text


def test_switching_language_on_a_preview_keeps_the_change(w: World) -> None:
    # At 10:00 in Brussels: the form's date, start and end fields cannot hold a session
    # that runs past midnight, as one starting at this hour of the evening would.
    day = (NOW + timedelta(days=5)).astimezone(BRUSSELS).date()
    start = datetime.combine(day, time(10), BRUSSELS)
    sid = w.schedule(starts_at=start.isoformat(), ends_at=(start + timedelta(hours=2)).isoformat())[
        "id"
    ]
    c = signed_in_as(w, "co_chair")
    form = c.get(f"/sessions/{sid}/reschedule").text
    fields = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    fields["location"] = "Stadhuis, Leuven"
    r = c.post(f"/sessions/{sid}/reschedule", data=fields)
    assert r.status_code == 200 and "Preview changes" in r.text
    # The language switch posts the same form again, in French: still the preview.
    switch = re.search(
        rf'<form method="post" action="/sessions/{sid}/reschedule\?lang=fr">(.*?)</form>',
        r.text,
        re.S,
    )
    assert switch, "no language switch that posts the form"
    again = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', switch.group(1)))
    assert again["location"] == "Stadhuis, Leuven" and "confirm" not in again
    fr = c.post(f"/sessions/{sid}/reschedule?lang=fr", data=again)
    assert fr.status_code == 200 and '<html lang="fr">' in fr.text
    assert "Stadhuis, Leuven" in fr.text and "Confirmer et prévenir" in fr.text


def test_the_session_page_highlights_ones_own_answer(w: World) -> None:
    sid = w.schedule(**_at(5))["id"]
    c = signed_in_as(w, "member")
    page = c.get(f"/sessions/{sid}").text
    r = c.post(f"/sessions/{sid}/answer", data={"csrf": csrf(page), "answer": "tentative"})
    assert r.status_code in (200, 303)
    page = c.get(f"/sessions/{sid}").text
    buttons = dict(re.findall(r'<button type="submit" name="answer" value="(\w+)"([^>]*)>', page))
    assert 'aria-pressed="true"' in buttons["tentative"]
    assert "secondary" not in buttons["tentative"]
    assert 'class="secondary"' in buttons["accepted"]
    assert "aria-pressed" not in buttons["accepted"]


def test_the_answer_page_from_the_mail_shows_the_answer_so_far(w: World) -> None:
    s = w.schedule(**_at(5))
    member = w.people["member"]
    ends = datetime.fromisoformat(s["ends_at"])
    maybe = "/rsvp/" + rsvp.sign(s["id"], member, "tentative", ends)
    accept = "/rsvp/" + rsvp.sign(s["id"], member, "accepted", ends)
    assert "Uw antwoord tot nu toe" not in w.client.get(accept).text  # not answered yet
    assert w.client.post(maybe).status_code == 200
    page = w.client.get(accept).text  # the member reads Dutch
    so_far = r'Uw antwoord tot nu toe: <span class="badge warn" data-current="tentative">'
    assert re.search(so_far, page)
    again = w.client.get(maybe).text
    assert 'data-current="tentative">✓ ' in again
