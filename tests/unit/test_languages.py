"""Which of the service's languages an Accept-Language header asks for (API problem details
and the web pages read it the same way)."""

import pytest

from workflow.i18n import accepted_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.5", "fr"),
        ("de-DE, nl-BE;q=0.7, fr;q=0.9", "fr"),  # by weight, not by order
        ("nl, fr", "nl"),  # equal weight: the order
        ("en-GB;q=0.3, NL-be;q=0.3", "en"),
        ("fr;q=abc, nl;q=0.1", "nl"),  # a broken weight is passed over
        ("de, es", None),
        ("", None),
    ],
)
def test_the_first_of_our_languages_by_preference(header: str, language: str | None) -> None:
    assert accepted_language(header) == language
