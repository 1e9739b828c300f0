"""A compiled report as an HTML page, a CSV file and a PDF: what the mayors read, print and
paste into their own tables. All three are built from the stored report content alone."""

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from fpdf import FPDF, FontFace

from workflow.config import get_settings
from workflow.i18n import (
    ITEM_STATUS,
    LOCALES,
    N_,
    attendance_counts,
    colon,
    language_of,
    render_page,
    translations,
)

FONTS = Path(__file__).parent / "fonts"
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
# Labels are msgids, marked for extraction and translated where shown.
TOTALS = (
    ("sessions_held", N_("Sessions held")),
    ("decisions", N_("Decisions")),
    ("action_items_opened", N_("Action items opened")),
    ("action_items_done", N_("Action items done")),
    ("action_items_overdue", N_("Action items overdue")),
    ("indicators_behind", N_("Indicators behind their target path")),
    ("escalations", N_("Items for a decision by the mayors")),
)
ITEM_LISTS = (
    ("opened", N_("Action items opened")),
    ("done", N_("Action items done")),
    ("overdue", N_("Action items overdue")),
)


# Dates and times ----------------------------------------------------------------------------


def _aware(value: datetime | str) -> datetime:
    """Stored moments are UTC; one that lost its zone on the way is read as UTC, not local."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: date | datetime | str, language: str) -> str:
    """'7 juni 2027': a moment on the forums' wall clock, a plain date as it is."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = _aware(value).astimezone(ZoneInfo(get_settings().default_timezone))
    return format_date(value, format="long", locale=LOCALES[language_of(language)])


def _moment(value: datetime | str, language: str) -> str:
    """'1 juin 2027, 09:30' on the forums' wall clock."""
    local = _aware(value).astimezone(ZoneInfo(get_settings().default_timezone))
    time = format_time(local, "HH:mm", locale=LOCALES[language_of(language)])
    return f"{_day(local, language)}, {time}"


def _occasion(parent: dict[str, Any], language: str) -> str:
    """'Burgemeestersoverleg Oost-Brabant – Burgemeestersoverleg juni, 7 juni 2027': the
    parent session the report is for, with whatever of it the content names."""
    names = " – ".join(parent[k] for k in ("forum_name", "session_title") if parent.get(k))
    when = _day(parent["session_starts_at"], language) if parent.get("session_starts_at") else ""
    return ", ".join(part for part in (names, when) if part)


# HTML ---------------------------------------------------------------------------------------


def html_context(
    content: dict[str, Any],
    *,
    language: str,
    version: int,
    compiled_at: datetime,
    versions: Sequence[dict[str, Any]] = (),
    pdf_url: str | None = None,
) -> dict[str, Any]:
    """What workflow/templates/pages/_report_body.html shows, in the reader's language."""
    return {
        "report": content,
        "occasion": _occasion(content.get("parent") or {}, language),
        "version": version,
        "compiled": _moment(compiled_at, language),
        "versions": [{**v, "compiled": _moment(v["compiled_at"], language)} for v in versions],
        "totals": TOTALS,
        "date_of": lambda value: _day(value, language),
        "pdf_url": pdf_url,
    }


def to_html(content: dict[str, Any], *, language: str, **details: Any) -> str:
    return render_page(
        "report.html", language, **html_context(content, language=language, **details)
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
        # Bundled, so accents, ’ – € and → print the same on a server without DejaVu installed.
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 6, f"{self._footer} · {self.page_no()}", align="C")


