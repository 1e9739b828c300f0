"""Request ids, structured logs and Prometheus metrics, as an operator would read them."""

import io
import json
import logging
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from workflow import logs


def samples(client: Any) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_every_answer_carries_a_request_id(client: Any) -> None:
    r = client.get("/api/v1/forums", headers={**ADMIN, "X-Request-ID": "mail-relay.42"})
    assert r.headers["X-Request-ID"] == "mail-relay.42"
    made_up = client.get("/api/v1/forums", headers={**ADMIN, "X-Request-ID": "x" * 65})
    assert len(made_up.headers["X-Request-ID"]) == 32 and "x" not in made_up.headers["X-Request-ID"]
    assert client.get("/nowhere").headers["X-Request-ID"]


def test_metrics_count_requests_by_route_and_read_the_outbox(client: Any) -> None:
    w: World = build_world(client)
    forum = w.forums["taskforce"]
    before = samples(client)
    for _ in range(3):
        ok(client.get(f"/api/v1/forums/{forum}", headers=ADMIN))
    client.get("/api/v1/forums/999999", headers=ADMIN)
    w.schedule()
    from workflow.invitations.reconcile import reconcile_session

    reconcile_session(1)
    got = samples(client)
    route = "/api/v1/forums/{forum_id}"

    def counted(name: str, **labels: str) -> float:
        key = (name, tuple(sorted({"method": "GET", "route": route, **labels}.items())))
        return got[key] - before.get(key, 0)

    assert counted("workflow_http_requests_total", status="200") == 3
    assert counted("workflow_http_requests_total", status="404") == 1
    assert counted("workflow_http_request_duration_seconds_count") == 4
    # Raw paths (with ids) never become labels.
    assert not [k for k in got if "999999" in str(k)]
    assert got[("workflow_deliveries", (("reason", "invitation"), ("status", "pending")))] == 5
    assert ("workflow_oldest_pending_delivery_age_seconds", ()) in got


def test_json_logs_carry_the_request_and_task_ids(monkeypatch: Any) -> None:
    from workflow.config import get_settings

    monkeypatch.setattr(get_settings(), "log_format", "json")
    out = io.StringIO()
    handler = logs.handler()
    handler.stream = out  # type: ignore[attr-defined]
    logger = logging.getLogger("workflow.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    token = logs.request_id.set("abc123")
    try:
        logger.info("invitation owed to %s", "Geneviève")
    finally:
        logs.request_id.reset(token)
        logger.removeHandler(handler)
    record = json.loads(out.getvalue())
    assert record["message"] == "invitation owed to Geneviève"
    assert record["request_id"] == "abc123" and record["task_id"] is None
    assert record["level"] == "INFO" and record["logger"] == "workflow.test" and record["time"]


def test_with_a_metrics_token_only_its_bearer_reads_the_metrics(client: Any, monkeypatch) -> None:
    from pydantic import SecretStr

    from workflow.config import get_settings

    assert client.get("/metrics").status_code == 200  # unset: open, as before
    token = "metrics-scraper-token-0123456789abcdef"
    monkeypatch.setattr(get_settings(), "metrics_token", SecretStr(token))
    for headers in (
        {},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": token},
        ADMIN,  # an administrator's API token is not the scraper's
    ):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert r.json()["status"] == 401 and "workflow_" not in r.text
    r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "workflow_http_requests" in r.text
