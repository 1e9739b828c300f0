"""Driving the pages as a browser would: read the form, post it back with its CSRF field."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.api.world import World
from workflow import sign_in as sign_in_mail
from workflow.db import db_session
from workflow.models import Delivery, Person

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_LINK = re.compile(r"(https?://\S+/sign-in/\S+)")


def csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def post_form(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Open `page`, then post `data` to `action` with the page's CSRF token."""
    token = csrf(client.get(page).text)
    return client.post(action, data={"csrf": token, **data}, follow_redirects=False)


def owe_sign_in_mail() -> list[int]:
    """What the worker does with the sign-in requests the form recorded: owe their mail."""
    with db_session() as db:
        return sign_in_mail.owe_requested(db)


def mailed_link(email: str) -> str:
    """The link in the latest sign-in mail owed to `email`, as the mail says it."""
    owe_sign_in_mail()
    with db_session() as db:
        person = db.exec(select(Person).where(Person.email == email)).one()
        delivery = db.exec(
            select(Delivery)
            .where(Delivery.person_id == person.id, Delivery.reason == sign_in_mail.REASON)
            .order_by(Delivery.id.desc())  # type: ignore[union-attr]
        ).first()
        assert delivery is not None, f"no sign-in mail owed to {email}"
        composed = sign_in_mail.compose(db, delivery)
    text = composed.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def sign_in(client: TestClient, email: str) -> None:
    r = post_form(client, "/sign-in", "/sign-in", {"email": email})
    assert r.status_code == 200, r.text
    link = path_of(mailed_link(email))
    r = post_form(client, link, link, {})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text


def signed_in_as(w: World, who: str, lang: str | None = "en") -> TestClient:
    """The world's client, signed in as `who` (signed out first), reading pages in `lang`
    (None: the person's own language)."""
    w.client.cookies.clear()
    sign_in(w.client, f"{who}@example.org")
    if lang:
        w.client.get(f"/?lang={lang}")
    return w.client
