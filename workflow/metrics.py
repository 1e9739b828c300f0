"""Prometheus metrics, served at /metrics.

Counted in the API process: HTTP requests by method, route template and status, and their
duration. Read at scrape time, so every API process reports the same figures whichever one
is scraped: deliveries by reason and status (the send task's outcomes), the age of the oldest
mail still to send, seconds since the follow-up scans last completed, and the queue's depth
in the broker, and the messages read from the reply mailbox by outcome. Worker-side task
events go to Flower (Celery events are on).
"""

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "workflow_http_requests",
    "HTTP requests handled by this API process",
    ["method", "route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "workflow_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    if route == "/metrics":
        return
    REQUESTS.labels(method, route, str(status)).inc()
    DURATION.labels(method, route).observe(seconds)


class _FromDatabase:
    """Figures read when scraped."""

    def collect(self) -> Iterator[Metric]:
        from workflow.db import get_engine
        from workflow.models import Delivery, DeliveryStatus, InboundMessage, ScanMark

        deliveries = GaugeMetricFamily(
            "workflow_deliveries", "Mails owed, by reason and status", labels=["reason", "status"]
        )
        oldest = GaugeMetricFamily(
            "workflow_oldest_pending_delivery_age_seconds",
            "Age of the oldest mail due but not yet sent (0 when none)",
        )
        scan_age = GaugeMetricFamily(
            "workflow_follow_up_scan_age_seconds",
            "Seconds since beat's follow-up scan last completed",
        )
        inbound = GaugeMetricFamily(
            "workflow_inbound_messages",
            "Messages read from the reply mailbox, by outcome (applied, not_a_reply, failed: "
            "left for the secretariat) and kind",
            labels=["outcome", "kind"],
        )
        try:
            with DBSession(get_engine()) as db:
                for outcome, kind, n in db.exec(
                    select(
                        col(InboundMessage.outcome), col(InboundMessage.kind), func.count()
                    ).group_by(col(InboundMessage.outcome), col(InboundMessage.kind))
                ):
                    inbound.add_metric([outcome, kind], n)
                for reason, status, n in db.exec(
                    select(col(Delivery.reason), col(Delivery.status), func.count()).group_by(
                        col(Delivery.reason), col(Delivery.status)
                    )
                ):
                    deliveries.add_metric([reason, status], n)
                now = clock.now()
                first = db.exec(
                    select(func.min(col(Delivery.next_attempt_at))).where(
                        col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending]),
                        col(Delivery.next_attempt_at) <= now,
                    )
                ).one()
                oldest.add_metric([], max((now - first).total_seconds(), 0) if first else 0)
                mark = db.get(ScanMark, "follow-up")
                if mark is not None:
                    scan_age.add_metric([], max((now - mark.done_at).total_seconds(), 0))
        except Exception as exc:  # the database is down: /readyz says so; report nothing
            log.warning("metrics: database unavailable: %s", exc)
            return
        yield deliveries
        yield inbound
        yield oldest
        yield scan_age
        depth = _queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily(
                "workflow_queue_depth", "Tasks waiting in the broker's queue", labels=["queue"]
            )
            queue.add_metric([depth[0]], depth[1])
            yield queue


def _queue_depth() -> tuple[str, int] | None:
    """Messages waiting in the queue. An empty queue is 0, on every broker: Redis deletes an
    empty list, and a queue nobody declared yet holds nothing either, so the broker's "no
    such queue" is 0, not an error."""
    from workflow.config import get_settings
    from workflow.tasks import celery_app

    name = get_settings().queue_name
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            try:
                _, count, _ = conn.default_channel.queue_declare(queue=name, passive=True)
            except Exception as exc:
                if not _no_such_queue(exc):
                    raise
                count = 0
    except Exception as exc:
        log.warning("metrics: broker unavailable: %s", exc)
        return None
    return name, count


def _no_such_queue(exc: Exception) -> bool:
    """AMQP's 404 NOT_FOUND, as RabbitMQ answers it and as kombu's Redis transport copies it."""
    from amqp.exceptions import NotFound

    return isinstance(exc, NotFound) or "NOT_FOUND" in str(exc)


REGISTRY.register(_FromDatabase())


def render() -> bytes:
    return generate_latest(REGISTRY)
