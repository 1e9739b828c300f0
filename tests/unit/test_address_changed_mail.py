"""The mail telling a person's old address that it was changed: a snapshot in every language,
as the administrator changed it and as the person did with a token of theirs.
UPDATE_SNAPSHOTS=1 rewrites the snapshots."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflow.directory import render_address_changed
from workflow.i18n import LANGUAGES

SNAPSHOTS = Path(__file__).parent / "snapshots"
CHANGED_AT = datetime(2027, 3, 29, 12, 5, tzinfo=UTC)  # 14:05 in Brussels


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("by", ["administrator", "self"])
def test_snapshot(by: str, language: str) -> None:
    rendered = render_address_changed(
        language, "Geneviève Dubois", CHANGED_AT, by_self=by == "self"
    )
    for part, text in (
        ("subject", rendered.subject + "\n"),
        ("txt", rendered.text),
        ("html", rendered.html),
    ):
        path = SNAPSHOTS / f"address_changed.{by}.{language}.{part}"
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path.name} changed"


@pytest.mark.parametrize(
    ("language", "subject", "when", "tokens"),
    [
        ("nl", "Uw e-mailadres", "29 maart 2027, 14:05", "agendafeedlink van uw account"),
        ("fr", "Votre adresse e-mail", "29 mars 2027, 14:05", "flux d’agenda de votre compte"),
        ("en", "Your e-mail address", "29 March 2027, 14:05", "calendar feed link of your account"),
    ],
)
def test_each_language_reads_like_itself(
    language: str, subject: str, when: str, tokens: str
) -> None:
    by_admin = render_address_changed(language, "Geneviève Dubois", CHANGED_AT, by_self=False)
    assert by_admin.subject.startswith(subject)
    assert when in by_admin.text and when in by_admin.html
    assert f'<html lang="{language}">' in by_admin.html
    assert tokens in by_admin.text  # revoked when someone else changed the address
    by_self = render_address_changed(language, "Geneviève Dubois", CHANGED_AT, by_self=True)
    assert tokens not in by_self.text and "API" in by_self.text  # "with one of your tokens"
