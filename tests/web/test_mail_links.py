"""Every link in every mail the service sends opens a web page, never the API's JSON:
signed out, the sign-in page (or the public page of a signed mail link); signed in as the
recipient, the page itself. Links are read from the text and HTML parts and from the
calendar data (URL properties of events and to-dos)."""

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from tests.api.test_follow_up import T0, at, close_body, make_items, schedule
from tests.api.test_itip_meaning import CAL, counter
from tests.api.world import World, build_world, ok
from tests.web.pages import mailed_link, post_form, signed_in_as
from workflow import clock, db
from workflow.config import get_settings
from workflow.follow_up import closing
from workflow.invitations.reconcile import reconcile_session
from workflow.mail import outbox
from workflow.mail.message import Composed
from workflow.models import Delivery, DeliveryStatus

_HREF = re.compile(r'href="([^"]+)"')
_URL = re.compile(r"https?://[^\s<>\"')]+")


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def _mails() -> dict[int, tuple[Delivery, email.message.EmailMessage]]:
    """Every mail owed so far that can be composed now, by delivery."""
    out = {}
    with db.db_session() as s:
        for d in s.exec(select(Delivery).order_by(Delivery.id)).all():  # type: ignore[arg-type]
            composed = outbox.compose_mail(s, d)
            if isinstance(composed, Composed):
                raw = composed.message.as_bytes()
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                out[d.id] = (d, parsed)  # type: ignore[index]
    return out


def _mark_sent() -> None:
    """What the worker does once the server accepted them: the next change is an update."""
    with db.db_session() as s:
        for d in s.exec(select(Delivery).where(Delivery.status == DeliveryStatus.pending)).all():
            d.status = DeliveryStatus.sent
            s.add(d)
        s.commit()


def links_in(message: email.message.EmailMessage) -> set[str]:
    public = get_settings().effective_public_url
    found: set[str] = set()
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_payload(decode=True) or b""
        text = content.decode(part.get_content_charset() or "utf-8", "replace")
        if part.get_content_type() == "text/calendar":
            text = re.sub(r"\r?\n[ \t]", "", text)  # unfolded
            found |= {m for m in _URL.findall(text)}
        elif part.get_content_type() == "text/html":
            found |= {h.replace("&amp;", "&") for h in _HREF.findall(text)}
        else:
            found |= set(_URL.findall(text))
    return {u for u in found if u.startswith(public)}


def _follow(c: Any, url: str, who: str | None) -> None:
    path = url[len(get_settings().effective_public_url) :] or "/"
    r = c.get(path, follow_redirects=True)
    kind = r.headers.get("content-type", "")
    assert "json" not in kind, (who, url, r.status_code, r.text[:200])
    # A signed link may have outlived what it was for (an answer link of a session since
    # cancelled): its page says so (410), still a page.
    signed = path.startswith(("/rsvp/", "/act/", "/report/", "/sign-in/"))
    fine = (200, 410) if signed else (200,)
    assert r.status_code in fine and "text/html" in kind, (who, url, r.status_code, kind)
    if who is None and not signed:
        assert "/sign-in" in str(r.url), (url, r.url)  # asked to sign in first
        assert r.url.params.get("next") == path, (url, r.url)


