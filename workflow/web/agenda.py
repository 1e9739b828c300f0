"""A scheduled session's agenda and participants, for its managers.

Each change (an agenda item added, edited, moved or removed; a person or every member of an
organisation added; a participant removed) goes through a preview, as a reschedule does: it
is tried with the same domain functions as the API (workflow.sessions), the reconciler's own
rule says who would be sent what, and the transaction is rolled back. Only the posted form
with `confirm=1` applies it. Every button is a plain form, so this works without scripts.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session as DBSession

from workflow import directory, rules, sessions, spine
from workflow.errors import Conflict, DomainError, VersionConflict
from workflow.http.deps import DB, PathId
from workflow.http.problem import Problem
from workflow.invitations import reconcile
from workflow.models import AgendaItem, MeetingSession, ParticipantRole, SessionStatus
from workflow.permissions import Action
from workflow.schemas import AgendaItemCreate, AgendaItemUpdate, ParticipantRead
from workflow.vocabulary import AgendaItemKind
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

KINDS = [k.value for k in AgendaItemKind]
DIRECTORY_LIMIT = 500  # people and organisations offered in the add lists


# Reading ------------------------------------------------------------------------------------


def _agenda(db: DBSession, session_id: int) -> list[dict[str, Any]]:
    """The agenda as participants see it, to compare before and after a change."""
    db.flush()
    return [
        {
            "id": a.id,
            "position": a.position,
            "title": a.title,
            "kind": a.kind,
            "description": a.description or "",
            "presenter": a.presenter or "",
            "fixed": a.child_forum_id is not None,
        }
        for a in sessions.agenda_rows(db, session_id)
    ]


def _people(db: DBSession, session_id: int) -> list[ParticipantRead]:
    db.flush()
    return sessions.participants(db, session_id)


def _item(db: DBSession, session_id: int, value: object) -> AgendaItem:
    item_id = form_id(value)
    item = db.get(AgendaItem, item_id) if item_id is not None else None
    if item is None or item.session_id != session_id:
        raise Problem(404, "no such agenda item in this session")
    return item


def _item_fields(form: Any) -> dict[str, Any]:
    return {
        "title": forms.text(form, "title"),
        "kind": forms.text(form, "kind") or AgendaItemKind.discussion,
        "description": forms.text(form, "description") or None,
        "presenter": forms.text(form, "presenter") or None,
    }


# Pages --------------------------------------------------------------------------------------


def _agenda_page(
    v: Visitor,
    db: DBSession,
    session: MeetingSession,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    stale: bool = False,
    editing: AgendaItem | None = None,
    done: str | None = None,
) -> HTMLResponse:
    return render(
        v,
        "agenda.html",
        status_code,
        session=session,
        forum=sessions.get_forum(db, session.forum_id),
        agenda=_agenda(db, session.id),  # type: ignore[arg-type]  # a stored row has its id
        kinds=KINDS,
        values={"version": session.version, **(values or {})},
        errors=errors or {},
        stale=stale,
        editing=editing,
        done=done,
        closed=session.status != SessionStatus.scheduled,
    )


def _participants_page(
    v: Visitor,
    db: DBSession,
    session: MeetingSession,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    stale: bool = False,
    done: str | None = None,
) -> HTMLResponse:
    taking_part = _people(db, session.id)  # type: ignore[arg-type]  # a stored row has its id
    ids = {p.person_id for p in taking_part}
    people, _ = directory.list_people(
        db, organisation_id=None, q=None, limit=DIRECTORY_LIMIT, offset=0
    )
    organisations, _ = directory.list_organisations(
        db, kind=None, country=None, limit=DIRECTORY_LIMIT, offset=0
    )
    return render(
        v,
        "participants.html",
        status_code,
        session=session,
        forum=sessions.get_forum(db, session.forum_id),
        taking_part=taking_part,
        others=[p for p in people if p.id not in ids],
        organisations=organisations,
        values={"version": session.version, **(values or {})},
        errors=errors or {},
        stale=stale,
        done=done,
        closed=session.status != SessionStatus.scheduled,
    )


@router.get("/sessions/{session_id}/agenda")
def agenda_page(session_id: PathId, v: SignedIn, db: DB, done: str | None = None) -> HTMLResponse:
    session = sessions.session_for(db, v.me, session_id, Action.manage)
    return _agenda_page(v, db, session, done=done)


@router.get("/sessions/{session_id}/agenda/{item_id}/edit")
def agenda_item_form(session_id: PathId, item_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    session = sessions.session_for(db, v.me, session_id, Action.manage)
    item = _item(db, session_id, str(item_id))
    values = {
        "title": item.title,
        "kind": item.kind,
        "description": item.description or "",
        "presenter": item.presenter or "",
    }
    return _agenda_page(v, db, session, values=values, editing=item)


@router.get("/sessions/{session_id}/participants")
def participants_page(
    session_id: PathId, v: SignedIn, db: DB, done: str | None = None
) -> HTMLResponse:
    session = sessions.session_for(db, v.me, session_id, Action.manage)
    return _participants_page(v, db, session, done=done)


# Changes, previewed then confirmed ----------------------------------------------------------


async def _change(
    request: Request,
    v: Visitor,
    db: DBSession,
    session_id: int,
    page: Callable[..., HTMLResponse],
    what: str,
    apply: Callable[[Any], None],
) -> Response:
    """Preview a change (tried, then rolled back), or apply it once confirmed."""
    current = sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    values = {k: form.get(k) for k in form}
    before = _agenda(db, session_id) if what == "agenda" else _people(db, session_id)
    editing = None
    if what == "agenda" and forms.text(form, "action") == "edit":
        editing = _item(db, session_id, form.get("item"))
    extra = {"editing": editing} if what == "agenda" else {}
    try:
        apply(form)
        session = sessions.get_session(db, session_id)
    except VersionConflict:  # someone else's change came first
        spine.discard(db)
        return page(v, db, sessions.get_session(db, session_id), 409, stale=True)
    except (ValidationError, rules.RuleError) as exc:
        spine.discard(db)
        return page(v, db, current, 422, values, field_errors(exc), **extra)
    except (DomainError, Problem):
        spine.discard(db)
        raise
    if form.get("confirm") != "1":
        told = reconcile.who_will_be_told(db, session)
        after = _agenda(db, session_id) if what == "agenda" else _people(db, session_id)
        spine.discard(db)
        fresh = sessions.get_session(db, session_id)
        posted = [(k, val) for k, val in form.multi_items() if k not in ("csrf", "confirm")]
        context: dict[str, Any] = {"before": before, "after": after}
        if what == "participants":
            had = {p.person_id for p in before}  # type: ignore[union-attr]  # participants here
            has = {p.person_id for p in after}  # type: ignore[union-attr]  # participants here
            context = {
                "added": [p for p in after if p.person_id not in had],  # type: ignore[union-attr]  # participants here
                "removed": [p for p in before if p.person_id not in has],  # type: ignore[union-attr]  # participants here
            }
        return render(
            v,
            f"{what}_preview.html",
            session=fresh,
            forum=sessions.get_forum(db, fresh.forum_id),
            posted=posted,
            told=told,
            kinds=KINDS,
            **context,
        )
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}/{what}?done={what}")


@router.post("/sessions/{session_id}/agenda")
async def change_agenda(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """`action`: add, edit, up, down or remove (`item` names the item for all but add)."""

    def apply(form: Any) -> None:
        action = forms.text(form, "action")
        version = forms.version(form)
        if action == "add":
            data = AgendaItemCreate(**_item_fields(form))
            sessions.add_agenda_item(db, v.me, session_id, data, version)
            return
        item = _item(db, session_id, form.get("item"))
        if action == "edit":
            update = AgendaItemUpdate(**_item_fields(form))
            sessions.update_agenda_item(db, v.me, session_id, item.id, update, version)  # type: ignore[arg-type]  # a stored row has its id
        elif action in ("up", "down"):
            count = len(sessions.agenda_rows(db, session_id))
            to = item.position - 1 if action == "up" else item.position + 1
            if not 1 <= to <= count:
                raise rules.RuleError("this item cannot move further", "")
            move = AgendaItemUpdate(position=to)
            sessions.update_agenda_item(db, v.me, session_id, item.id, move, version)  # type: ignore[arg-type]  # a stored row has its id
        elif action == "remove":
            sessions.delete_agenda_item(db, v.me, session_id, item.id, version)  # type: ignore[arg-type]  # a stored row has its id
        else:
            raise Problem(422, "choose a change with one of the buttons")

    return await _change(request, v, db, session_id, _agenda_page, "agenda", apply)


@router.post("/sessions/{session_id}/participants")
async def change_participants(
    session_id: PathId, request: Request, v: SignedInPost, db: DB
) -> Response:
    """`action`: add (`person_id`), add_organisation (`organisation_id`) or remove
    (`person_id`)."""

    def apply(form: Any) -> None:
        action = forms.text(form, "action")
        version = forms.version(form)
        if action == "add_organisation":
            organisation_id = form_id(form.get("organisation_id"))
            if organisation_id is None:
                raise rules.RuleError("choose an organisation from the list", "organisation_id")
            directory.get_organisation(db, organisation_id)
            members, _ = directory.list_people(
                db, organisation_id=organisation_id, q=None, limit=5000, offset=0
            )
            ids = {p.person_id for p in _people(db, session_id)}
            newcomers = [p for p in members if p.id not in ids]
            if not newcomers:
                raise rules.RuleError(
                    "everyone of this organisation already takes part", "organisation_id"
                )
            for person in newcomers:
                # The first claims the version the form was made for; the rest follow it.
                session = sessions.add_participant(
                    db,
                    v.me,
                    session_id,
                    person.id,  # type: ignore[arg-type]  # a stored row has its id
                    ParticipantRole.participant,
                    version,
                )
                version = session.version
            return
        person_id = form_id(form.get("person_id"))
        if person_id is None:
            raise rules.RuleError("choose a person from the list", "person_id")
        if action == "add":
            try:
                sessions.add_participant(
                    db, v.me, session_id, person_id, ParticipantRole.participant, version
                )
            except Conflict:
                raise rules.RuleError("this person already takes part", "person_id") from None
        elif action == "remove":
            sessions.remove_participant(db, v.me, session_id, person_id, version)
        else:
            raise Problem(422, "choose a change with one of the buttons")

    return await _change(request, v, db, session_id, _participants_page, "participants", apply)
