"""The worker's tasks. Each is safe to run twice: it reads the database and converges."""

import logging

from workflow import schedule, sign_in, workflows
from workflow.db import db_session
from workflow.follow_up import digests
from workflow.invitations import reconcile
from workflow.mail import outbox
from workflow.tasks import celery_app, enqueue_sends

log = logging.getLogger(__name__)

# Every workflow's composers and scans, declared before the first task runs.
workflows.load()


@celery_app.task(name="workflow.reconcile_session")
def reconcile_session(session_id: int) -> int | None:
    version, created = reconcile.reconcile_session(session_id)
    enqueue_sends(created)
    return version


@celery_app.task(name="workflow.send_delivery")
def send_delivery(delivery_id: int) -> str:
    delivered = outbox.deliver(delivery_id)
    # Calendar mails to the same person that waited for this one to finish.
    enqueue_sends(delivered.next_in_line)
    return delivered.outcome


@celery_app.task(name="workflow.send_batch")
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Many deliveries through one SMTP connection (workflow.mail.outbox.deliver_batch)."""
    delivered = outbox.deliver_batch(delivery_ids)
    enqueue_sends(delivered.next_in_line)
    counts: dict[str, int] = {}
    for outcome in delivered.outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@celery_app.task(name="workflow.sign_in_requested")
def sign_in_requested(request_id: int) -> int:
    """A sign-in link asked for: owe its mail if the address is known (workflow.sign_in)."""
    return _owe_sign_in(request_id)


def _owe_sign_in(request_id: int | None) -> int:
    with db_session() as db:
        created = sign_in.owe_requested(db, request_id)
    enqueue_sends(created)
    return len(created)


@celery_app.task(name="workflow.sweep")
def sweep() -> dict[str, int]:
    """Re-drive whatever a lost message, a killed worker or a backoff left behind."""
    _owe_sign_in(None)  # sign-in requests whose task was lost
    lagging = reconcile.lagging_sessions()
    for session_id in lagging:
        celery_app.send_task("workflow.reconcile_session", args=[session_id])
    with db_session() as db:
        outbox.give_up_exhausted(db)
        due = outbox.due(db)
    enqueue_sends(due)
    if lagging or due:
        log.info("sweep re-queued %d sessions and %d deliveries", len(lagging), len(due))
    return {"sessions": len(lagging), "deliveries": len(due)}


def run_scans() -> dict[str, int]:
    """What the follow-up scan asks, in order (each domain declares its part beside it, see
    workflow.schedule). Each runs in its own transaction: the mail it owes is recorded in the
    same commit that marks the work done, then queued."""
    counts = {}
    for declared in schedule.scans():
        name, scan = declared.name, declared.run
        # One scan failing (say, a report that cannot compile) must not hold up the others.
        try:
            with db_session() as db:
                created = scan(db)
        except Exception:
            log.exception("follow-up scan %s failed; it is tried again next time", name)
            counts[name] = 0
            continue
        enqueue_sends(created)
        counts[name] = len(created)
    with db_session() as db:
        digests.heartbeat(db)
    return counts


@celery_app.task(name="workflow.follow_up")
def follow_up() -> dict[str, int]:
    """Reminders, report-back reports, digests and overviews that are due now."""
    counts = run_scans()
    if any(counts.values()):
        log.info("follow-up owes %s", counts)
    return counts


@celery_app.task(name="workflow.read_replies")
def read_replies() -> dict[str, int]:
    """One pass over the reply mailbox (workflow/replies/imap.py); safe to run twice at once:
    the ledger's unique key lets only one of them apply a message."""
    from workflow.replies import imap

    try:
        return imap.poll_once().as_dict()
    except imap.ImapError as exc:
        log.warning("reply mailbox not read: %s; tried again next time", exc)
        return {"error": 1}
