"""The whole API fuzzed from its own OpenAPI schema (schemathesis, property-based), with every
check schemathesis has: never a 5xx; every status, content type, header and body as the
document says; what the document calls valid is accepted and what it calls invalid is
refused; a missing required header or an undeclared method refused; requests without the
token refused. Runs as an administrator against a populated world, on PostgreSQL (the
stricter of the two about types and ranges; every other API test runs on both).

The figures of a run (operations, cases, failures by check) are printed at the end of the
module's tests."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.api.world import build_world
from tests.conftest import ADMIN
from workflow.app import create_app

# Enough to find what breaks in a run of the suite; raise them for a longer hunt.
EXAMPLES = 6  # per operation, after the coverage phase's own cases (edges of every field)
SCENARIOS, STEPS = 6, 5  # along the links between operations (create, then read or change)

config = SchemathesisConfig.from_dict(
    {
        # As the document says (HTTPBearer), so schemathesis knows which requests it sends
        # without the token on purpose (ignored_auth, a missing required header).
        "auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN["Authorization"].split()[1]}}},
        "checks": {
            # A request the document calls valid may still break a domain rule the document
            # cannot express: a session in the past or beyond five years, a co-chair policy, a
            # stale or missing version (412, 428). Those are refused with problem details that
            # point at the field, as declared on every operation; anything else must be 2xx.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422", "428"]
            },
            # Invalid data must be refused. An If-Match that is not an ETag is refused with 412
            # before the body is read, as RFC 9110 (13.2.1) has preconditions evaluated.
            "negative_data_rejection": {
                "expected-statuses": [
                    *["400", "401", "403", "404", "405", "406", "409", "412", "413", "415"],
                    *["422", "428", "429"],
                ]
            },
        },
    }
)
app = create_app()  # the same database as the `client` fixture: that fixture chooses it
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

figures: Counter[str] = Counter()
failed_checks: Counter[str] = Counter()
operations: set[str] = set()


@schema.hook
def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
    operations.add(case.operation.label)
    figures["cases"] += 1
    figures[case.meta.phase.name.value if case.meta else "stateful"] += 1
    for result in results:
        if result.failure is not None:
            failed_checks[result.name] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    by_check = ", ".join(f"{k}: {v}" for k, v in sorted(failed_checks.items())) or "none"
    phases = ", ".join(f"{k} {v}" for k, v in sorted(figures.items()) if k != "cases")
    line = (
        f"schemathesis: {len(operations)} operations, {figures['cases']} cases ({phases}), "
        f"failures by check: {by_check}"
    )
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")


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
def test_every_check_passes(case: Any, world: None) -> None:
    case.call_and_validate()  # no `checks=`: every check enabled in `config`


Workflow = schema.as_state_machine()  # links inferred from the document (ids in answers)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_every_check_passes_along_links(world: None) -> None:
    """Also use_after_free and ensure_resource_availability: what was created can be read,
    what was deleted cannot."""
    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
