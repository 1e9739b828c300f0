"""A compiled report as an HTML page, a CSV file and a PDF: what the mayors read, print and
paste into their own tables. All three are built from the stored report content alone."""

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent

from workflow.config import get_settings
from workflow.i18n import (
    AGENDA_KINDS,
    ITEM_STATUS,
    LOCALES,
    N_,
    attendance_counts,
    colon,
    language_of,
    render_page,
    translations,
)

if TYPE_CHECKING:
    from fpdf import FPDF

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
    "kind",
    "decision",
    "decided_at",
)
# Labels are msgids, marked for extraction and translated where shown.
TOTALS = (
    ("sessions_held", N_("Sessions held")),
    ("decisions", N_("Decisions")),
    ("outcomes", N_("Other outcomes recorded")),
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
    downloads: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """What workflow/templates/pages/_report_body.html shows, in the reader's language;
    `downloads` are (label, url) of the report's files, else the PDF alone at `pdf_url`."""
    return {
        "report": content,
        "occasion": _occasion(content.get("parent") or {}, language),
        "version": version,
        "compiled": _moment(compiled_at, language),
        "versions": [{**v, "compiled": _moment(v["compiled_at"], language)} for v in versions],
        "totals": TOTALS,
        "date_of": lambda value: _day(value, language),
        "pdf_url": pdf_url,
        "downloads": list(downloads),
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
    for o in section.get("outcomes", []):
        yield {
            **forum,
            "section": "outcome",
            "id": o["session_id"],
            "title": o["agenda_item"],
            "kind": o["kind"],
            "note": o["outcome"],
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
    for d in section.get("parent_decisions", ()):
        yield {
            **forum,
            "section": "parent_decision",
            **{k: d.get(k) for k in ("id", "title", "owner", "status", "due_date")},
            "note": d.get("note"),
            "decision": d.get("decision"),
            "decided_at": d.get("decided_at"),
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
# An A4 document to print: the forum's name and the period on every page, the totals and the
# charts first, then each forum's tables (its working groups after it), page numbers below.

GREY = (228, 231, 235)
INK = (31, 41, 51)
BLUE = (29, 78, 216)
GREEN = (22, 101, 52)
RED = (153, 27, 27)
STATUS_COLOURS = (
    ("action_items_opened", BLUE),
    ("action_items_done", GREEN),
    ("action_items_overdue", RED),
)


@cache
def _pdf_class() -> "Callable[[str, str, str], FPDF]":
    """fpdf (with PIL and fontTools, about 20 MiB) is imported when the first PDF is made, not
    by every process that imports the reports: a worker that only sends mail never needs it."""
    from fpdf import FPDF

    class Pdf(FPDF):
        def __init__(self, header: str, footer: str, page_label: str) -> None:
            super().__init__(format="A4")
            self._header = header
            self._footer = footer
            self._page_label = page_label  # 'Page %(page)s of %(pages)s', translated
            # Bundled, so accents, ’ – € and → print the same on a server without DejaVu installed.
            self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
            self.set_auto_page_break(auto=True, margin=18)
            self.set_margins(15, 15, 15)

        def header(self) -> None:
            if self.page_no() == 1:  # the first page has the title
                return
            self.set_font("DejaVu", "", 8)
            self.set_text_color(*INK)
            self.cell(0, 5, self._header, new_x="LMARGIN", new_y="NEXT")
            self.ln(3)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(*INK)
            # '{nb}' is replaced by the number of pages once the document is complete.
            page = self._page_label % {"page": self.page_no(), "pages": "{nb}"}
            self.cell(self.epw / 2, 6, self._footer, align="L")
            self.cell(self.epw / 2, 6, page, align="R")

    return Pdf


def _new_pdf(header: str, footer: str, page_label: str) -> "FPDF":
    return _pdf_class()(header, footer, page_label)


class _Writer:
    """The report as headings, tables and bar charts, in the reader's language."""

    def __init__(self, pdf: "FPDF", language: str) -> None:
        self.pdf = pdf
        self.language = language_of(language)
        t = translations(self.language)
        self._: Callable[[str], str] = t.gettext
        self.ngettext = t.ngettext
        self.sep = colon("", self.language) + " "  # ": ", and " : " (no-break) in French

    # Pieces ---------------------------------------------------------------------------

    def text(self, size: float, value: str, *, bold: bool = False, height: float = 6) -> None:
        self.pdf.set_font("DejaVu", "B" if bold else "", size)
        self.pdf.multi_cell(self.pdf.epw, height, value, new_x="LMARGIN", new_y="NEXT")

    def heading(self, value: str, size: float = 11, *, room: float = 25) -> None:
        """A heading kept on the page of what follows it."""
        if self.pdf.will_page_break(room):
            self.pdf.add_page()
        self.pdf.ln(2)
        self.text(size, value, bold=True, height=size * 0.6)
        self.pdf.ln(1)

    def number(self, value: float | None) -> str:
        return "–" if value is None else format_decimal(value, locale=LOCALES[self.language])

    def percent(self, value: float | None) -> str:
        return "–" if value is None else format_percent(value, locale=LOCALES[self.language])

    def day(self, value: Any) -> str:
        return _day(value, self.language) if value else "–"

    def table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        align: Sequence[str] | None = None,
    ) -> None:
        """A table with its headings repeated on each page it runs onto."""
        from fpdf import FontFace  # imported with the first PDF (see _pdf_class)

        pdf = self.pdf
        pdf.set_font("DejaVu", "", 8.5)
        pdf.set_fill_color(255, 255, 255)  # the bars leave their colour behind
        with pdf.table(
            col_widths=tuple(widths),
            width=pdf.epw,
            line_height=4.6,
            text_align=tuple(align or ["LEFT"] * len(headings)),
            headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
            borders_layout="HORIZONTAL_LINES",
            padding=(1, 1.2),
        ) as table:
            for cells in [headings, *(part for r in rows for part in _parts(r, widths))]:
                row = table.row()
                for value in cells:
                    row.cell(value)
        pdf.ln(2)

    def bars(
        self,
        rows: Sequence[tuple[str, float, tuple[int, int, int], str]],
        mark: float | None = None,
    ) -> None:
        """Horizontal bars: (label, share of the full width, colour, the value written), with
        a black line at the share `mark` when given."""
        pdf = self.pdf
        label_w, bar_w = 58.0, 62.0
        pdf.set_font("DejaVu", "", 8.5)
        for label, share, colour, value in rows:
            if pdf.will_page_break(7):
                pdf.add_page()
            x, y = pdf.l_margin, pdf.get_y()
            pdf.set_xy(x, y)
            pdf.cell(label_w - 2, 6, _clip(pdf, label, label_w - 2))
            pdf.set_fill_color(*GREY)
            pdf.rect(x + label_w, y + 1.2, bar_w, 3.6, style="F")
            if share > 0:
                pdf.set_fill_color(*colour)
                pdf.rect(x + label_w, y + 1.2, bar_w * min(share, 1.0), 3.6, style="F")
            if mark is not None:
                pdf.set_fill_color(*INK)
                pdf.rect(x + label_w + bar_w * mark - 0.3, y + 0.4, 0.6, 5.2, style="F")
            pdf.set_xy(x + label_w + bar_w + 2, y)
            pdf.cell(0, 6, value)
            pdf.set_y(y + 6.5)

    # Parts of the report ---------------------------------------------------------------

    def summary(self, totals: dict[str, Any]) -> None:
        _ = self._
        rows = [[_(label), str(totals[key])] for key, label in TOTALS if key in totals]
        self.table([_("In this report"), _("Number")], rows, (150, 30), ("LEFT", "RIGHT"))

    def charts(self, content: dict[str, Any], indicators: Sequence[dict[str, Any]]) -> None:
        _ = self._
        totals = content["totals"]
        self.heading(_("Action items"))
        top = max([totals.get(k, 0) for k, _c in STATUS_COLOURS] + [1])
        labels = dict(TOTALS)
        self.bars(
            [
                (_(labels[k]), totals.get(k, 0) / top, colour, str(totals.get(k, 0)))
                for k, colour in STATUS_COLOURS
            ]
        )
        shown = [i for i in indicators if i.get("progress") is not None]
        if not shown:
            return
        self.heading(_("Indicators"))
        # Full width is 120% of the target; the black line marks the target itself.
        self.bars(
            [
                (
                    i["title"],
                    max(i["progress"], 0) / 1.2,
                    RED if i["behind_target_path"] else BLUE,
                    self.percent(i["progress"])
                    + (f" – {_('behind its target path')}" if i["behind_target_path"] else ""),
                )
                for i in shown
            ],
            mark=1 / 1.2,
        )
        self.text(7.5, _("The black line is the target."), height=4)

    def item_rows(self, items: Sequence[dict[str, Any]]) -> list[list[str]]:
        _ = self._
        rows = []
        for i in items:
            due = self.day(i.get("due_date"))
            if i.get("days_overdue"):
                late = self.ngettext(
                    "%(num)s day overdue", "%(num)s days overdue", i["days_overdue"]
                ) % {"num": i["days_overdue"]}
                due += f" ({late})"
            status = i.get("status")
            rows.append(
                [
                    i["title"],
                    i.get("owner") or "–",
                    due,
                    _(ITEM_STATUS.get(status, status)) if status else "–",
                ]
            )
        return rows

    def indicator_rows(self, indicators: Sequence[dict[str, Any]]) -> list[list[str]]:
        _ = self._
        rows = []
        for i in indicators:
            what = " ".join(
                part
                for part in (i.get("indicator"), f"({i['unit']})" if i.get("unit") else None)
                if part
            )
            progress = self.percent(i["progress"])
            if i["behind_target_path"]:
                progress += f" – {_('behind its target path')}"
            rows.append(
                [
                    f"{i['title']}\n{what}" if what else i["title"],
                    self.number(i["baseline"]),
                    self.number(i["current_value"]),
                    self.number(i["target"]),
                    progress,
                ]
            )
        return rows

    def escalations(self, s: dict[str, Any]) -> None:
        """The items a child asks the mayors to decide on, with its question."""
        _ = self._
        self.heading(f"{_('Items for a decision by the mayors')} ({len(s['escalations'])})")
        self.table(
            [_("Action item"), _("Owner"), _("Question for the mayors")],
            [[e["title"], e.get("owner") or "–", e.get("note") or "–"] for e in s["escalations"]],
            (60, 40, 80),
        )

    def parent_decisions(self, decisions: Sequence[dict[str, Any]]) -> None:
        """What the mayors decided in the period on the items put before them."""
        _ = self._
        self.heading(f"{_('Decisions of the mayors')} ({len(decisions)})")
        self.table(
            [_("Action item"), _("Question for the mayors"), _("Decision of the mayors")],
            [
                [
                    d["title"],
                    d.get("note") or "–",
                    f"{d['decision']}\n{self.day(d['decided_at'])}"
                    if d.get("decided_at")
                    else d["decision"],
                ]
                for d in decisions
            ],
            (50, 60, 70),
        )

    def section(self, s: dict[str, Any], depth: int) -> None:
        _ = self._
        self.heading(s["forum"]["name"], 14 if depth == 0 else 12, room=35)
        if s["sessions"]:
            self.heading(_("Sessions held"))
            self.table(
                [_("Session"), _("Date"), _("Attendance")],
                [
                    [
                        x["title"],
                        self.day(x["starts_at"]),
                        attendance_counts(x["attendance"], self.language),
                    ]
                    for x in s["sessions"]
                ],
                (75, 35, 70),
            )
        if s["decisions"]:
            self.heading(f"{_('Decisions')} ({len(s['decisions'])})")
            self.table(
                [_("Agenda item"), _("Session"), _("Decision")],
                [[d["agenda_item"], d["session_title"], d["outcome"]] for d in s["decisions"]],
                (50, 40, 90),
            )
        if outcomes := s.get("outcomes"):
            self.heading(f"{_('Other outcomes recorded')} ({len(outcomes)})")
            self.table(
                [_("Agenda item"), _("Session"), _("Outcome")],
                [
                    [
                        f"{o['agenda_item']}\n{_(AGENDA_KINDS.get(o['kind'], o['kind']))}",
                        o["session_title"],
                        o["outcome"],
                    ]
                    for o in outcomes
                ],
                (50, 40, 90),
            )
        for name, label in ITEM_LISTS:
            if rows := s["action_items"][name]:
                self.heading(f"{_(label)} ({len(rows)})")
                self.table(
                    [_("Action item"), _("Owner"), _("Due"), _("Status")],
                    self.item_rows(rows),
                    (72, 42, 42, 24),
                )
        if s["indicators"]:
            self.heading(_("Indicators"))
            self.table(
                [_("Action item"), _("Baseline"), _("Current value"), _("Target"), _("Progress")],
                self.indicator_rows(s["indicators"]),
                (62, 24, 24, 24, 46),
                ("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
            )
        if s["escalations"]:
            self.escalations(s)
        if decided := s.get("parent_decisions"):  # reports stored before have none
            self.parent_decisions(decided)
        for child in s["children"]:
            self.section(child, depth + 1)


# A table row taller than a page cannot be printed: a long text (an outcome, a question to
# the mayors) runs on in the rows below, in pieces of at most CELL_LINES lines of its column
# (a line holds about one character per MM_PER_CHAR of the column's width, at 8.5 pt).
MM_PER_CHAR = 1.75
CELL_LINES = 16


def _chunks(value: str, width: float) -> list[str]:
    """`value` in pieces that each fit in CELL_LINES lines of a column `width` mm wide, cut at
    line ends or spaces."""
    line_chars = max(int(width / MM_PER_CHAR), 10)
    longest = line_chars * CELL_LINES
    segments = []
    for line in value.split("\n"):
        while len(line) > longest:
            cut = line.rfind(" ", 0, longest)
            cut = cut if cut > longest // 2 else longest
            segments.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        segments.append(line)
    pieces: list[list[str]] = [[]]
    lines = 0
    for segment in segments:
        cost = 1 + len(segment) // line_chars
        if pieces[-1] and lines + cost > CELL_LINES:
            pieces.append([])
            lines = 0
        pieces[-1].append(segment)
        lines += cost
    return ["\n".join(piece) for piece in pieces]


def _parts(cells: Sequence[str], widths: Sequence[float]) -> list[list[str]]:
    """One table row, or several when a cell holds a long text."""
    pieces = [_chunks(c, w) for c, w in zip(cells, widths, strict=True)]
    depth = max(len(p) for p in pieces)
    return [[p[n] if n < len(p) else "" for p in pieces] for n in range(depth)]


def _clip(pdf: "FPDF", value: str, width: float) -> str:
    """The text cut with '…' to fit on one line of `width`."""
    if pdf.get_string_width(value) <= width:
        return value
    while value and pdf.get_string_width(value + "…") > width:
        value = value[:-1]
    return value.rstrip() + "…"


def all_indicators(section: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every indicator of the report, the working groups' after the taskforce's."""
    for i in section.get("indicators", []):
        yield {**i, "forum": section["forum"]["name"]}
    for child in section.get("children", []):
        yield from all_indicators(child)


def to_pdf(content: dict[str, Any], *, language: str, version: int, compiled_at: datetime) -> bytes:
    language = language_of(language)
    _ = translations(language).gettext
    forum = content["forum"]["name"]
    title = f"{colon(_('Follow-up report'), language)} {forum}"
    period = content["period"]
    span = f"{_day(period['start'], language)} – {_day(period['end'], language)}"
    pdf = _new_pdf(
        header=f"{title} · {colon(_('Period'), language)} {span}",
        footer=f"{forum} – {_('version')} {version}",
        page_label=_("Page %(page)s of %(pages)s"),
    )
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("Forum workflow")
    # The compilation time, not the wall clock, so the same version gives the same file.
    pdf.set_creation_date(_aware(compiled_at))
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*GREY)
    pdf.add_page()
    w = _Writer(pdf, language)
    w.text(16, title, bold=True, height=8)
    if occasion := _occasion(content.get("parent") or {}, language):
        w.text(10, occasion)
    w.text(
        9,
        f"{colon(_('Period'), language)} {span}"
        f" · {_('version')} {version} · {_moment(compiled_at, language)}",
    )
    pdf.ln(2)
    w.summary(content["totals"])
    w.charts(content, list(all_indicators(content)))
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
    _ = translations(language).gettext
    pdf = _new_pdf(title, title, page_label=_("Page %(page)s of %(pages)s"))
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
    from fpdf import FontFace  # imported with the first PDF (see _pdf_class)

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
