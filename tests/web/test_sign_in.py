import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.api.world import World
from tests.web.pages import csrf, mailed_link, owe_sign_in_mail, path_of, post_form, sign_in
from workflow import clock
from workflow import sign_in as sign_in_mail
from workflow.db import db_session
from workflow.models import Delivery, Person, WebSignIn


def test_a_signed_out_visitor_is_sent_to_the_sign_in_page(w: World) -> None:
    r = w.client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    page = w.client.get("/sign-in")
    assert 'label for="email"' in page.text and "Send me a sign-in link" in page.text


def test_the_link_is_mailed_as_a_delivery_and_signs_in_once(w: World) -> None:
    c = w.client
    r = post_form(c, "/sign-in", "/sign-in", {"email": "Member@Example.org "})
    assert "If this address is known to us, a sign-in link is on its way." in r.text
    owe_sign_in_mail()  # the worker's step
    with db_session() as db:
        delivery = db.exec(select(Delivery).where(Delivery.reason == "sign_in")).one()
        assert delivery.person_id == w.people["member"] and delivery.status == "pending"
        assert delivery.key == f"sign_in:{delivery.data['sign_in_id']}"
    link = path_of(mailed_link("member@example.org"))
    # Opening the link records nothing: a mail scanner following it does not use it up.
    for _ in range(2):
        page = c.get(link)
        assert page.status_code == 200 and ">Continue</button>" in page.text
    r = post_form(c, link, link, {})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "wf_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # the public URL here is http
    assert "Koen Wouters" in c.get("/").text
    # The same link a second time, even from another browser: refused.
    c.cookies.clear()
    again = c.get(link)
    assert again.status_code == 410 and "used already" in again.text


