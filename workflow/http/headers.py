"""Headers that hold for whole kinds of answers, whatever the route's own code does.

- Pages a person opens (the web pages, and the pages behind links in mail: `/rsvp`, `/act`,
  `/report`) are personal and the link in their address is a credential: never cached,
  never framed by another site, and their address never passed on to another site.
- `Allow` lists every method the path answers (the router alone names only the first route
  that matches the path), on a 405 and on the answer to `OPTIONS`.
"""

import re
from collections.abc import Iterator

from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

# The pages behind links in mail (workflow/mail_links.py); calendar feeds are not
# pages and keep their own caching.
LINK_PAGES = ("/rsvp/", "/act/", "/report/")


def is_page(scope: Scope) -> bool:
    """A page behind a link in mail, or a web page (a route of workflow.web)."""
    if scope["path"].startswith(LINK_PAGES):
        return True
    endpoint = scope.get("endpoint")
    return getattr(endpoint, "__module__", "").startswith("workflow.web.")


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _routes_at(scope: Scope) -> Iterator[tuple[object, set[str], dict[str, str]]]:
    """(route, methods, path parameters) of every route whose path matches."""
    for route in iter_route_contexts(scope["app"].router.routes):
        if not route.methods or not route.path:
            continue
        if route.path not in _PATTERNS:
            _PATTERNS[route.path] = compile_path(route.path)[0]
        if found := _PATTERNS[route.path].match(scope["path"]):
            yield route.original_route, route.methods, found.groupdict()


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route answers at this path, OPTIONS included; [] for no route."""
    methods = set().union(*(m for _, m, _ in _routes_at(scope)))
    return sorted(methods | {"OPTIONS"}) if methods else []


def _route_for_metrics(scope: Scope) -> None:
    """Name the route an OPTIONS answer was for, so /metrics counts it by its template."""
    for route, _, params in _routes_at(scope):
        scope["route"], scope["path_params"] = route, params
        scope["endpoint"] = getattr(route, "endpoint", None)
        return


class Headers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (allowed := allowed_methods(scope)):
            _route_for_metrics(scope)
            headers = {"Allow": ", ".join(allowed), **(PAGE_HEADERS if is_page(scope) else {})}
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": 204, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] == 405 and (allowed := allowed_methods(scope)):
                    headers["Allow"] = ", ".join(allowed)
                if is_page(scope):
                    for name, value in PAGE_HEADERS.items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
