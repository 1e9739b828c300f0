"""A child forum's report-back: the compiled report with charts, its versions, its PDF, CSV
and JSON, and compiling it again.

Readable by the readers of the child forum and of the parent forum, as in the API; compiled
again by the managers of either, as POST /api/v1/sessions/{id}/reports."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from workflow import spine
from workflow.errors import Forbidden
from workflow.http.deps import DB, PathId
from workflow.http.responses import csv_response, json_response, other_versions, pdf_response
from workflow.i18n import translations
from workflow.reports import export, report_back
from workflow.reports.report_back import readable_report
from workflow.web import forms
from workflow.web.deps import SignedIn, SignedInPost, WebRoute, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DONE = ("compiled", "compiled_mailed", "already")


@router.get("/reports/{report_id}/view")
def report_view(report_id: PathId, request: Request, v: SignedIn, db: DB) -> HTMLResponse:
    report = readable_report(db, v.me, report_id)
    totals = report.content.get("totals", {})
    _ = translations(v.language).gettext
    base = f"/reports/{report.id}/view"
    newest = report_back.versions(db, report)[0]
    done = request.query_params.get("done")
    return render(
        v,
        "report.html",
        **export.html_context(
            report.content,
            language=v.language,
            version=report.version,
            compiled_at=report.compiled_at,
            versions=other_versions(db, report, "/reports/{id}/view"),
            downloads=[
                (_("PDF (to print)"), f"{base}.pdf"),
                (_("CSV (for a spreadsheet)"), f"{base}.csv"),
                (_("JSON (data)"), f"{base}.json"),
            ],
        ),
        status_counts=[
            ("action_items_opened", totals.get("action_items_opened", 0), "#1d4ed8"),
            ("action_items_done", totals.get("action_items_done", 0), "#166534"),
            ("action_items_overdue", totals.get("action_items_overdue", 0), "#991b1b"),
        ],
        indicator_rows=[
            i for i in export.all_indicators(report.content) if i.get("progress") is not None
        ],
        report_id=report.id,
        newest=newest,
        may_compile=report_back.may_compile(v.me, report),
        done=done if done in DONE else None,
    )


@router.get("/reports/{report_id}/view.pdf")
def report_pdf(report_id: PathId, v: SignedIn, db: DB) -> Response:
    return pdf_response(readable_report(db, v.me, report_id), v.language)


@router.get("/reports/{report_id}/view.csv")
def report_csv(report_id: PathId, v: SignedIn, db: DB) -> Response:
    return csv_response(readable_report(db, v.me, report_id))


@router.get("/reports/{report_id}/view.json")
def report_json(report_id: PathId, v: SignedIn, db: DB) -> Response:
    return json_response(readable_report(db, v.me, report_id))


@router.post("/reports/{report_id}/recompile")
async def compile_again(report_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """A new version from the records as they are now, mailed to its recipients when asked.
    The form carries the newest version it saw: sent again (a double click, another
    manager first), it compiles nothing and shows the newest version."""
    report = readable_report(db, v.me, report_id)
    if not report_back.may_compile(v.me, report):
        raise Forbidden()
    form = await request.form()
    seen = forms.version(form)
    newest = report_back.versions(db, report)[0]
    if newest.version != seen:
        return redirect(v, f"/reports/{newest.id}/view?done=already")
    notify = form.get("notify") == "1"
    new, owed = report_back.compile_again(db, v.me, report, notify=notify)
    spine.mark_owed(db, owed)
    spine.commit(db)
    done = "compiled_mailed" if notify else "compiled"
    return redirect(v, f"/reports/{new.id}/view?done={done}")
