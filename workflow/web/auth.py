"""The sign-in pages: ask for a link (workflow.sign_in mails it), use it, sign out.

Opening the link records nothing (mail scanners follow links); the Continue button posts,
and the first post uses the link up. The answer to the form, and the work behind it, is the
same whether the address is known, unknown or has had its share of links lately, so the form
cannot be used to find out who has an account.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import update
from sqlmodel import col

from workflow import clock, signed, spine
from workflow.config import get_settings
from workflow.http.deps import DB
from workflow.http.ratelimit import public_rate_limit
from workflow.models import WebSignIn
from workflow.sign_in import LINK_PURPOSE, record_request
from workflow.web.deps import (
    Anyone,
    AnyonePost,
    SignedInPost,
    WebRoute,
    end_session,
    local_path,
    redirect,
    render,
    start_session,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
limited = [Depends(public_rate_limit)]


@router.get("/sign-in")
def sign_in_form(v: Anyone, next: str | None = None) -> Response:
    if v.principal is not None:
        return redirect(v, local_path(next) or "/")
    return render(v, "sign_in.html", next=local_path(next))


@router.post("/sign-in", dependencies=limited)
def sign_in_request(
    v: AnyonePost,
    db: DB,
    email: Annotated[str, Form(max_length=320)] = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> HTMLResponse:
    if "@" not in email:
        return render(v, "sign_in.html", 422, email=email, invalid=True, next=local_path(next))
    # The same work for any address, known or not: record the request, and let the worker
    # look it up and mail it (workflow.sign_in).
    from workflow.tasks import enqueue_sign_in

    request = record_request(db, email, local_path(next))
    spine.commit(db)
    enqueue_sign_in(request.id)  # type: ignore[arg-type]  # a stored row has its id
    return render(v, "sign_in_sent.html", embedded=get_settings().outbox_page)


def _link(v: Anyone, db: DB, token: str) -> WebSignIn | HTMLResponse:
    """The sign-in row of a genuine link still to use, or the page that says why not."""
    try:
        claim = signed.read(LINK_PURPOSE, token, ("sign_in",))
    except signed.ExpiredLink:
        return render(v, "sign_in_link.html", 410, problem="expired")
    except signed.InvalidLink:
        return render(v, "sign_in_link.html", 404, problem="invalid")
    row = db.get(WebSignIn, claim.subject_id)
    if row is None or row.person_id != claim.person_id:
        return render(v, "sign_in_link.html", 404, problem="invalid")
    if row.used_at is not None:
        return render(v, "sign_in_link.html", 410, problem="used")
    if row.ended_at is not None:  # withdrawn: the person's e-mail address changed since
        return render(v, "sign_in_link.html", 410, problem="expired")
    return row


@router.get("/sign-in/{token}", dependencies=limited)
def sign_in_continue(token: str, v: Anyone, db: DB) -> HTMLResponse:
    """The Continue button. Nothing is recorded on GET: mail scanners follow links."""
    found = _link(v, db, token[:500])
    if isinstance(found, HTMLResponse):
        return found
    return render(v, "sign_in_link.html", action_url=f"/sign-in/{token}")


@router.post("/sign-in/{token}", dependencies=limited)
def sign_in_use(token: str, v: AnyonePost, db: DB) -> Response:
    found = _link(v, db, token[:500])
    if isinstance(found, HTMLResponse):
        return found
    now = clock.now()
    # Conditional, so two posts of one link (a double click, a replay) sign in only once.
    used = db.exec(
        update(WebSignIn)
        .where(
            col(WebSignIn.id) == found.id,
            col(WebSignIn.used_at).is_(None),
            col(WebSignIn.ended_at).is_(None),
        )
        .values(used_at=now)
    )
    spine.commit(db)
    if used.rowcount != 1:
        return render(v, "sign_in_link.html", 410, problem="used")
    response = redirect(v, local_path(found.next_path) or "/")
    start_session(v, response, found, now + timedelta(days=get_settings().web_session_days))
    return response


@router.post("/sign-out")
def sign_out(v: SignedInPost, db: DB) -> RedirectResponse:
    row = db.get(WebSignIn, v.sign_in_id)
    if row is not None:
        row.ended_at = clock.now()
        spine.commit(db)
    response = redirect(v, "/sign-in")
    end_session(response)
    return response
