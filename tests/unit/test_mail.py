"""Mail in the recipient's language: snapshots of every kind in every language, the
catalogues, the MIME tree and header safety. UPDATE_SNAPSHOTS=1 rewrites the snapshots."""

import email
import email.policy
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from workflow.i18n import LANGUAGES, LOCALE_DIR, format_when
from workflow.invitations.calendar import build_event_calendar
from workflow.invitations.compose import build_message
from workflow.invitations.render import calendar_description, render_mail
from workflow.invitations.view import (
    AgendaLine,
    Attendee,
    CalendarSession,
    Mail,
    MailKind,
    Method,
    RsvpLinks,
)
from workflow.mail.message import header_safe

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"

SESSION = CalendarSession(
    uid="3b0c@forum-workflow.example.org",
    sequence=2,
    title="Jobkanalen & mobiliteit in de Spitsregio",
    starts_at=datetime(2027, 3, 29, 12, 0, tzinfo=UTC),
    ends_at=datetime(2027, 3, 29, 14, 0, tzinfo=UTC),
    timezone="Europe/Brussels",
    status="scheduled",
    forum_name="Taskforce Spitsregio Leuven",
    organizer_name="ERSV Vlaams-Brabant",
    organizer_email="taskforce@ersv.example.org",
    attendees=(
        Attendee("Mieke Vandenberghe", "mieke@example.org", "co_chair", "accepted", "nl"),
        Attendee("Jan Peeters", "jan@example.org", "co_chair", "needs_action", "nl"),
    ),
    agenda=(
        AgendaLine(1, "Verwelkoming", "information"),
        AgendaLine(2, "Jobkanalen voor laaggeschoolden", "decision"),
        AgendaLine(3, "Terugkoppeling Themawerkgroep Mobiliteit", "report_back"),
    ),
    location="Provinciehuis, Provincieplein 1, Leuven",
    online_url="https://meet.example.org/spitsregio",
    cancel_reason="Te weinig deelnemers",
)
RSVP = RsvpLinks(
    "https://forum.example.org/rsvp/a",
    "https://forum.example.org/rsvp/t",
    "https://forum.example.org/rsvp/d",
)
METHODS = {
    MailKind.invitation: Method.request,
    MailKind.update: Method.request,
    MailKind.cancellation: Method.cancel,
    MailKind.removal: Method.cancel,
    MailKind.reminder: Method.request,
}


def mail(kind: MailKind, language: str, session: CalendarSession = SESSION) -> Mail:
    me = Attendee(
        "Geneviève Dubois", "genevieve@example.org", "participant", "needs_action", language
    )
    method = METHODS[kind]
    return Mail(
        kind=kind,
        method=method,
        session=session,
        recipient=me,
        attendees=(me,) if kind is MailKind.removal else (*session.attendees, me),
        rsvp=RSVP if method is Method.request else None,
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(MailKind))
def test_snapshot(kind: MailKind, language: str) -> None:
    rendered = render_mail(mail(kind, language))
    for part, text in (
        ("subject", rendered.subject + "\n"),
        ("txt", rendered.text),
        ("html", rendered.html),
    ):
        path = SNAPSHOTS / f"{kind.value}.{language}.{part}"
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} changed"


@pytest.mark.parametrize(
    ("language", "subject", "when"),
    [
        ("nl", "Uitnodiging: ", "maandag 29 maart 2027, 14:00–16:00 (Midden-Europese zomertijd)"),
        ("fr", "Invitation : ", "lundi 29 mars 2027, 14:00–16:00 (heure d’été d’Europe centrale)"),
        ("en", "Invitation: ", "Monday, 29 March 2027, 14:00–16:00 (Central European Summer Time)"),
    ],
)
def test_each_language_reads_like_itself(language: str, subject: str, when: str) -> None:
    rendered = render_mail(mail(MailKind.invitation, language))
    assert rendered.subject.startswith(subject)
    assert format_when(SESSION, language) == when
    assert when in rendered.text and when in rendered.html
    assert f'<html lang="{language}">' in rendered.html


def test_winter_time_is_named_as_such() -> None:
    winter = SESSION.__class__(
        **{
            **SESSION.__dict__,
            "starts_at": datetime(2027, 1, 12, 9, tzinfo=UTC),
            "ends_at": datetime(2027, 1, 12, 11, tzinfo=UTC),
        }
    )
    assert format_when(winter, "nl").endswith("10:00–12:00 (Midden-Europese standaardtijd)")


