"""The Celery application: the worker and beat processes run this.

Reliability settings (see DESIGN): late acknowledgement with reject-on-worker-lost and a
prefetch of one, so a killed worker's task comes back; no ETA tasks (the database decides
what is due); a periodic sweep re-drives whatever a lost message left behind.

Logging is the service's own (workflow/logs.py), in the worker and in beat: Celery's set-up
is replaced, so WORKFLOW_LOG_FORMAT=json holds for Celery's lines too. A task queued while
an API request runs carries that request's id in its message headers, and passes it on to
the tasks it queues in turn (reconcile, then send): the worker's log lines for that work
carry the id the API returned as X-Request-ID.
"""

import gc
import logging
import math
import warnings
from typing import Any

from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning
from kombu import Queue

from workflow import i18n, logs, schedule, spine
from workflow.config import get_settings

log = logging.getLogger(__name__)


@signals.worker_before_create_process.connect
def _share_before_fork(**_: object) -> None:
    """A prefork pool child shares its parent's memory until it writes to a page. What every
    child would load for itself is loaded here once (the catalogues, the locale data, the
    mail templates), and what the parent made is frozen: a child's garbage collector never
    walks those objects, and so never copies their pages."""
    i18n.preload()
    gc.freeze()


@signals.worker_ready.connect
def _no_cancel_reminder(**_: object) -> None:
    """With worker_cancel_long_running_tasks_on_connection_loss said to be False (see
    below), Celery still reminds of its future default at every broker reconnect. Added
    once the worker is ready: Celery's logging set-up puts its own 'always' filters first."""
    warnings.filterwarnings(
        "ignore", message=r"\s*In Celery 5\.1 we introduced", category=CPendingDeprecationWarning
    )


def _no_restore_without_a_broker() -> None:
    """After the broker went away, Celery 5.7 lets go of the worker's transport and then closes
    the connection again; kombu's Redis channel then tries to put its unacknowledged messages
    back through the transport it no longer has, an AttributeError ('NoneType' object has no
    attribute 'hostname') that is no connection error, so the worker stops with "Unrecoverable
    error" instead of reconnecting. Without a broker nothing can be put back anyway: the
    messages stay in Redis's unacknowledged set (given back after the visibility timeout), and
    the sweep re-drives their work within a sweep interval."""
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.QoS.restore_unacked
    if getattr(original, "broker_guard", False):
        return

    def restore_unacked(self: Any, client: Any = None) -> None:
        if client is None and getattr(self.channel.connection, "client", None) is None:
            log.info(
                "broker gone: %s unacknowledged message(s) left to the broker and the sweep",
                len(self._delivered),
            )
            self._delivered.clear()
            return
        original(self, client)

    restore_unacked.broker_guard = True  # type: ignore[attr-defined]  # marks the wrapper
    kombu_redis.QoS.restore_unacked = restore_unacked  # type: ignore[method-assign]  # see above

    # The same for a task that finishes after the loss: acknowledging it through the channel
    # of the connection that is gone raised AttributeError ('NoneType' object has no attribute
    # 'client'), and the worker stopped. Its message stays unacknowledged in Redis and comes
    # back after the visibility timeout; running it again sends nothing twice (the delivery is
    # claimed and marked sent).
    from kombu.transport.virtual import base as kombu_virtual

    original_ack, original_reject = kombu_redis.QoS.ack, kombu_redis.QoS.reject

    def gone(qos: Any) -> bool:
        return getattr(qos.channel.connection, "client", None) is None

    def ack(self: Any, delivery_tag: Any) -> None:
        if gone(self):
            log.info("broker gone: a finished task's acknowledgement left to the broker")
            kombu_virtual.QoS.ack(self, delivery_tag)
            return
        original_ack(self, delivery_tag)

    def reject(self: Any, delivery_tag: Any, requeue: bool = False) -> None:
        if gone(self):
            log.info("broker gone: a task's rejection left to the broker")
            kombu_virtual.QoS.ack(self, delivery_tag)
            return
        original_reject(self, delivery_tag, requeue)

    kombu_redis.QoS.ack = ack  # type: ignore[method-assign]  # see above
    kombu_redis.QoS.reject = reject  # type: ignore[method-assign]  # see above


