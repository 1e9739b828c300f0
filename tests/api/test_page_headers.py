"""Pages a person opens (behind links in mail, and the web pages) are never cached, framed
or referred to another site; `Allow` names every method a path answers."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.api.world import World, ok
from tests.web.pages import signed_in_as
from workflow.follow_up import links
from workflow.invitations import rsvp

PAGE = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "same-origin",
}


def _page_headers(r: Any) -> dict[str, str | None]:
    return {k: r.headers.get(k) for k in PAGE}


def test_the_pages_behind_mail_links_cannot_be_framed_cached_or_referred(w: World) -> None:
    s = w.schedule()
    member = w.people["member"]
    answer = "/rsvp/" + rsvp.sign(s["id"], member, "accepted", datetime.fromisoformat(s["ends_at"]))
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            headers=w.auth("secretariat"),
            json={
                "title": "Jobkanalen in kaart brengen",
                "owner_person_id": member,
                "due_date": (date.today() + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    act = "/act/" + links.sign(item["id"], member, "done", datetime.now() + timedelta(days=7))
    pages = [
        w.client.get(answer),  # the answer to confirm
        w.client.post(answer),  # and recorded
        w.client.get(act),
        w.client.post(act),
        w.client.get("/rsvp/changed-or-made-up"),  # the error pages too
        w.client.get("/act/changed-or-made-up"),
        w.client.get("/report/changed-or-made-up"),
        w.client.get("/report/changed-or-made-up/pdf"),
        w.client.get("/sign-in"),  # the web pages: the same helper
    ]
    assert [r.status_code for r in pages] == [200, 200, 200, 200, 404, 404, 404, 404, 200]
    for r in pages:
        assert _page_headers(r) == PAGE, r.request.url
    # Not a page: the API answers as it did.
    api = w.client.get("/api/v1/forums", headers=w.auth("member"))
    assert _page_headers(api) == dict.fromkeys(PAGE)


def test_the_web_pages_cannot_be_framed_cached_or_referred(w: World) -> None:
    """Every web page, whatever the handler answers: a redirect, a page, an error page."""
    signed_out = w.client.get("/", follow_redirects=False)  # to the sign-in page
    c = signed_in_as(w, "member")
    pages = [signed_out, c.get("/"), c.get("/action-items"), c.get("/sessions/999999")]
    assert [r.status_code for r in pages] == [303, 200, 200, 404]
    for r in pages:
        assert _page_headers(r) == PAGE, r.request.url


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/v1/forums", "GET, OPTIONS, POST"),
        ("/api/v1/sessions/1", "GET, OPTIONS, PATCH"),
        ("/api/v1/people/1", "DELETE, GET, OPTIONS, PATCH"),
        ("/rsvp/some-token", "GET, OPTIONS, POST"),
        ("/sign-in", "GET, OPTIONS, POST"),
        ("/sign-out", "OPTIONS, POST"),
    ],
)
def test_allow_names_every_method_of_the_path(client: Any, path: str, allow: str) -> None:
    r = client.options(path)
    assert r.status_code == 204 and r.headers["allow"] == allow and not r.content
    # A method the path does not answer: 405 with the same list.
    refused = client.put(path)
    assert refused.status_code == 405 and refused.headers["allow"] == allow
    assert refused.headers["content-type"] == "application/problem+json"


def test_options_of_a_path_nobody_answers_is_404(client: Any) -> None:
    r = client.options("/api/v1/nothing-here")
    assert r.status_code == 404 and "allow" not in r.headers
