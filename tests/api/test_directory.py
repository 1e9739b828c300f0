"""Who changes whom in the shared directory, and what a changed e-mail address does.

The attack: the co-chair of one forum changes the e-mail address of a co-chair of another
forum, asks for a sign-in link at the new address and is signed in as the victim, then keeps
a token made on My settings. Now the change is refused and nothing is stored; an address
changed by whoever may ends the person's browser sessions and sign-in links, tells the old
address in the person's language and is in the event log."""

from email.utils import getaddresses
from typing import Any

from sqlmodel import SQLModel, select

from tests.api.world import World, ok
from tests.conftest import ADMIN
from tests.web.pages import (
    mailed_link,
    owe_sign_in_mail,
    path_of,
    post_form,
    sign_in,
    signed_in_as,
)
from workflow.db import db_session, get_engine
from workflow.mail.message import Superseded
from workflow.mail.outbox import compose_mail
from workflow.models import Delivery, Event, Person

API = "/api/v1"
ADDRESS_CHANGED = "address_changed"  # the reason of the mail to the old address


def everything() -> dict[str, list]:
    """Every row of every table: what a refused change must leave as it was."""
    with get_engine().connect() as conn:
        return {
            t.name: conn.execute(t.select().order_by(*t.primary_key.columns)).all()
            for t in SQLModel.metadata.sorted_tables
        }


def owed(reason: str) -> list[Delivery]:
    with db_session() as db:
        return list(db.exec(select(Delivery).where(Delivery.reason == reason)).all())


def compose(delivery_id: int) -> Any:
    with db_session() as db:
        return compose_mail(db, db.get(Delivery, delivery_id))


def my_settings_token(w: World, name: str) -> dict[str, str]:
    """A token made on My settings by whoever is signed in on the world's client."""
    r = post_form(w.client, "/me", "/me/tokens", {"name": name})
    token = r.text.split('id="new-token" readonly value="')[1].split('"')[0]
    return {"Authorization": f"Bearer {token}"}


def test_a_co_chair_cannot_take_over_a_co_chair_of_another_forum(w: World) -> None:
    victim = w.people["fr_mayor"]  # co-chair of the cross-border consultation only
    attacker = w.auth("co_chair")  # co-chair of the taskforce
    before = everything()
    for body in (
        {"email": "aanvaller@example.net"},
        {"email": "aanvaller@example.net", "name": "Geneviève Dubois"},
        {"language": "nl"},  # nor anything else of someone outside the forums one manages
    ):
        r = w.client.patch(f"{API}/people/{victim}", json=body, headers=attacker)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 403 and problem["detail"]
    assert (
        "e-mail address"
        in w.client.patch(
            f"{API}/people/{victim}", json={"email": "aanvaller@example.net"}, headers=attacker
        ).json()["detail"]
    )
    assert everything() == before, "a refused change stored something"
    # The next step of the attack gets nowhere: the new address is nobody's.
    r = post_form(w.client, "/sign-in", "/sign-in", {"email": "aanvaller@example.net"})
    assert r.status_code == 200 and "If this address is known to us" in r.text
    owe_sign_in_mail()  # the worker's step behind the form: the request is used up
    assert owed("sign_in") == []
    # Not even the address of a co-chair of one's own forum: only they or an administrator.
    r = w.client.patch(
        f"{API}/people/{w.people['co_chair_2']}",
        json={"email": "aanvaller@example.net"},
        headers=attacker,
    )
    assert r.status_code == 403
    assert everything() == before
    # The victim still signs in at their own address.
    sign_in(w.client, "fr_mayor@example.org")


