"""The HTTP API's routes, one module per resource; every path under API_PREFIX (OpenAPI at
/openapi.json, docs at /docs)."""

API_PREFIX = "/api/v1"
