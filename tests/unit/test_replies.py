"""Calendar replies, the pure parts: what an inbound message is (the fixtures written as
Outlook, Google Calendar, Apple Calendar and Thunderbird write their replies, and mail that
is no reply), the SASL XOAUTH2 login string (Microsoft 365 cannot be reached from the tests:
the string and the token request are checked as data), and invitations naming the reply
address as ORGANIZER with the secretariat as Reply-To, read back by vobject and ical.js."""

import base64
import email
import email.policy
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

import pytest
from pydantic import SecretStr

from tests.replies import CLIENTS, NOT_REPLIES, render
from tests.unit.test_calendar import icaljs, read, request, session  # noqa: F401  # fixtures
from tests.unit.test_mail import RSVP, mail
from workflow.config import Settings
from workflow.invitations.compose import build_message
from workflow.invitations.render import render_mail
from workflow.invitations.view import MailKind
from workflow.replies.classify import classify, message_key
from workflow.replies.imap import (
    client_credentials_form,
    token_url,
    xoauth2_initial_response,
    xoauth2_string,
)

UID = "3b0c9f5e-2a41-4c1e-9d7a-6f1e2b3c4d5e@forum-workflow.example.org"
START = datetime(2027, 3, 29, 12, 0, tzinfo=UTC)


def _reply(client: str, **kw: Any) -> bytes:
    values = {
        "uid": UID,
        "attendee": "jan.peeters@example.org",
        "attendee_name": "Jan Peeters",
        "reply_address": "antwoorden@forum.example.be",
        "organizer_name": "ERSV Vlaams-Brabant",
        "starts_at": START,
        **kw,
    }
    return render(client, **values)


@pytest.mark.parametrize("client", CLIENTS)
def test_each_clients_reply_is_read_as_a_reply(client: str) -> None:
    raw = _reply(client, message_id=f"<{client}-1@example.net>")
    found = classify(raw)
    assert found.kind == "reply" and found.method == "REPLY"
    assert found.sender == "jan.peeters@example.org"
    assert found.key == f"<{client}-1@example.net>"
    assert found.calendar is not None and UID.encode() in found.calendar
    assert b"METHOD:REPLY" in found.calendar


def test_outlook_writes_what_the_fixture_promises() -> None:
    found = classify(_reply("outlook"))
    assert found.calendar is not None
    text = found.calendar.decode()
    assert "ORGANIZER" not in text and "VTIMEZONE" not in text
    assert "TZID=Romance Standard Time" in text and "X-MICROSOFT-CDO-BUSYSTATUS" in text
    assert "MAILTO:Jan.peeters@Example.org" in text and "COMMENT" in text


@pytest.mark.parametrize(
    ("name", "kind"),
    [("out_of_office", "auto_reply"), ("bounce", "bounce"), ("words", "no_calendar")],
)
def test_mail_that_is_no_reply_is_said_so(name: str, kind: str) -> None:
    assert name in NOT_REPLIES
    found = classify(_reply(name))
    assert found.kind == kind and found.calendar is None and found.reason


def test_an_invitation_forwarded_back_is_no_reply() -> None:
    m = mail(MailKind.invitation, "nl")
    from tests.unit.test_mail import _message

    raw, _ = _message()
    assert classify(raw).kind in ("auto_reply", "no_calendar")  # a REQUEST, not from an attendee
    assert m.rsvp == RSVP


def test_a_message_without_message_id_is_known_by_its_bytes() -> None:
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n"
    key = message_key(raw, email.message_from_bytes(raw, policy=email.policy.default))
    assert key.startswith("sha256:") and len(key) == 7 + 64
    assert classify(raw).key == key
    assert classify(raw + b"more\r\n").key != key


def test_unreadable_bytes_are_reported_not_raised() -> None:
    assert classify(b"\xff\xfe\x00garbage").kind in ("no_calendar", "unreadable")


