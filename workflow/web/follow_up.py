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
from sqlmodel import col, select

from workflow import action_items, clock, rules, sessions, spine
from workflow.api.deps import DB, PathId
from workflow.errors import Problem
from workflow.follow_up import closing
from workflow.models import (
    ActionItem,
    Attendance,
    MeetingSession,
    Membership,
    Organisation,
    Participant,
    Person,
    SessionStatus,
)
from workflow.permissions import Action
from workflow.schemas import ActionItemCreate, AgendaItemUpdate, AttendanceMark, OutcomeRecord
from workflow.web.deps import (
    SignedIn,
    SignedInPost,
    Visitor,
    WebRoute,
    field_errors,
    form_id,
    redirect,
    render,
)
from workflow.web.sessions import session_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MARKS = [a.value for a in Attendance]
DONE_KINDS = ("attendance", "outcomes", "action_item", "closed")
ITEM_FIELDS = ("title", "owner", "due_date", "indicator", "unit", "baseline", "target")


def context(db: DBSession, session: MeetingSession, after: dict[str, Any]) -> dict[str, Any]:
    """What the managers' after-session forms show: who may own an item, whether the
    session has begun (attendance is for then) and its day has come (outcomes and action
    items are), plus a form's problem if it came back."""
    people, organisations = _owner_choices(db, session)
    now, tz = clock.now(), rules.zone(session.timezone)
    return {
        "done_kinds": DONE_KINDS,
        "started": session.starts_at <= now,
        # Outcomes and action items are for the session's own day on: not weeks ahead.
        "day_come": session.starts_at.astimezone(tz).date() <= now.astimezone(tz).date(),
        "open": session.status != SessionStatus.cancelled,
        "closable": session.status == SessionStatus.scheduled,
        "people": people,
        "organisations": organisations,
        "form": None,
        "errors": {},
        "general": [],
        "typed": {},
        "stale": False,
        **after,
    }


