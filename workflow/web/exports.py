"""Lists to download: a session's attendance list and the action items of the board (as
filtered and sorted there, so "of a forum" is the board of that forum), as CSV and PDF.

The same readers as the pages they come from: the session's page (the forum's readers) and
the board (one's forums and one's own items). The CSV is for a Belgian Excel (UTF-8 with a
byte-order mark, semicolons, decimal commas in Dutch and French); the PDF is made by the
report's engine (workflow.reports.export), headers and words in the reader's language."""

from collections.abc import Callable
from datetime import date
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Request, Response
from sqlmodel import Session as DBSession

from workflow import directory, forums, sessions
from workflow.http.deps import DB, PathId
from workflow.http.responses import download
from workflow.i18n import ANSWERS, ITEM_STATUS, LOCALES, attendance_counts, colon, format_when
from workflow.i18n import translations as catalogue
from workflow.permissions import Action
from workflow.reports import export
from workflow.web.action_items import board_rows
from workflow.web.deps import SignedIn, Visitor, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ATTENDANCE = {"present": "present", "excused": "excused", "absent": "absent"}  # msgids


class _Words:
    """The reader's words, numbers and dates, for a file (CSV: ISO dates, no grouping)."""

    def __init__(self, language: str, for_csv: bool) -> None:
        self.language, self.for_csv = language, for_csv
        self._ = catalogue(language).gettext
        self.locale = LOCALES[language]

    def day(self, d: date | None) -> str:
        if d is None:
            return ""
        return d.isoformat() if self.for_csv else format_date(d, "long", locale=self.locale)

    def number(self, x: float | None) -> str:
        if x is None:
            return ""
        return format_decimal(x, locale=self.locale, group_separator=not self.for_csv)

    def percent(self, x: float | None) -> str:
        return "" if x is None else format_percent(x, locale=self.locale)


def _file(
    kind: str, name: str, headers: list[str], rows: list[list[Any]], pdf: Callable
) -> Response:
    if kind == "csv":
        return download(export.table_csv(headers, rows), f"{name}.csv")
    return download(pdf(headers, rows), f"{name}.pdf")


# The attendance list of a session --------------------------------------------------------


def _attendance(v: Visitor, db: DBSession, session_id: int, kind: str) -> Response:
    session = sessions.session_for(db, v.me, session_id, Action.read)
    forum = sessions.get_forum(db, session.forum_id)
    w = _Words(v.language, kind == "csv")
    _ = w._
    people = sessions.participants(db, session_id)
    persons = {p.id: p for p in directory.people(db, [p.person_id for p in people])}
    organisations = directory.organisation_names(db, (p.organisation_id for p in persons.values()))
    headers = [_("Name"), _("Organisation"), _("Role"), _("Answer"), _("Attendance")]
    roles = {
        "co_chair": _("co-chair"),
        "participant": _("participant"),
        "optional": _("optional"),
    }
    rows = []
    for p in people:
        person = persons.get(p.person_id)
        org = person.organisation_id if person else None
        rows.append(
            [
                p.name,
                organisations.get(org, "") if org else "",
                roles.get(p.role, p.role),
                _(ANSWERS.get(p.partstat or "needs_action", "no answer yet")),
                _(ATTENDANCE[p.attendance]) if p.attendance else "",
            ]
        )
    counts = {m: sum(1 for p in people if p.attendance == m) for m in ATTENDANCE}
    title = f"{colon(_('Attendance'), w.language)} {session.title}"
    lines = [forum.name, format_when(session, w.language), attendance_counts(counts, w.language)]

    def pdf(headers: list[str], rows: list[list[Any]]) -> bytes:
        return export.table_pdf(
            title, lines, headers, rows, language=w.language, widths=(30, 25, 14, 18, 13)
        )

    return _file(kind, f"attendance-session-{session.id}", headers, rows, pdf)


@router.get("/sessions/{session_id}/attendance.csv")
def attendance_csv(session_id: PathId, v: SignedIn, db: DB) -> Response:
    return _attendance(v, db, session_id, "csv")


@router.get("/sessions/{session_id}/attendance.pdf")
def attendance_pdf(session_id: PathId, v: SignedIn, db: DB) -> Response:
    return _attendance(v, db, session_id, "pdf")


