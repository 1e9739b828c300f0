"""One way to page through a query: one ordered slice, and the exact total of the query."""

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session as ORMSession
from sqlmodel import Session as DBSession
from sqlmodel import select


def paginate(
    db: DBSession, query: Any, *order_by: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    """The page and the total in one round trip: `count(*) OVER ()` is computed over every row
    the query matches, before LIMIT, in the same statement (so the same snapshot) as the page.
    Only a page past the end, which has no row to carry the total, asks for the count alone.
    A query that is DISTINCT or grouped is counted apart (the window would count before it),
    and so is one of several entities or columns (its rows stay as they are). One entity is
    one description, however many columns its table has."""
    grouped = query._distinct or query._group_by_clauses
    if grouped or len(query.column_descriptions) != 1:
        total = db.exec(select(func.count()).select_from(query.subquery())).one()
        found = db.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
        return list(found), total
    counted = query.add_columns(func.count().over().label("_page_total"))
    # As rows (the entity and its total): SQLModel's exec would keep the first column only.
    paged = counted.order_by(*order_by).limit(limit).offset(offset)
    result = ORMSession.execute(db, paged).all()
    if result:
        return [row[0] for row in result], result[0][-1]
    if offset == 0:
        return [], 0
    return [], db.exec(select(func.count()).select_from(query.subquery())).one()


def as_page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}
