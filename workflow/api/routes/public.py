"""Pages reached from links in mail, without logging in: the signed link is the credential."""

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from workflow import spine
from workflow.api.deps import DB
from workflow.errors import Problem
from workflow.invitations import answers, rsvp
from workflow.invitations.compose import calendar_session
from workflow.invitations.render import render_page
from workflow.models import Person
from workflow.sessions import get_session

router = APIRouter(tags=["links in mail"], include_in_schema=True)


def _page(name: str, language: str, status: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(render_page(name, language, **context), status_code=status)


def _read(token: str) -> rsvp.Answer | HTMLResponse:
    try:
        return rsvp.read(token)
    except rsvp.ExpiredLink:
        return _page("error.html", "en", 410, reason="expired")
    except rsvp.InvalidLink:
        return _page("error.html", "en", 404, reason="invalid")


@router.get("/rsvp/{token}", response_class=HTMLResponse)
def rsvp_confirm(token: str, db: DB) -> HTMLResponse:
    """Show the answer to confirm. Nothing is recorded on GET: mail scanners follow links."""
    answer = _read(token)
    if isinstance(answer, HTMLResponse):
        return answer
    person = db.get(Person, answer.person_id)
    session = get_session(db, answer.session_id)
    language = person.language if person else "en"
    return _page(
        "rsvp_confirm.html",
        language,
        session=calendar_session(db, session),
        answer=answer.answer,
        action_url=f"/rsvp/{token}",
    )


@router.post("/rsvp/{token}", response_class=HTMLResponse)
def rsvp_record(token: str, db: DB) -> HTMLResponse:
    answer = _read(token)
    if isinstance(answer, HTMLResponse):
        return answer
    person = db.get(Person, answer.person_id)
    language = person.language if person else "en"
    try:
        answers.record_answer(db, answer.session_id, answer.person_id, answer.answer, "link")
    except Problem as exc:
        return _page("error.html", language, exc.status, reason="closed")
    spine.commit(db)
    session = get_session(db, answer.session_id)
    return _page(
        "rsvp_done.html", language, session=calendar_session(db, session), answer=answer.answer
    )


@router.get(
    "/feeds/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def calendar_feed(token: str, db: DB) -> Response:
    """A person's sessions as a calendar subscription."""
    body = answers.feed_for_token(db, token)
    if body is None:
        raise Problem(404, "no such calendar feed (it may have been revoked)")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