def test_html_in_user_text_is_escaped() -> None:
    evil = SESSION.__class__(
        **{
            **SESSION.__dict__,
            "title": "<script>alert(1)</script>",
            "location": '<img src=x onerror="x">',
        }
    )
    html = render_mail(mail(MailKind.invitation, "nl", evil)).html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_calendar_description_carries_the_agenda_in_the_language() -> None:
    text = calendar_description(SESSION, "fr")
    assert "Ordre du jour" in text and "2. Jobkanalen voor laaggeschoolden (pour décision)" in text


# Catalogues -----------------------------------------------------------------------------


def _extracted_ids() -> set[str]:
    method_map = [
        ("workflow/**.py", "python"),
        ("workflow/templates/**.html", "jinja2"),
        ("workflow/templates/**.txt", "jinja2"),
    ]
    options = {
        "workflow/templates/**.html": {"extensions": "jinja2.ext.i18n"},
        "workflow/templates/**.txt": {"extensions": "jinja2.ext.i18n"},
    }
    ids = set()
    for _, _, message, *_ in extract_from_dir(
        str(ROOT), method_map, options, keywords={"_": None, "gettext": None, "N_": None}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated(language: str) -> None:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    entries = {m.id: m for m in catalog if m.id}
    missing = _extracted_ids() - set(entries)
    assert not missing, f"not in the {language} catalogue: {sorted(missing)}"
    for m in entries.values():
        assert m.string and not m.fuzzy, f"{language}: {m.id!r} is untranslated"


# The MIME message -------------------------------------------------------------------------


def _message(kind: MailKind = MailKind.invitation) -> tuple[bytes, bytes]:
    m = mail(kind, "fr")
    ics = build_event_calendar(
        SESSION,
        m.method,
        attendees=m.attendees,
        recipient_email=m.recipient.email,
        dtstamp=datetime(2027, 3, 1, tzinfo=UTC),
        description="x",
    )
    msg = build_message(
        m,
        render_mail(m),
        ics,
        from_addr="noreply@example.org",
        message_id="<abc@forum-workflow.example.org>",
        date=datetime(2027, 3, 1, 8, tzinfo=UTC),
    )
    return msg.as_bytes(), ics


def test_mime_tree_as_mail_clients_expect() -> None:
    raw, ics = _message()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    inline, attached = [p for p in parsed.walk()][4:]
    assert inline.get_param("method") == "REQUEST" and inline.get_param("charset") == "UTF-8"
    assert inline.get_filename() is None
    assert inline.get_payload(decode=True) == ics  # CRLF intact
    assert attached.get_filename() == "invite.ics"
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_payload(decode=True) == ics


def test_headers() -> None:
    raw, _ = _message(MailKind.cancellation)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Message-ID"] == "<abc@forum-workflow.example.org>"
    assert parsed["Date"] == "Mon, 01 Mar 2027 08:00:00 +0000"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Content-Language"] == "fr"
    assert parsed["To"].addresses[0].display_name == "Geneviève Dubois"
    assert parsed["Reply-To"].addresses[0].addr_spec == "taskforce@ersv.example.org"
    assert parsed["Subject"].startswith("Annulation : ")
    assert [
        p.get_param("method") for p in parsed.walk() if p.get_content_type() == "text/calendar"
    ] == ["CANCEL"]
    # Non-ASCII stays encoded on the wire, and no header line is longer than SMTP allows.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "bad",
    [
        "x\r\nBcc: a@example.org",
        "x\nBcc: a@example.org",
        "=?utf-8?q?x?=",
        "nul\x00",
        "tab\there",
        "ls\u2028",
    ],
)
def test_header_safe_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        header_safe(bad)


def test_an_unsafe_name_never_reaches_a_header() -> None:
    m = mail(MailKind.invitation, "nl")
    evil = Mail(
        **{
            **m.__dict__,
            "recipient": Attendee(
                "Eve\r\nBcc: all@example.org",
                "eve@example.org",
                "participant",
                "needs_action",
                "nl",
            ),
        }
    )
    with pytest.raises(ValueError):
        build_message(
            evil,
            render_mail(evil),
            b"",
            from_addr="noreply@example.org",
            message_id="<x@y>",
            date=datetime(2027, 3, 1, tzinfo=UTC),
        )


# Names that try to become addresses: a forum's secretariat name or a person's name with
# quotes, commas, angle brackets and padding that makes the header fold.
HOSTILE_NAMES = [
    'Mayor <mayor@other.example>, x"' + " " * 70 + "padding",
    'Mayor <mayor@other.example>, x"' + "a" * 80,
    'a"b, <evil@other.example>' + " pad" * 40,
    'Back\\slash \\" <b@other.example>,' + "b" * 70,
    '"Quoted" Name, Jr. <q@other.example>',
    "(comment) <c@other.example>",
    "plain@other.example",
    'Échevin "de" <e@other.example>, ' + "é" * 70,
    "Bürgermeisterin " * 12,
    "Jan Peeters",
    "Geneviève Dubois",
]


