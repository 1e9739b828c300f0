"""After the session, on its page: attendance, outcomes, action items decided, closing.

Each form calls the domain function its API route calls (workflow.follow_up.closing,
workflow.sessions.update_agenda_item, workflow.action_items.create) with the signed-in
person's Principal, so the rules and permissions are the API's. Closing is previewed like a
cancellation: the close is tried in a transaction that is rolled back, and the page lists
whom the domain would send the summary to.
"""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session as DBSession

from workflow import action_items, clock, rules, sessions, spine
from workflow.errors import DomainError, VersionConflict
from workflow.follow_up import closing
from workflow.http.deps import DB, PathId
from workflow.http.problem import Problem
from workflow.models import Attendance, MeetingSession, SessionStatus
from workflow.permissions import Action
from workflow.schemas import ActionItemCreate, AgendaItemUpdate, AttendanceMark, OutcomeRecord
from workflow.web import forms
from workflow.web.deps import (
    Said,
    SignedIn,
    SignedInPost,
    Visitor,
    WebRoute,
    field_errors,
    form_id,
    redirect,
    render,
)
from workflow.web.session_page import session_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MARKS = [a.value for a in Attendance]
ITEM_FIELDS = ("title", "owner", "due_date", "indicator", "unit", "baseline", "target")


def everyone_present(form: Any) -> bool:
    """The "Everyone present" button: whoever has no mark in the form is present."""
    return forms.text(form, "everyone") == "present"


def _marks(db: DBSession, session_id: int, form: Any) -> list[AttendanceMark]:
    """The marks chosen in the form; with "Everyone present", an empty choice is present, so
    recording 11 people is the exceptions and one button."""
    everyone = everyone_present(form)
    marks = []
    for p in sessions.participants(db, session_id):
        given = forms.text(form, f"attendance-{p.person_id}")
        if given and given not in MARKS:
            raise rules.RuleError("choose present, excused or absent", f"attendance-{p.person_id}")
        if not given and everyone and not p.attendance:
            given = Attendance.present.value
        if given:
            marks.append(AttendanceMark(person_id=p.person_id, attendance=given))
    return marks


def _outcomes(db: DBSession, session_id: int, form: Any) -> dict[int, str | None]:
    """{agenda item id: outcome} for the outcomes that differ from what is recorded."""
    changed: dict[int, str | None] = {}
    for a in sessions.agenda_rows(db, session_id):
        name = f"outcome-{a.id}"
        if name in form:
            text = forms.text(form, name) or None
            if text != a.outcome:
                changed[a.id] = text  # type: ignore[index]  # a stored row has its id
    return changed


def _outcome_records(db: DBSession, session_id: int, form: Any) -> list[OutcomeRecord]:
    records = []
    for item_id, text in _outcomes(db, session_id, form).items():
        if not text:  # on closing, an emptied field leaves a recorded outcome as it is
            continue
        try:
            records.append(OutcomeRecord(agenda_item_id=item_id, outcome=text))
        except ValidationError as exc:  # said at the text it came from
            raise rules.RuleError(exc.errors()[0]["msg"], f"outcome-{item_id}") from None
    return records


def _on_fields(exc: ValidationError | rules.RuleError, rename: dict[str, str]) -> dict[str, str]:
    return {rename.get(k, k): msg for k, msg in field_errors(exc).items()}


def _again(
    v: Visitor,
    db: DBSession,
    session_id: int,
    form_name: str,
    form: Any,
    errors: dict[str, str] | None = None,
    stale: bool = False,
) -> HTMLResponse:
    """The session page again, the form that failed refilled, the reasons at its fields."""
    spine.discard(db)
    errors = errors or {}
    known = {k for k in form} | set(ITEM_FIELDS)
    return session_view(
        v,
        db,
        session_id,
        409 if stale else 422,
        form=form_name,
        errors=errors,
        general=[msg for k, msg in errors.items() if k not in known],
        typed={} if stale else {k: form.get(k) for k in form if k != "csrf"},
        stale=stale,
    )


