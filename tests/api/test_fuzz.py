"""The whole API fuzzed from its own OpenAPI schema (schemathesis, property-based): whatever
is sent, never a 5xx, and every answer matches the schema it documents. Runs as an
administrator against a populated world, on PostgreSQL (the stricter of the two about
types and ranges; every other API test runs on both)."""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.world import build_world
from tests.conftest import ADMIN
from workflow.api import create_app

# Enough to find what breaks in a run of the suite; raise it for a longer hunt.
EXAMPLES = 12

app = create_app()  # the same database as the `client` fixture: that fixture chooses it
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def world(client: Any) -> None:
    w = build_world(client)
    w.schedule()


@schema.parametrize()
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_answers_match_the_schema(case: Any, world: None) -> None:
    case.call_and_validate(headers=ADMIN, checks=[not_a_server_error, response_schema_conformance])
