"""The web interface: server-rendered pages for co-chairs, secretariats and participants.

One module per group of pages; each calls the same domain functions, with the same
Principal and permission checks, as the API routes (see docs/web.md). `workflow.app` mounts
their routers.
"""
