"""Scheduling, rescheduling and cancelling sessions, and the session's page.

The forms call the same domain functions as the API (workflow.sessions) with the signed-in
person's Principal. Before a reschedule or a cancellation is confirmed, the change is tried
in a transaction that is rolled back, and the reconciler's own rule (invitations.owed) says
who would be sent what: the preview is what will happen, not a guess beside it.
"""

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError
from sqlmodel import Session as DBSession

from workflow import forums, rules, sessions, spine
from workflow.errors import DomainError, VersionConflict
from workflow.http.deps import DB, PathId
from workflow.http.problem import Problem
from workflow.http.responses import calendar_file
from workflow.i18n import format_when, say
from workflow.invitations import answers, counters, reconcile
from workflow.models import CounterProposal, Forum, MeetingSession, Person, Role, SessionStatus
from workflow.permissions import Action
from workflow.schemas import AgendaItemCreate, SessionCancel, SessionCreate, SessionUpdate
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
from workflow.web.session_page import session_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)


# Reading the forms --------------------------------------------------------------------------


def _moment(form: Any, day_field: str, time_field: str) -> datetime:
    """A wall-clock moment from a date field and a time field; the domain reads the zone."""
    try:
        return datetime.combine(
            date.fromisoformat(forms.text(form, day_field)),
            time.fromisoformat(forms.text(form, time_field)),
        )
    except ValueError:
        raise rules.RuleError("give a date and a time", time_field) from None


def _times(form: Any) -> dict[str, Any]:
    """The start on the date given; the end on the same date, or on the end date when one is
    given (a session that runs past midnight)."""
    return {
        "starts_at": _moment(form, "date", "start"),
        "ends_at": _moment(form, "end_date" if forms.text(form, "end_date") else "date", "end"),
    }