def test_every_link_in_every_mail_opens_a_page(w: World) -> None:
    """Every kind of mail the outbox knows (the test fails when a new kind is registered and
    not produced here), each link followed signed out and signed in as its recipient."""
    # Invitations, then an update, a removal and a cancellation.
    moved = schedule(w, T0 + timedelta(days=10))
    reconcile_session(moved["id"])
    _mark_sent()
    current = ok(w.client.get(f"/api/v1/sessions/{moved['id']}", headers=w.auth("admin")))
    ok(
        w.client.patch(
            f"/api/v1/sessions/{moved['id']}",
            json={"location": "Provinciehuis, zaal 2"},
            headers={**w.auth("secretariat"), "If-Match": f'"{current["version"]}"'},
        )
    )
    ok(
        w.client.delete(
            f"/api/v1/sessions/{moved['id']}/participants/{w.people['observer']}",
            headers=w.auth("secretariat"),
        )
    )
    reconcile_session(moved["id"])
    mails = _mails()  # the update and removal, before the cancellation supersedes them
    _mark_sent()
    ok(
        w.client.post(
            f"/api/v1/sessions/{moved['id']}/cancel",
            json={"reason": "Geen quorum"},
            headers=w.auth("secretariat"),
        )
    )
    reconcile_session(moved["id"])
    # Digests, the weekly overview and an escalation, then the mayors' decision.
    items = make_items(w)
    at(datetime(2027, 3, 15, 7, 0, tzinfo=UTC))
    iid = items["overdue"]["id"]
    ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/escalate", json={"note": "Budget"}, headers=w.auth("admin")
        )
    )
    ok(
        w.client.post(
            f"/api/v1/action-items/{iid}/decision",
            json={"decision": "De provincie betaalt."},
            headers=w.auth("parent_co_chair"),
        )
    )
    # A summary with to-dos: a session with an item, closed.
    held = schedule(
        w,
        datetime(2027, 3, 16, 9, 0, tzinfo=UTC),
        agenda=[{"title": "Jobkanalen", "kind": "decision"}],
    )
    reconcile_session(held["id"])
    _mark_sent()
    # A proposed time declined: a DECLINECOUNTER to the proposer.
    later = datetime(2027, 3, 17, 9, 0, tzinfo=UTC)
    proposal = counter(held["uid"], "member@example.org", later, comment="Een dag later?")
    ok(w.client.post("/api/v1/itip/reply", content=proposal, headers=CAL))
    [proposed] = ok(
        w.client.get(f"/api/v1/sessions/{held['id']}/proposals", headers=w.auth("co_chair"))
    )
    ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/proposals/{proposed['id']}/decline",
            headers=w.auth("co_chair"),
        )
    )
    # The reminder the day before (10:00 in Brussels), composed while the session is ahead.
    assert at(datetime(2027, 3, 15, 9, 0, tzinfo=UTC))["reminders"] >= 1
    mails = {**mails, **_mails()}
    ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/action-items",
            json={"title": "Jobbeurs", "owner_person_id": w.people["member"]},
            headers=w.auth("secretariat"),
        ),
        201,
    )
    # A cancelled item: not counted in the close preview, not listed, no to-do.
    dropped = ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/action-items",
            json={"title": "Dubbel ingevoerd", "owner_person_id": w.people["outsider"]},
            headers=w.auth("secretariat"),
        ),
        201,
    )
    ok(
        w.client.patch(
            f"/api/v1/action-items/{dropped['id']}",
            json={"status": "cancelled", "version": dropped["version"]},
            headers=w.auth("secretariat"),
        )
    )
    with db.db_session() as s:
        preview = {p.id: n for p, n in closing.summary_preview(s, held["id"])}
    assert w.people["outsider"] not in preview and preview[w.people["member"]] == 1
    clock.freeze(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    current = ok(w.client.get(f"/api/v1/sessions/{held['id']}", headers=w.auth("admin")))
    ok(
        w.client.post(
            f"/api/v1/sessions/{held['id']}/close",
            json=close_body(w, held, current["version"]),
            headers=w.auth("secretariat"),
        )
    )
    # The report-back to the mayors' forum, compiled 5 days before its session (10:00).
    schedule(w, datetime(2027, 3, 22, 8, 0, tzinfo=UTC), forum="mayors")
    assert at(datetime(2027, 3, 17, 9, 0, tzinfo=UTC))["reports"] >= 1
    # A changed address: the old one is told. Then back, so its owner can sign in below.
    person = f"/api/v1/people/{w.people['observer']}"
    ok(w.client.patch(person, json={"email": "els.claes@example.net"}, headers=w.auth("admin")))
    mails = {**mails, **_mails()}
    ok(w.client.patch(person, json={"email": "observer@example.org"}, headers=w.auth("admin")))
    # A sign-in mail.
    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    mailed_link("member@example.org")

    mails = {**mails, **_mails()}
    by_id = {v: k for k, v in w.people.items()}
    kinds = {d.reason for d, _ in mails.values()}
    expected = {
        "invitation",
        "update",
        "cancellation",
        "removal",
        "summary",
        "digest",
        "overview",
        "escalation",
        "decision",
        "sign_in",
        "reminder",
        "report",
        "address_changed",
        "declinecounter",
    }
    assert expected == outbox.reasons(), "a new kind of mail: produce it here"
    assert expected <= kinds, sorted(expected - kinds)
    [summary] = [
        m for d, m in mails.values() if d.reason == "summary" and d.person_id == w.people["member"]
    ]
    assert "Jobbeurs" in str(summary) and "Dubbel ingevoerd" not in str(summary)
    [todos] = [p for p in summary.walk() if p.get_filename() == "action-items.ics"]
    assert todos.get_content().count("BEGIN:VTODO") == 1
    # The owner of only a cancelled item gets no summary.
    summaries = {d.person_id for d, _ in mails.values() if d.reason == "summary"}
    assert w.people["outsider"] not in summaries
    per_reader: dict[str, set[str]] = {}
    to_do_urls = 0
    linked: set[str] = set()  # the kinds of mail that hold a link to the service
    for d, message in mails.values():
        urls = links_in(message)
        linked |= {d.reason} if urls else set()
        if d.reason == "summary":
            to_do_urls += sum(1 for u in urls if "/action-items/" in u)
        per_reader.setdefault(by_id[d.person_id], set()).update(urls)  # type: ignore[index]
    everything = set().union(*per_reader.values())
    w.client.cookies.clear()
    for url in sorted(everything):
        _follow(w.client, url, None)
    for who, urls in sorted(per_reader.items()):
        c = signed_in_as(w, who, lang=None)  # once per reader: sign-in links are capped
        for url in sorted(urls):
            _follow(c, url, who)
    assert to_do_urls, "the summary's items and to-dos link to their pages"
    # Only the notice to an old address and the DECLINECOUNTER link nowhere (by design: the
    # first goes to an address that is no longer the person's, the second answers a calendar).
    assert kinds - linked == {"address_changed", "declinecounter"}, sorted(kinds - linked)
    assert any("/report/" in u for u in everything)  # the report-back mail's signed page
    assert any("/sessions/" in u for u in everything)
    assert any("/action-items?forum_id=" in u for u in everything)
    assert not any("/api/" in u for u in everything), sorted(everything)