def test_xoauth2_string_is_as_microsoft_and_google_define_it() -> None:
    s = xoauth2_string("antwoorden@gemeente.be", "eyJ0eXAi.token")
    assert s == "user=antwoorden@gemeente.be\x01auth=Bearer eyJ0eXAi.token\x01\x01"
    # The example of Google's XOAUTH2 documentation, byte for byte.
    assert xoauth2_initial_response(
        "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
    ) == (
        b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        b"YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )
    assert (
        base64.b64decode(xoauth2_initial_response("u", "t")) == b"user=u\x01auth=Bearer t\x01\x01"
    )
    with pytest.raises(ValueError):
        xoauth2_string("u\x01", "t")


def test_client_credentials_request_for_microsoft_365() -> None:
    s = Settings(
        imap_oauth2_tenant="contoso.onmicrosoft.com",
        imap_oauth2_client_id="1c2d",
        imap_oauth2_client_secret=SecretStr("s3cr3t"),
    )
    assert token_url(s) == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert client_credentials_form(s) == {
        "grant_type": "client_credentials",
        "client_id": "1c2d",
        "client_secret": "s3cr3t",
        "scope": "https://outlook.office365.com/.default",
    }
    assert token_url(Settings(imap_oauth2_token_url="https://idp.example/token")) == (
        "https://idp.example/token"
    )


def test_with_a_reply_address_the_organizer_brings_the_reply_back(read: Any) -> None:  # noqa: F811  # the fixture
    s = session(organizer_email="antwoorden@forum.example.be", reply_to_email="agence@example.org")
    parsed = read(request(s))
    [event] = parsed["events"]
    assert event["organizer"].lower() == "mailto:antwoorden@forum.example.be"
    assert event["organizer_cn"] == "Agence de l'Eurométropole"
    assert any(a["rsvp"] == "TRUE" for a in event["attendees"])


def test_with_a_reply_address_words_still_reach_the_secretariat() -> None:
    from dataclasses import replace

    from tests.unit.test_mail import SESSION

    s = replace(
        SESSION,
        organizer_email="antwoorden@forum.example.be",
        reply_to_email="taskforce@ersv.example.org",
    )
    m = replace(mail(MailKind.invitation, "nl"), session=s)
    msg = build_message(
        m,
        render_mail(m),
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
        from_addr="noreply@example.org",
        message_id="<a@forum-workflow.example.org>",
        date=datetime(2027, 3, 1, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert getaddresses([str(parsed["Reply-To"])]) == [
        ("ERSV Vlaams-Brabant", "taskforce@ersv.example.org")
    ]
    # Unset, the secretariat is both, as before.
    m2 = mail(MailKind.invitation, "nl")
    msg2 = build_message(
        m2,
        render_mail(m2),
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        from_addr="noreply@example.org",
        message_id="<b@forum-workflow.example.org>",
        date=datetime(2027, 3, 1, tzinfo=UTC),
    )
    assert "taskforce@ersv.example.org" in str(msg2["Reply-To"])


def test_the_ledger_records_once_and_keeps_what_it_could_not_apply(tmp_path: Any) -> None:
    """On a SQLite database of its own: a reply for no session is recorded as failed with
    the reason (nothing of it applied), mail that is no reply as such; read again, neither
    is recorded twice."""
    from sqlmodel import Session as DBSession
    from sqlmodel import SQLModel, create_engine, select

    from workflow.models import InboundMessage
    from workflow.replies import inbound

    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    SQLModel.metadata.create_all(engine)
    unknown = _reply("thunderbird", message_id="<unknown-1@example.net>")
    forged = _reply("apple", message_id="<forged-1@example.net>").replace(
        b"From: Jan Peeters <jan.peeters@example.org>", b"From: Someone <someone@example.org>"
    )
    words = _reply("words", message_id="<words-1@example.net>")
    with DBSession(engine) as db:
        first = inbound.process(db, unknown, mailbox="imap://test")
        assert (first.outcome, first.first_time) == (inbound.FAILED, True)
        assert first.reason and "calendar UID" in first.reason
        wrong = inbound.process(db, forged, mailbox="imap://test")
        assert wrong.outcome == inbound.FAILED and "not by the ATTENDEE" in (wrong.reason or "")
        no = inbound.process(db, words, mailbox="imap://test", uidvalidity=7, uid=3)
        assert (no.outcome, no.kind) == (inbound.NOT_A_REPLY, "no_calendar")
        for raw in (unknown, forged, words):
            again = inbound.process(db, raw, mailbox="imap://test")
            assert not again.first_time
        assert len(db.exec(select(InboundMessage)).all()) == 3
        assert inbound.settled_uids(db, "imap://test", 7) == set()
        inbound.settle(db, no.id)
        assert inbound.settled_uids(db, "imap://test", 7) == {3}
        left = inbound.left_for_the_secretariat(db)
        assert [r.message_key for r in left] == [
            "<words-1@example.net>",
            "<forged-1@example.net>",
            "<unknown-1@example.net>",
        ]
    engine.dispose()