# The action items of the board -------------------------------------------------------------


def _items(v: Visitor, db: DBSession, query: dict[str, str], kind: str) -> Response:
    f, rows, total = board_rows(db, v.me, query)
    w = _Words(v.language, kind == "csv")
    _, ngettext = w._, catalogue(w.language).ngettext
    statuses = {key: _(label) for key, label in ITEM_STATUS.items()}
    sorted_by = {
        "due": _("Due date"),
        "status": _("Status"),
        "owner": _("Owner"),
        "forum": _("Forum"),
    }
    lines = []  # what the list holds, as the board's filters say
    if f["forum_id"] is not None:
        name = forums.forum_names(db, [f["forum_id"]]).get(f["forum_id"], "")
        lines.append(f"{colon(_('Forum'), w.language)} {name}")
    if f["owner"] is not None:
        name = directory.person_names(db, [f["owner"]]).get(f["owner"], "")
        lines.append(f"{colon(_('Owner'), w.language)} {name}")
    if f["session_id"] is not None:
        name = sessions.titles(db, [f["session_id"]]).get(f["session_id"], "")
        lines.append(f"{colon(_('Session'), w.language)} {name}")
    if f["status"]:
        lines.append(f"{colon(_('Status'), w.language)} {statuses[f['status']]}")
    if f["due_by"]:
        lines.append(
            f"{colon(_('Due by'), w.language)} {_Words(w.language, False).day(f['due_by'])}"
        )
    if f["overdue"]:
        lines.append(_("Overdue only"))
    lines.append(
        ngettext("%(num)s action item", "%(num)s action items", total) % {"num": total}
        + f" · {colon(_('Sorted by'), w.language)} {sorted_by[f['sort']]}"
    )
    late = _("overdue")
    if kind == "csv":
        headers = [
            _("Title"),
            _("Forum"),
            _("Session"),
            _("Owner"),
            _("Due date"),
            _("Status"),
            late,
            _("Indicator"),
            _("Unit"),
            _("Baseline"),
            _("Current value"),
            _("Target"),
            _("Progress"),
        ]
        table = [
            [
                r["item"].title,
                r["forum"],
                r["session"],
                r["owner"],
                w.day(r["item"].due_date),
                statuses[r["item"].status],
                late if r["overdue"] else "",
                r["item"].indicator or "",
                r["item"].unit or "",
                w.number(r["item"].baseline),
                w.number(r["item"].current_value),
                w.number(r["item"].target),
                w.percent(r["chart"]["fraction"]) if r["chart"] else "",
            ]
            for r in rows
        ]
    else:
        headers = [_("Title"), _("Forum"), _("Owner"), _("Due date"), _("Status"), _("Progress")]
        table = [
            [
                r["item"].title,
                r["forum"],
                r["owner"],
                w.day(r["item"].due_date) + (f" ({late})" if r["overdue"] else ""),
                statuses[r["item"].status],
                _progress(w, r),
            ]
            for r in rows
        ]

    def pdf(headers: list[str], rows: list[list[Any]]) -> bytes:
        return export.table_pdf(
            _("Action items"),
            lines,
            headers,
            rows,
            language=w.language,
            widths=(30, 16, 16, 16, 10, 16),
        )

    name = f"action-items-forum-{f['forum_id']}" if f["forum_id"] is not None else "action-items"
    return _file(kind, name, headers, table, pdf)


def _progress(w: _Words, row: dict[str, Any]) -> str:
    i = row["item"]
    if not i.indicator:
        return ""
    unit = f" ({i.unit})" if i.unit else ""
    figures = f"{w.number(i.current_value) or '–'} / {w.number(i.target) or '–'}"
    share = f" · {w.percent(row['chart']['fraction'])}" if row["chart"] else ""
    return f"{i.indicator}{unit}: {figures}{share}"


@router.get("/action-items.csv")
def action_items_csv(request: Request, v: SignedIn, db: DB) -> Response:
    return _items(v, db, dict(request.query_params), "csv")


@router.get("/action-items.pdf")
def action_items_pdf(request: Request, v: SignedIn, db: DB) -> Response:
    return _items(v, db, dict(request.query_params), "pdf")
