"""From the thank-you page of an answer, one's calendar feed without signing in: a signed
link for that person, a day long, used once; opening it issues nothing (mail scanners and
link previews only open links), its button does."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.world import World, build_world, ok
from workflow import clock
from workflow.db import db_session
from workflow.invitations import rsvp
from workflow.invitations.reconcile import reconcile_session
from workflow.models import Person

NOW = datetime.now(UTC).replace(microsecond=0)
_FEED_LINK = re.compile(r'<a href="(/calendar-feed/[^"]+)">')


@pytest.fixture
def w(client) -> World:
    clock.freeze(NOW)
    return build_world(client)


def _feed_hash(person_id: int) -> str | None:
    with db_session() as db:
        person = db.get(Person, person_id)
        assert person is not None
        return person.feed_token_hash


def _answered(w: World) -> tuple[dict, str]:
    start = NOW + timedelta(days=5)
    s = w.schedule(starts_at=start.isoformat(), ends_at=(start + timedelta(hours=2)).isoformat())
    token = rsvp.sign(s["id"], w.people["member"], "accepted", start + timedelta(hours=2))
    w.client.cookies.clear()  # nobody signed in: the answer link is the credential
    done = w.client.post(f"/rsvp/{token}")
    assert done.status_code == 200 and "Mijn agendafeed" in done.text  # the member reads Dutch
    found = _FEED_LINK.search(done.text)
    assert found, done.text
    return s, found.group(1)


def test_the_thank_you_page_leads_to_ones_feed_without_signing_in(w: World) -> None:
    s, link = _answered(w)
    member = w.people["member"]
    shown = w.client.get(link)
    assert shown.status_code == 200 and '<form method="post"' in shown.text
    assert "Mijn agendafeed" in shown.text  # the feed page, in the person's language
    assert _feed_hash(member) is None  # opening the link issued nothing
    issued = w.client.post(link)
    assert issued.status_code == 200, issued.text
    url = re.search(r'value="(https?://[^"]+/feeds/[^"]+\.ics)"', issued.text)
    assert url and _feed_hash(member) is not None
    assert 'href="webcal://' in issued.text
    feed = w.client.get("/feeds/" + url.group(1).split("/feeds/", 1)[1])
    assert feed.status_code == 200 and "text/calendar" in feed.headers["content-type"]
    assert s["title"] in feed.text.replace("\r\n ", "")
    # Used once: the same link again issues nothing new and says why, in the person's words.
    first = _feed_hash(member)
    again = w.client.post(link)
    assert again.status_code == 410 and "text/html" in again.headers["content-type"]
    assert w.client.get(link).status_code == 410 and _feed_hash(member) == first


def test_the_feed_link_is_for_one_person_and_a_day(w: World) -> None:
    _, link = _answered(w)
    head, _, tail = link.rpartition(".")
    changed = w.client.post(f"{head}.{tail[:-2]}xx")
    assert changed.status_code == 404 and "text/html" in changed.headers["content-type"]
    clock.freeze(NOW + timedelta(hours=25))
    late = w.client.post(link)
    assert late.status_code == 410 and _feed_hash(w.people["member"]) is None


def test_no_feed_from_an_answer_link_that_went_to_an_old_address(w: World) -> None:
    """A changed address ends the feed links made before it; and an answer link from a mail
    to the old address still answers but leads to My settings, not to a new feed."""
    s, link = _answered(w)
    member = w.people["member"]
    clock.freeze(NOW + timedelta(minutes=1))
    ok(
        w.client.patch(
            f"/api/v1/people/{member}", json={"email": "koen@example.net"}, headers=w.auth("admin")
        )
    )
    assert w.client.post(link).status_code == 410 and _feed_hash(member) is None
    ends = datetime.fromisoformat(s["ends_at"])
    old_mail = rsvp.sign(s["id"], member, "tentative", ends)
    done = w.client.post(f"/rsvp/{old_mail}")
    assert done.status_code == 200 and not _FEED_LINK.search(done.text)
    assert 'href="/me#calendar-feed"' in done.text
    # Invited again at the new address: its answer links lead to the feed again.
    clock.freeze(NOW + timedelta(minutes=2))
    reconcile_session(s["id"])
    again = w.client.post(f"/rsvp/{rsvp.sign(s['id'], member, 'accepted', ends)}")
    assert _FEED_LINK.search(again.text)
