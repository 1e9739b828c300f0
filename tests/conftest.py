"""Test fixtures. The API suite runs on SQLite and, where it answers, on PostgreSQL.

Real servers: PostgreSQL and Redis are expected on 127.0.0.1. On a laptop without them the
tests that need them skip with the reason; in CI (CI=true or WORKFLOW_TEST_REQUIRE_SERVICES=1)
an unreachable server fails the run instead, so nothing is skipped silently.
"""

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Before anything imports the settings: the API tests publish to an in-process broker.
_TMP = tempfile.mkdtemp(prefix="workflow-tests-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ.setdefault("WORKFLOW_DATA_DIR", _TMP)
os.environ["WORKFLOW_BROKER_URL"] = os.environ.get("WORKFLOW_TEST_API_BROKER_URL", "memory://")
os.environ["WORKFLOW_ADMIN_TOKEN"] = "test-admin-token"
# Long enough for the PostgreSQL runs, where the documented default is refused.
os.environ["WORKFLOW_SECRET_KEY"] = "test-secret-key-0123456789abcdefghijklmnopqrstuv"
os.environ.pop("WORKFLOW_DATABASE_URL", None)

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from tests import services
from workflow import clock, db
from workflow.app import create_app
from workflow.config import get_settings
from workflow.http import ratelimit
from workflow.migrate import upgrade

if TYPE_CHECKING:
    from tests.api.world import World

ADMIN = {"Authorization": "Bearer test-admin-token"}
SCREENSHOTS = Path(__file__).parent / "browser" / "screenshots"


# Here, not in tests/browser: under pytest-xdist only this conftest is loaded by the
# controller, which empties the screenshot folder once per run and names it at the end.
def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    shots = sorted(SCREENSHOTS.glob("*.png")) if SCREENSHOTS.is_dir() else []
    if shots:
        terminalreporter.write_line(f"browser screenshots: {len(shots)} in {SCREENSHOTS}")


# Longest files first. Under `--dist loadfile` xdist hands out whole files, by default those
# with the most tests first, so the slowest files (one or two tests that start real processes)
# ran last, one worker busy and the other idle for minutes. Handing them out first
# (longest-processing-time first, with `--no-loadscope-reorder` in the Makefile) lets the many
# short files fill in at the end. The order comes from `pytest --durations=0`; a file not
# listed runs after these, in collection order.
SLOWEST_FIRST = (
    "tests/integration/test_faults.py",
    "tests/browser/test_web.py",
    "tests/integration/test_invitations.py",
    "tests/api/test_fuzz.py",
    "tests/integration/test_follow_up.py",
    "tests/integration/test_outages.py",
    "tests/integration/test_partition.py",
    "tests/integration/test_spine.py",
    "tests/api/test_permissions.py",
    "tests/integration/test_startup.py",
    "tests/integration/test_embedded.py",
    "tests/integration/test_replies.py",
    "tests/integration/test_json_logs.py",
    "tests/integration/test_proxy.py",
    "tests/integration/test_cli_tokens.py",
    "tests/unit/test_calendar_edges.py",
    "tests/integration/test_queue_depth.py",
    "tests/web/test_permissions.py",
    "tests/web/test_bad_input.py",
)


@pytest.hookimpl(trylast=True)  # after pytest's own regrouping by parametrized fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def use_database(url: str) -> None:
    os.environ["WORKFLOW_DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of each kind, for the whole test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{_TMP}/api-{uuid.uuid4().hex[:8]}.sqlite"
        upgrade(url)
        use_database(url)
        yield url
        db.get_engine().dispose()
        return
    services.require_postgres()
    url = services.create_database(f"workflow_test_{uuid.uuid4().hex[:8]}")
    upgrade(url)
    use_database(url)
    yield url
    db.get_engine().dispose()
    services.drop_database(make_url(url).database)


def _empty_all_tables() -> None:
    engine = db.get_engine()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def client(backend: str) -> Iterator[TestClient]:
    use_database(backend)
    _empty_all_tables()
    clock.freeze(None)
    ratelimit.reset()
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c
    clock.freeze(None)


@pytest.fixture
def w(client: TestClient) -> "World":
    """The API and web tests' world (tests/api/world.py), built through the API. A test file
    whose world needs a frozen clock overrides it."""
    from tests.api.world import build_world  # it imports this module

    return build_world(client)
