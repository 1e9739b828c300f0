"""ASGI entry point: `uvicorn workflow.api.main:app`."""

from workflow.api import create_app
from workflow.logs import configure_logging

configure_logging()
app = create_app()
