"""Signing in by a one-time link mailed to the person, and signing out.

The link is mailed as a Delivery (reason `sign_in`) through the outbox like every other
mail. Opening it records nothing (mail scanners follow links); the Continue button posts,
and the first post uses the link up. The answer to the form is the same whether or not the
address is known, so the form cannot be used to find out who has an account.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import update
from sqlmodel import Session as DBSession
from sqlmodel import select

from workflow import clock, outbox, signed, spine
from workflow.api.deps import DB
from workflow.api.ratelimit import public_rate_limit
from workflow.config import get_settings
from workflow.invitations.compose import Composed, Superseded
from workflow.invitations.render import N_, render_named
from workflow.mailmessage import Envelope, build
from workflow.models import Delivery, Person, WebSignIn
from workflow.web.deps import (
    Anyone,
    AnyonePost,
    SignedInPost,
    WebRoute,
    end_session,
    redirect,
    render,
    start_session,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
limited = [Depends(public_rate_limit)]

LINK_PURPOSE = "sign-in"
REASON = "sign_in"
SUBJECT = N_("Sign in to Forum workflow")


def link_for(row: WebSignIn) -> str:
    claim = signed.Claim(row.id, row.person_id, "sign_in")  # type: ignore[arg-type]
    token = signed.sign(LINK_PURPOSE, claim, row.expires_at)
    return f"{get_settings().effective_public_url}/sign-in/{token}"


def request_link(db: DBSession, email: str) -> list[int]:
    """Owe a sign-in mail if a person has this address; the deliveries to send."""
    person = db.exec(select(Person).where(Person.email == email.strip().lower()[:254])).first()
    if person is None:
        return []
    minutes = get_settings().sign_in_link_minutes
    row = WebSignIn(person_id=person.id, expires_at=clock.now() + timedelta(minutes=minutes))  # type: ignore[arg-type]
    db.add(row)
    db.flush()
    return outbox.owe(
        db,
        [
            {
                "key": f"{REASON}:{row.id}",
                "reason": REASON,
                "person_id": person.id,
                "data": {"sign_in_id": row.id},
            }
        ],
    )


def compose(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    """The sign-in mail of a delivery; superseded once its link was used or expired."""
    row = db.get(WebSignIn, (delivery.data or {}).get("sign_in_id"))
    person = db.get(Person, delivery.person_id)
    if row is None or person is None or row.used_at or row.expires_at <= clock.now():
        return Superseded("the sign-in link was used or has expired")
    s = get_settings()
    rendered = render_named(
        "sign_in",
        person.language,
        SUBJECT,
        recipient=person,
        link=link_for(row),
        minutes=s.sign_in_link_minutes,
    )
    envelope = Envelope(
        from_name="Forum workflow",
        from_addr=s.mail_from,
        reply_to_name="Forum workflow",
        reply_to_addr=s.mail_from,
        to_name=person.name,
        to_addr=person.email,
        subject=rendered.subject,
        message_id=delivery.message_id,
        date=clock.now(),
        language=person.language,
    )
    return Composed(message=build(envelope, rendered.text, rendered.html), recipient=person.email)


@router.get("/sign-in")
def sign_in_form(v: Anyone) -> HTMLResponse:
    if v.principal is not None:
        return redirect(v, "/")  # type: ignore[return-value]
    return render(v, "sign_in.html")


@router.post("/sign-in", dependencies=limited)
def sign_in_request(
    v: AnyonePost, db: DB, email: Annotated[str, Form(max_length=320)] = ""
) -> HTMLResponse:
    if "@" not in email:
        return render(v, "sign_in.html", 422, email=email, invalid=True)
    spine.mark_owed(db, request_link(db, email))
    spine.commit(db)
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
    used = db.exec(  # type: ignore[call-overload]
        update(WebSignIn)
        .where(WebSignIn.id == found.id, WebSignIn.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=now)
    )
    spine.commit(db)
    if used.rowcount != 1:
        return render(v, "sign_in_link.html", 410, problem="used")
    response = redirect(v, "/")
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
