"""The action items board: a table to filter and sort, what is overdue said in words; each
row links to the item's page, where its forms are. Also the board as CSV and PDF.

Progress goes through action_items.update, as PATCH /api/v1/action-items/{id} does: the
forum's managers and the item's owner may report status, value and a note; only managers
cancel an item (the form offers `cancelled` to them only)."""

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session as DBSession

from workflow import action_items, directory, forums, rules, sessions, spine
from workflow.auth import Principal
from workflow.errors import DomainError, Forbidden, VersionConflict
from workflow.follow_up import digests, due, escalations
from workflow.http.deps import DB, PathId
from workflow.models import ActionItem, ActionItemStatus, Forum
from workflow.permissions import Action
from workflow.schemas import ActionItemUpdate
from workflow.web import forms
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

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STATUSES = [s.value for s in ActionItemStatus]


def _filters(query: dict[str, str]) -> dict[str, Any]:
    """The board's filters from a query string; anything malformed is ignored."""

    def an_id(name: str) -> int | None:
        return form_id(query.get(name))

    try:
        due_by = date.fromisoformat(query.get("due_by", "")) if query.get("due_by") else None
    except ValueError:
        due_by = None
    status = query.get("status")
    return {
        "forum_id": an_id("forum_id"),
        "owner": an_id("owner"),
        "session_id": an_id("session_id"),
        "status": status if status in STATUSES else None,
        "due_by": due_by,
        "overdue": query.get("overdue") == "1",
    }


def chart(item: ActionItem) -> dict[str, Any] | None:
    """Where the indicator stands between baseline and target, for the small bar chart."""
    fraction = due.progress_fraction(digests.facts(item))
    if fraction is None or item.indicator is None:
        return None
    return {"fraction": fraction, "shown": min(max(fraction, 0.0), 1.0)}


SORTS = ("due", "status", "owner", "forum")


def _sort_key(sort: str, row: dict[str, Any]) -> tuple:
    i: ActionItem = row["item"]
    due_key = (i.due_date is None, i.due_date or date.max)
    if sort == "status":
        return (STATUSES.index(i.status), *due_key, i.id)
    if sort == "owner":
        return (row["owner"] == "", row["owner"].casefold(), *due_key, i.id)
    if sort == "forum":
        return (row["forum"].casefold(), *due_key, i.id)
    return (*due_key, i.id)


