"""A child forum's report-back: the compiled report with charts, its versions, its PDF.

Readable by the readers of the child forum and of the parent forum, as in the API."""

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from workflow.http.deps import DB, PathId
from workflow.http.responses import other_versions, pdf_response
from workflow.reports import export
from workflow.reports.report_back import readable_report
from workflow.web.deps import SignedIn, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def indicators(section: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every indicator of the report, the working groups' rolled up with the taskforce's."""
    for i in section.get("indicators", []):
        yield {**i, "forum": section["forum"]["name"]}
    for child in section.get("children", []):
        yield from indicators(child)


@router.get("/reports/{report_id}/view")
def report_view(report_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    report = readable_report(db, v.me, report_id)
    totals = report.content.get("totals", {})
    return render(
        v,
        "report.html",
        **export.html_context(
            report.content,
            language=v.language,
            version=report.version,
            compiled_at=report.compiled_at,
            versions=other_versions(db, report, "/reports/{id}/view"),
            pdf_url=f"/reports/{report.id}/view.pdf",
        ),
        status_counts=[
            ("action_items_opened", totals.get("action_items_opened", 0), "#1d4ed8"),
            ("action_items_done", totals.get("action_items_done", 0), "#166534"),
            ("action_items_overdue", totals.get("action_items_overdue", 0), "#991b1b"),
        ],
        indicator_rows=[i for i in indicators(report.content) if i.get("progress") is not None],
    )


@router.get("/reports/{report_id}/view.pdf")
def report_pdf(report_id: PathId, v: SignedIn, db: DB) -> Response:
    return pdf_response(readable_report(db, v.me, report_id), v.language)