@router.post("/sessions/{session_id}/attendance")
async def record_attendance(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """As PUT /api/v1/sessions/{id}/attendance."""
    sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    try:
        marks = _marks(db, session_id, form)
        if not marks:
            raise rules.RuleError("choose present, excused or absent for someone", "attendance")
        closing.record_attendance(db, v.me, session_id, marks, forms.version(form))
    except VersionConflict:
        return _again(v, db, session_id, "attendance", form, stale=True)
    except (ValidationError, rules.RuleError) as exc:
        return _again(v, db, session_id, "attendance", form, field_errors(exc))
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=attendance#h-participants")


@router.post("/sessions/{session_id}/outcomes")
async def record_outcomes(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """As PATCH /api/v1/sessions/{id}/agenda-items/{item} with an outcome, per changed item."""
    sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    version: int | None = forms.version(form)
    for item_id, outcome in _outcomes(db, session_id, form).items():
        try:
            data = AgendaItemUpdate(outcome=outcome)
            sessions.update_agenda_item(db, v.me, session_id, item_id, data, version)
        except VersionConflict:
            return _again(v, db, session_id, "outcomes", form, stale=True)
        except (ValidationError, rules.RuleError) as exc:
            errors = _on_fields(exc, {"outcome": f"outcome-{item_id}"})
            return _again(v, db, session_id, "outcomes", form, errors)
        version = None  # the version was checked once, for the whole form
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=outcomes#h-agenda")


def _owner(form: Any) -> dict[str, int]:
    """'person:12' or 'organisation:3' from the owner list."""
    kind, _, value = forms.text(form, "owner").partition(":")
    owner = form_id(value)
    if kind not in ("person", "organisation") or owner is None:
        raise rules.RuleError("choose an owner from the list", "owner")
    return {f"owner_{kind}_id": owner}


@router.post("/sessions/{session_id}/action-items")
async def create_action_item(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """As POST /api/v1/sessions/{id}/action-items."""
    sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    rename = {"owner_person_id": "owner", "owner_organisation_id": "owner"}
    errors: dict[str, str] = {}  # every field's reason at once, not the first one only
    fields: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "due_date": forms.text(form, "due_date") or None,
        "indicator": forms.text(form, "indicator") or None,
        "unit": forms.text(form, "unit") or None,
    }
    try:
        fields.update(_owner(form))
    except rules.RuleError as exc:
        errors["owner"] = Said.of(exc)
    for name in ("baseline", "target"):
        try:
            fields[name] = forms.number(form, name)
        except rules.RuleError as exc:
            errors[name] = Said.of(exc)
    try:
        data = ActionItemCreate.model_validate(fields)
    except ValidationError as exc:
        errors = _on_fields(exc, rename) | errors
    nonce = forms.text(form, "nonce")
    first = spine.form_done(db, nonce, "action_item")
    if first is not None:  # the same form sent again: nothing new, the first item shown
        return redirect(v, f"/action-items/{first}?done=again")
    if errors:
        return _again(v, db, session_id, "action_item", form, errors)
    try:
        item = action_items.create(db, v.me, session_id, data)
    except rules.RuleError as exc:
        return _again(v, db, session_id, "action_item", form, _on_fields(exc, rename))
    first = spine.form_used(db, nonce, "action_item", item.id)
    if first is not None:  # sent twice at once: the other one created it
        spine.discard(db)
        return redirect(v, f"/action-items/{first}?done=again" if first > 0 else "/action-items")
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=action_item#h-items")


# Closing, with a preview of who gets the summary ---------------------------------------------


def _close_page(
    v: Visitor,
    db: DBSession,
    session: MeetingSession,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    stale: bool = False,
    everyone: bool = False,
) -> HTMLResponse:
    errors = errors or {}
    known = {k for k in (values or {})}
    return render(
        v,
        "close.html",
        status_code,
        session=session,
        forum=sessions.get_forum(db, session.forum_id),
        participants=sessions.participants(db, session.id),  # type: ignore[arg-type]  # a stored row has its id
        agenda=sessions.agenda_rows(db, session.id),  # type: ignore[arg-type]  # a stored row has its id
        values=values or {},
        errors=errors,
        general=[msg for k, msg in errors.items() if k not in known],
        stale=stale,
        closable=session.status == SessionStatus.scheduled,
        started=session.starts_at <= clock.now(),
        everyone=everyone,
    )


@router.get("/sessions/{session_id}/close")
def close_form(session_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    return _close_page(v, db, sessions.session_for(db, v.me, session_id, Action.manage))


@router.post("/sessions/{session_id}/close")
async def close(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """Without confirm=1: the close is tried and rolled back, and the page lists who gets the
    summary; with confirm=1 it is done, as POST /api/v1/sessions/{id}/close."""
    current = sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    values = {k: form.get(k) for k in form if k not in ("csrf", "confirm", "everyone")}
    if everyone_present(form):  # the form again, everyone not marked in it present
        for p in sessions.participants(db, session_id):
            name = f"attendance-{p.person_id}"
            if not forms.text(form, name) and not p.attendance:
                values[name] = Attendance.present.value
        return _close_page(v, db, current, values=values, everyone=True)
    try:
        closing.close(
            db,
            v.me,
            session_id,
            attendance=_marks(db, session_id, form),
            outcomes=_outcome_records(db, session_id, form),
            expected_version=forms.version(form),
        )
    except VersionConflict:
        spine.discard(db)
        return _close_page(v, db, sessions.get_session(db, session_id), 409, stale=True)
    except (ValidationError, rules.RuleError) as exc:
        spine.discard(db)
        errors = field_errors(exc)
        return _close_page(v, db, current, 422, values, errors)
    except (DomainError, Problem):
        spine.discard(db)
        raise
    if form.get("confirm") != "1":
        told = closing.summary_preview(db, session_id)
        spine.discard(db)
        return render(
            v,
            "close_preview.html",
            session=sessions.get_session(db, session_id),
            forum=sessions.get_forum(db, current.forum_id),
            posted=[(k, val) for k, val in form.multi_items() if k not in ("csrf", "confirm")],
            told=told,
        )
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=closed")