def board_rows(
    db: DBSession, me: Principal, query: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The board's filters, its items as rows (sorted as `sort` says) and the total: what the
    page shows and what its CSV and PDF hold."""
    f = _filters(query)
    if f["forum_id"] is not None and not me.may(f["forum_id"], Action.read):
        f["forum_id"] = None  # a forum one does not read is not a filter one can use
    sort = query.get("sort")
    f["sort"] = sort if sort in SORTS else "due"
    items, total = action_items.list_items(
        db,
        me,
        forum_id=f["forum_id"],
        session_id=f["session_id"],
        owner_person_id=f["owner"],
        status=f["status"],
        overdue=True if f["overdue"] else None,
        due_by=f["due_by"],
        limit=200,
        offset=0,
    )
    # Items one owns may sit in forums one does not belong to.
    forum_names = forums.forum_names(db, (i.forum_id for i in items))
    people = directory.person_names(db, (i.owner_person_id for i in items))
    organisations = directory.organisation_names(db, (i.owner_organisation_id for i in items))
    titles = sessions.titles(db, (i.session_id for i in items))
    rows = [
        {
            "item": i,
            "forum": forum_names.get(i.forum_id, ""),
            "session": titles.get(i.session_id, ""),
            "owner": people.get(i.owner_person_id)  # type: ignore[arg-type]  # None gives no name
            or organisations.get(i.owner_organisation_id)  # type: ignore[arg-type]
            or "",
            "overdue": action_items.is_overdue(i),
            "chart": chart(i),
        }
        for i in items
    ]
    rows.sort(key=lambda row: _sort_key(f["sort"], row))
    return f, rows, total


def _board(v: Visitor, db: DBSession, query: dict[str, str]) -> HTMLResponse:
    me = v.me
    f, rows, total = board_rows(db, me, query)
    kept = {k: val for k, val in query.items() if k not in ("updated", "lang", "sort", "item")}
    return render(
        v,
        "action_items.html",
        rows=rows,
        total=total,
        filters=f,
        forums=forums.by_name(db, me.readable_forums),
        owners=forums.member_names(db, me.readable_forums),
        statuses=STATUSES,
        sorts={s: urlencode({**kept, "sort": s}) for s in SORTS},
        exported=urlencode({**kept, "sort": f["sort"]}),
        # Who put an item before the mayors, and who recorded their decision.
        escalated=escalations.actors(
            db,
            [r["item"].id for r in rows if r["item"].escalated_at is not None],
        ),
    )


def _statuses_for(me: Principal, item: ActionItem) -> list[str]:
    """The statuses the progress form offers: only managers cancel an item, or take it out
    of cancelled (an owner's cancelled item shows its status and keeps it)."""
    if action_items.may_cancel(me, item):
        return STATUSES
    if item.status == ActionItemStatus.cancelled:
        return [ActionItemStatus.cancelled.value]
    return [s for s in STATUSES if s != ActionItemStatus.cancelled]


@router.get("/action-items")
def board(request: Request, v: SignedIn, db: DB) -> HTMLResponse:
    return _board(v, db, dict(request.query_params))


@router.post("/action-items/{item_id}/progress")
async def update_progress(item_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """Status, value and note, from the item's page (the board lists, the page has forms)."""
    form = await request.form()
    item = action_items.readable_item(db, v.me, item_id)
    version = str(form.get("version") or "")
    fields: dict[str, Any] = {}
    try:
        status = form.get("status")
        if isinstance(status, str) and status and status != item.status:
            fields["status"] = status
        number = forms.number(form, "current_value")
        if number is not None and number != item.current_value:
            fields["current_value"] = number
        note = form.get("note")
        if isinstance(note, str) and note.strip():
            fields["note"] = note.strip()
        data = ActionItemUpdate(**fields)
        action_items.update(db, v.me, item_id, data, form_id(version))
    except Forbidden:
        db.rollback()
        raise
    except (ValidationError, rules.RuleError):
        db.rollback()
        return item_view(v, db, item_id, 422, problem="invalid")
    except DomainError as exc:  # changed meanwhile, nothing to change, gone
        db.rollback()
        stale = isinstance(exc, VersionConflict)
        reason = "stale" if stale else "nothing" if not fields else "invalid"
        return item_view(v, db, item_id, 409 if stale else 422, problem=reason)
    spine.commit(db)
    return redirect(v, f"/action-items/{item_id}?done=progress")


# One item's page: its history, the managers' edit and cancel forms, the owner's progress --------

EDIT_TEXT = ("title", "description", "indicator", "unit")
ITEM_DONE = ("progress", "edited", "cancelled", "created", "again", "escalated", "escalated_again")


def item_view(
    v: Visitor,
    db: DBSession,
    item_id: int,
    status_code: int = 200,
    done: str | None = None,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The item's page; readers as action_items.readable_item says (its forum's readers and
    its owner). `typed`: what a form that came back had in it."""
    me = v.me
    item = action_items.readable_item(db, me, item_id)
    session = sessions.get_session(db, item.session_id)
    manages = me.may(item.forum_id, Action.manage)
    owns = me.person_id is not None and item.owner_person_id == me.person_id
    people, organisations = action_items.owner_choices(db, session) if manages else ([], [])
    org = item.owner_organisation_id
    organisation_name = directory.organisation_names(db, [org]).get(org) if org else None
    forum = db.get(Forum, item.forum_id)
    parent = db.get(Forum, forum.parent_id) if forum and forum.parent_id else None
    return render(
        v,
        "action_item.html",
        status_code,
        item=item,
        session=session,
        forum_name=forums.forum_names(db, [item.forum_id]).get(item.forum_id, ""),
        owner_name=directory.person_names(db, [item.owner_person_id]).get(
            item.owner_person_id  # type: ignore[arg-type]  # None gives no name
        )
        or organisation_name,
        overdue=action_items.is_overdue(item),
        chart=chart(item),
        history=action_items.history(db, item),
        manages=manages,
        may_update=manages or owns,
        statuses=_statuses_for(me, item),
        people=people,
        organisations=organisations,
        done=done if done in ITEM_DONE else None,
        problem=problem,
        errors=errors or {},
        typed=typed or {},
        escalation=escalations.of_item(db, item),
        may_escalate=escalations.may_escalate(me, item, forum),
        parent_name=parent.name if parent else None,
        # One-time value of the escalate form: sent twice, it escalates once.
        nonce=(typed or {}).get("nonce") or secrets.token_urlsafe(32),
    )


@router.get("/action-items/{item_id}")
def item_page(item_id: PathId, request: Request, v: SignedIn, db: DB) -> HTMLResponse:
    return item_view(v, db, item_id, done=request.query_params.get("done"))


def _edit_fields(form: Any, item: ActionItem) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of the edit form that differ from the item as it is; and any field's
    reason to refuse it."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in EDIT_TEXT:
        value = forms.text(form, name) or None
        if value != getattr(item, name):
            fields[name] = value
    due_date = forms.text(form, "due_date")
    try:
        parsed = date.fromisoformat(due_date) if due_date else None
    except ValueError:
        errors["due_date"] = "give a date"
    else:
        if parsed != item.due_date:
            fields["due_date"] = parsed
    for name in ("baseline", "target"):
        try:
            number = forms.number(form, name)
        except rules.RuleError as exc:
            errors[name] = exc.detail
            continue
        if number != getattr(item, name):
            fields[name] = number
    kind, _, value = forms.text(form, "owner").partition(":")
    owner = form_id(value)
    if kind == "person" and owner is not None:
        if owner != item.owner_person_id or item.owner_organisation_id is not None:
            fields["owner_person_id"], fields["owner_organisation_id"] = owner, None
    elif kind == "organisation" and owner is not None:
        if owner != item.owner_organisation_id or item.owner_person_id is not None:
            fields["owner_organisation_id"], fields["owner_person_id"] = owner, None
    else:
        errors["owner"] = "choose an owner from the list"
    return fields, errors


@router.post("/action-items/{item_id}/edit")
async def edit_item(item_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """As PATCH /api/v1/action-items/{id} with the item's own fields (managers)."""
    item = action_items.readable_item(db, v.me, item_id)
    if not v.me.may(item.forum_id, Action.manage):
        raise Forbidden()
    form = await request.form()
    version = forms.version(form)
    fields, errors = _edit_fields(form, item)
    if errors:
        return item_view(v, db, item_id, 422, problem="edit", errors=errors)
    try:
        data = ActionItemUpdate(**fields)
        action_items.update(db, v.me, item_id, data, version)
    except (ValidationError, rules.RuleError) as exc:
        db.rollback()
        return item_view(v, db, item_id, 422, problem="edit", errors=field_errors(exc))
    except DomainError as exc:
        return _refused(v, db, item_id, exc)
    spine.commit(db)
    return redirect(v, f"/action-items/{item_id}?done=edited")


def _refused(v: Visitor, db: DBSession, item_id: int, exc: DomainError) -> HTMLResponse:
    """The item's page again after the domain refused a change from its edit or cancel
    form: stale version 409, anything else 422; not allowed stays the 403 page."""
    db.rollback()
    if isinstance(exc, Forbidden):
        raise exc
    if isinstance(exc, VersionConflict):
        return item_view(v, db, item_id, 409, problem="stale")
    return item_view(v, db, item_id, 422, problem="nothing")


@router.post("/action-items/{item_id}/cancel")
async def cancel_item(item_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """As PATCH /api/v1/action-items/{id} with status cancelled and the reason as its note
    (managers only, as the API)."""
    item = action_items.readable_item(db, v.me, item_id)
    if not action_items.may_cancel(v.me, item):
        raise Forbidden()
    form = await request.form()
    version = forms.version(form)
    reason = forms.text(form, "reason")[:10_000] or None
    try:
        data = ActionItemUpdate(status=ActionItemStatus.cancelled, note=reason)
        action_items.update(db, v.me, item_id, data, version)
    except DomainError as exc:
        return _refused(v, db, item_id, exc)
    spine.commit(db)
    return redirect(v, f"/action-items/{item_id}?done=cancelled")