def test_an_unknown_address_gets_the_same_answer_and_no_mail(w: World) -> None:
    known = post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    unknown = post_form(w.client, "/sign-in", "/sign-in", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    owe_sign_in_mail()
    with db_session() as db:
        assert len(db.exec(select(Delivery).where(Delivery.reason == "sign_in")).all()) == 1


def test_an_expired_link_is_refused_and_its_mail_not_sent(w: World) -> None:
    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    link = path_of(mailed_link("member@example.org"))
    clock.freeze(clock.now() + timedelta(minutes=31))
    r = w.client.get(link)
    assert r.status_code == 410 and "expired" in r.text
    r = w.client.post(link, data={"csrf": csrf(w.client.get("/sign-in").text)})
    assert r.status_code == 410
    with db_session() as db:
        delivery = db.exec(select(Delivery).where(Delivery.reason == "sign_in")).one()
        assert isinstance(sign_in_mail.compose(db, delivery), type(sign_in_mail.Superseded("")))
        assert db.exec(select(WebSignIn)).one().used_at is None


def test_a_forged_or_altered_link_is_refused(w: World) -> None:
    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    link = path_of(mailed_link("member@example.org"))
    for bad in (
        link[:-3] + "xyz",
        "/sign-in/WzEsMSwic2lnbl9pbiIsOTk5OTk5OTk5OV0.abc",
        "/sign-in/x",
    ):
        r = w.client.get(bad)
        assert r.status_code == 404 and "incomplete or was changed" in r.text
    assert w.client.get("/", follow_redirects=False).status_code == 303


def test_a_made_up_session_cookie_is_not_a_session(w: World) -> None:
    w.client.cookies.set("wf_session", "WzEsMSwic2Vzc2lvbiIsOTk5OTk5OTk5OV0.forged")
    assert w.client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_even_for_a_copied_cookie(w: World) -> None:
    c = w.client
    sign_in(c, "member@example.org")
    copied = c.cookies.get("wf_session")
    r = post_form(c, "/", "/sign-out", {})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    c.cookies.set("wf_session", copied)
    assert c.get("/", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_when_the_service_is_reached_over_https(w: World, monkeypatch) -> None:
    from workflow.config import get_settings

    monkeypatch.setattr(get_settings(), "public_url", "https://forum.example.org")
    with TestClient(w.client.app, base_url="https://testserver") as c:
        post_form(c, "/sign-in", "/sign-in", {"email": "member@example.org"})
        link = path_of(mailed_link("member@example.org"))
        r = post_form(c, link, link, {})
    assert r.status_code == 303
    assert "secure" in r.headers["set-cookie"].lower()


def test_a_form_without_its_csrf_token_is_refused(w: World) -> None:
    c = w.client
    r = c.post("/sign-in", data={"email": "member@example.org"})
    assert r.status_code == 403 and "This form has expired" in r.text
    sign_in(c, "member@example.org")
    for token in ("", "0" * 64):
        r = c.post("/sign-out", data={"csrf": token}, follow_redirects=False)
        assert r.status_code == 403
    assert c.get("/").status_code == 200  # still signed in


def test_the_send_task_composes_the_sign_in_mail(w: World) -> None:
    from workflow.mail.outbox import compose_mail

    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    owe_sign_in_mail()
    with db_session() as db:
        delivery = db.exec(select(Delivery).where(Delivery.reason == "sign_in")).one()
        composed = compose_mail(db, delivery)
    assert "/sign-in/" in composed.message.get_body(("plain",)).get_content()


def test_a_session_ends_after_its_days(w: World) -> None:
    sign_in(w.client, "member@example.org")
    clock.freeze(clock.now() + timedelta(days=13))
    assert w.client.get("/", follow_redirects=False).status_code == 200
    clock.freeze(clock.now() + timedelta(days=2))
    assert w.client.get("/", follow_redirects=False).status_code == 303


def test_after_signing_in_the_page_that_was_asked_for_opens(w: World) -> None:
    s = w.schedule()
    c = w.client
    r = c.get(f"/sessions/{s['id']}?lang=en", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next=%2Fsessions%2F{s['id']}%3Flang%3Den"
    page = c.get(r.headers["location"]).text
    assert f'name="next" value="/sessions/{s["id"]}?lang=en"' in page
    r = c.post(
        "/sign-in",
        data={"csrf": csrf(page), "email": "member@example.org", "next": f"/sessions/{s['id']}"},
    )
    link = path_of(mailed_link("member@example.org"))
    r = post_form(c, link, link, {})
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{s['id']}"


@pytest.mark.parametrize(
    "elsewhere", ["//evil.example.org/", "https://evil.example.org/", "/\\evil.example.org", "x"]
)
def test_signing_in_never_leads_to_another_site(w: World, elsewhere: str) -> None:
    c = w.client
    page = c.get("/sign-in", params={"next": elsewhere}).text
    assert 'name="next"' not in page
    c.post("/sign-in", data={"csrf": csrf(page), "email": "member@example.org", "next": elsewhere})
    link = path_of(mailed_link("member@example.org"))
    r = post_form(c, link, link, {})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_pages_are_not_cached_framed_or_leaked_by_referrer(w: World) -> None:
    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    link = path_of(mailed_link("member@example.org"))
    for r in (w.client.get("/sign-in"), w.client.get(link)):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"


def test_asking_for_links_too_often_is_a_page_that_says_wait(w: World, monkeypatch) -> None:
    from workflow.config import get_settings
    from workflow.http import ratelimit

    monkeypatch.setattr(get_settings(), "public_rate_limit", "2/minute")
    ratelimit.reset()
    page = w.client.get("/sign-in").text
    answers = [
        w.client.post("/sign-in", data={"csrf": csrf(page), "email": "nobody@example.org"})
        for _ in range(3)
    ]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert "Too many requests" in answers[2].text and "retry-after" in answers[2].headers
    ratelimit.reset()


@pytest.mark.parametrize(
    ("who", "subject", "greeting"),
    [
        ("member", "Aanmelden bij Forum workflow", "Beste Koen Wouters,"),
        ("fr_mayor", "Connexion à Forum workflow", "Bonjour Geneviève Dubois,"),
    ],
)
def test_the_sign_in_mail_is_in_the_persons_language(
    w: World, who: str, subject: str, greeting: str
) -> None:
    post_form(w.client, "/sign-in", "/sign-in", {"email": f"{who}@example.org"})
    owe_sign_in_mail()
    with db_session() as db:
        delivery = db.exec(select(Delivery).where(Delivery.reason == "sign_in")).one()
        message = sign_in_mail.compose(db, delivery).message
    assert message["Subject"] == subject and message["To"].addresses[0].username == who
    assert message["Message-ID"] == delivery.message_id
    text = message.get_body(("plain",)).get_content()
    assert text.startswith(greeting) and "/sign-in/" in text
    html = message.get_body(("html",)).get_content()
    assert f'lang="{message["Content-Language"]}"' in html and "/sign-in/" in html


def _sign_in_deliveries(email: str) -> int:
    with db_session() as db:
        person = db.exec(select(Person).where(Person.email == email)).one()
        return len(
            db.exec(
                select(Delivery).where(
                    Delivery.person_id == person.id, Delivery.reason == "sign_in"
                )
            ).all()
        )


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf" value="[0-9a-f]+"', 'name="csrf" value=""', html)


def test_one_address_gets_three_links_in_a_quarter_of_an_hour_and_no_visitor_can_tell(
    w: World,
) -> None:
    asked = [
        post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
        for _ in range(5)
    ]
    owe_sign_in_mail()
    assert _sign_in_deliveries("member@example.org") == 3
    # Known, unknown and capped: the same status and the same page (a fresh browser each, so
    # only the CSRF token differs).
    w.client.cookies.clear()
    unknown = post_form(w.client, "/sign-in", "/sign-in", {"email": "nobody@example.org"})
    answers = {r.status_code for r in [*asked, unknown]}
    assert answers == {200}
    assert len({_without_csrf(r.text) for r in [*asked, unknown]}) == 1
    # A quarter of an hour later the address gets a link again.
    clock.freeze(clock.now() + timedelta(minutes=16))
    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    owe_sign_in_mail()
    assert _sign_in_deliveries("member@example.org") == 4


def test_the_cap_is_a_setting(w: World, monkeypatch) -> None:
    from workflow.config import get_settings

    monkeypatch.setattr(get_settings(), "sign_in_mails_per_address", 1)
    for _ in range(2):
        post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    owe_sign_in_mail()
    assert _sign_in_deliveries("member@example.org") == 1


def test_a_known_and_an_unknown_address_cost_the_request_the_same_queries(w: World) -> None:
    from sqlalchemy import event

    from workflow.db import get_engine

    def statements(email: str) -> list[str]:
        page = w.client.get("/sign-in").text
        seen: list[str] = []

        def note(*args: object) -> None:  # conn, cursor, statement, parameters, ...
            seen.append(str(args[2]))

        event.listen(get_engine(), "before_cursor_execute", note)
        try:
            r = w.client.post("/sign-in", data={"csrf": csrf(page), "email": email})
        finally:
            event.remove(get_engine(), "before_cursor_execute", note)
        assert r.status_code == 200
        return seen

    known = statements("member@example.org")
    unknown = statements("nobody@example.org")
    for _ in range(3):
        statements("member@example.org")
    capped = statements("member@example.org")
    assert known and known == unknown == capped
    # The request reads no person: the worker's step does, after the answer has gone.
    assert not [s for s in known if "FROM person" in s]


def test_a_request_whose_task_was_lost_is_mailed_by_the_sweep(w: World) -> None:
    from workflow.models import SignInRequest
    from workflow.tasks.jobs import sweep

    post_form(w.client, "/sign-in", "/sign-in", {"email": "member@example.org"})
    post_form(w.client, "/sign-in", "/sign-in", {"email": "nobody@example.org"})
    sweep()  # the tasks went to a broker nobody reads here: as if they were lost
    assert _sign_in_deliveries("member@example.org") == 1
    with db_session() as db:  # nothing of either request is kept, the unknown address least
        assert db.exec(select(SignInRequest)).all() == []
