"""Login-free pages (answer links, digest links, report links, calendar feeds) are rate
limited per client address, so a leaked link cannot be hammered and links cannot be guessed
at speed. Behind a reverse proxy, trust the proxy's address (WORKFLOW_FORWARDED_ALLOW_IPS)
so the client's own address, from X-Forwarded-For, is the one counted.

The count lives in memory per API process by default; WORKFLOW_RATE_LIMIT_STORAGE_URL
(e.g. redis://redis:6379/1) shares it between processes and machines.
"""

import logging
import time
from functools import lru_cache

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from workflow.config import get_settings
from workflow.http.problem import Problem

log = logging.getLogger(__name__)


@lru_cache
def _limiter() -> tuple[MovingWindowRateLimiter, RateLimitItem] | None:
    s = get_settings()
    if not s.public_rate_limit:
        return None
    storage = storage_from_string(s.rate_limit_storage_url or "memory://")
    return MovingWindowRateLimiter(storage), parse(s.public_rate_limit)


def reset() -> None:
    """Forget every count and re-read the settings (tests)."""
    _limiter.cache_clear()


def public_rate_limit(request: Request) -> None:
    limiter = _limiter()
    if limiter is None:
        return
    strategy, item = limiter
    client = request.client.host if request.client else "unknown"
    try:
        allowed = strategy.hit(item, "public", client)
    except Exception as exc:  # the shared store is down: do not take the pages down with it
        log.warning("rate limit store unavailable: %s", exc)
        return
    if not allowed:
        reset_at, _ = strategy.get_window_stats(item, "public", client)
        retry = max(1, round(reset_at - time.time()))
        raise Problem(
            429,
            "too many requests from this address; try again shortly",
            headers={"Retry-After": str(retry)},
        )
