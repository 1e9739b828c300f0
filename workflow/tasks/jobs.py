"""The worker's tasks. Each is safe to run twice: it reads the database and converges."""

import logging

from workflow import outbox
from workflow.db import db_session
from workflow.invitations import reconcile
from workflow.tasks import celery_app, enqueue_send

log = logging.getLogger(__name__)


@celery_app.task(name="workflow.reconcile_session")
def reconcile_session(session_id: int) -> int | None:
    version, created = reconcile.reconcile_session(session_id)
    for delivery_id in created:
        enqueue_send(delivery_id)
    return version


@celery_app.task(name="workflow.send_delivery")
def send_delivery(delivery_id: int) -> str:
    return outbox.deliver(delivery_id)


@celery_app.task(name="workflow.sweep")
def sweep() -> dict[str, int]:
    """Re-drive whatever a lost message, a killed worker or a backoff left behind."""
    lagging = reconcile.lagging_sessions()
    for session_id in lagging:
        celery_app.send_task("workflow.reconcile_session", args=[session_id])
    with db_session() as db:
        outbox.give_up_exhausted(db)
        due = outbox.due(db)
    for delivery_id in due:
        enqueue_send(delivery_id)
    if lagging or due:
        log.info("sweep re-queued %d sessions and %d deliveries", len(lagging), len(due))
    return {"sessions": len(lagging), "deliveries": len(due)}
