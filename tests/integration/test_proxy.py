"""Behind a reverse proxy: the rate limit on the login-free pages counts each participant by
the address the trusted proxy forwards (X-Forwarded-For), and believes that header from no
one else. The real `workflow api` under uvicorn, with the real limiter."""

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.processes import running, wait_ready

pytestmark = pytest.mark.integration

PROXY = "127.0.0.2"  # the reverse proxy's address, trusted
STRANGER = "127.0.0.3"  # any other client, not trusted
LIMIT = 3


def _client(base: str, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=base, transport=transport, timeout=10)


def _page(client: httpx.Client, forwarded_for: str) -> int:
    """A login-free page (an answer link; this one is not valid, so 404 until limited)."""
    return client.get(
        "/rsvp/not-a-real-link", headers={"X-Forwarded-For": forwarded_for}
    ).status_code


@pytest.fixture
def api(stack: dict) -> Iterator[str]:
    env = {
        **stack["env"],
        "WORKFLOW_FORWARDED_ALLOW_IPS": f"{PROXY}, 192.0.2.0/24",
        "WORKFLOW_PUBLIC_RATE_LIMIT": f"{LIMIT}/minute",
    }
    with running("api", ["api"], env, stack["logs"]) as proc:
        wait_ready(stack["base"], proc)
        yield stack["base"]


def test_two_participants_behind_the_proxy_are_counted_apart(api: str) -> None:
    with _client(api, PROXY) as proxy:
        first = [_page(proxy, "203.0.113.10") for _ in range(LIMIT + 1)]
        assert first == [404] * LIMIT + [429]
        # Someone else behind the same proxy still gets the page.
        assert _page(proxy, "203.0.113.20") == 404


def test_forwarded_for_from_an_untrusted_address_is_ignored(api: str) -> None:
    with _client(api, STRANGER) as stranger:
        # Claiming to be many people does not get round the limit: it is one address.
        answers = [_page(stranger, f"198.51.100.{i}") for i in range(LIMIT + 1)]
        assert answers == [404] * LIMIT + [429]
    # And it did not use up the count of the addresses it claimed.
    with _client(api, PROXY) as proxy:
        assert _page(proxy, "198.51.100.0") == 404
