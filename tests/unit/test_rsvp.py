from datetime import UTC, datetime, timedelta

import pytest

from workflow import clock
from workflow.invitations import rsvp

END = datetime(2027, 3, 29, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    clock.freeze(datetime(2027, 3, 1, tzinfo=UTC))
    yield
    clock.freeze(None)


def test_a_link_says_who_answers_what_for_which_session() -> None:
    token = rsvp.sign(12, 34, "accepted", END)
    assert rsvp.read(token) == rsvp.Answer(12, 34, "accepted")


def test_links_differ_per_person_session_and_answer() -> None:
    tokens = {rsvp.sign(s, p, a, END) for s in (1, 2) for p in (1, 2) for a in rsvp.ANSWERS}
    assert len(tokens) == 12


def test_a_tampered_link_is_refused() -> None:
    token = rsvp.sign(12, 34, "accepted", END)
    signature = token.rsplit(".", 1)[1]
    other = rsvp.sign(12, 35, "accepted", END).rsplit(".", 1)[0]
    for bad in (f"{other}.{signature}", token[:-2] + "xx", "abc", "", token + "."):
        with pytest.raises(rsvp.InvalidLink):
            rsvp.read(bad)


def test_a_link_signed_with_another_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.config import get_settings

    token = rsvp.sign(12, 34, "declined", END)
    monkeypatch.setenv("WORKFLOW_SECRET_KEY", "another-key")
    get_settings.cache_clear()
    try:
        with pytest.raises(rsvp.InvalidLink):
            rsvp.read(token)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_link_expires_when_the_session_ends() -> None:
    token = rsvp.sign(12, 34, "tentative", END)
    clock.freeze(END - timedelta(minutes=1))
    assert rsvp.read(token).answer == "tentative"
    clock.freeze(END + timedelta(seconds=1))
    with pytest.raises(rsvp.ExpiredLink):
        rsvp.read(token)


def test_links_point_at_the_public_url() -> None:
    links = rsvp.links(1, 2, END)
    assert links.accept.startswith("http://127.0.0.1:8000/rsvp/")
    assert rsvp.read(links.decline.rsplit("/", 1)[1]).answer == "declined"
