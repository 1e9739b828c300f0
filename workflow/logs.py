"""Logs: text for a person at a terminal, or one JSON object per line for a log collector
(WORKFLOW_LOG_FORMAT=json). Every record carries the id of the request (API) or the task
(worker) it belongs to; a task queued by a request carries that request's id too (see
workflow/tasks), so one invitation can be followed from the call to the SMTP answer.

With JSON, a process writes nothing else: what libraries print past logging (Celery's
"Warm shutdown", a stray print, a warning, an unhandled error's traceback) becomes a record
of its own, so every line of stdout and stderr is one JSON object."""

import io
import logging
import re
import sys
import threading
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from workflow.config import get_settings

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)

# The process's real stderr, before any capture below replaces sys.stderr: handlers write
# here, so a record never goes through the capture again.
_STDERR: TextIO = sys.__stderr__ or sys.stderr
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _WithContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


def is_json() -> bool:
    return get_settings().log_format == "json"


def _formatter() -> logging.Formatter:
    if is_json():
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def handler() -> logging.Handler:
    h = logging.StreamHandler(_STDERR if is_json() else sys.stderr)
    h.addFilter(_WithContext())
    h.setFormatter(_formatter())
    return h


def configure_logging() -> None:
    root = logging.getLogger()
    root.handlers[:] = [handler()]
    root.setLevel(get_settings().log_level.upper())
    if is_json():
        capture_stray_output()


def _process_handler() -> logging.Handler:
    """uvicorn's handler, in each of its processes: JSON there means JSON only, too."""
    if is_json():
        capture_stray_output()
    return handler()


class _LinesToLog(io.TextIOBase):
    """A stream whose every line becomes a log record (of `logger`, at `level`)."""

    def __init__(self, raw: TextIO, logger: str, level: int) -> None:
        self._raw = raw
        self._logger = logging.getLogger(logger)
        self._level = level
        self._pending = ""
        self._lock = threading.RLock()
        self._inside = threading.local()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only, as for a real stream
        return getattr(self._raw, "encoding", None) or "utf-8"

    def write(self, s: str) -> int:
        with self._lock:
            self._pending += s
            lines = self._pending.split("\n")
            self._pending = lines.pop()
        for line in lines:
            self._emit(line)
        return len(s)

    def flush(self) -> None:
        self._raw.flush()

    def _emit(self, line: str) -> None:
        text = _ANSI.sub("", line).rstrip()
        if not text.strip():
            return
        if getattr(self._inside, "busy", False):  # logging itself wrote here: never loop
            self._raw.write(text + "\n")
            return
        self._inside.busy = True
        try:
            self._logger.log(self._level, text.strip())
        finally:
            self._inside.busy = False


_captured = False


def capture_stray_output() -> None:
    """Turn what bypasses logging into records: writes to stdout and stderr (also through
    sys.__stdout__, where Celery says "Warm shutdown"), and unhandled errors, which become
    one record with their traceback instead of many lines."""
    global _captured
    if _captured:
        return
    _captured = True
    out = _LinesToLog(sys.__stdout__ or sys.stdout, "workflow.stdout", logging.INFO)
    err = _LinesToLog(_STDERR, "workflow.stderr", logging.WARNING)
    # Celery writes to sys.__stdout__ itself; typeshed marks it Final and a TextIOWrapper.
    sys.stdout = sys.__stdout__ = out  # type: ignore[misc,assignment]  # replaced on purpose
    sys.stderr = sys.__stderr__ = err  # type: ignore[misc,assignment]  # replaced on purpose

    def log_unhandled(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        logging.getLogger("workflow").critical(
            "unhandled error: %s", exc or kind.__name__, exc_info=(kind, exc, tb)
        )

    sys.excepthook = log_unhandled
    logging.captureWarnings(True)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own loggers (access log included) through the same handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"default": {"()": _process_handler}},
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
