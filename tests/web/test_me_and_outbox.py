"""My settings (language, calendar feed, API tokens) and the outbox of embedded mode."""

import re

from sqlmodel import select

from tests.api.world import World
from tests.conftest import ADMIN
from tests.web.pages import csrf, post_form, signed_in_as
from workflow.config import get_settings
from workflow.db import db_session
from workflow.invitations.reconcile import reconcile_session
from workflow.mail.outbox import compose_mail
from workflow.models import Delivery, Event, Person


def test_my_language_is_saved_for_pages_and_mail(w: World) -> None:
    c = signed_in_as(w, "member", lang=None)
    assert '<html lang="nl">' in c.get("/me").text  # the person's own language
    r = post_form(c, "/me", "/me/language", {"language": "fr"})
    assert r.status_code == 303
    page = c.get("/me")
    assert '<html lang="fr">' in page.text
    with db_session() as db:
        assert db.get(Person, w.people["member"]).language == "fr"
    assert post_form(c, "/me", "/me/language", {"language": "de"}).status_code == 422


def test_the_language_switch_and_the_lang_attribute(w: World) -> None:
    c = w.client
    page = c.get("/sign-in", headers={"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in page.text
    assert 'href="/sign-in?lang=nl"' in page.text and 'href="/sign-in?lang=en"' in page.text
    assert '<nav class="lang" aria-label=' in page.text
    dutch = c.get("/sign-in?lang=nl")
    assert '<html lang="nl">' in dutch.text and "wf_lang=nl" in dutch.headers["set-cookie"]
    assert '<html lang="nl">' in c.get("/sign-in").text  # remembered
    signed_in_as(w, "member", lang="en")
    page = c.get("/action-items")
    assert '<html lang="en">' in page.text
    assert '<a href="/action-items" aria-current="page">' in page.text
    for lang, words in (("nl", "Actiepunten"), ("fr", "Actions"), ("en", "Action items")):
        assert words in c.get(f"/action-items?lang={lang}").text


def test_my_calendar_feed_is_issued_and_revoked(w: World) -> None:
    c = signed_in_as(w, "member")
    r = post_form(c, "/me", "/me/calendar-feed", {})
    assert r.status_code == 200 and "Your calendar feed link" in r.text
    url = r.text.split('id="feed-url" readonly value="')[1].split('"')[0]
    feed = "/" + url.split("/", 3)[3]
    assert c.get(feed).status_code == 200
    post_form(c, "/me", "/me/calendar-feed/revoke", {})
    assert c.get(feed).status_code == 404
    with db_session() as db:
        kinds = db.exec(select(Event.kind).where(Event.kind.like("feed.%"))).all()
    assert kinds == ["feed.issued", "feed.revoked"]


def test_my_api_tokens_act_as_me_and_can_be_revoked(w: World) -> None:
    c = signed_in_as(w, "member")
    r = post_form(c, "/me", "/me/tokens", {"name": "Agenda-koppeling"})
    token = r.text.split('id="new-token" readonly value="')[1].split('"')[0]
    assert token.startswith("wf_")
    headers = {"Authorization": f"Bearer {token}"}
    fid = w.forums["taskforce"]
    assert c.get(f"/api/v1/forums/{fid}", headers=headers).status_code == 200
    assert (
        c.get("/api/v1/deliveries", headers=headers).json()["total"] == 0
    )  # no more than a member
    assert c.post("/api/v1/tokens", json={"name": "x"}, headers=headers).status_code == 403
    page = c.get("/me").text
    assert "Agenda-koppeling" in page and token not in page  # shown once only
    token_id = page.split('action="/me/tokens/')[1].split("/")[0]
    r = post_form(c, "/me", f"/me/tokens/{token_id}/revoke", {})
    assert r.status_code == 303
    assert c.get(f"/api/v1/forums/{fid}", headers=headers).status_code == 401
    # Someone else's token is not mine to revoke.
    other = signed_in_as(w, "co_chair")
    assert post_form(other, "/me", f"/me/tokens/{token_id}/revoke", {}).status_code == 404


def _capture(w: World) -> dict[str, str]:
    """The invitations of a session, as the embedded SMTP server writes them (the envelope's
    recipients first); the captured file's name for each recipient's address."""
    s = w.schedule()
    _, created = reconcile_session(s["id"])
    directory = get_settings().mail_capture_dir
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eml"):
        old.unlink()
    files = {}
    with db_session() as db:
        for n, delivery_id in enumerate(sorted(created)):
            composed = compose_mail(db, db.get(Delivery, delivery_id))
            envelope = (
                f"X-Envelope-From: noreply@example.org\r\nX-Envelope-To: {composed.recipient}\r\n"
            )
            name = f"20270329T1400{n:02d}-0123456789{n:02x}.eml"
            (directory / name).write_bytes(envelope.encode() + bytes(composed.message))
            files[composed.recipient] = name
    return files


def test_the_outbox_shows_each_person_only_the_mail_addressed_to_them(w: World) -> None:
    files = _capture(w)
    mine, theirs = files["secretariat@example.org"], files["member@example.org"]
    c = signed_in_as(w, "secretariat")
    page = c.get("/outbox")
    assert page.status_code == 200 and "Uitnodiging: Overleg werk en economie" in page.text
    assert '<a href="/outbox"' in page.text and 'aria-current="page"' in page.text
    assert f'href="/outbox/{mine}"' in page.text and "1 messages." in page.text
    assert "member@example.org" not in page.text and f"/outbox/{theirs}" not in page.text
    assert "You see the mail addressed to you." in page.text
    one = c.get(f"/outbox/{mine}")
    assert one.status_code == 200 and "Download invite.ics" in one.text
    # The answer links can be followed from the page, as from a mail program.
    assert re.search(r'<a href="https?://[^"]+/rsvp/[^"]+"', one.text)
    ics = c.get(f"/outbox/{mine}/invite.ics")
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    # Someone else's mail, with its answer links, is as if it did not exist.
    for url in (f"/outbox/{theirs}", f"/outbox/{theirs}/invite.ics"):
        r = c.get(url)
        assert r.status_code == 404 and "/rsvp/" not in r.text, url
    for bad in ("../workflow.sqlite", "x.eml", f"{mine}.tmp"):
        assert c.get(f"/outbox/{bad}").status_code == 404
    # A member reads their own; someone with no mail, nothing.
    member = signed_in_as(w, "member")
    assert 'href="/outbox"' in member.get("/").text
    page = member.get("/outbox").text
    assert f"/outbox/{theirs}" in page and f"/outbox/{mine}" not in page
    nobody = signed_in_as(w, "fr_mayor", lang="en").get("/outbox")
    assert nobody.status_code == 200 and "No mail to you captured yet." in nobody.text


def test_the_outbox_shows_everything_to_an_administrator(w: World) -> None:
    files = _capture(w)
    made = w.client.post(
        "/api/v1/tokens",
        json={"name": "beheer", "person_id": w.people["outsider"], "is_admin": True},
        headers=ADMIN,
    ).json()
    c = signed_in_as(w, "outsider")  # in no forum, but an administrator of the service
    page = c.get("/outbox").text
    assert "As an administrator, you see every captured message." in page
    assert all(f'href="/outbox/{name}"' in page for name in files.values())
    assert f"{len(files)} messages." in page
    assert c.get(f"/outbox/{files['member@example.org']}").status_code == 200
    # A revoked administrator token makes them a person like any other again.
    from workflow.cli import token_revoke

    token_revoke(made["id"])
    assert c.get(f"/outbox/{files['member@example.org']}").status_code == 404
    assert "No mail to you captured yet." in c.get("/outbox").text


def test_the_outbox_is_not_there_outside_embedded_mode(w: World, monkeypatch) -> None:
    _capture(w)
    monkeypatch.setattr(get_settings(), "smtp_host", "smtp.relay.example.org")
    assert get_settings().outbox_page is False
    c = signed_in_as(w, "secretariat")
    assert c.get("/outbox").status_code == 404
    assert 'href="/outbox"' not in c.get("/").text
    monkeypatch.setattr(get_settings(), "web_outbox", True)
    assert c.get("/outbox").status_code == 200


def test_every_form_on_my_settings_page_has_its_csrf_field(w: World) -> None:
    c = signed_in_as(w, "member")
    page = c.get("/me").text
    assert page.count("<form") == page.count('name="csrf"') and csrf(page)


def test_sign_ins_are_in_a_persons_data_and_go_with_them(w: World) -> None:
    signed_in_as(w, "member")
    me = w.people["member"]
    data = w.client.get(f"/api/v1/people/{me}/export", headers=w.auth("member")).json()
    [row] = data["web_sign_ins"]
    assert row["used_at"] is not None and row["ended_at"] is None
    assert w.client.delete(f"/api/v1/people/{me}", headers=ADMIN).status_code == 200
    assert w.client.get("/", follow_redirects=False).status_code == 303
