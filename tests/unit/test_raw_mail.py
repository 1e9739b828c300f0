"""The calendar mail written directly as bytes (`build_raw`) reads, to parsers that did not
write it, exactly as the one the email package builds (`build`): the same tree, headers,
addresses and decoded contents, and a name still never becomes an address."""

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from tests.unit.test_mail import HOSTILE_NAMES, _addresses
from workflow.mail.message import Envelope, build, build_raw, calendar_attachment

ICS = (
    "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Overleg – Ordre du jour\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()

TEXTS = [
    ("Beste Jan,\n\nU bent uitgenodigd.\n", "<p>Beste Jan,</p>\n"),
    (
        "Chère Geneviève,\n\nOrdre du jour\u00a0:\n  1. " + "très long " * 30 + "\n \ntrailing \n",
        "<p>Chère&nbsp;Geneviève</p>" + "<td style='x'>é</td>" * 40 + "\n=3D.\n",
    ),
]
SUBJECTS = [
    "Uitnodiging: Overleg – ma 3 maart",
    "Invitation\u00a0: Overleg werk en économie – lun. 3 mars 2027, avec un titre très long",
    "Invitation: a plain ASCII subject that is long enough to need folding somewhere",
    "Short",
]


def _envelope(name: str, subject: str, language: str = "fr") -> Envelope:
    return Envelope(
        from_name=f"{name} via Forum workflow",
        from_addr="noreply@forum-workflow.example.org",
        reply_to_name=name,
        reply_to_addr="secretariaat@ersv.example.org",
        to_name=name,
        to_addr="genevieve@example.org",
        subject=subject,
        message_id="<abc@forum-workflow.example.org>",
        date=datetime(2027, 3, 1, 8, tzinfo=UTC),
        language=language,
    )


def _read(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _shape(message: EmailMessage) -> list[tuple[object, ...]]:
    parts = []
    for part in message.walk():
        leaf = not part.is_multipart()
        parts.append(
            (
                part.get_content_type(),
                part.get_param("method"),
                part.get_param("charset") if leaf else None,
                part.get_filename(),
                part.get_content_disposition(),
                part.get_payload(decode=True) if leaf else None,
            )
        )
    return parts


HEADERS = (
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "Content-Language",
    "MIME-Version",
)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("texts", TEXTS)
@pytest.mark.parametrize("name", ["Interleuven", "Geneviève Dubois", HOSTILE_NAMES[0]])
def test_the_bytes_read_as_the_email_package_builds_them(
    subject: str, texts: tuple[str, str], name: str
) -> None:
    text, html = texts
    args = dict(
        inline_calendar=(ICS, "REQUEST"), attachments=(calendar_attachment(ICS, "REQUEST"),)
    )
    envelope = _envelope(name, subject)
    want = build(envelope, text, html, **args).as_bytes()  # type: ignore[arg-type]
    got = build_raw(envelope, text, html, **args)  # type: ignore[arg-type]
    w, g = _read(want), _read(got)
    for header in HEADERS:
        assert str(g[header]) == str(w[header]), header
    for header in ("From", "Reply-To", "To"):
        assert _addresses(got, header) == _addresses(want, header)
    assert _shape(g) == _shape(w)
    for kind, content in (("plain", text), ("html", html)):
        read = g.get_body((kind,)).get_content()  # type: ignore[union-attr]
        assert read == w.get_body((kind,)).get_content()  # type: ignore[union-attr]
        assert read.replace("\r\n", "\n") == content
    head, _ = got.split(b"\r\n\r\n", 1)
    assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78
    assert b"\n" not in got.replace(b"\r\n", b"")  # CRLF line ends only
    assert max(len(line) for line in got.split(b"\r\n")) <= 78


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_never_becomes_an_address(name: str) -> None:
    raw = build_raw(_envelope(name, "Uitnodiging", "nl"), "text", "<p>html</p>")
    assert _addresses(raw, "To") == [(name, "genevieve@example.org")]
    assert _addresses(raw, "Reply-To") == [(name, "secretariaat@ersv.example.org")]
    assert _addresses(raw, "From") == [
        (f"{name} via Forum workflow", "noreply@forum-workflow.example.org")
    ]
    assert _addresses(raw, "Cc") == []


@pytest.mark.parametrize("bad", ["x\r\nBcc: a@example.org", "=?utf-8?q?x?=", "ls\u2028"])
def test_what_is_unsafe_in_a_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        build_raw(_envelope(bad, "Uitnodiging"), "text", "<p>html</p>")


def test_a_subject_stays_one_header() -> None:
    with pytest.raises(ValueError):
        build_raw(_envelope("Jan", "Uitnodiging =?utf-8?q?x?="), "text", "<p>html</p>")
    raw = build_raw(_envelope("Jan", "Uitnodiging\r\nBcc: a@example.org"), "text", "<p>x</p>")
    parsed = _read(raw)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Uitnodiging Bcc: a@example.org"
