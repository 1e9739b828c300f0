"""Signing in by a one-time link mailed to the person: the link, and its mail.

The link carries the id of a web_sign_in row under the service's signature (workflow.signed),
so nothing secret is stored; the row's `used_at` makes it single-use. The mail is a Delivery
(reason `sign_in`) sent by the outbox like every other mail, composed here at sending time.

Asking for a link does the same work whether or not the address is known: the form records a
sign_in_request row (one INSERT, then one task queued), and a background step (the worker,
or beat's sweep for a request whose task was lost) looks the address up, owes the mail if a
person has it and has not had `sign_in_mails_per_address` links in the last
`sign_in_mail_window_minutes`, and deletes the request. The visitor's answer, its status and
its timing cannot tell a known address from an unknown or a capped one.
"""

from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, signed
from workflow.config import get_settings
from workflow.i18n import N_, render_named
from workflow.mail import outbox
from workflow.mail.message import Composed, Superseded, build, mail_envelope
from workflow.models import Delivery, Person, SignInRequest, WebSignIn

LINK_PURPOSE = "sign-in"
REASON = "sign_in"
SUBJECT = N_("Sign in to Forum workflow")


def link_for(row: WebSignIn) -> str:
    claim = signed.Claim(row.id, row.person_id, "sign_in")  # type: ignore[arg-type]  # a stored row has its id
    token = signed.sign(LINK_PURPOSE, claim, row.expires_at)
    return f"{get_settings().effective_public_url}/sign-in/{token}"


def record_request(db: DBSession, email: str, next_path: str | None = None) -> SignInRequest:
    """What the sign-in form does, for any address: record the request (one INSERT, nothing
    read). Queue `owe_requested` for it once this is committed."""
    row = SignInRequest(email=email.strip().lower()[:254], next_path=next_path)
    db.add(row)
    db.flush()
    return row


def owe_requested(db: DBSession, request_id: int | None = None) -> list[int]:
    """The background step: owe the mail of one request (or of every one still waiting) and
    delete it; the deliveries to send once this is committed. Safe to run twice."""
    query = select(SignInRequest).order_by(col(SignInRequest.id))
    if request_id is not None:
        query = query.where(col(SignInRequest.id) == request_id)
    owed: list[int] = []
    # A request that waited longer than a link would have lasted (the worker was down) is
    # dropped: its visitor has long since asked again or given up.
    stale = clock.now() - timedelta(minutes=get_settings().sign_in_link_minutes)
    for request in db.exec(query).all():
        taken = db.exec(delete(SignInRequest).where(col(SignInRequest.id) == request.id))
        # Not already taken by the task or the sweep running at once.
        if taken.rowcount == 1 and request.created_at > stale:
            owed += request_link(db, request.email, request.next_path)
    return owed


def request_link(db: DBSession, email: str, next_path: str | None = None) -> list[int]:
    """Owe a sign-in mail if a person has this address and has not had their share of them
    lately; the deliveries to send. Once signed in, the person lands on `next_path` (a path
    on this service)."""
    found = select(Person).where(col(Person.email) == email.strip().lower()[:254])
    # The person's row lock serialises two workers' requests for the same address, so the
    # cap holds (PostgreSQL; SQLite serialises every writer anyway).
    person = db.exec(found.with_for_update()).first()
    if person is None:
        return []
    s = get_settings()
    since = clock.now() - timedelta(minutes=s.sign_in_mail_window_minutes)
    lately = db.exec(
        select(func.count())
        .select_from(WebSignIn)
        .where(col(WebSignIn.person_id) == person.id, col(WebSignIn.created_at) > since)
    ).one()
    if lately >= s.sign_in_mails_per_address:
        return []
    minutes = s.sign_in_link_minutes
    row = WebSignIn(
        person_id=person.id,  # type: ignore[arg-type]  # a stored row has its id
        expires_at=clock.now() + timedelta(minutes=minutes),
        next_path=next_path,
    )
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
    if (
        row is None
        or person is None
        or row.used_at
        or row.ended_at
        or row.expires_at <= clock.now()
    ):
        return Superseded("the sign-in link was used, has expired or was withdrawn")
    s = get_settings()
    rendered = render_named(
        "sign_in",
        person.language,
        SUBJECT,
        recipient=person,
        link=link_for(row),
        minutes=s.sign_in_link_minutes,
    )
    envelope = mail_envelope(person, None, rendered.subject, delivery)
    return Composed(message=build(envelope, rendered.text, rendered.html), recipient=person.email)


outbox.register(REASON, compose)
