"""Report-back reports: list, compile on demand, read as JSON, HTML, PDF or CSV."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from workflow import sessions, spine
from workflow.api.routes import API_PREFIX
from workflow.auth import Principal
from workflow.errors import Forbidden
from workflow.http.deps import DB, Caller, PathId, QueryId
from workflow.http.responses import csv_response, other_versions, pdf_response
from workflow.models import FollowUpReport, Person
from workflow.permissions import Action
from workflow.reports import export, report_back
from workflow.reports.report_back import readable_report
from workflow.schemas import ReportCompile, ReportRead, ReportSummary

router = APIRouter(prefix=API_PREFIX, tags=["report-back"])


@router.get("/sessions/{session_id}/reports", response_model=list[ReportSummary])
def list_session_reports(
    session_id: PathId,
    db: DB,
    caller: Caller,
    child_forum_id: QueryId = None,
) -> list[FollowUpReport]:
    """Every version of the reports compiled for this session, newest first."""
    sessions.session_for(db, caller, session_id, Action.read)
    return report_back.of_session(db, session_id, child_forum_id)


@router.post("/sessions/{session_id}/reports", status_code=201, response_model=ReportRead)
def compile_report(
    session_id: PathId, data: ReportCompile, db: DB, caller: Caller, response: Response
) -> FollowUpReport:
    """Compile a child forum's report for this session now, as a new version (secretariat or
    co-chairs of the parent or of the child)."""
    session = sessions.get_session(db, session_id)
    if not (
        caller.may(session.forum_id, Action.manage)
        or caller.may(data.child_forum_id, Action.manage)
    ):
        raise Forbidden()
    item = report_back.agenda_item_for(db, session_id, data.child_forum_id)
    report, owed = report_back.compile_for(db, item, caller.actor, notify=data.notify)
    spine.mark_owed(db, owed)
    spine.commit(db)
    response.headers["Location"] = f"/api/v1/reports/{report.id}"
    return report


@router.get("/forums/{forum_id}/reports", response_model=list[ReportSummary])
def list_forum_reports(forum_id: PathId, db: DB, caller: Caller) -> list[FollowUpReport]:
    """The reports a child forum gave its parent, newest first."""
    sessions.forum_for(db, caller, forum_id, Action.read)
    return report_back.of_forum(db, forum_id, limit=200)


@router.get("/reports/{report_id}", response_model=ReportRead)
def read_report(report_id: PathId, db: DB, caller: Caller) -> FollowUpReport:
    return readable_report(db, caller, report_id)


@router.get("/reports/{report_id}/html", response_class=HTMLResponse)
def report_page(
    report_id: PathId,
    db: DB,
    caller: Caller,
    lang: Annotated[str | None, Query(pattern="^(nl|fr|en)$")] = None,
) -> HTMLResponse:
    report = readable_report(db, caller, report_id)
    return HTMLResponse(
        export.to_html(
            report.content,
            language=_language(db, caller, lang),
            version=report.version,
            compiled_at=report.compiled_at,
            versions=other_versions(db, report),
            pdf_url=f"/api/v1/reports/{report.id}/pdf",
        )
    )


def _language(db: DB, caller: Principal, asked: str | None) -> str:
    """The language asked for, else the caller's own, else English."""
    if asked:
        return asked
    person = db.get(Person, caller.person_id) if caller.person_id else None
    return person.language if person else "en"


@router.get(
    "/reports/{report_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def report_pdf(
    report_id: PathId,
    db: DB,
    caller: Caller,
    lang: Annotated[str | None, Query(pattern="^(nl|fr|en)$")] = None,
) -> Response:
    return pdf_response(readable_report(db, caller, report_id), _language(db, caller, lang))


@router.get(
    "/reports/{report_id}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def report_csv(report_id: PathId, db: DB, caller: Caller) -> Response:
    return csv_response(readable_report(db, caller, report_id))
