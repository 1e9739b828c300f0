"""The one place the application is put together: the API under /api/v1 and its health
routes, the pages behind links in mail, and the web pages, with the middleware and the
problem handlers every answer goes through."""

from fastapi import APIRouter, FastAPI

from workflow import mail_links, tasks, workflows
from workflow.api.routes import (
    action_items,
    directory,
    follow_up,
    forums,
    health,
    invitations,
    reports,
    sessions,
    tokens,
)
from workflow.config import get_settings
from workflow.http import problem_details
from workflow.http.deps import CloseUnitOfWork
from workflow.http.headers import Headers
from workflow.http.limits import BodySizeLimit
from workflow.http.observe import Observe
from workflow.web import action_items as web_action_items
from workflow.web import agenda as web_agenda
from workflow.web import auth as web_auth
from workflow.web import escalations as web_escalations
from workflow.web import exports as web_exports
from workflow.web import follow_up as web_follow_up
from workflow.web import forums as web_forums
from workflow.web import me as web_me
from workflow.web import outbox as web_outbox
from workflow.web import reports as web_reports
from workflow.web import sessions as web_sessions

API_MODULES = (forums, directory, sessions, action_items, invitations, follow_up, reports, tokens)
WEB_MODULES = (
    web_auth,
    web_forums,
    web_sessions,
    web_agenda,
    web_follow_up,
    web_action_items,
    web_escalations,
    web_reports,
    web_exports,
    web_me,
    web_outbox,
)


def create_app() -> FastAPI:
    workflows.load()  # every workflow's composers, scans and listeners, before any request
    tasks.load()  # what a request's commit owes the worker goes through the broker
    app = FastAPI(
        title="Forum workflow",
        version="0.1.0",
        summary="Consultation sessions, invitations, action items and report-backs for "
        "inter-municipal mayors' forums.",
        # Requests are counted at /metrics and logged by the service itself (Observe); with
        # FastAPI's OpenTelemetry hooks on, every request would ask OpenTelemetry whether a
        # provider is configured (8 us), for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    problem_details.install(app)
    app.add_middleware(CloseUnitOfWork)  # the request's database session, once answered
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    app.add_middleware(Headers)  # page headers, and Allow listing every method of a path
    app.add_middleware(Observe)  # outermost: every answer has an id, and is counted
    # Matched in this order, first to last; no path belongs to two of them. The probes
    # first, then the API, whose answers cost least beside the matching.
    for module in (health, *API_MODULES, mail_links, *WEB_MODULES):
        serve(app, module.router)
    problem_details.document_problems(app)  # every error status of every operation, in the document
    return app


def serve(app: FastAPI, router: APIRouter) -> None:
    """The router's routes on the application's own router, matched by their path alone.
    Each route already holds its router's prefix, tags and dependencies. Not include_router:
    FastAPI keeps an included router as one route that matches a request against each of its
    routes with bookkeeping per route, and does it twice; across this application's routers
    that cost 0.1 to 0.4 ms of CPU a request before any of the route's own work. A route
    resolves its dependencies as its router declared them: app.dependency_overrides does not
    reach it (nothing here uses them; tests set the environment instead)."""
    app.router.routes.extend(router.routes)
