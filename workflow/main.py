"""ASGI entry point: `uvicorn workflow.main:app`."""

from workflow.app import create_app
from workflow.config import get_settings
from workflow.logs import configure_logging

# `workflow api` checked the key already; this is for uvicorn started on its own.
if problem := get_settings().secret_key_problem():
    raise SystemExit(f"workflow: {problem}")
configure_logging()
app = create_app()
