"""Pages reached from links in mail, without logging in: the signed link is the credential."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from workflow import action_items, personal_data, rules, spine
from workflow.auth import Principal
from workflow.errors import DomainError
from workflow.follow_up import links
from workflow.http.deps import DB
from workflow.http.problem import Problem, status_of
from workflow.http.ratelimit import public_rate_limit
from workflow.http.responses import pdf_response
from workflow.i18n import render_page
from workflow.invitations import answers, feed_link, rsvp
from workflow.invitations.compose import calendar_session
from workflow.models import ActionItem, ActionItemStatus, FollowUpReport, Forum, Person
from workflow.reports import export
from workflow.schemas import ActionItemUpdate
from workflow.sessions import get_session

router = APIRouter(tags=["links in mail"], dependencies=[Depends(public_rate_limit)])


def _page(name: str, language: str, status: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(render_page(name, language, **context), status_code=status)


def _language(db: DB, person_id: int) -> str:
    person = db.get(Person, person_id)
    return person.language if person else "en"


def _read(db: DB, token: str) -> rsvp.Answer | HTMLResponse:
    try:
        return rsvp.read(token)
    except rsvp.ExpiredLink as exc:
        return _page("error.html", _language(db, exc.person_id), 410, reason="expired")
    except rsvp.InvalidLink:
        return _page("error.html", "en", 404, reason="invalid")


@router.get("/rsvp/{token}", response_class=HTMLResponse)
def rsvp_confirm(token: str, db: DB) -> HTMLResponse:
    """Show the answer to confirm. Nothing is recorded on GET: mail scanners follow links."""
    answer = _read(db, token)
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
        # What they answered before (maybe included), shown beside the answer to confirm.
        current=answers.current_answer(db, answer.session_id, answer.person_id),
        action_url=f"/rsvp/{token}",
    )


@router.post("/rsvp/{token}", response_class=HTMLResponse)
def rsvp_record(token: str, db: DB) -> HTMLResponse:
    answer = _read(db, token)
    if isinstance(answer, HTMLResponse):
        return answer
    person = db.get(Person, answer.person_id)
    language = person.language if person else "en"
    try:
        answers.record_answer(db, answer.session_id, answer.person_id, answer.answer, "link")
    except DomainError as exc:
        return _page("error.html", language, status_of(exc), reason="closed")
    spine.commit(db)
    session = get_session(db, answer.session_id)
    return _page(
        "rsvp_done.html",
        language,
        session=calendar_session(db, session),
        answer=answer.answer,
        feed_path=(
            feed_link.path(person)
            if person and feed_link.may_offer(db, answer.person_id, answer.session_id)
            else None
        ),
    )


# The calendar feed, from the thank-you page of an answer ------------------------------------


def _feed_person(db: DB, token: str) -> Person | HTMLResponse:
    try:
        person = feed_link.read(db, token)
    except feed_link.UsedLink as exc:
        return _page("error.html", exc.person.language, 410, reason="feed_link_used")
    except feed_link.ExpiredLink as exc:
        return _page("error.html", _language(db, exc.person_id), 410, reason="feed_link_expired")
    except feed_link.InvalidLink:
        return _page("error.html", "en", 404, reason="invalid")
    if personal_data.is_erased(person):  # the person it was made for is no longer known
        return _page("error.html", "en", 410, reason="withdrawn")
    return person


@router.get("/calendar-feed/{token}", response_class=HTMLResponse)
def feed_confirm(token: str, db: DB) -> HTMLResponse:
    """What the button will do. Nothing is issued on GET: mail scanners follow links."""
    person = _feed_person(db, token)
    if isinstance(person, HTMLResponse):
        return person
    return _page(
        "feed_confirm.html",
        person.language,
        action_url=f"/calendar-feed/{token}",
        has_feed=person.feed_token_hash is not None,
    )


@router.post("/calendar-feed/{token}", response_class=HTMLResponse)
def feed_issue(token: str, db: DB) -> HTMLResponse:
    """Issues (or replaces) the person's feed, once per link, and shows its address."""
    person = _feed_person(db, token)
    if isinstance(person, HTMLResponse):
        return person
    url = answers.issue_feed(db, person)
    db.add(person)
    actor = f"person:{person.id} {person.name} (thank-you page link)"
    spine.record(db, actor, "feed.issued", person_id=person.id)
    spine.commit(db)
    return _page(
        "feed_done.html",
        person.language,
        feed_url=url,
        subscribe_url="webcal://" + url.split("://", 1)[-1],
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


# Action items, from the links in an owner's digest ------------------------------------------


def _action(db: DB, token: str) -> tuple[links.ItemAction, ActionItem, Person] | HTMLResponse:
    try:
        action = links.read(token)
    except links.ExpiredLink as exc:
        return _page("error.html", _language(db, exc.person_id), 410, reason="link_expired")
    except links.InvalidLink:
        return _page("error.html", "en", 404, reason="invalid")
    person = db.get(Person, action.person_id)
    item = db.get(ActionItem, action.action_item_id)
    if person is None or item is None:
        return _page("error.html", "en", 404, reason="invalid")
    if item.owner_person_id != person.id:
        return _page("error.html", person.language, 403, reason="not_owner")
    if item.status == ActionItemStatus.cancelled and action.action != "value":
        # Only the forum's managers take an item out of cancelled (workflow.action_items).
        return _page("error.html", person.language, 403, reason="item_cancelled")
    return action, item, person


def _item_context(db: DB, item: ActionItem) -> dict:
    forum = db.get(Forum, item.forum_id)
    return {"item": item, "forum": forum.name if forum else ""}


@router.get("/act/{token}", response_class=HTMLResponse)
def action_confirm(token: str, db: DB) -> HTMLResponse:
    """Show what the link will do. Nothing is recorded on GET: mail scanners follow links."""
    found = _action(db, token)
    if isinstance(found, HTMLResponse):
        return found
    action, item, person = found
    return _page(
        "act_confirm.html",
        person.language,
        action=action.action,
        action_url=f"/act/{token}",
        **_item_context(db, item),
    )


@router.post("/act/{token}", response_class=HTMLResponse)
def action_record(
    token: str,
    db: DB,
    value: Annotated[str | None, Form(max_length=40)] = None,
    note: Annotated[str | None, Form(max_length=10_000)] = None,
) -> HTMLResponse:
    found = _action(db, token)
    if isinstance(found, HTMLResponse):
        return found
    action, item, person = found
    fields: dict = {"note": note.strip() if note and note.strip() else None}
    if action.action == "value":
        try:
            fields["current_value"] = rules.read_number(value or "", "value")
        except rules.RuleError:
            fields["current_value"] = None
    else:
        fields["status"] = action.action
    try:
        data = ActionItemUpdate(**fields)
        if action.action == "value" and data.current_value is None:
            raise ValueError("no value")
    except (ValidationError, ValueError):
        return _page(
            "act_confirm.html",
            person.language,
            422,
            action=action.action,
            action_url=f"/act/{token}",
            invalid=True,
            **_item_context(db, item),
        )
    owner = Principal(name=f"{person.name} (digest link)", person_id=person.id)
    try:
        item = action_items.update(db, owner, item.id, data, None)  # type: ignore[arg-type]  # a stored row has its id
    except DomainError:
        # Nothing to change: already in that state. Say so rather than fail.
        db.rollback()
    spine.commit(db)
    return _page("act_done.html", person.language, action=action.action, **_item_context(db, item))


# Report-back pages, from the link in a report mail ------------------------------------------


def _report_from_link(db: DB, token: str) -> tuple[FollowUpReport, Person] | HTMLResponse:
    try:
        report_id, person_id = links.read_report_link(token)
    except links.ExpiredLink as exc:
        return _page("error.html", _language(db, exc.person_id), 410, reason="link_expired")
    except links.InvalidLink:
        return _page("error.html", "en", 404, reason="invalid")
    report, person = db.get(FollowUpReport, report_id), db.get(Person, person_id)
    if report is None or person is None:
        return _page("error.html", "en", 404, reason="invalid")
    if personal_data.is_erased(person):  # the person it was sent to is no longer known
        return _page("error.html", "en", 410, reason="withdrawn")
    return report, person


@router.get("/report/{token}", response_class=HTMLResponse)
def report_page(
    token: str, db: DB, lang: Annotated[str | None, Query(pattern="^(nl|fr|en)$")] = None
) -> HTMLResponse:
    """The report a recipient was mailed, in their language (or `lang`)."""
    found = _report_from_link(db, token)
    if isinstance(found, HTMLResponse):
        return found
    report, person = found
    return HTMLResponse(
        export.to_html(
            report.content,
            language=lang or person.language,
            version=report.version,
            compiled_at=report.compiled_at,
            pdf_url=f"/report/{token}/pdf",
        )
    )


@router.get(
    "/report/{token}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def report_pdf(
    token: str, db: DB, lang: Annotated[str | None, Query(pattern="^(nl|fr|en)$")] = None
) -> Response:
    found = _report_from_link(db, token)
    if isinstance(found, HTMLResponse):
        return found
    report, person = found
    return pdf_response(report, lang or person.language)