def test_an_address_changed_by_an_administrator_ends_sessions_links_and_tokens(
    w: World,
) -> None:
    me = w.people["fr_mayor"]
    c = signed_in_as(w, "fr_mayor", lang=None)
    made_on_my_settings = my_settings_token(w, "Agenda-koppeling")
    issued = post_form(c, "/me", "/me/calendar-feed", {}).text
    feed = path_of(issued.split('id="feed-url" readonly value="')[1].split('"')[0])
    assert c.get(feed).status_code == 200
    admin_issued = w.auth("fr_mayor")  # a person's token an administrator issued
    administrator = {
        "Authorization": "Bearer "
        + ok(
            c.post(
                f"{API}/tokens",
                json={"name": "beheer", "person_id": me, "is_admin": True},
                headers=ADMIN,
            ),
            201,
        )["token"]
    }
    # A second browser asked for a link that is still to be used.
    post_form(c, "/sign-in", "/sign-in", {"email": "fr_mayor@example.org"})
    pending = path_of(mailed_link("fr_mayor@example.org"))
    [pending_mail] = [d for d in owed("sign_in") if d.status == "pending"][-1:]
    assert c.get("/", follow_redirects=False).status_code == 200

    changed = ok(
        c.patch(f"{API}/people/{me}", json={"email": "g.dubois@example.net"}, headers=ADMIN)
    )
    assert changed["email"] == "g.dubois@example.net"

    # Signed out here, and the link asked for before the change no longer signs in.
    assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    page = c.get(pending)
    assert page.status_code == 410 and "Continue" not in page.text
    r = post_form(c, "/sign-in", pending, {})
    assert r.status_code == 410 and "wf_session" not in r.headers.get("set-cookie", "")
    assert isinstance(compose(pending_mail.id), Superseded)  # not sent to the new address
    # Whoever held the mailbox may have made a token on My settings: it goes, as does every
    # token of the person's; an administrator token is not made that way and stays.
    assert c.get(f"{API}/people/{me}", headers=made_on_my_settings).status_code == 401
    assert c.get(f"{API}/people/{me}", headers=admin_issued).status_code == 401
    assert c.get(f"{API}/people/{me}", headers=administrator).status_code == 200
    assert c.get(feed).status_code == 404  # the calendar feed link made there goes too

    # The old address is told, in the person's language, by a mail recorded before it is sent.
    [mail] = owed(ADDRESS_CHANGED)
    assert mail.person_id == me and mail.status == "pending"
    composed = compose(mail.id)
    assert composed.recipient == "fr_mayor@example.org"
    message = composed.message
    assert getaddresses([str(message["To"])]) == [("Geneviève Dubois", "fr_mayor@example.org")]
    assert message["Subject"] == "Votre adresse e-mail à Forum workflow a été modifiée"
    text = message.get_body(("plain",)).get_content()
    assert "un administrateur a modifié" in text and "g.dubois@example.net" not in text
    # Sent once: the same change cannot be owed twice.
    with db_session() as db:
        events = db.exec(select(Event).where(Event.kind == "person.email_changed")).all()
    assert [(e.actor, e.data) for e in events] == [
        (
            "admin",
            {
                "person_id": me,
                "changed_by": "administrator",
                "sign_ins_ended": 2,
                "tokens_revoked": 2,
                "feed_revoked": True,
            },
        )
    ]
    # The new address signs in; the old one is nobody's any more.
    sign_in(c, "g.dubois@example.net")
    before = len(owed("sign_in"))
    post_form(c, "/sign-in", "/sign-in", {"email": "fr_mayor@example.org"})
    assert len(owed("sign_in")) == before


def test_a_person_changes_their_own_address_and_keeps_their_tokens(w: World) -> None:
    me = w.people["member"]
    c = signed_in_as(w, "member")
    token = my_settings_token(w, "Agenda-koppeling")
    ok(c.patch(f"{API}/people/{me}", json={"email": "koen.wouters@example.net"}, headers=token))
    assert c.get("/", follow_redirects=False).status_code == 303  # signed out everywhere
    assert c.get(f"{API}/people/{me}", headers=token).status_code == 200  # theirs already
    [mail] = owed(ADDRESS_CHANGED)
    composed = compose(mail.id)
    assert composed.recipient == "member@example.org"
    # Someone else's address is refused without saying whose it is.
    taken = c.patch(f"{API}/people/{me}", json={"email": "observer@example.org"}, headers=token)
    assert taken.status_code == 409 and str(w.people["observer"]) not in taken.json()["detail"]
    text = composed.message.get_body(("plain",)).get_content()
    assert "met een van uw API-tokens" in text  # Dutch, the member's language
    with db_session() as db:
        [event] = db.exec(select(Event).where(Event.kind == "person.email_changed")).all()
    assert event.data["changed_by"] == "self" and event.data["tokens_revoked"] == 0
    assert event.data["feed_revoked"] is False


def test_managers_edit_the_people_of_their_forums_and_newcomers(w: World) -> None:
    c, chair = w.client, w.auth("co_chair")
    expert = ok(
        c.post(
            f"{API}/people",
            json={"name": "Ann Expert", "email": "ann.expert@example.org"},
            headers=chair,
        ),
        201,
    )["id"]
    # In no forum yet: any forum's manager may complete the record, and add them.
    ok(c.patch(f"{API}/people/{expert}", json={"name": "Ann Peeters"}, headers=chair))
    ok(
        c.post(
            f"{API}/forums/{w.forums['taskforce']}/members",
            json={"person_id": expert, "role": "member"},
            headers=chair,
        ),
        201,
    )
    # Now in the taskforce: its managers keep the record; another forum's do not.
    ok(c.patch(f"{API}/people/{expert}", json={"language": "fr"}, headers=chair))
    ok(c.patch(f"{API}/people/{expert}", json={"country": "FR"}, headers=w.auth("secretariat")))
    assert (
        c.patch(
            f"{API}/people/{expert}", json={"language": "en"}, headers=w.auth("parent_co_chair")
        ).status_code
        == 403
    )
    # The address is theirs or an administrator's to change, even just after creating them;
    # sent back unchanged, it is no change.
    assert (
        c.patch(
            f"{API}/people/{expert}", json={"email": "ann@example.org"}, headers=chair
        ).status_code
        == 403
    )
    ok(
        c.patch(
            f"{API}/people/{expert}",
            json={"email": "ann.expert@example.org", "name": "Ann Peeters-Maes"},
            headers=chair,
        )
    )
    # A member edits nobody else, and only their own name, language and address.
    member = w.auth("member")
    assert c.patch(f"{API}/people/{expert}", json={"name": "X"}, headers=member).status_code == 403
    r = c.patch(f"{API}/people/{w.people['member']}", json={"country": "NL"}, headers=member)
    assert r.status_code == 403 and "own name, language and e-mail address" in r.json()["detail"]
    with db_session() as db:
        person = db.get(Person, expert)
        assert (person.name, person.language, person.country, person.email) == (
            "Ann Peeters-Maes",
            "fr",
            "FR",
            "ann.expert@example.org",
        )
    assert owed(ADDRESS_CHANGED) == []
