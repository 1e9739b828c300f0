"""Starting the service's processes: none starts with a signing key anyone can know."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import services
from tests.integration.processes import free_port, service_env

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("command", "key", "why"),
    [
        (["api"], "", "is not set"),  # as docs/production.md had it before: no key at all
        (["api"], "change-me-in-production", "is not set"),  # the documented default
        (["worker"], "too-short-a-key", "is 15 bytes long"),
        (["migrate"], "change-me-in-production", "is not set"),
    ],
    ids=["api-unset", "api-default", "worker-short", "migrate-default"],
)
def test_outside_the_embedded_mode_no_process_starts_with_a_weak_key(
    tmp_path: Path, command: list[str], key: str, why: str
) -> None:
    # A PostgreSQL database that does not exist: whatever went wrong, nothing is written.
    database = services.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/never_{uuid.uuid4().hex[:8]}"
    env = service_env(
        database_url=database,
        data_dir=str(tmp_path / "data"),
        api_port=str(free_port()),
        secret_key=key,
    )
    done = subprocess.run(
        [sys.executable, "-m", "workflow.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 78, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one clear line, no traceback
    assert lines[0].startswith("workflow: refusing to start: WORKFLOW_SECRET_KEY ")
    assert why in lines[0] and "secrets.token_urlsafe(32)" in lines[0]
    assert not (tmp_path / "data").exists()  # nothing was started, nothing written
