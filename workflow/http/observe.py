"""Every request gets an id (the caller's X-Request-ID if it is a sane one, else a new one),
echoed in the response and carried by every log record of the request, and is counted and
timed for /metrics by its route template (never by its raw path, which holds ids)."""

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow import metrics
from workflow.logs import request_id

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.observe_request(
                scope["method"], _template(scope), status, time.perf_counter() - started
            )
            request_id.reset(token)


def _template(scope: Scope) -> str:
    """The path with its parameters named: /api/v1/forums/3 -> /api/v1/forums/{forum_id}."""
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(
        f"{{{params[part]}}}" if part in params else part for part in scope["path"].split("/")
    )
