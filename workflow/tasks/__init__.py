"""The Celery application: the worker and beat processes run this.

Reliability settings (see DESIGN): late acknowledgement with reject-on-worker-lost and a
prefetch of one, so a killed worker's task comes back; no ETA tasks (the database decides
what is due); a periodic sweep re-drives whatever a lost message left behind.
"""

import logging

from celery import Celery, signals
from kombu import Queue

from workflow import logs
from workflow.config import get_settings

log = logging.getLogger(__name__)


def make_celery() -> Celery:
    settings = get_settings()
    if not settings.broker_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("workflow", broker=settings.effective_broker_url, include=["workflow.tasks.jobs"])
    app.conf.update(
        task_default_queue=settings.queue_name,
        task_queues=[Queue(settings.queue_name)],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        worker_hijack_root_logger=False,
        # Task events for Flower and other monitors.
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule={
            "sweep": {
                "task": "workflow.sweep",
                "schedule": settings.sweep_interval_seconds,
                "options": {"expires": settings.sweep_interval_seconds},
            },
            # Reminders, reports, digests and overviews: what is due is in the database.
            "follow-up": {
                "task": "workflow.follow_up",
                "schedule": settings.sweep_interval_seconds,
                "options": {"expires": settings.sweep_interval_seconds},
            },
        },
    )
    if settings.effective_broker_url.startswith(("redis", "rediss")):
        # Above the longest task; a lost message is re-driven by the sweep anyway.
        app.conf.broker_transport_options = {"visibility_timeout": 3600}
    return app


celery_app = make_celery()


@signals.task_prerun.connect
def _task_started(task_id: str, **_: object) -> None:
    logs.task_id.set(task_id)  # every log record of the task carries its id


@signals.task_postrun.connect
def _task_finished(**_: object) -> None:
    logs.task_id.set(None)


def _enqueue(task: str, ident: int) -> None:
    """Best effort: what is owed is already committed, and the sweep covers a failure here."""
    try:
        celery_app.send_task(task, args=[ident], retry=False)
    except Exception as exc:  # broker down
        log.warning("could not queue %s(%s): %s", task, ident, exc)


def enqueue_reconcile(session_id: int) -> None:
    _enqueue("workflow.reconcile_session", session_id)


def enqueue_send(delivery_id: int) -> None:
    _enqueue("workflow.send_delivery", delivery_id)


def enqueue_sign_in(request_id: int) -> None:
    _enqueue("workflow.sign_in_requested", request_id)
