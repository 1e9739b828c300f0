"""Report-back reports: list, compile on demand, read as JSON, HTML, PDF or CSV."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from workflow import sessions, spine
from workflow.api.deps import DB, Caller, PathId, QueryId
from workflow.auth import Principal
from workflow.errors import Forbidden, NotFound
from workflow.models import AgendaItem, FollowUpReport, Person
from workflow.permissions import Action
from workflow.reports import export, report_back
from workflow.schemas import ReportCompile, ReportRead, ReportSummary

router = APIRouter(tags=["report-back"])


def _may_read(caller: Principal, report: FollowUpReport) -> bool:
    parent_forum = report.content.get("parent", {}).get("forum_id")
    return caller.may(report.child_forum_id, Action.read) or (
        parent_forum is not None and caller.may(parent_forum, Action.read)
    )


def readable_report(db: DB, caller: Principal, report_id: int) -> FollowUpReport:
    """The report, if the caller reads the child forum or the parent forum."""
    report = db.get(FollowUpReport, report_id)
    if report is None:
        raise NotFound("report %(id)s does not exist", id=report_id)
    if not _may_read(caller, report):
        raise Forbidden()
    return report


@router.get("/sessions/{session_id}/reports", response_model=list[ReportSummary])
def list_session_reports(
    session_id: PathId,
    db: DB,
    caller: Caller,
    child_forum_id: QueryId = None,
) -> list[FollowUpReport]:
    """Every version of the reports compiled for this session, newest first."""
    session = sessions.get_session(db, session_id)
    sessions.require(caller, session.forum_id, Action.read)
    query = select(FollowUpReport).where(col(FollowUpReport.parent_session_id) == session_id)
    if child_forum_id is not None:
        query = query.where(col(FollowUpReport.child_forum_id) == child_forum_id)
    return list(
        db.exec(
            query.order_by(col(FollowUpReport.child_forum_id), col(FollowUpReport.version).desc())
        ).all()
    )


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
    item = db.exec(
        select(AgendaItem).where(
            col(AgendaItem.session_id) == session_id,
            col(AgendaItem.child_forum_id) == data.child_forum_id,
        )
    ).first()
    if item is None:
        raise NotFound(
            "report-back agenda item for forum %(id)s does not exist", id=data.child_forum_id
        )
    report, owed = report_back.compile_for(db, item, caller.actor, notify=data.notify)
    spine.mark_owed(db, owed)
    spine.commit(db)
    response.headers["Location"] = f"/api/v1/reports/{report.id}"
    return report


@router.get("/forums/{forum_id}/reports", response_model=list[ReportSummary])
def list_forum_reports(forum_id: PathId, db: DB, caller: Caller) -> list[FollowUpReport]:
    """The reports a child forum gave its parent, newest first."""
    sessions.get_forum(db, forum_id)
    sessions.require(caller, forum_id, Action.read)
    return list(
        db.exec(
            select(FollowUpReport)
            .where(col(FollowUpReport.child_forum_id) == forum_id)
            .order_by(col(FollowUpReport.compiled_at).desc(), col(FollowUpReport.id).desc())
            .limit(200)
        ).all()
    )


@router.get("/reports/{report_id}", response_model=ReportRead)
def read_report(report_id: PathId, db: DB, caller: Caller) -> FollowUpReport:
    return readable_report(db, caller, report_id)


def other_versions(
    db: DB, report: FollowUpReport, url: str = "/api/v1/reports/{id}/html"
) -> list[dict]:
    """The report's other versions, newest first, each with its `url`."""
    rows = db.exec(
        select(FollowUpReport)
        .where(col(FollowUpReport.agenda_item_id) == report.agenda_item_id)
        .order_by(col(FollowUpReport.version).desc())
    ).all()
    return [
        {
            "id": r.id,
            "version": r.version,
            "compiled_at": r.compiled_at,
            "url": url.format(id=r.id),
        }
        for r in rows
        if r.id != report.id
    ]


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


def _filename(report: FollowUpReport, ext: str) -> str:
    return f"report-back-{report.child_forum_id}-v{report.version}.{ext}"


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


def pdf_response(report: FollowUpReport, language: str) -> Response:
    """The report as a PDF download in `language`."""
    body = export.to_pdf(
        report.content, language=language, version=report.version, compiled_at=report.compiled_at
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "pdf")}"'},
    )


@router.get(
    "/reports/{report_id}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def report_csv(report_id: PathId, db: DB, caller: Caller) -> Response:
    report = readable_report(db, caller, report_id)
    return Response(
        export.to_csv(report.content),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )
