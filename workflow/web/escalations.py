"""Escalation to the mayors and their decision, on the web.

A child forum's co-chairs or secretariat put an action item before the parent forum from the
item's page (as POST /api/v1/action-items/{id}/escalate); the parent forum's co-chairs or
secretariat record the decision from the parent session's report-back item, from their
forum's page or from the decision page (as POST /api/v1/action-items/{id}/decision). Both
call workflow.follow_up.escalations with the signed-in person's Principal, so the rules and
permissions are the API's. Each form carries a one-time value: sent twice, it acts once."""

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session as DBSession

from workflow import action_items, rules, spine
from workflow.errors import Forbidden, VersionConflict
from workflow.follow_up import escalations
from workflow.http.deps import DB, PathId
from workflow.models import ActionItem, Forum
from workflow.permissions import Action
from workflow.schemas import DecisionCreate, EscalationCreate
from workflow.web import forms
from workflow.web.action_items import item_view
from workflow.web.deps import (
    Said,
    SignedIn,
    SignedInPost,
    Visitor,
    WebRoute,
    field_errors,
    redirect,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ESCALATION, DECISION = "escalation", "decision"
_BACK = re.compile(r"/(sessions|forums)/[0-9]{1,12}")


# Escalating, on the child forum's item page --------------------------------------------------


@router.post("/action-items/{item_id}/escalate")
async def escalate(item_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """As POST /api/v1/action-items/{id}/escalate: the child forum's managers only."""
    item = action_items.get_item(db, item_id)
    if not v.me.may(item.forum_id, Action.manage):
        raise Forbidden()
    form = await request.form()
    nonce = forms.text(form, "nonce")
    again = f"/action-items/{item_id}?done=escalated_again#h-escalation"
    if spine.form_done(db, nonce, ESCALATION) is not None:  # a double click, a reload
        return redirect(v, again)
    version = forms.version(form)
    question = forms.text(form, "question")[:10_000]
    typed = {"question": question, "nonce": nonce}

    def again_with(status: int, problem: str, errors: dict[str, str] | None = None) -> Response:
        spine.discard(db)
        return item_view(v, db, item_id, status, problem=problem, errors=errors, typed=typed)

    if not question:
        return again_with(422, "escalate", {"question": "write the question for the mayors"})
    try:
        data = EscalationCreate(note=question, version=version)
        escalations.escalate(db, v.me, item_id, data.note, version)
    except ValidationError as exc:
        return again_with(422, "escalate", {"question": next(iter(field_errors(exc).values()))})
    except VersionConflict:
        return again_with(409, "stale")
    except rules.RuleError as exc:
        return again_with(422, "escalate", {"question": Said.of(exc)})
    if spine.form_used(db, nonce, ESCALATION, item_id) is not None:  # sent twice at once
        spine.discard(db)
        return redirect(v, again)
    spine.commit(db)
    return redirect(v, f"/action-items/{item_id}?done=escalated#h-escalation")


# Deciding, for the parent forum's managers -----------------------------------------------------


def _decidable(db: DBSession, v: Visitor, item_id: int) -> tuple[ActionItem, Forum]:
    """The item and its (child) forum, if the visitor manages the parent forum, as
    escalations.decide asks: unknown is 404, else 403."""
    item = action_items.get_item(db, item_id)
    forum = db.get(Forum, item.forum_id)
    if forum is None or not escalations.may_decide(v.me, item, forum):
        raise Forbidden()
    return item, forum


def _back(value: object, forum: Forum) -> str:
    """Where the decision was asked from: the parent session's page or the parent forum's
    page (a path on this service only); else the parent forum's page."""
    if isinstance(value, str) and _BACK.fullmatch(value):
        return value
    return f"/forums/{forum.parent_id}"


def decision_view(
    v: Visitor,
    db: DBSession,
    item: ActionItem,
    forum: Forum,
    back: str,
    status_code: int = 200,
    done: str | None = None,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    parent = db.get(Forum, forum.parent_id)
    typed = typed or {}
    return render(
        v,
        "decision.html",
        status_code,
        item=item,
        forum=forum,
        parent=parent,
        escalation=escalations.of_item(db, item),
        back=back,
        back_is_session=back.startswith("/sessions/"),
        done=done if done in ("decided", "again") else None,
        problem=problem,
        errors=errors or {},
        typed=typed,
        nonce=typed.get("nonce") or secrets.token_urlsafe(32),
    )


@router.get("/action-items/{item_id}/decision")
def decision_page(item_id: PathId, request: Request, v: SignedIn, db: DB) -> HTMLResponse:
    """The escalation and the decision form (or the decision recorded)."""
    item, forum = _decidable(db, v, item_id)
    back = _back(request.query_params.get("back"), forum)
    return decision_view(v, db, item, forum, back, done=request.query_params.get("done"))


@router.post("/action-items/{item_id}/decision")
async def decide(item_id: PathId, request: Request, v: SignedInPost, db: DB) -> Response:
    """As POST /api/v1/action-items/{id}/decision: the parent forum's managers only; the
    child's co-chairs and the item's owner are told by mail."""
    _, forum = _decidable(db, v, item_id)
    form = await request.form()
    back = _back(form.get("back"), forum)
    nonce = forms.text(form, "nonce")

    def landing(done: str) -> Response:
        return redirect(
            v, f"/action-items/{item_id}/decision?{urlencode({'done': done, 'back': back})}"
        )

    if spine.form_done(db, nonce, DECISION) is not None:  # a double click, a reload
        return landing("again")
    version = forms.version(form)
    decision = forms.text(form, "decision")[:10_000]
    typed = {"decision": decision, "nonce": nonce}

    def again_with(status: int, problem: str, errors: dict[str, Any] | None = None) -> Response:
        spine.discard(db)
        fresh = action_items.get_item(db, item_id)
        return decision_view(v, db, fresh, forum, back, status, None, problem, errors, typed)

    if not decision:
        return again_with(422, "invalid", {"decision": "write the mayors' decision"})
    try:
        data = DecisionCreate(decision=decision, version=version)
        escalations.decide(db, v.me, item_id, data.decision, version)
    except ValidationError as exc:
        return again_with(422, "invalid", {"decision": next(iter(field_errors(exc).values()))})
    except VersionConflict:
        return again_with(409, "stale")
    except rules.RuleError as exc:
        return again_with(422, "rule", {"": Said.of(exc)})
    if spine.form_used(db, nonce, DECISION, item_id) is not None:  # sent twice at once
        spine.discard(db)
        return landing("again")
    spine.commit(db)
    return landing("decided")
