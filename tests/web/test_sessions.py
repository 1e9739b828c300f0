"""Scheduling, rescheduling and cancelling through the forms: the same domain effects as the
API (version, events, mail owed), a preview of who will be told, and clear refusals."""

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from tests.api.world import World, ok
from tests.web.pages import csrf, post_form, signed_in_as
from workflow.db import db_session
from workflow.invitations.reconcile import reconcile_session
from workflow.models import Delivery, Event


def _day(days: int = 21) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def _schedule_form(w: World, **overrides: object) -> dict:
    data: dict = {
        "title": "Jobkanalen en mobiliteit",
        "date": _day(),
        "start": "14:00",
        "end": "16:00",
        "location": "Provinciehuis, Leuven",
        "online_url": "",
        "co_chair_ids": [str(w.people["co_chair"]), str(w.people["co_chair_2"])],
        "participant_ids": [str(w.people[p]) for p in ("secretariat", "member")],
        "agenda": "Stand van zaken\nJobkanalen",
    }
    data.update(overrides)
    return data


def _events(session_id: int) -> list[str]:
    with db_session() as db:
        return list(db.exec(select(Event.kind).where(Event.session_id == session_id)).all())


def _schedule(w: World, who: str = "co_chair", **overrides: object) -> int:
    c = signed_in_as(w, who)
    fid = w.forums["taskforce"]
    r = post_form(
        c,
        f"/forums/{fid}/sessions/new",
        f"/forums/{fid}/sessions/new",
        _schedule_form(w, **overrides),
    )
    assert r.status_code == 303, r.text
    found = re.match(r"^/sessions/(\d+)\?done=scheduled$", r.headers["location"])
    assert found, r.headers["location"]
    return int(found.group(1))


def test_scheduling_through_the_form_is_scheduling_through_the_api(w: World) -> None:
    sid = _schedule(w)
    s = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert s["version"] == 1 and s["status"] == "scheduled" and s["sequence"] == 0
    # 14:00 on the forum's wall clock (Europe/Brussels).
    assert s["starts_at_local"].startswith(f"{_day()}T14:00:00+0")
    roles = {p["person_id"]: p["role"] for p in s["participants"]}
    assert roles == {
        w.people["co_chair"]: "co_chair",
        w.people["co_chair_2"]: "co_chair",
        w.people["secretariat"]: "participant",
        w.people["member"]: "participant",
    }
    assert [a["title"] for a in s["agenda"]] == ["Stand van zaken", "Jobkanalen"]
    assert _events(sid) == ["session.scheduled"]
    _, created = reconcile_session(sid)
    assert len(created) == 4  # an invitation each
    page = w.client.get(f"/sessions/{sid}?done=scheduled")
    assert "The invitations are on their way." in page.text
    # Reminders 7 days and 1 day before, at the session's wall-clock time.
    reminders = page.text.split('id="h-reminders"')[1].split("</section>")[0]
    assert reminders.count("14:00 ·") == 2 and reminders.count("to come") == 2
    assert "Jobkanalen en mobiliteit" in page.text and "Mieke Vandenberghe" in page.text


