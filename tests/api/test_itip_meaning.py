"""What a calendar client's iTIP message means (RFC 5546), on both databases: answers applied
by the attendee's SEQUENCE and DTSTAMP rather than by arrival (also racing an answer by
link), delegation to a deputy, a request for the current version, a proposed new time."""

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
from sqlmodel import col, select

from tests.api.world import World, ok
from tests.conftest import ADMIN
from workflow.db import db_session
from workflow.invitations import answers, counters, rsvp
from workflow.invitations.reconcile import reconcile_session
from workflow.mail.outbox import compose_mail
from workflow.models import Delivery

CAL = {**ADMIN, "Content-Type": "text/calendar"}


def itip(
    uid: str,
    email: str,
    partstat: str = "ACCEPTED",
    *,
    method: str = "REPLY",
    sequence: int = 0,
    dtstamp: datetime | None = None,
    **params: Any,
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Test client//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("sequence", sequence)
    ev.add("dtstamp", dtstamp or datetime.now(UTC))
    attendee = icalendar.vCalAddress(f"mailto:{email}")
    if method == "REPLY":
        attendee.params["PARTSTAT"] = partstat
    attendee.params.update(params)
    ev.add("attendee", attendee)
    cal.add_component(ev)
    return cal.to_ical()


def answer_of(w: World, session: dict, who: str) -> str:
    found = ok(w.client.get(f"/api/v1/sessions/{session['id']}/answers", headers=ADMIN))
    for partstat, people in found.items():
        if any(p["person_id"] == w.people[who] for p in people):
            return str(partstat)
    raise AssertionError(f"{who} takes no part")


def answered_events(w: World, session: dict) -> int:
    events = ok(
        w.client.get(
            f"/api/v1/sessions/{session['id']}/events",
            headers=ADMIN,
            params={"kind": "session.answered"},
        )
    )
    return int(events["total"])


def test_an_older_reply_arriving_last_changes_nothing(w: World) -> None:
    s = w.schedule()
    now = datetime.now(UTC).replace(microsecond=0)
    post = w.client.post
    ok(
        post(
            "/api/v1/itip/reply",
            content=itip(
                s["uid"], "member@example.org", "ACCEPTED", dtstamp=now - timedelta(minutes=1)
            ),
            headers=CAL,
        )
    )
    # Made earlier (declined, then changed their mind), delivered later: ignored, not refused.
    late = post(
        "/api/v1/itip/reply",
        content=itip(
            s["uid"], "member@example.org", "DECLINED", dtstamp=now - timedelta(minutes=5)
        ),
        headers=CAL,
    )
    assert late.status_code == 200 and late.json()[0]["partstat"] == "accepted"
    assert answer_of(w, s, "member") == "accepted"
    # The same reply handed in twice records one answer.
    again = itip(s["uid"], "member@example.org", "ACCEPTED", dtstamp=now - timedelta(minutes=1))
    ok(post("/api/v1/itip/reply", content=again, headers=CAL))
    assert answered_events(w, s) == 1

    # The session moves: SEQUENCE 1. A reply to it counts whatever its DTSTAMP says...
    moved = (datetime.fromisoformat(s["starts_at"]) + timedelta(hours=1)).isoformat()
    ends = (datetime.fromisoformat(s["ends_at"]) + timedelta(hours=1)).isoformat()
    patched = ok(
        w.client.patch(
            f"/api/v1/sessions/{s['id']}",
            json={"starts_at": moved, "ends_at": ends},
            headers={**ADMIN, "If-Match": '"1"'},
        )
    )
    assert patched["sequence"] == 1
    ok(
        post(
            "/api/v1/itip/reply",
            content=itip(
                s["uid"],
                "member@example.org",
                "TENTATIVE",
                sequence=1,
                dtstamp=now - timedelta(minutes=10),
            ),
            headers=CAL,
        )
    )
    assert answer_of(w, s, "member") == "tentative"
    # ... and one to the old version, however recent, no longer does.
    ok(
        post(
            "/api/v1/itip/reply",
            content=itip(s["uid"], "member@example.org", "DECLINED", sequence=0, dtstamp=now),
            headers=CAL,
        )
    )
    assert answer_of(w, s, "member") == "tentative"
    # A client that answers the old version when nothing newer came is heard (RFC 5546 2.1.5).
    ok(
        post(
            "/api/v1/itip/reply",
            content=itip(s["uid"], "observer@example.org", "DECLINED", sequence=0),
            headers=CAL,
        )
    )
    assert answer_of(w, s, "observer") == "declined"
    # A SEQUENCE never sent is refused with the reason.
    future = post(
        "/api/v1/itip/reply", content=itip(s["uid"], "member@example.org", sequence=7), headers=CAL
    )
    assert future.status_code == 422 and "SEQUENCE 7 was never sent" in future.text


def test_a_reply_older_than_an_answer_by_link_does_not_replace_it(w: World) -> None:
    s = w.schedule()
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    link = "/rsvp/" + rsvp.sign(
        s["id"], w.people["member"], "declined", datetime.fromisoformat(s["ends_at"])
    )
    assert w.client.post(link).status_code == 200
    ok(
        w.client.post(
            "/api/v1/itip/reply",
            content=itip(s["uid"], "member@example.org", "ACCEPTED", dtstamp=made),
            headers=CAL,
        )
    )
    assert answer_of(w, s, "member") == "declined"
    # A reply made after the click counts; one stamped in the future counts as made on arrival.
    ok(
        w.client.post(
            "/api/v1/itip/reply",
            content=itip(
                s["uid"],
                "member@example.org",
                "ACCEPTED",
                dtstamp=datetime.now(UTC) + timedelta(hours=2),
            ),
            headers=CAL,
        )
    )
    assert answer_of(w, s, "member") == "accepted"
    assert w.client.post(link).status_code == 200  # a later click wins again
    assert answer_of(w, s, "member") == "declined"


def test_an_older_reply_racing_an_answer_by_link(w: World) -> None:
    """The link's answer is written but not committed when the older reply is applied in
    another transaction: the reply waits for the row and then leaves it alone."""
    s = w.schedule()
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    outcome: dict[str, Any] = {}

    def late_reply() -> None:
        try:
            with db_session() as other:
                found = answers.record_itip_reply(
                    other, itip(s["uid"], "member@example.org", "ACCEPTED", dtstamp=made)
                )
                outcome["partstat"] = found[0].partstat
        except Exception as exc:  # the assertion below shows it
            outcome["error"] = exc

    with db_session() as db:
        answers.record_answer(db, s["id"], w.people["member"], "declined", "link")
        db.flush()
        racer = threading.Thread(target=late_reply)
        racer.start()
        time.sleep(1.0)  # the reply is now waiting for the participant row
        assert racer.is_alive()
    racer.join(30)
    assert outcome == {"partstat": "declined"}
    assert answer_of(w, s, "member") == "declined"
    assert answered_events(w, s) == 1


def test_delegation_to_a_deputy(w: World) -> None:
    s = w.schedule()
    body = itip(
        s["uid"],
        "member@example.org",
        "DELEGATED",
        **{"DELEGATED-TO": "mailto:Deputy.Mayor@example.org"},
    )
    # Outlook's REPLY also names the deputy, with DELEGATED-FROM and the name it knows.
    text = body.decode().replace(
        "END:VEVENT",
        'ATTENDEE;CN="Anne Dupont-Peeters";DELEGATED-FROM="mailto:member@example.org";'
        "PARTSTAT=NEEDS-ACTION:mailto:deputy.mayor@example.org\r\nEND:VEVENT",
    )
    shown = ok(w.client.post("/api/v1/itip/reply", content=text.encode(), headers=CAL))
    assert shown[0]["partstat"] == "delegated"
    found = ok(w.client.get(f"/api/v1/sessions/{s['id']}/answers", headers=ADMIN))
    (delegator,) = found["delegated"]
    (deputy,) = [p for p in found["needs_action"] if p["email"] == "deputy.mayor@example.org"]
    assert delegator["person_id"] == w.people["member"]
    assert delegator["delegated_to_person_id"] == deputy["person_id"]
    assert deputy["name"] == "Anne Dupont-Peeters"
    person = ok(w.client.get(f"/api/v1/people/{deputy['person_id']}", headers=ADMIN))
    assert person["language"] == "nl"  # the delegator's
    # The normal reconcile owes the deputy the invitation.
    _, created = reconcile_session(s["id"])
    with db_session() as db:
        owed = db.exec(select(Delivery).where(col(Delivery.id).in_(created))).all()
        assert {(d.person_id, d.method) for d in owed if d.person_id == deputy["person_id"]} == {
            (deputy["person_id"], "REQUEST")
        }
    # Delegating again (a second copy of the same message) adds nobody.
    ok(w.client.post("/api/v1/itip/reply", content=text.encode(), headers=CAL))
    found = ok(w.client.get(f"/api/v1/sessions/{s['id']}/answers", headers=ADMIN))
    assert len([p for v in found.values() for p in v if p["email"] == deputy["email"]]) == 1


def test_refresh_sends_the_current_request_again_once_per_message(w: World) -> None:
    s = w.schedule()
    reconcile_session(s["id"])

    def requests_to_member() -> list[str]:
        with db_session() as db:
            return [
                d.key
                for d in db.exec(
                    select(Delivery).where(
                        col(Delivery.session_id) == s["id"],
                        col(Delivery.person_id) == w.people["member"],
                        col(Delivery.method) == "REQUEST",
                    )
                ).all()
            ]

    assert len(requests_to_member()) == 1
    first = itip(s["uid"], "member@example.org", method="REFRESH")
    ok(w.client.post("/api/v1/itip/reply", content=first, headers=CAL))
    ok(w.client.post("/api/v1/itip/reply", content=first, headers=CAL))  # the same message
    assert len(requests_to_member()) == 2
    second = itip(
        s["uid"],
        "member@example.org",
        method="REFRESH",
        dtstamp=datetime.now(UTC) + timedelta(seconds=1),
    )
    ok(w.client.post("/api/v1/itip/reply", content=second, headers=CAL))
    keys = requests_to_member()
    assert len(keys) == 3 and all(k.startswith(f"calendar:{s['id']}:") for k in keys)
    # Nothing else changed: the reconcile owes nothing new.
    assert reconcile_session(s["id"])[1] == []


def counter(uid: str, email: str, starts: datetime, *, comment: str | None = None) -> bytes:
    body = itip(uid, email, method="COUNTER").decode()
    extra = (
        f"DTSTART:{starts:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{starts + timedelta(hours=2):%Y%m%dT%H%M%SZ}\r\n"
        + (f"COMMENT:{comment}\r\n" if comment else "")
    )
    return body.replace("END:VEVENT", extra + "END:VEVENT").encode()


def test_a_proposed_time_is_adopted_or_declined_by_the_co_chairs(w: World) -> None:
    s = w.schedule()
    later = datetime.fromisoformat(s["starts_at"]).astimezone(UTC) + timedelta(days=1)
    body = counter(s["uid"], "member@example.org", later, comment="Kan het een dag later?")
    ok(w.client.post("/api/v1/itip/reply", content=body, headers=CAL))
    ok(w.client.post("/api/v1/itip/reply", content=body, headers=CAL))  # handed in twice
    other = counter(s["uid"], "observer@example.org", later + timedelta(days=1))
    ok(w.client.post("/api/v1/itip/reply", content=other, headers=CAL))
    url = f"/api/v1/sessions/{s['id']}/proposals"
    assert w.client.get(url, headers=w.auth("member")).status_code == 403
    found = ok(w.client.get(url, headers=w.auth("co_chair")))
    assert [(p["email"], p["status"]) for p in found] == [
        ("observer@example.org", "open"),
        ("member@example.org", "open"),
    ]
    mine = found[1]
    assert mine["comment"] == "Kan het een dag later?"
    assert datetime.fromisoformat(mine["starts_at"]) == later

    # Declined: the proposer is owed a DECLINECOUNTER, once.
    declined = ok(w.client.post(f"{url}/{found[0]['id']}/decline", headers=w.auth("co_chair")))
    assert declined["status"] == "declined"
    again = w.client.post(f"{url}/{found[0]['id']}/decline", headers=w.auth("co_chair"))
    assert again.status_code == 409
    with db_session() as db:
        (mail,) = db.exec(select(Delivery).where(col(Delivery.reason) == counters.REASON)).all()
        assert mail.person_id == w.people["observer"]
        composed = compose_mail(db, mail)
    message = composed.message
    parts = {p.get_content_type(): p for p in message.walk()}
    assert parts["text/calendar"].get_param("method") == "DECLINECOUNTER"
    cal = icalendar.Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))
    assert cal["METHOD"] == "DECLINECOUNTER"
    (event,) = cal.walk("VEVENT")
    assert event["UID"] == s["uid"] and str(event["ATTENDEE"]).endswith("observer@example.org")
    text = parts["text/plain"].get_content()
    assert "niet overgenomen" in message["Subject"] and "blijft zoals gepland" in text

    # Adopted: a normal reschedule, If-Match and all.
    adopt = f"{url}/{mine['id']}/adopt"
    assert w.client.post(adopt, headers=w.auth("co_chair")).status_code == 428
    moved = w.client.post(adopt, headers={**w.auth("co_chair"), "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.headers["ETag"] == '"2"' and moved.json()["sequence"] == 1
    assert datetime.fromisoformat(moved.json()["starts_at"]) == later
    assert [p["status"] for p in ok(w.client.get(url, headers=w.auth("co_chair")))] == [
        "declined",
        "adopted",
    ]
    assert (
        w.client.post(adopt, headers={**w.auth("co_chair"), "If-Match": '"2"'}).status_code == 409
    )


def test_a_proposed_time_is_in_the_persons_data_and_goes_with_it(w: World) -> None:
    s = w.schedule()
    later = datetime.fromisoformat(s["starts_at"]).astimezone(UTC) + timedelta(days=1)
    body = counter(s["uid"], "member@example.org", later, comment="Liever dinsdag")
    ok(w.client.post("/api/v1/itip/reply", content=body, headers=CAL))
    me = w.people["member"]
    data = ok(w.client.get(f"/api/v1/people/{me}/export", headers=w.auth("member")))
    assert [p["comment"] for p in data["proposed_times"]] == ["Liever dinsdag"]
    done = ok(w.client.delete(f"/api/v1/people/{me}", headers=ADMIN))["erased"]
    assert done["proposed_times"] == 1
    assert ok(w.client.get(f"/api/v1/sessions/{s['id']}/proposals", headers=ADMIN)) == []
