"""The HTTP API: FastAPI under /api/v1, OpenAPI at /openapi.json, docs at /docs."""

from fastapi import APIRouter, FastAPI

import workflow.listeners  # noqa: F401  # what follows a session's changes, for every request
from workflow.api import errors
from workflow.api.headers import Headers
from workflow.api.limits import BodySizeLimit
from workflow.api.observe import Observe
from workflow.api.routes import (
    action_items,
    directory,
    follow_up,
    forums,
    health,
    invitations,
    public,
    reports,
    sessions,
    tokens,
)
from workflow.config import get_settings
from workflow.web import routers as web_routers


def create_app() -> FastAPI:
    app = FastAPI(
        title="Forum workflow",
        version="0.1.0",
        summary="Consultation sessions, invitations, action items and report-backs for "
        "inter-municipal mayors' forums.",
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    app.add_middleware(Headers)  # page headers, and Allow listing every method of a path
    app.add_middleware(Observe)  # outermost: every answer has an id, and is counted
    v1 = APIRouter(prefix="/api/v1")
    for module in (
        forums,
        directory,
        sessions,
        action_items,
        invitations,
        follow_up,
        reports,
        tokens,
    ):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(health.router)
    app.include_router(public.router)
    for router in web_routers():
        app.include_router(router)
    errors.document_problems(app)  # every error status of every operation, in the document
    return app
