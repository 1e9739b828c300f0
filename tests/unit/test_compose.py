"""docker-compose.yml, read as Compose reads it (YAML). No Docker engine runs where the tests
run, so this checks the file's shape: what an operator relies on in docs/production.md."""

import re
from pathlib import Path

import yaml

from workflow.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
ENV = COMPOSE["x-workflow-env"]
OURS = ("migrate", "api", "worker", "beat")


def _default(value: str) -> str:
    """The default of a "${NAME:-default}" value."""
    found = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    assert found, value
    return found.group(1)


def test_postgres_is_healthy_only_once_it_answers_over_tcp() -> None:
    test = SERVICES["postgres"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"]
    assert test[test.index("-h") + 1] == "127.0.0.1" and test[test.index("-p") + 1] == "5432"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert _default(ENV["WORKFLOW_DATABASE_WAIT_SECONDS"]) == "60"


def test_the_image_is_built_once_and_run_by_all_four() -> None:
    builders = [name for name, s in SERVICES.items() if "build" in s]
    assert builders == ["migrate"]
    images = {SERVICES[name]["image"] for name in OURS}
    assert images == {"${WORKFLOW_IMAGE:-forum-workflow}:${WORKFLOW_TAG:-latest}"}


def test_the_number_of_workers_is_in_the_file_so_a_plain_up_keeps_it() -> None:
    assert SERVICES["worker"]["deploy"]["replicas"] == "${WORKFLOW_WORKERS:-1}"
    assert "deploy" not in SERVICES["beat"]  # exactly one, always


def test_third_party_images_are_pinned() -> None:
    for name in ("postgres", "redis", "mailcatcher", "flower"):
        image = SERVICES[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image


def test_flower_watches_the_services_own_broker() -> None:
    assert SERVICES["flower"]["environment"]["CELERY_BROKER_URL"] == ENV["WORKFLOW_BROKER_URL"]
    assert not any("redis://" in part for part in SERVICES["flower"]["command"])


def test_the_api_trusts_the_proxy_on_its_own_network() -> None:
    [subnet] = COMPOSE["networks"]["default"]["ipam"]["config"]
    assert _default(ENV["WORKFLOW_FORWARDED_ALLOW_IPS"]) == _default(subnet["subnet"])


def test_every_setting_the_file_passes_is_one_the_service_reads() -> None:
    known = {f"WORKFLOW_{name.upper()}" for name in Settings.model_fields}
    assert set(ENV) - known == set()