def _owner_choices(
    db: DBSession, session: MeetingSession
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The forum's members and the session's participants, and their organisations."""
    members = select(col(Membership.person_id)).where(col(Membership.forum_id) == session.forum_id)
    invited = select(col(Participant.person_id)).where(col(Participant.session_id) == session.id)
    rows = db.exec(
        select(col(Person.id), col(Person.name), col(Person.organisation_id)).where(
            col(Person.id).in_(members) | col(Person.id).in_(invited)
        )
    ).all()
    org_ids = {o for _, _, o in rows if o is not None}
    orgs = db.exec(
        select(col(Organisation.id), col(Organisation.name)).where(
            col(Organisation.id).in_(org_ids or {-1})
        )
    ).all()
    people = sorted(((i, n) for i, n, _ in rows), key=lambda p: p[1])
    return people, sorted(orgs, key=lambda o: o[1])  # type: ignore[arg-type,return-value]  # stored ids


def _managed(v: Visitor, db: DBSession, session_id: int) -> MeetingSession:
    session = sessions.get_session(db, session_id)
    sessions.require(v.me, session.forum_id, Action.manage)
    return session


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _version(form: Any) -> int:
    version = form_id(_text(form, "version"))
    if version is None:
        raise Problem(422, "the form lost the version it was made for; reload the page")
    return version


def _number(form: Any, name: str) -> float | None:
    """'12,5' or '12.5' (Belgians write a decimal comma); empty is no value."""
    value = _text(form, name).replace(" ", "").replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise rules.RuleError("give a number", name) from None


def _marks(db: DBSession, session_id: int, form: Any) -> list[AttendanceMark]:
    marks = []
    for p in sessions.participants(db, session_id):
        given = _text(form, f"attendance-{p.person_id}")
        if given and given not in MARKS:
            raise rules.RuleError("choose present, excused or absent", f"attendance-{p.person_id}")
        if given:
            marks.append(AttendanceMark(person_id=p.person_id, attendance=given))
    return marks


def _outcomes(db: DBSession, session_id: int, form: Any) -> dict[int, str | None]:
    """{agenda item id: outcome} for the outcomes that differ from what is recorded."""
    changed: dict[int, str | None] = {}
    for a in sessions.agenda_rows(db, session_id):
        name = f"outcome-{a.id}"
        if name in form:
            text = _text(form, name) or None
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
    _managed(v, db, session_id)
    form = await request.form()
    try:
        marks = _marks(db, session_id, form)
        if not marks:
            raise rules.RuleError("choose present, excused or absent for someone", "attendance")
        closing.record_attendance(db, v.me, session_id, marks, _version(form))
    except Problem as exc:
        if exc.status == 412:
            return _again(v, db, session_id, "attendance", form, stale=True)
        raise
    except (ValidationError, rules.RuleError) as exc:
        return _again(v, db, session_id, "attendance", form, field_errors(exc))
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=attendance#h-participants")


@router.post("/sessions/{session_id}/outcomes")
async def record_outcomes(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """As PATCH /api/v1/sessions/{id}/agenda-items/{item} with an outcome, per changed item."""
    _managed(v, db, session_id)
    form = await request.form()
    version: int | None = _version(form)
    for item_id, outcome in _outcomes(db, session_id, form).items():
        try:
            data = AgendaItemUpdate(outcome=outcome)
            sessions.update_agenda_item(db, v.me, session_id, item_id, data, version)
        except Problem as exc:
            if exc.status == 412:
                return _again(v, db, session_id, "outcomes", form, stale=True)
            raise
        except (ValidationError, rules.RuleError) as exc:
            errors = _on_fields(exc, {"outcome": f"outcome-{item_id}"})
            return _again(v, db, session_id, "outcomes", form, errors)
        version = None  # the version was checked once, for the whole form
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=outcomes#h-agenda")


def _owner(form: Any) -> dict[str, int]:
    """'person:12' or 'organisation:3' from the owner list."""
    kind, _, value = _text(form, "owner").partition(":")
    owner = form_id(value)
    if kind not in ("person", "organisation") or owner is None:
        raise rules.RuleError("choose an owner from the list", "owner")
    return {f"owner_{kind}_id": owner}


@router.post("/sessions/{session_id}/action-items")
async def create_action_item(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """As POST /api/v1/sessions/{id}/action-items."""
    _managed(v, db, session_id)
    form = await request.form()
    rename = {"owner_person_id": "owner", "owner_organisation_id": "owner"}
    errors: dict[str, str] = {}  # every field's reason at once, not the first one only
    fields: dict[str, Any] = {
        "title": _text(form, "title"),
        "due_date": _text(form, "due_date") or None,
        "indicator": _text(form, "indicator") or None,
        "unit": _text(form, "unit") or None,
    }
    try:
        fields.update(_owner(form))
    except rules.RuleError as exc:
        errors["owner"] = exc.detail
    for name in ("baseline", "target"):
        try:
            fields[name] = _number(form, name)
        except rules.RuleError as exc:
            errors[name] = exc.detail
    try:
        data = ActionItemCreate.model_validate(fields)
    except ValidationError as exc:
        errors = _on_fields(exc, rename) | errors
    if errors:
        return _again(v, db, session_id, "action_item", form, errors)
    try:
        action_items.create(db, v.me, session_id, data)
    except rules.RuleError as exc:
        return _again(v, db, session_id, "action_item", form, _on_fields(exc, rename))
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
    )


@router.get("/sessions/{session_id}/close")
def close_form(session_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    return _close_page(v, db, _managed(v, db, session_id))


def _recipients(db: DBSession, session_id: int) -> list[tuple[Person, int]]:
    """Whom the summary goes to (the domain's list), with how many items each owns here."""
    ids = closing.summary_recipients(db, session_id)
    people = db.exec(select(Person).where(col(Person.id).in_(ids or [-1]))).all()
    owners = db.exec(
        select(col(ActionItem.owner_person_id)).where(col(ActionItem.session_id) == session_id)
    ).all()
    return sorted(((p, owners.count(p.id)) for p in people), key=lambda po: po[0].name)


@router.post("/sessions/{session_id}/close")
async def close(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """Without confirm=1: the close is tried and rolled back, and the page lists who gets the
    summary; with confirm=1 it is done, as POST /api/v1/sessions/{id}/close."""
    current = _managed(v, db, session_id)
    form = await request.form()
    values = {k: form.get(k) for k in form if k not in ("csrf", "confirm")}
    try:
        closing.close(
            db,
            v.me,
            session_id,
            attendance=_marks(db, session_id, form),
            outcomes=_outcome_records(db, session_id, form),
            expected_version=_version(form),
        )
    except Problem as exc:
        spine.discard(db)
        if exc.status == 412:
            return _close_page(v, db, sessions.get_session(db, session_id), 409, stale=True)
        raise
    except (ValidationError, rules.RuleError) as exc:
        spine.discard(db)
        errors = field_errors(exc)
        return _close_page(v, db, current, 422, values, errors)
    if form.get("confirm") != "1":
        told = _recipients(db, session_id)
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
