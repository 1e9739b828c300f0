"""File answers the API, the pages behind links in mail and the web pages share: a session
as an .ics download, a report as PDF or CSV, a list (attendance, action items) as CSV or PDF,
and the links to a report's other versions."""

from fastapi import Response
from sqlmodel import Session as DBSession

from workflow import clock
from workflow.auth import Principal
from workflow.invitations.calendar import build_event_calendar
from workflow.invitations.compose import calendar_session
from workflow.invitations.render import calendar_description
from workflow.invitations.view import Method
from workflow.models import FollowUpReport, MeetingSession, Person
from workflow.reports import export, report_back
from workflow.schemas import ReportRead

CALENDAR = "text/calendar; charset=utf-8"


def calendar_file(db: DBSession, session: MeetingSession, caller: Principal) -> Response:
    """The session's .ics download, its description in the caller's language."""
    cal = calendar_session(db, session)
    language = "nl"
    if caller.person_id is not None:
        person = db.get(Person, caller.person_id)
        language = person.language if person else language
    body = build_event_calendar(
        cal,
        Method.publish,
        attendees=cal.attendees,
        recipient_email=None,
        dtstamp=clock.now(),
        description=calendar_description(cal, language),
    )
    return Response(
        body,
        media_type=CALENDAR,
        headers={"Content-Disposition": f'attachment; filename="session-{session.id}.ics"'},
    )


def _filename(report: FollowUpReport, ext: str) -> str:
    return f"report-back-{report.child_forum_id}-v{report.version}.{ext}"


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


def csv_response(report: FollowUpReport) -> Response:
    """The report as a CSV download."""
    return Response(
        export.to_csv(report.content),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )


def json_response(report: FollowUpReport) -> Response:
    """The report as a JSON download: what GET /api/v1/reports/{id} answers."""
    body = ReportRead.model_validate(report).model_dump_json()
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "json")}"'},
    )


FILE_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def download(body: bytes, filename: str) -> Response:
    """A file to save (CSV or PDF, by the name's extension), never cached by a proxy: it
    holds what only the forum's readers see."""
    return Response(
        body,
        media_type=FILE_TYPES[filename.rsplit(".", 1)[-1]],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def other_versions(
    db: DBSession, report: FollowUpReport, url: str = "/api/v1/reports/{id}/html"
) -> list[dict]:
    """The report's other versions, newest first, each with its `url`."""
    return [
        {
            "id": r.id,
            "version": r.version,
            "compiled_at": r.compiled_at,
            "url": url.format(id=r.id),
        }
        for r in report_back.versions(db, report)
        if r.id != report.id
    ]
