"""The pages a participant reaches from an invitation mail, in the browser."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Service, Shots, links, new_context

pytestmark = pytest.mark.browser

MEMBER = "wim.hermans.acv@example.org"  # a Taskforce member who reads Dutch


def test_answer_from_the_invitation_link(service: Service, page: Page, shot: Shots) -> None:
    # As in the README: the Taskforce's co-chair schedules a session through the API.
    chair = service.api("co-chair, Taskforce")
    forums = chair.get("/forums").json()["items"]
    taskforce = next(f for f in forums if f["name"] == "Taskforce Spitsregio Leuven")
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    r = chair.post(
        f"/forums/{taskforce['id']}/sessions",
        json={
            "title": "Jobkanalen en mobiliteit",
            "location": "Provinciehuis, Leuven",
            "starts_at": f"{day}T14:00:00",
            "ends_at": f"{day}T16:00:00",
        },
    )
    assert r.status_code == 201, r.text
    session = r.json()

    invitation = service.wait_mail(MEMBER)
    _accept, _maybe, decline = links(invitation, "/rsvp/")

    page.goto(decline)
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", name="Jobkanalen en mobiliteit")).to_be_visible()
    expect(page.get_by_text("Ik kom niet")).to_be_visible()
    shot(page, "rsvp-confirm")
    page.get_by_role("button", name="Mijn antwoord bevestigen").click()
    expect(page.get_by_role("heading", name="Dank u")).to_be_visible()
    shot(page, "rsvp-done")

    declined = chair.get(f"/sessions/{session['id']}/answers").json()["declined"]
    assert [p["email"] for p in declined] == [MEMBER]


def test_answer_page_fits_a_phone(browser: Browser, service: Service, shot: Shots) -> None:
    invitation = service.wait_mail(MEMBER)
    accept = links(invitation, "/rsvp/")[0]
    context = new_context(browser, service, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(accept)
    button = page.get_by_role("button", name="Mijn antwoord bevestigen")
    expect(button).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "rsvp-confirm-phone")
    context.close()