def make_celery() -> Celery:
    _no_restore_without_a_broker()
    settings = get_settings()
    if not settings.broker_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The jobs load every workflow (workflow/workflows.py): composers, scans, listeners.
    included = ["workflow.tasks.jobs"]
    app = Celery("workflow", broker=settings.effective_broker_url, include=included)
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
        # When the broker connection drops, let the tasks still running finish: a send
        # stopped between the SMTP server's 250 and its mark would be sent again after the
        # lease, so cancelling could double a mail a restarted broker must only delay. The
        # message that can no longer be acknowledged comes back and finds its delivery done.
        # Said explicitly (Celery 6 will default to True); its reminder is filtered below.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        # Task events for Flower and other monitors.
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule=schedule.beat_schedule(settings),
    )
    if settings.imap_host:
        # Calendar replies in the reply mailbox (workflow/replies): read every poll interval.
        app.conf.beat_schedule["replies"] = {
            "task": "workflow.read_replies",
            "schedule": settings.imap_poll_seconds,
            "options": {"expires": settings.imap_poll_seconds},
        }
    if settings.effective_broker_url.startswith(("redis", "rediss")):
        # Above the longest task; a lost message is re-driven by the sweep anyway.
        app.conf.broker_transport_options = {"visibility_timeout": 3600}
    return app


celery_app = make_celery()


@signals.setup_logging.connect
def _own_logging(**_: object) -> None:
    """Worker and beat log through the service's handler, in its format (not Celery's)."""
    logs.configure_logging()
    if logs.is_json():
        # Celery writes "worker: Warm shutdown (MainProcess)" and its like straight to the
        # file descriptor, past any stream: make them records like the rest.
        from celery.apps import worker

        say = logging.getLogger("celery.apps.worker")
        worker.safe_say = lambda msg, f=None: say.info("%s", str(msg).strip())


@signals.task_prerun.connect
def _task_started(task_id: str, task: Any = None, **_: object) -> None:
    # Every log record of the task carries its id, and the id of the request behind it.
    logs.task_id.set(task_id)
    request = getattr(task, "request", None)
    logs.request_id.set(request.get(REQUEST_ID_HEADER) if request is not None else None)


@signals.task_postrun.connect
def _task_finished(**_: object) -> None:
    logs.task_id.set(None)
    logs.request_id.set(None)


REQUEST_ID_HEADER = "request_id"


def message_headers() -> dict[str, str] | None:
    """The request id of the API call (or of the task) that queues work, for its message."""
    rid = logs.request_id.get()
    return {REQUEST_ID_HEADER: rid} if rid else None


def _enqueue(task: str, ident: object) -> None:
    """Best effort: what is owed is already committed, and the sweep covers a failure here."""
    try:
        celery_app.send_task(task, args=[ident], retry=False, headers=message_headers())
    except Exception as exc:  # broker down
        log.warning("could not queue %s(%s): %s", task, ident, exc)


def enqueue_reconcile(session_id: int) -> None:
    _enqueue("workflow.reconcile_session", session_id)


def enqueue_send(delivery_id: int) -> None:
    _enqueue("workflow.send_delivery", delivery_id)


def batches(delivery_ids: list[int], size: int, spread: int) -> list[list[int]]:
    """`delivery_ids` cut into at least `spread` batches (as far as there are deliveries), of
    at most `size` each, the sizes as even as they can be.

    Each batch is one task, which one worker process takes and holds under a lease: a fan-out
    in a single batch would be sent by one process while the others stand idle, and would be
    held up whole for the lease when that worker is cut off."""
    count = max(spread, math.ceil(len(delivery_ids) / size))
    count = min(count, len(delivery_ids))
    if count == 0:
        return []
    share, extra = divmod(len(delivery_ids), count)
    out, at = [], 0
    for n in range(count):
        end = at + share + (1 if n < extra else 0)
        out.append(delivery_ids[at:end])
        at = end
    return out


def enqueue_sends(delivery_ids: list[int]) -> None:
    """Many deliveries, in batches (one task each, see `batches`); one alone as itself."""
    if len(delivery_ids) == 1:
        enqueue_send(delivery_ids[0])
        return
    settings = get_settings()
    for batch in batches(delivery_ids, settings.mail_batch_size, settings.mail_batch_spread):
        _enqueue("workflow.send_batch", batch)


def enqueue_sign_in(request_id: int) -> None:
    _enqueue("workflow.sign_in_requested", request_id)


class _Broker(spine.Queue):
    def reconcile(self, session_id: int) -> None:
        enqueue_reconcile(session_id)

    def send(self, delivery_id: int) -> None:
        enqueue_send(delivery_id)


# Every process that imports the task layer (the application, the worker, the command
# line) queues what its commits owe through the broker.
spine.queue_through(_Broker())


def load() -> None:
    """Importing this package installed the broker as the spine's queue; calling it says so
    where a process starts."""
