"""WORKFLOW_LOG_FORMAT=json, with the real processes: every line that migrate, the API, the
worker and beat write, from their start to their warm shutdown (and migrate's failure with
its traceback), is one JSON object; and the request id of the API call that scheduled a
session is on the worker's log lines that send its invitations, up to the SMTP answer."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests import services
from tests.integration.conftest import ADMIN
from tests.integration.processes import running, service_env, wait_for, wait_ready
from tests.integration.smtp_sink import smtp_sink
from tests.integration.test_startup import _workflow

pytestmark = pytest.mark.integration


def _records(output: str, what: str) -> list[dict]:
    records = []
    for number, line in enumerate(output.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{what}, line {number} is not JSON: {line!r}") from None
        assert isinstance(record, dict) and {"time", "level", "logger", "message"} <= set(record), (
            f"{what}, line {number}: {line!r}"
        )
        records.append(record)
    assert records, f"{what} wrote nothing"
    return records


def test_migrate_writes_json_also_when_it_fails(tmp_path: Path) -> None:
    services.require_postgres()
    name = f"workflow_json_{uuid.uuid4().hex[:8]}"
    url = services.create_database(name)
    env = service_env(database_url=url, log_format="json", data_dir=str(tmp_path / "data"))
    try:
        code, output = _workflow(["migrate"], env)
        assert code == 0, output
        messages = [r["message"] for r in _records(output, "migrate")]
        assert any(m.startswith("Running upgrade") for m in messages), messages
        assert messages[-1].endswith("is up to date")

        # A schema from a release this one does not know: the upgrade fails.
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        engine.dispose()
        code, output = _workflow(["migrate"], env)
        assert code == 1, output
        [failure] = [r for r in _records(output, "failed migrate") if r["level"] == "ERROR"]
        assert "schema upgrade" in failure["message"]
        assert "Traceback" in failure["exc_info"] and "9999_from_the_future" in failure["exc_info"]
    finally:
        services.drop_database(name)


def test_every_process_logs_json_and_the_request_id_follows_the_invitation(stack: dict) -> None:
    request_id = f"it-{uuid.uuid4().hex[:12]}"
    with smtp_sink() as sink:
        env = {
            **stack["env"],
            "WORKFLOW_SMTP_PORT": str(sink.port),
            "WORKFLOW_LOG_FORMAT": "json",
            # No sweep in the meantime: the API call's own reconcile owes the invitations.
            "WORKFLOW_SWEEP_INTERVAL_SECONDS": "300",
        }
        with (
            running("api", ["api"], env, stack["logs"]) as api,
            running("worker", ["worker", "--concurrency", "2"], env, stack["logs"]) as worker,
            running("beat", ["beat"], env, stack["logs"]) as beat,
        ):
            wait_ready(stack["base"], api)
            client = httpx.Client(base_url=stack["base"], headers=ADMIN, timeout=15)
            forum = client.post("/api/v1/forums", json={"name": "Overleg logs"}).json()
            for i, role in enumerate(["co_chair", "member"]):
                person = client.post(
                    "/api/v1/people",
                    json={"name": f"Deelnemer {i}", "email": f"logs{i}@example.org"},
                ).json()
                client.post(
                    f"/api/v1/forums/{forum['id']}/members",
                    json={"person_id": person["id"], "role": role},
                )
            start = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
            r = client.post(
                f"/api/v1/forums/{forum['id']}/sessions",
                headers={"X-Request-ID": request_id},
                json={
                    "title": "Overleg",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=1)).isoformat(),
                },
            )
            assert r.status_code == 201 and r.headers["X-Request-ID"] == request_id, r.text
            wait_for(lambda: sink.count() >= 2, 60, "both invitations", (api, worker, beat))
            wait_for(lambda: " sent: " in worker.log(), 20, "the send lines", (worker,))
        # Leaving the block stopped them (SIGTERM): the warm shutdown is in the logs too.
    logs = {p.name: _records(p.log(), p.name) for p in (api, worker, beat)}
    sent = [r for r in logs["worker"] if " sent: " in r["message"]]
    assert len(sent) == 2 and {r["request_id"] for r in sent} == {request_id}, sent
    assert all(r["task_id"] for r in sent)
    # The reconcile that owed the invitations ran under the same request id.
    assert any(
        r["request_id"] == request_id and "reconcile_session" in r["message"]
        for r in logs["worker"]
    ), logs["worker"]
    messages = {name: " ".join(r["message"] for r in rs) for name, rs in logs.items()}
    assert "ready." in messages["worker"] and "Warm shutdown" in messages["worker"]
    assert "beat: Starting" in messages["beat"]
    assert any(r["request_id"] == request_id for r in logs["api"])
