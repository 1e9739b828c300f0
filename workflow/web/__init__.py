"""The web interface: server-rendered pages for co-chairs, secretariats and participants.

One module per group of pages; each calls the same domain functions, with the same
Principal and permission checks, as the API routes (see docs/web.md).
"""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from workflow.web import action_items, auth, forums, reports, sessions

    return [auth.router, forums.router, sessions.router, action_items.router, reports.router]
