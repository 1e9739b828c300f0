"""/metrics reports the queue's depth on the real brokers, 0 when the queue is empty (on
Redis an empty queue does not exist: Redis deletes empty lists; on RabbitMQ a queue nobody
declared yet holds nothing either), and a scrape of an idle queue logs no warning."""

import contextlib
import re

import httpx
import pytest
from celery import Celery
from kombu import Connection, Queue

from tests import services
from tests.integration.processes import running, wait_for, wait_ready

pytestmark = pytest.mark.integration


def _depth(base: str, queue: str) -> float | None:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = re.search(rf'^workflow_queue_depth\{{queue="{re.escape(queue)}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_queue_depth_is_zero_when_empty_and_counts_waiting_tasks(stack: dict, broker: str) -> None:
    if broker == "rabbitmq":
        services.require_rabbitmq()
        url = services.AMQP_URL
    else:
        url = f"{services.REDIS_URL}/0"
    queue = stack["queue"]
    env = {**stack["env"], "WORKFLOW_BROKER_URL": url}
    publisher = Celery("probe", broker=url)
    publisher.conf.task_queues = [Queue(queue)]
    try:
        with running("api", ["api"], env, stack["logs"]) as api:  # no worker: tasks wait
            wait_ready(stack["base"], api)
            assert _depth(stack["base"], queue) == 0  # never used: no such queue yet
            for _ in range(3):
                publisher.send_task("workflow.sweep", queue=queue)
            wait_for(lambda: _depth(stack["base"], queue) == 3, 10, "3 tasks waiting", (api,))
            with Connection(url) as conn:
                conn.default_channel.queue_purge(queue)
            wait_for(lambda: _depth(stack["base"], queue) == 0, 10, "an empty queue", (api,))
            assert "metrics: broker unavailable" not in api.log()
    finally:
        with Connection(url) as conn, contextlib.suppress(Exception):  # already gone
            conn.default_channel.queue_delete(queue)