def _wall_clock(starts_at: datetime, ends_at: datetime, zone: str) -> dict[str, str]:
    """A session's times as the form shows them, in its zone: the end date only when the
    session ends on another day than it starts."""
    tz = rules.zone(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return {
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "end_date": end.date().isoformat() if end.date() != start.date() else "",
    }


def _place(form: Any) -> dict[str, Any]:
    return {
        "location": forms.text(form, "location") or None,
        "online_url": forms.text(form, "online_url") or None,
    }


def _agenda(form: Any) -> list[AgendaItemCreate]:
    lines = forms.text(form, "agenda").splitlines()
    return [AgendaItemCreate(title=line.strip()) for line in lines if line.strip()]


# The forum's people -------------------------------------------------------------------------


def _by_organisation(members: list[tuple[Person, str, str]]) -> list[tuple[str, list[Any]]]:
    groups: dict[str, list[Any]] = {}
    for m in members:
        groups.setdefault(m[2], []).append(m)
    return list(groups.items())


def _policy(forum: Forum) -> dict[str, Any]:
    return {
        "minimum": forum.co_chairs_min,
        "maximum": forum.co_chairs_max,
        "distinct": forum.co_chairs_distinct_countries,
    }


# Schedule -----------------------------------------------------------------------------------


def _schedule_page(
    v: Visitor,
    db: DBSession,
    forum: Forum,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    members = forums.members_with_organisation(db, forum.id)  # type: ignore[arg-type]  # a stored row has its id
    defaults = {
        "co_chair_ids": {p.id for p, r, _ in members if r == Role.co_chair},
        "participant_ids": {p.id for p, _, _ in members},
    }
    return render(
        v,
        "schedule.html",
        status_code,
        forum=forum,
        co_chairs=[m for m in members if m[1] == Role.co_chair],
        groups=_by_organisation(members),
        policy=_policy(forum),
        values={**defaults, **(values or {})},
        errors=errors or {},
    )


@router.get("/forums/{forum_id}/sessions/new")
def schedule_form(forum_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    forum = sessions.forum_for(db, v.me, forum_id, Action.manage)
    return _schedule_page(v, db, forum)


@router.post("/forums/{forum_id}/sessions/new")
async def schedule(forum_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    forum = sessions.forum_for(db, v.me, forum_id, Action.manage)
    form = await request.form()
    values: dict[str, Any] = {k: form.get(k) for k in form}
    for name in ("co_chair_ids", "participant_ids"):
        values[name] = forms.ticked(form, name)
    try:
        data = SessionCreate(
            title=forms.text(form, "title"),
            **_times(form),
            **_place(form),
            co_chair_ids=forms.ids(form.getlist("co_chair_ids")),
            participant_ids=forms.ids(form.getlist("participant_ids")),
            agenda=_agenda(form),
        )
        session = sessions.schedule(db, v.me, forum_id, data)
    except (ValidationError, rules.RuleError) as exc:
        db.rollback()
        return _schedule_page(v, db, forum, 422, values, field_errors(exc))
    spine.commit(db)
    return redirect(v, f"/sessions/{session.id}?done=scheduled")


@router.get("/forums/{forum_id}/co-chair-check")
def co_chair_check(
    forum_id: PathId,
    v: SignedIn,
    db: DB,
    co_chair_ids: Annotated[list[int], Query(max_length=10)] = [],  # noqa: B006
) -> JSONResponse:
    """The co-chair policy's verdict on a choice, for the form to show as it is made."""
    forum = sessions.forum_for(db, v.me, forum_id, Action.manage)
    try:
        sessions.check_co_chairs(db, forum, co_chair_ids)
    except rules.RuleError as exc:
        return JSONResponse({"ok": False, "detail": say(v.language, exc.msgid, exc.params)})
    return JSONResponse({"ok": True, "detail": ""})


# The session's page -------------------------------------------------------------------------


@router.get("/sessions/{session_id}")
def session_page(session_id: PathId, v: SignedIn, db: DB, done: str | None = None) -> HTMLResponse:
    return session_view(v, db, session_id, done=done)


@router.post("/sessions/{session_id}/answer")
async def answer(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """A participant's own answer, as from the links in their invitation."""
    sessions.session_for(db, v.me, session_id, Action.read)
    given = (await request.form()).get("answer")
    if given not in ("accepted", "tentative", "declined"):
        raise Problem(422, "answer with one of the buttons")
    answers.record_answer(db, session_id, v.me.person_id, given, "web")  # type: ignore[arg-type]  # a signed-in person has an id
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=answered")


@router.get("/sessions/{session_id}/calendar.ics")
def session_ics(session_id: PathId, v: SignedIn, db: DB) -> Response:
    return calendar_file(db, sessions.session_for(db, v.me, session_id, Action.read), v.me)


# Reschedule and cancel, with a preview of who will be told ----------------------------------


def _local_values(session: MeetingSession) -> dict[str, Any]:
    return {
        "title": session.title,
        **_wall_clock(session.starts_at, session.ends_at, session.timezone),
        "location": session.location or "",
        "online_url": session.online_url or "",
        "version": session.version,
        "reason": session.cancel_reason or "",
    }


def _co_chair_ids(db: DBSession, session_id: int) -> set[int]:
    return {p.person_id for p in sessions.participants(db, session_id) if p.role == "co_chair"}


def _shown(db: DBSession, session: MeetingSession, language: str) -> dict[str, str]:
    """What participants see of a session, as the preview compares it."""
    db.flush()
    co_chairs = [p.name for p in sessions.participants(db, session.id) if p.role == "co_chair"]  # type: ignore[arg-type]  # a stored row has its id
    return {
        "title": session.title,
        "when": format_when(session, language),
        "location": session.location or "–",
        "online_url": session.online_url or "–",
        "co_chairs": ", ".join(co_chairs) or "–",
    }


def _change_page(
    v: Visitor,
    db: DBSession,
    template: str,
    session: MeetingSession,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    stale: bool = False,
) -> HTMLResponse:
    forum = sessions.get_forum(db, session.forum_id)
    current = {**_local_values(session), "co_chair_ids": _co_chair_ids(db, session.id)}  # type: ignore[arg-type]  # a stored row has its id
    members = forums.members_with_organisation(db, forum.id)  # type: ignore[arg-type]  # a stored row has its id
    return render(
        v,
        template,
        status_code,
        session=session,
        forum=forum,
        co_chairs=[m for m in members if m[1] == Role.co_chair],
        policy=_policy(forum),
        values={**current, **(values or {})},
        errors=errors or {},
        stale=stale,
        closed=session.status != SessionStatus.scheduled,
    )


@router.get("/sessions/{session_id}/reschedule")
def reschedule_form(
    session_id: PathId, v: SignedIn, db: DB, proposal: int | None = None
) -> HTMLResponse:
    """The reschedule form; with `proposal`, filled in with a participant's proposed time
    (adopting it goes through the same preview and confirmation as any reschedule)."""
    session = sessions.session_for(db, v.me, session_id, Action.manage)
    values: dict[str, Any] = {}
    if proposal is not None:
        found = db.get(CounterProposal, proposal)
        if found is None or found.session_id != session_id:
            raise Problem(404, f"no proposal {proposal} for this session")
        values = {
            **_wall_clock(found.starts_at, found.ends_at, session.timezone),
            "proposal": found.id,
        }
    return _change_page(v, db, "reschedule.html", session, values=values)


@router.post("/sessions/{session_id}/proposals/{proposal_id}/decline")
def decline_proposal(session_id: PathId, proposal_id: PathId, v: SignedInPost, db: DB) -> Response:
    """Keep the session as it is; the participant who proposed is told (DECLINECOUNTER)."""
    counters.decline(db, v.me, session_id, proposal_id)
    spine.commit(db)
    return redirect(v, f"/sessions/{session_id}?done=counter_declined")


async def _change(
    request: Request,
    v: Visitor,
    db: DBSession,
    session_id: int,
    template: str,
    apply: Any,
) -> Response:
    """Preview a change (tried, then rolled back), or apply it once confirmed."""
    current = sessions.session_for(db, v.me, session_id, Action.manage)
    form = await request.form()
    values = {k: form.get(k) for k in form} | {"co_chair_ids": forms.ticked(form, "co_chair_ids")}
    try:
        session = apply(form)
    except VersionConflict:  # someone else's change came first
        spine.discard(db)
        fresh = sessions.get_session(db, session_id)
        return _change_page(v, db, template, fresh, 409, stale=True)
    except (ValidationError, rules.RuleError) as exc:
        spine.discard(db)
        return _change_page(v, db, template, current, 422, values, field_errors(exc))
    except (DomainError, Problem):
        spine.discard(db)
        raise
    if form.get("confirm") != "1":
        told = reconcile.who_will_be_told(db, session)
        after = _shown(db, session, v.language)
        spine.discard(db)
        before = _shown(db, sessions.get_session(db, session_id), v.language)
        return render(
            v,
            template.replace(".html", "_preview.html"),
            session=sessions.get_session(db, session_id),
            forum=sessions.get_forum(db, current.forum_id),
            posted=[(k, val) for k, val in form.multi_items() if k not in ("csrf", "confirm")],
            told=told,
            changes=[(k, before[k], after[k]) for k in before if before[k] != after[k]],
        )
    spine.commit(db)
    done = "cancelled" if template == "cancel.html" else "rescheduled"
    return redirect(v, f"/sessions/{session_id}?done={done}")


@router.post("/sessions/{session_id}/reschedule")
async def reschedule(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    def apply(form: Any) -> MeetingSession:
        data = SessionUpdate(
            title=forms.text(form, "title"),
            **_times(form),
            **_place(form),
            # Unticking every box sends nothing: the marker tells that from a form without them.
            co_chair_ids=forms.ids(form.getlist("co_chair_ids"))
            if form.get("co_chairs_shown")
            else None,
        )
        session = sessions.update(db, v.me, session_id, data, forms.version(form))
        if form.get("proposal"):
            proposal_id = form_id(form.get("proposal"))
            if proposal_id is None:
                raise Problem(404, "no such proposal for this session")
            counters.adopted_by_reschedule(db, v.me, session, proposal_id)
        return session

    return await _change(request, v, db, session_id, "reschedule.html", apply)


@router.get("/sessions/{session_id}/cancel")
def cancel_form(session_id: PathId, v: SignedIn, db: DB) -> HTMLResponse:
    session = sessions.session_for(db, v.me, session_id, Action.manage)
    return _change_page(v, db, "cancel.html", session)


@router.post("/sessions/{session_id}/cancel")
async def cancel(session_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    def apply(form: Any) -> MeetingSession:
        data = SessionCancel(reason=forms.text(form, "reason") or None, version=forms.version(form))
        return sessions.cancel(db, v.me, session_id, data.reason, data.version)

    return await _change(request, v, db, session_id, "cancel.html", apply)
