"""One way to page through a query: the total, then one ordered slice."""

from typing import Any

from sqlalchemy import func
from sqlmodel import Session as DBSession
from sqlmodel import select


def paginate(
    db: DBSession, query: Any, *order_by: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    total = db.exec(select(func.count()).select_from(query.subquery())).one()
    rows = db.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(rows), total


def as_page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}
