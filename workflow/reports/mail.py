"""The report mailed to the parent forum's co-chairs and secretariat and the child's co-chairs:
the totals in the mail, the whole report as a PDF attachment and a link to its page."""

from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock
from workflow.config import get_settings
from workflow.follow_up import links
from workflow.i18n import N_, render_named
from workflow.mail import outbox
from workflow.mail.message import Attachment, Composed, Envelope, Superseded, build
from workflow.models import Delivery, FollowUpReport, Forum, Person
from workflow.reports import export

SUBJECT = N_("Report-back of %(child)s to %(parent)s")


def compose(db: DBSession, delivery: Delivery) -> Composed | Superseded:
    person = db.get(Person, delivery.person_id)
    report = db.get(FollowUpReport, (delivery.data or {}).get("report_id"))
    if person is None or report is None:
        return Superseded("the report or the person no longer exists")
    latest = db.exec(
        select(func.max(col(FollowUpReport.version))).where(
            col(FollowUpReport.agenda_item_id) == report.agenda_item_id
        )
    ).one()
    if latest is not None and latest > report.version:
        return Superseded(f"version {latest} of this report replaces version {report.version}")
    parent = db.get(Forum, report.content["parent"]["forum_id"])
    content = report.content
    context = {
        "recipient": person,
        "report": content,
        "child": content["forum"]["name"],
        "parent": content["parent"]["forum_name"],
        "version": report.version,
        # A signed link: recipients read the report in a browser without an API token.
        "url": links.report_link(report.id, person.id),  # type: ignore[arg-type]  # a stored row has its id
    }
    rendered = render_named("report", person.language, SUBJECT, **context)
    s = get_settings()
    organizer = (parent.secretariat_name or parent.name) if parent else "Forum workflow"
    envelope = Envelope(
        from_name=f"{organizer} via Forum workflow",
        from_addr=s.mail_from,
        reply_to_name=organizer,
        reply_to_addr=(parent.secretariat_email if parent else None) or s.mail_from,
        to_name=person.name,
        to_addr=person.email,
        subject=rendered.subject,
        message_id=delivery.message_id,
        date=clock.now(),
        language=person.language,
    )
    pdf = export.to_pdf(
        content, language=person.language, version=report.version, compiled_at=report.compiled_at
    )
    filename = f"report-back-{report.child_forum_id}-v{report.version}.pdf"
    message = build(
        envelope,
        rendered.text,
        rendered.html,
        attachments=(Attachment(filename, "application", "pdf", pdf),),
    )
    return Composed(message=message, recipient=person.email)


outbox.register("report", compose)