class _Writer:
    """The report as headings and bulleted lines, in the reader's language."""

    def __init__(self, pdf: _Pdf, language: str) -> None:
        self.pdf = pdf
        self.language = language_of(language)
        self._: Callable[[str], str] = translations(self.language).gettext
        self.sep = colon("", self.language) + " "  # ": ", and " : " (no-break) in French

    def text(self, size: float, value: str, *, bold: bool = False, height: float = 6) -> None:
        self.pdf.set_font("DejaVu", "B" if bold else "", size)
        self.pdf.multi_cell(self.pdf.epw, height, value, new_x="LMARGIN", new_y="NEXT")

    def heading(self, value: str) -> None:
        self.pdf.ln(1)
        self.text(11, value, bold=True)

    def number(self, value: float | None) -> str:
        return "–" if value is None else format_decimal(value, locale=LOCALES[self.language])

    def item(self, i: dict[str, Any]) -> str:
        _ = self._
        line = f"• {i['title']} ({i.get('owner') or '–'})"
        if i.get("due_date"):
            line += f" – {colon(_('Due'), self.language)} {_day(i['due_date'], self.language)}"
        if i.get("days_overdue"):
            late = translations(self.language).ngettext(
                "%(num)s day overdue", "%(num)s days overdue", i["days_overdue"]
            )
            line += f" ({late % {'num': i['days_overdue']}})"
        status = i.get("status")
        return f"{line} – {_(ITEM_STATUS.get(status, status))}" if status else line

    def indicator(self, i: dict[str, Any]) -> str:
        _ = self._
        what = " ".join(
            part
            for part in (i.get("indicator"), f"({i['unit']})" if i.get("unit") else None)
            if part
        )
        progress = (
            "–"
            if i["progress"] is None
            else format_percent(i["progress"], locale=LOCALES[self.language])
        )
        behind = f" – {_('behind its target path')}" if i["behind_target_path"] else ""
        return (
            f"• {i['title']}{self.sep + what if what else ''} – {_('Baseline')} "
            f"{self.number(i['baseline'])} · {_('Current value')} {self.number(i['current_value'])}"
            f" · {_('Target')} {self.number(i['target'])} · {_('Progress')} {progress}{behind}"
        )

    def section(self, s: dict[str, Any], depth: int) -> None:
        _ = self._
        self.pdf.ln(3)
        self.text(14 if depth == 0 else 12, s["forum"]["name"], bold=True, height=7)
        if s["sessions"]:
            self.heading(_("Sessions held"))
            for x in s["sessions"]:
                day = _day(x["starts_at"], self.language)
                self.text(
                    9,
                    f"• {day} – {x['title']} – {attendance_counts(x['attendance'], self.language)}",
                )
        if s["decisions"]:
            self.heading(_("Decisions"))
            for d in s["decisions"]:
                self.text(9, f"• {d['agenda_item']} ({d['session_title']}){self.sep}{d['outcome']}")
        for name, label in ITEM_LISTS:
            if rows := s["action_items"][name]:
                self.heading(f"{_(label)} ({len(rows)})")
                for i in rows:
                    self.text(9, self.item(i))
        if s["indicators"]:
            self.heading(_("Indicators"))
            for i in s["indicators"]:
                self.text(9, self.indicator(i))
        if s["escalations"]:
            self.heading(_("Items for a decision by the mayors"))
            for e in s["escalations"]:
                self.text(9, f"• {e['title']}{self.sep + e['note'] if e.get('note') else ''}")
        for child in s["children"]:
            self.section(child, depth + 1)


def to_pdf(content: dict[str, Any], *, language: str, version: int, compiled_at: datetime) -> bytes:
    language = language_of(language)
    _ = translations(language).gettext
    forum = content["forum"]["name"]
    title = f"{colon(_('Follow-up report'), language)} {forum}"
    pdf = _Pdf(f"{forum} – {_('version')} {version}")
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("Forum workflow")
    # The compilation time, not the wall clock, so the same version gives the same file.
    pdf.set_creation_date(_aware(compiled_at))
    pdf.add_page()
    w = _Writer(pdf, language)
    w.text(16, title, bold=True, height=8)
    if occasion := _occasion(content.get("parent") or {}, language):
        w.text(10, occasion)
    period = content["period"]
    w.text(
        9,
        f"{colon(_('Period'), language)} {_day(period['start'], language)}"
        f" – {_day(period['end'], language)}"
        f" · {_('version')} {version} · {_moment(compiled_at, language)}",
    )
    w.pdf.ln(2)
    for key, label in TOTALS:
        w.text(10, f"{colon(_(label), language)} {content['totals'][key]}")
    w.section(content, depth=0)
    return bytes(pdf.output())


# Lists as files: the attendance list of a session, the action items of the board ------------


def table_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A list for a spreadsheet as Belgians open it: UTF-8 with a byte-order mark (so Excel
    reads the accents) and semicolons between the fields (Excel's separator in a Belgian
    locale, where the comma is the decimal sign)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else _list_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?(?:\s?%)?")


def _list_cell(value: Any) -> Any:
    """A figure as it is (a negative one too); any other text that a spreadsheet would run as
    a formula gets its leading apostrophe."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.replace("\u00a0", " ")):
        return value
    return _cell(value)


def table_pdf(
    title: str,
    lines: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    language: str,
    widths: Sequence[float] | None = None,
) -> bytes:
    """A list on A4 with the report's fonts and page numbers: the title, a few lines saying
    what it is, then a table whose header repeats on every page."""
    language = language_of(language)
    pdf = _Pdf(title)
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("Forum workflow")
    pdf.add_page()
    w = _Writer(pdf, language)
    w.text(16, title, bold=True, height=8)
    for line in lines:
        w.text(10, line)
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=tuple(widths) if widths else None,
        text_align="LEFT",
        line_height=5,
        headings_style=FontFace(emphasis="BOLD", fill_color=(228, 231, 235)),
        repeat_headings=1,
    ) as table:
        head = table.row()
        for h in headers:
            head.cell(str(h))
        for values in rows:
            row = table.row()
            for v in values:
                row.cell("–" if v is None or v == "" else str(v))
    return bytes(pdf.output())