def test_a_bad_schedule_form_shows_the_form_again_with_the_reason(w: World) -> None:
    c = signed_in_as(w, "co_chair")
    fid = w.forums["cross_border"]
    w.member("cross_border", "co_chair", "secretariat")
    c = signed_in_as(w, "co_chair")
    same_country = [str(w.people["be_mayor"]), str(w.people["be_mayor_2"])]
    url = f"/forums/{fid}/sessions/new"
    r = post_form(c, url, url, _schedule_form(w, co_chair_ids=same_country, participant_ids=[]))
    assert r.status_code == 422
    assert "The session was not scheduled" in r.text and "different countries" in r.text
    assert 'value="Jobkanalen en mobiliteit"' in r.text  # what was typed is kept
    pair = [str(w.people["fr_mayor"]), str(w.people["be_mayor"])]
    for bad in (
        {"date": "31-02-2027"},
        {"start": "25:00"},
        {"title": ""},
        {"online_url": "not a url"},
        {"co_chair_ids": ["x"]},
        {"title": "a\x07b"},
    ):
        form = _schedule_form(w, co_chair_ids=pair, participant_ids=[]) | bad
        r = post_form(c, url, url, form)
        assert r.status_code == 422, (bad, r.text)
        assert "Traceback" not in r.text and "<form" in r.text
    # A time the clocks skip in spring: refused with the domain's words.
    year = datetime.now(UTC).year + 1
    spring = max(d for d in (datetime(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    r = post_form(
        c,
        url,
        url,
        _schedule_form(
            w,
            date=spring.date().isoformat(),
            start="02:30",
            end="04:00",
            co_chair_ids=[str(w.people["fr_mayor"]), str(w.people["be_mayor"])],
        ),
    )
    assert r.status_code == 422 and "Europe/Brussels" in r.text


def test_the_co_chair_policy_is_checked_live(w: World) -> None:
    w.member("cross_border", "secretariat", "secretariat")
    c = signed_in_as(w, "secretariat")
    fid = w.forums["cross_border"]
    check = f"/forums/{fid}/co-chair-check"
    both_be = c.get(
        check, params={"co_chair_ids": [w.people["be_mayor"], w.people["be_mayor_2"]]}
    ).json()
    assert both_be == {
        "ok": False,
        "detail": "this forum's co-chairs must come from different countries",
    }
    one = c.get(check, params={"co_chair_ids": [w.people["fr_mayor"]]}).json()
    assert one["ok"] is False and "2" in one["detail"]
    good = c.get(
        check, params={"co_chair_ids": [w.people["fr_mayor"], w.people["be_mayor"]]}
    ).json()
    assert good == {"ok": True, "detail": ""}
    form = c.get(f"/forums/{fid}/sessions/new").text
    assert 'id="co-chair-verdict" role="status"' in form and "different countries" in form


def test_reschedule_shows_who_will_be_told_then_bumps_the_version(w: World) -> None:
    sid = _schedule(w)
    reconcile_session(sid)
    c = w.client
    form = c.get(f"/sessions/{sid}/reschedule").text
    assert 'name="version" value="1"' in form and 'value="14:00"' in form
    moved = {
        "csrf": csrf(form),
        "version": "1",
        "title": "Jobkanalen en mobiliteit",
        "date": _day(),
        "start": "15:00",
        "end": "17:00",
        "location": "Provinciehuis, Leuven",
        "online_url": "",
    }
    preview = c.post(f"/sessions/{sid}/reschedule", data=moved)
    assert preview.status_code == 200
    for name in ("Mieke Vandenberghe", "Jan Peeters", "Sofie Janssens", "Koen Wouters"):
        assert name in preview.text
    assert preview.text.count("an updated invitation") == 4
    changes = preview.text.split("What changes")[1].split("Who will be told")[0]
    assert "14:00–16:00" in changes and "15:00–17:00" in changes and "Provinciehuis" not in changes
    assert "Confirm and notify" in preview.text
    # The preview changed nothing.
    assert ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))["version"] == 1
    assert _events(sid) == ["session.scheduled"]
    r = c.post(
        f"/sessions/{sid}/reschedule", data={**moved, "confirm": "1"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}?done=rescheduled"
    s = ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert s["version"] == 2 and s["sequence"] == 1 and "T15:00:00" in s["starts_at_local"]
    assert _events(sid) == ["session.scheduled", "session.updated"]
    _, created = reconcile_session(sid)
    with db_session() as db:
        kinds = {d.reason for d in db.exec(select(Delivery).where(Delivery.id.in_(created))).all()}
    assert len(created) == 4 and kinds == {"update"}


def test_a_stale_version_says_so_and_saves_nothing(w: World) -> None:
    sid = _schedule(w)
    c = w.client
    form = c.get(f"/sessions/{sid}/reschedule").text
    # Meanwhile the other co-chair moves it through the API.
    ok(
        c.patch(
            f"/api/v1/sessions/{sid}",
            headers={**w.auth("co_chair_2"), "If-Match": '"1"'},
            json={"location": "Stadhuis, Leuven"},
        )
    )
    stale = {
        "csrf": csrf(form),
        "version": "1",
        "title": "Ander onderwerp",
        "date": _day(),
        "start": "15:00",
        "end": "17:00",
        "location": "Provinciehuis, Leuven",
        "online_url": "",
        "confirm": "1",
    }
    r = c.post(f"/sessions/{sid}/reschedule", data=stale)
    assert r.status_code == 409
    assert (
        "Someone changed this session meanwhile" in r.text and 'name="version" value="2"' in r.text
    )
    assert 'value="Stadhuis, Leuven"' in r.text  # the form shows the session as it now is
    s = ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert s["title"] == "Jobkanalen en mobiliteit" and s["location"] == "Stadhuis, Leuven"


def test_cancel_previews_the_cancellations_then_cancels(w: World) -> None:
    sid = _schedule(w)
    reconcile_session(sid)
    c = w.client
    form = c.get(f"/sessions/{sid}/cancel").text
    data = {"csrf": csrf(form), "version": "1", "reason": "Te weinig deelnemers"}
    preview = c.post(f"/sessions/{sid}/cancel", data=data)
    assert preview.text.count("a cancellation") == 4 and "Confirm cancellation" in preview.text
    assert ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))["status"] == "scheduled"
    r = c.post(f"/sessions/{sid}/cancel", data={**data, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303
    s = ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert (
        s["status"] == "cancelled"
        and s["version"] == 2
        and s["cancel_reason"] == "Te weinig deelnemers"
    )
    assert _events(sid)[-1] == "session.cancelled"
    _, created = reconcile_session(sid)
    assert len(created) == 4
    page = c.get(f"/sessions/{sid}")
    assert "Te weinig deelnemers" in page.text and "/reschedule" not in page.text
    again = c.get(f"/sessions/{sid}/cancel")
    assert "no longer scheduled" in again.text


def test_the_session_page_shows_answers_mail_status_and_the_calendar_file(w: World) -> None:
    sid = _schedule(w)
    _, created = reconcile_session(sid)
    with db_session() as db:
        rows = db.exec(select(Delivery).where(Delivery.id.in_(created))).all()
        by_person = {d.person_id: d for d in rows}
        by_person[w.people["member"]].status = "failed"
        by_person[w.people["member"]].last_answer = "550 5.1.1 mailbox unavailable"
        by_person[w.people["secretariat"]].status = "sent"
        by_person[w.people["secretariat"]].sent_at = datetime.now(UTC)
        db.add_all(rows)
    from workflow.invitations import answers

    with db_session() as db:
        answers.record_answer(db, sid, w.people["co_chair_2"], "accepted", "link")
    page = w.client.get(f"/sessions/{sid}").text
    assert "550 5.1.1 mailbox unavailable" in page and "failed" in page and ">sent<" in page
    assert "I will attend" in page and "not answered" in page
    assert "Stand van zaken" in page
    ics = w.client.get(f"/sessions/{sid}/calendar.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert b"SUMMARY:Jobkanalen en mobiliteit" in ics.content
    # A member reads the page but not the mail status (managers only, as in the API).
    member = signed_in_as(w, "member").get(f"/sessions/{sid}").text
    assert (
        "Invitation mail" not in member and "550 5.1.1" not in member and "I will attend" in member
    )


def test_html_in_a_title_is_shown_as_text(w: World) -> None:
    sid = _schedule(w, title='<script>alert("x")</script> & co', agenda="<b>vet</b>")
    page = w.client.get(f"/sessions/{sid}").text
    assert (
        "<script>alert" not in page
        and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    )
    assert "<b>vet</b>" not in page and "&lt;b&gt;vet&lt;/b&gt;" in page
    overview = w.client.get("/").text
    assert "<script>alert" not in overview


def test_a_field_in_error_says_so_to_screen_readers(w: World) -> None:
    c = signed_in_as(w, "co_chair")
    url = f"/forums/{w.forums['taskforce']}/sessions/new"
    r = post_form(c, url, url, _schedule_form(w, online_url="not a url"))
    assert r.status_code == 422
    assert 'aria-invalid="true" aria-describedby="err-online_url"' in r.text
    assert 'id="err-online_url"' in r.text


def test_a_participant_answers_on_the_session_page(w: World) -> None:
    s = w.schedule()
    c = signed_in_as(w, "member")
    page = c.get(f"/sessions/{s['id']}").text
    assert "Your answer: no answer yet" in page
    r = c.post(
        f"/sessions/{s['id']}/answer",
        data={"csrf": csrf(page), "answer": "tentative"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Your answer has been recorded: I may attend" in c.get(r.headers["location"]).text
    answers = ok(w.client.get(f"/api/v1/sessions/{s['id']}/answers", headers=w.auth("member")))
    assert [p["person_id"] for p in answers["tentative"]] == [w.people["member"]]
    with db_session() as db:
        event = db.exec(select(Event).where(Event.kind == "session.answered")).one()
    assert event.actor == f"person:{w.people['member']} via web"
    bad = c.post(f"/sessions/{s['id']}/answer", data={"csrf": csrf(page), "answer": "maybe"})
    assert bad.status_code == 422
    # Someone reading the forum but not invited cannot answer.
    w.member("taskforce", "outsider", "observer")
    other = signed_in_as(w, "outsider")
    page = other.get(f"/sessions/{s['id']}").text
    assert "Your answer:" not in page
    r = other.post(f"/sessions/{s['id']}/answer", data={"csrf": csrf(page), "answer": "accepted"})
    assert r.status_code == 409


def test_reschedule_changes_the_co_chairs_with_the_policy_checked(w: World) -> None:
    sid = _schedule(w)
    reconcile_session(sid)
    c = w.client
    form = c.get(f"/sessions/{sid}/reschedule").text
    assert f'id="co-chair-{w.people["co_chair"]}" name="co_chair_ids"' in form
    assert 'name="co_chairs_shown"' in form and form.count(" checked>") == 2
    base = {
        "csrf": csrf(form),
        "version": "1",
        "title": "Jobkanalen en mobiliteit",
        "date": _day(),
        "start": "14:00",
        "end": "16:00",
        "location": "Provinciehuis, Leuven",
        "online_url": "",
        "co_chairs_shown": "1",
    }
    # No co-chair at all: the policy says no, and the form says why.
    none = c.post(f"/sessions/{sid}/reschedule", data=base)
    assert none.status_code == 422 and "need 1 to 2 co-chairs, not 0" in none.text
    one = {**base, "co_chair_ids": [str(w.people["co_chair"])]}
    preview = c.post(f"/sessions/{sid}/reschedule", data=one)
    changes = preview.text.split("What changes")[1].split("Who will be told")[0]
    assert (
        "Mieke Vandenberghe, Jan Peeters" in changes or "Jan Peeters, Mieke Vandenberghe" in changes
    )
    assert preview.text.count("an updated invitation") == 4
    # The preview's form carries the choice on, as it was ticked.
    assert f'name="co_chair_ids" value="{w.people["co_chair"]}"' in preview.text
    r = c.post(f"/sessions/{sid}/reschedule", data={**one, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303
    s = ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    roles = {p["person_id"]: p["role"] for p in s["participants"]}
    assert (
        roles[w.people["co_chair"]] == "co_chair" and roles[w.people["co_chair_2"]] == "participant"
    )
    assert s["sequence"] == 1


def test_a_session_past_midnight_is_scheduled_and_rescheduled_through_the_form(w: World) -> None:
    """An evening session that ends after midnight: the end date says which day it ends, the
    reschedule form shows it, and posting the form back unchanged keeps both times."""
    day = _day()
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    sid = _schedule(w, start="20:00", end="00:30", end_date=next_day)
    s = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert s["starts_at_local"].startswith(f"{day}T20:00:00")
    assert s["ends_at_local"].startswith(f"{next_day}T00:30:00")
    c = w.client
    form = c.get(f"/sessions/{sid}/reschedule").text
    assert f'name="end_date" value="{next_day}"' in form and 'value="00:30"' in form
    unchanged = {
        "csrf": csrf(form),
        "version": "1",
        "title": "Jobkanalen en mobiliteit",
        "date": day,
        "start": "20:00",
        "end": "00:30",
        "end_date": next_day,
        "location": "Provinciehuis, Leuven",
        "online_url": "",
    }
    preview = c.post(f"/sessions/{sid}/reschedule", data=unchanged)
    assert preview.status_code == 200, preview.text
    assert "Confirm and notify" in preview.text
    # One hour later, still ending after midnight; the preview says on which day.
    later = {**unchanged, "start": "21:00", "end": "01:30"}
    preview = c.post(f"/sessions/{sid}/reschedule", data=later)
    assert preview.status_code == 200, preview.text
    changes = preview.text.split("What changes")[1].split("Who will be told")[0]
    assert "21:00 –" in changes and "01:30" in changes
    r = c.post(
        f"/sessions/{sid}/reschedule", data={**later, "confirm": "1"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    s = ok(c.get(f"/api/v1/sessions/{sid}", headers=w.auth("member")))
    assert s["starts_at_local"].startswith(f"{day}T21:00:00")
    assert s["ends_at_local"].startswith(f"{next_day}T01:30:00")
    # Without an end date, the end is on the start's day: a session ending before it starts
    # is refused, as it was.
    wrong = c.post(f"/sessions/{sid}/reschedule", data={**later, "version": "2", "end_date": ""})
    assert wrong.status_code == 422 and "must end after it starts" in wrong.text
    # A session within one day shows no end date.
    same_day = _schedule(w)
    form = c.get(f"/sessions/{same_day}/reschedule").text
    assert 'name="end_date" value=""' in form
