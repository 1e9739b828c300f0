"""A compiled report as an HTML page, a CSV file and a PDF: what the mayors read, print and
paste into their own tables. All three are built from the stored report content alone."""

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from workflow.invitations.render import render_page, translations

FONTS = Path(__file__).parent / "fonts"
SECTIONS = ("session", "decision", "opened", "done", "overdue", "indicator", "escalation")
CSV_COLUMNS = (
    "forum_id",
    "forum",
    "section",
    "id",
    "title",
    "owner",
    "status",
    "due_date",
    "days_overdue",
    "indicator",
    "unit",
    "baseline",
    "target",
    "current_value",
    "progress",
    "behind_target_path",
    "note",
)
TOTALS = (
    ("sessions_held", "Sessions held"),
    ("decisions", "Decisions"),
    ("action_items_opened", "Action items opened"),
    ("action_items_done", "Action items done"),
    ("action_items_overdue", "Action items overdue"),
    ("indicators_behind", "Indicators behind their target path"),
    ("escalations", "Items for a decision by the mayors"),
)


def to_html(
    content: dict[str, Any],
    *,
    language: str,
    version: int,
    compiled_at: datetime,
    versions: Sequence[dict[str, Any]] = (),
    pdf_url: str | None = None,
) -> str:
    return render_page(
        "report.html",
        language,
        report=content,
        version=version,
        compiled_at=compiled_at,
        versions=versions,
        totals=TOTALS,
        pdf_url=pdf_url,
    )


# CSV ----------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(section: dict[str, Any]) -> Iterator[dict[str, Any]]:
    forum = {"forum_id": section["forum"]["id"], "forum": section["forum"]["name"]}
    for s in section["sessions"]:
        a = s["attendance"]
        note = f"present {a['present']}, excused {a['excused']}, absent {a['absent']}"
        yield {
            **forum,
            "section": "session",
            "id": s["id"],
            "title": s["title"],
            "due_date": s["starts_at"],
            "note": note,
        }
    for d in section["decisions"]:
        yield {
            **forum,
            "section": "decision",
            "id": d["session_id"],
            "title": d["agenda_item"],
            "note": d["outcome"],
        }
    for name in ("opened", "done", "overdue"):
        for i in section["action_items"][name]:
            yield {
                **forum,
                "section": name,
                **{
                    k: i.get(k)
                    for k in ("id", "title", "owner", "status", "due_date", "days_overdue")
                },
            }
    for i in section["indicators"]:
        yield {
            **forum,
            "section": "indicator",
            "id": i["action_item_id"],
            **{
                k: i.get(k)
                for k in (
                    "title",
                    "status",
                    "due_date",
                    "indicator",
                    "unit",
                    "baseline",
                    "target",
                    "current_value",
                    "progress",
                    "behind_target_path",
                )
            },
        }
    for e in section["escalations"]:
        yield {
            **forum,
            "section": "escalation",
            **{k: e.get(k) for k in ("id", "title", "owner", "status", "due_date", "days_overdue")},
            "note": e.get("note"),
        }
    for child in section["children"]:
        yield from _rows(child)


def to_csv(content: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in _rows(content):
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


# PDF ----------------------------------------------------------------------------------------


class _Pdf(FPDF):
    def __init__(self, footer: str) -> None:
        super().__init__(format="A4")
        self._footer = footer
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 6, f"{self._footer} · {self.page_no()}", align="C")


def to_pdf(content: dict[str, Any], *, language: str, version: int, compiled_at: datetime) -> bytes:
    _ = translations(language).gettext
    title = f"{_('Follow-up report')}: {content['forum']['name']}"
    pdf = _Pdf(f"{content['forum']['name']} – {_('version')} {version}")
    pdf.set_title(title)
    pdf.set_creator("Forum workflow")
    pdf.set_creation_date(compiled_at)
    pdf.add_page()
    width = pdf.epw

    def text(size: float, value: str, bold: bool = False, height: float = 6) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(width, height, value, new_x="LMARGIN", new_y="NEXT")

    parent = content.get("parent", {})
    text(16, title, bold=True, height=8)
    if parent.get("forum_name"):
        text(10, f"{parent['forum_name']} – {parent.get('session_title', '')}")
    period = content.get("period", {})
    text(
        9,
        f"{_('Period')}: {period.get('start', '')[:10]} – {period.get('end', '')[:10]}"
        f" · {_('version')} {version} · {compiled_at:%Y-%m-%d %H:%M} UTC",
    )
    pdf.ln(2)
    totals = content["totals"]
    for key, label in TOTALS:
        text(10, f"{_(label)}: {totals[key]}")
    _pdf_section(pdf, content, _, text, depth=0)
    return bytes(pdf.output())


def _pdf_section(pdf: FPDF, section: dict[str, Any], _: Any, text: Any, depth: int) -> None:
    if depth:
        pdf.ln(3)
        text(13, section["forum"]["name"], bold=True, height=7)
    if section["sessions"]:
        text(11, _("Sessions held"), bold=True)
        for s in section["sessions"]:
            counts = _("%(present)s present, %(excused)s excused, %(absent)s absent")
            text(9, f"• {s['starts_at'][:10]} {s['title']} – {counts % s['attendance']}")
    if section["decisions"]:
        text(11, _("Decisions"), bold=True)
        for d in section["decisions"]:
            text(9, f"• {d['agenda_item']}: {d['outcome']}")
    for name, label in (
        ("opened", "Action items opened"),
        ("done", "Action items done"),
        ("overdue", "Action items overdue"),
    ):
        rows = section["action_items"][name]
        if rows:
            text(11, f"{_(label)} ({len(rows)})", bold=True)
            for i in rows:
                due = f" – {_('due')} {i['due_date']}" if i.get("due_date") else ""
                text(9, f"• {i['title']} ({i.get('owner') or '–'}){due}")
    if section["indicators"]:
        text(11, _("Indicators"), bold=True)
        for i in section["indicators"]:
            progress = "–" if i["progress"] is None else f"{round(i['progress'] * 100)}%"
            behind = f" ({_('behind its target path')})" if i["behind_target_path"] else ""
            text(
                9,
                f"• {i['title']}: {i.get('indicator') or ''} {_number(i['baseline'])} → "
                f"{_number(i['current_value'])} / {_number(i['target'])} "
                f"{i.get('unit') or ''} – {progress}{behind}",
            )
    if section["escalations"]:
        text(11, _("Items for a decision by the mayors"), bold=True)
        for e in section["escalations"]:
            text(9, f"• {e['title']}: {e.get('note') or ''}")
    for child in section["children"]:
        _pdf_section(pdf, child, _, text, depth + 1)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}"
