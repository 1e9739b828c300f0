"""The event-driven spine against real components: PostgreSQL, Redis, a real Celery worker
and beat, and the API served by uvicorn, each in its own process."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests import services
from tests.integration.conftest import ADMIN
from tests.integration.processes import free_port, running, wait_for, wait_ready
from tests.integration.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.integration


def _setup_forum(base: str) -> int:
    c = httpx.Client(base_url=base, headers=ADMIN, timeout=10)
    forum = c.post("/api/v1/forums", json={"name": "Taskforce Spitsregio Leuven"}).json()
    chair = c.post(
        "/api/v1/people", json={"name": "Mieke Vandenberghe", "email": "mieke@example.org"}
    ).json()
    member = c.post(
        "/api/v1/people", json={"name": "Koen Wouters", "email": "koen@example.org"}
    ).json()
    c.post(
        f"/api/v1/forums/{forum['id']}/members", json={"person_id": chair["id"], "role": "co_chair"}
    )
    c.post(
        f"/api/v1/forums/{forum['id']}/members", json={"person_id": member["id"], "role": "member"}
    )
    return forum["id"]


def _schedule(base: str, forum_id: int, title: str = "Overleg") -> dict:
    start = datetime.now(UTC) + timedelta(days=10)
    r = httpx.post(
        f"{base}/api/v1/forums/{forum_id}/sessions",
        headers=ADMIN,
        timeout=10,
        json={
            "title": title,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _reconciled(engine, session_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT version, reconciled_version FROM meeting_session WHERE id = :id"),
                {"id": session_id},
            ).one()
        )


def test_a_change_is_reconciled_by_a_real_worker(stack: dict) -> None:
    env, base = stack["env"], stack["base"]
    with (
        running("api", ["api"], env, stack["logs"]) as api,
        running("worker", ["worker", "--concurrency", "2"], env, stack["logs"]) as worker,
    ):
        wait_ready(base, api)
        ready = httpx.get(f"{base}/readyz", timeout=10).json()
        assert ready["checks"] == {"database": "ok", "broker": "ok"}
        forum_id = _setup_forum(base)
        s = _schedule(base, forum_id)
        wait_for(
            lambda: _reconciled(stack["engine"], s["id"]) == (1, 1),
            30,
            "the worker to reconcile the new session",
            (api, worker),
        )
        r = httpx.patch(
            f"{base}/api/v1/sessions/{s['id']}",
            json={"location": "Stadhuis"},
            headers={**ADMIN, "If-Match": '"1"'},
            timeout=10,
        )
        assert r.status_code == 200
        wait_for(
            lambda: _reconciled(stack["engine"], s["id"]) == (2, 2),
            30,
            "the worker to reconcile the change",
            (api, worker),
        )


def test_a_lost_queue_message_only_delays_the_work(stack: dict) -> None:
    env, base = stack["env"], stack["base"]
    with running("api", ["api"], env, stack["logs"]) as api:
        wait_ready(base, api)
        s = _schedule(base, _setup_forum(base))
        # No worker yet: the message waits in Redis. Lose it, as a Redis restart would.
        r = redis.Redis.from_url(f"{services.REDIS_URL}/0")
        assert r.llen(stack["queue"]) >= 1
        r.delete(stack["queue"])
    assert _reconciled(stack["engine"], s["id"]) == (1, 0)
    with (
        running("worker", ["worker"], env, stack["logs"]) as worker,
        running("beat", ["beat"], env, stack["logs"]) as beat,
    ):
        wait_for(
            lambda: _reconciled(stack["engine"], s["id"]) == (1, 1),
            45,
            "the sweep to re-drive the lost reconciliation",
            (worker, beat),
        )


def test_changes_are_accepted_while_the_broker_is_down(stack: dict) -> None:
    env = {**stack["env"], "WORKFLOW_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    base = stack["base"]
    with running("api", ["api"], env, stack["logs"]) as api:
        wait_ready(base, api)
        ready = httpx.get(f"{base}/readyz", timeout=15)
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "broker": "unavailable"}
        s = _schedule(base, _setup_forum(base))
    # Committed, and left for the sweep once the broker is back.
    assert _reconciled(stack["engine"], s["id"]) == (1, 0)


def test_database_down_answers_503_problem_details(stack: dict) -> None:
    real = make_url(stack["env"]["WORKFLOW_DATABASE_URL"])
    base = stack["base"]
    with tcp_proxy((real.host or "127.0.0.1", real.port or 5432)) as database:
        through = real.set(host="127.0.0.1", port=database.port)
        env = {
            **stack["env"],
            "WORKFLOW_DATABASE_URL": through.render_as_string(hide_password=False),
        }
        with running("api", ["api"], env, stack["logs"]) as api:
            wait_ready(base, api)  # it starts once the database answers
            database.down()  # and then the database goes away
            _answers_503(base)


def _answers_503(base: str) -> None:
    r = httpx.get(
        f"{base}/api/v1/forums", headers={"Authorization": "Bearer wf_unknown"}, timeout=15
    )
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 503 and "database" in r.json()["detail"]
    assert r.headers["Retry-After"] == "5"
    ready = httpx.get(f"{base}/readyz", timeout=15)
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
