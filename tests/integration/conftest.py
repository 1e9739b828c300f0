import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine

from tests import services
from tests.integration.processes import free_port, service_env
from workflow.migrate import upgrade

ADMIN = {"Authorization": "Bearer integration-admin"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    """PostgreSQL database and Redis queue of its own; the processes are started by tests."""
    services.require_postgres()
    services.require_redis()
    db_url = services.create_database(f"workflow_it_{uuid.uuid4().hex[:8]}")
    upgrade(db_url)
    queue = f"workflow-it-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = service_env(
        database_url=db_url,
        broker_url=f"{services.REDIS_URL}/0",
        queue_name=queue,
        admin_token="integration-admin",
        api_port=str(port),
        data_dir=str(tmp_path / "data"),
        sweep_interval_seconds="1",
        smtp_port=str(free_port()),
        retry_base_seconds="0.5",
        public_url=f"http://127.0.0.1:{port}",
    )
    engine = create_engine(db_url)
    yield {
        "env": env,
        "base": f"http://127.0.0.1:{port}",
        "engine": engine,
        "logs": tmp_path,
        "queue": queue,
    }
    engine.dispose()
    redis.Redis.from_url(f"{services.REDIS_URL}/0").delete(queue)
    services.drop_database(db_url.rsplit("/", 1)[1])
