import hmac
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from workflow.config import get_settings
from workflow.db import ping
from workflow.http.problem import Problem

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format). With WORKFLOW_METRICS_TOKEN set, only
    `Authorization: Bearer <token>` may read them (401 otherwise)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from workflow.metrics import render

    _check_metrics_token(request.headers.get("authorization"))
    return Response(render(), media_type=CONTENT_TYPE_LATEST)


def _check_metrics_token(authorization: str | None) -> None:
    """With WORKFLOW_METRICS_TOKEN set, only `Authorization: Bearer <token>` may scrape:
    compared in constant time; anything else is a 401 problem document."""
    token = get_settings().metrics_token.get_secret_value()
    if not token:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise Problem(
            401,
            "the metrics need the metrics token: Authorization: Bearer <WORKFLOW_METRICS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


def _broker_ok() -> str | None:
    from workflow.tasks import celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _database_ok() -> str | None:
    try:
        ping()
    except Exception as exc:
        return f"{type(exc).__name__}"
    return None


def _last_scan() -> str | None:
    """When beat's follow-up scan last completed (UTC): stale means no beat is running."""
    from sqlmodel import Session as DBSession

    from workflow.db import get_engine
    from workflow.models import ScanMark

    try:
        with DBSession(get_engine()) as db:
            mark = db.get(ScanMark, "follow-up")
    except Exception:
        return None
    return f"{mark.period}Z" if mark else None


@router.get("/readyz")
def readyz() -> JSONResponse:
    """The database and the broker answer. 503 with problem details when one does not."""
    problems = {"database": _database_ok(), "broker": _broker_ok()}
    checks = {k: ("ok" if v is None else "unavailable") for k, v in problems.items()}
    if all(v is None for v in problems.values()):
        return JSONResponse({"status": "ok", "checks": checks, "last_follow_up_scan": _last_scan()})
    down = ", ".join(k for k, v in problems.items() if v is not None)
    log.warning("not ready: %s", problems)
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"not ready: {down} unreachable",
            "instance": "/readyz",
            "checks": checks,
        },
        status_code=503,
        media_type="application/problem+json",
    )
