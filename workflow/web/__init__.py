"""The web interface: server-rendered pages for co-chairs, secretariats and participants.

One module per group of pages; each calls the same domain functions, with the same
Principal and permission checks, as the API routes (see docs/web.md).
"""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from workflow.web import (
        action_items,
        auth,
        follow_up,
        forums,
        me,
        outbox,
        reports,
        sessions,
    )

    modules = (auth, forums, sessions, follow_up, action_items, reports, me, outbox)
    return [m.router for m in modules]