def _addresses(raw: bytes, header: str) -> list[tuple[str, str]]:
    """The (display name, address) pairs of a header as a mail program reads them: the raw
    header parsed by email.utils.getaddresses, each RFC 2047 encoded-word decoded."""
    from email.header import decode_header, make_header
    from email.utils import getaddresses

    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [
        (str(make_header(decode_header(name))), addr)
        for name, addr in getaddresses(parsed.get_all(header, []))
    ]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_never_becomes_an_address(name: str) -> None:
    from workflow.mail.message import Envelope, build

    envelope = Envelope(
        from_name=f"{name} via Forum workflow",
        from_addr="noreply@forum-workflow.example.org",
        reply_to_name=name,
        reply_to_addr="secretariaat@ersv.example.org",
        to_name=name,
        to_addr="genevieve@example.org",
        subject="Uitnodiging",
        message_id="<abc@forum-workflow.example.org>",
        date=datetime(2027, 3, 1, 8, tzinfo=UTC),
        language="nl",
    )
    raw = build(envelope, "text", "<p>html</p>").as_bytes()
    expected = {
        "From": (f"{name} via Forum workflow", "noreply@forum-workflow.example.org"),
        "Reply-To": (name, "secretariaat@ersv.example.org"),
        "To": (name, "genevieve@example.org"),
        "Cc": None,
    }
    for header, want in expected.items():
        got = _addresses(raw, header)
        assert got == ([want] if want else []), f"{header}: {got}"
        # The email package's own parser agrees on the address (it keeps the space between
        # two encoded-words in a name, which RFC 2047 says to drop, so only the address).
        if want:
            modern = email.message_from_bytes(raw, policy=email.policy.default)[header]
            assert [a.addr_spec for a in modern.addresses] == [want[1]]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78


def test_a_hostile_name_in_an_invitation_is_one_address() -> None:
    m = mail(MailKind.invitation, "nl")
    name = HOSTILE_NAMES[0]
    evil = Mail(
        **{
            **m.__dict__,
            "session": SESSION.__class__(**{**SESSION.__dict__, "organizer_name": name}),
            "recipient": Attendee(name, "eve@example.org", "participant", "needs_action", "nl"),
        }
    )
    raw = build_message(
        evil,
        render_mail(evil),
        b"",
        from_addr="noreply@example.org",
        message_id="<x@y>",
        date=datetime(2027, 3, 1, tzinfo=UTC),
    ).as_bytes()
    assert _addresses(raw, "From") == [(f"{name} via Forum workflow", "noreply@example.org")]
    assert _addresses(raw, "Reply-To") == [(name, "taskforce@ersv.example.org")]
    assert _addresses(raw, "To") == [(name, "eve@example.org")]


def test_a_fan_out_renders_each_mail_as_if_alone() -> None:
    """A fan-out renders what its mails share once (SharedRendering) and puts in each
    recipient's name and links: every mail must read exactly as `render_mail` writes it
    alone, French elision and HTML escaping included, and a name that holds the stand-ins'
    characters is rendered whole."""
    from dataclasses import replace

    from workflow.invitations import changes as told
    from workflow.invitations.render import SharedRendering

    moved = replace(SESSION, location="Stadhuis, Grote Markt 9, Leuven")
    update = told.changes(told.told(SESSION), told.told(moved))
    names = (
        "Geneviève Dubois",
        "Anne <b>d'Ardennes</b> & co",
        'Émile "Mil" O’Neill',
        "Jan Peeters",
        "Ulla \ue000name\ue001 Stand-in",
    )
    links = RsvpLinks(
        "https://forum.example.org/rsvp/a?x=1&y=<2>",
        "https://forum.example.org/rsvp/t?x=1&y=2",
        "https://forum.example.org/rsvp/\ue000accept\ue001",
    )
    rendering = SharedRendering()
    checked = 0
    for language in LANGUAGES:
        for kind in MailKind:
            for changes in (None, update) if kind is MailKind.update else (None,):
                for name in names:
                    for partstat in ("needs_action", "accepted"):
                        base = mail(kind, language, moved if changes else SESSION)
                        me = replace(base.recipient, name=name, partstat=partstat)
                        one = replace(
                            base,
                            recipient=me,
                            changes=changes,
                            rsvp=links if base.rsvp and name != names[0] else base.rsvp,
                        )
                        assert rendering.render(one) == render_mail(one), (language, kind, name)
                        checked += 1
    assert checked == len(LANGUAGES) * (len(MailKind) + 1) * len(names) * 2
