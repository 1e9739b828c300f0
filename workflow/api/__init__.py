"""The HTTP API's routes, one module per resource in `routes/`; `workflow.app` mounts them
under /api/v1 (OpenAPI at /openapi.json, docs at /docs)."""
