"""The worker's tasks. Each is safe to run twice: it reads the database and converges."""

import logging

from workflow.tasks import celery_app
from workflow.tasks import reconcile as reconcile_flow

log = logging.getLogger(__name__)


@celery_app.task(name="workflow.reconcile_session", max_retries=5)
def reconcile_session(session_id: int) -> int | None:
    return reconcile_flow.reconcile_session(session_id)


@celery_app.task(name="workflow.sweep")
def sweep() -> int:
    lagging = reconcile_flow.lagging_sessions()
    for session_id in lagging:
        celery_app.send_task("workflow.reconcile_session", args=[session_id])
    if lagging:
        log.info("sweep re-queued %d sessions", len(lagging))
    return len(lagging)
