"""Signing in by a one-time link mailed to the person: the link, and its mail.

The link carries the id of a web_sign_in row under the service's signature (workflow.signed),
so nothing secret is stored; the row's `used_at` makes it single-use. The mail is a Delivery
(reason `sign_in`) sent by the outbox like every other mail, composed here at sending time.
"""

from datetime import timedelta

from sqlmodel import Session as DBSession
from sqlmodel import select

from workflow import clock, outbox, signed
from workflow.config import get_settings
from workflow.follow_up.compose import mail_envelope
from workflow.invitations.compose import Composed, Superseded
from workflow.invitations.render import N_, render_named
from workflow.mailmessage import build
from workflow.models import Delivery, Person, WebSignIn

LINK_PURPOSE = "sign-in"
REASON = "sign_in"
SUBJECT = N_("Sign in to Forum workflow")


def link_for(row: WebSignIn) -> str:
    claim = signed.Claim(row.id, row.person_id, "sign_in")  # type: ignore[arg-type]
    token = signed.sign(LINK_PURPOSE, claim, row.expires_at)
    return f"{get_settings().effective_public_url}/sign-in/{token}"


def request_link(db: DBSession, email: str, next_path: str | None = None) -> list[int]:
    """Owe a sign-in mail if a person has this address; the deliveries to send. Once
    signed in, the person lands on `next_path` (a path on this service)."""
    person = db.exec(select(Person).where(Person.email == email.strip().lower()[:254])).first()
    if person is None:
        return []
    minutes = get_settings().sign_in_link_minutes
    row = WebSignIn(
        person_id=person.id,  # type: ignore[arg-type]
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
