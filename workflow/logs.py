"""Logs: text for a person at a terminal, or one JSON object per line for a log collector
(WORKFLOW_LOG_FORMAT=json). Every record carries the id of the request (API) or the task
(worker) it belongs to, so one invitation can be followed from the call to the mail."""

import logging
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from workflow.config import get_settings

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)


class _WithContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


def _formatter() -> logging.Formatter:
    if get_settings().log_format == "json":
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def handler() -> logging.Handler:
    h = logging.StreamHandler()
    h.addFilter(_WithContext())
    h.setFormatter(_formatter())
    return h


def configure_logging() -> None:
    root = logging.getLogger()
    root.handlers[:] = [handler()]
    root.setLevel(get_settings().log_level.upper())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own loggers (access log included) through the same handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"default": {"()": handler}},
        "loggers": {
            name: {
                "handlers": ["default"],
                "level": get_settings().log_level.upper(),
                "propagate": False,
            }
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        }
        | {"": {"handlers": ["default"], "level": get_settings().log_level.upper()}},
    }
