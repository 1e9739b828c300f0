"""Reading the mail owed: a session's deliveries, and those across the forums one manages."""

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow.auth import Principal
from workflow.models import Delivery, DeliveryStatus, MeetingSession
from workflow.pagination import paginate


def of_session(
    db: DBSession, session_id: int, *, status: DeliveryStatus | None, limit: int, offset: int
) -> tuple[list[Delivery], int]:
    """Every mail owed for this session, oldest first."""
    query = select(Delivery).where(col(Delivery.session_id) == session_id)
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    return paginate(db, query, col(Delivery.id), limit=limit, offset=offset)


def managed(
    db: DBSession,
    principal: Principal,
    *,
    status: DeliveryStatus | None,
    person_id: int | None,
    reason: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Delivery], int]:
    """Deliveries across the forums `principal` manages (all of them for an administrator),
    newest first."""
    query = select(Delivery)
    if not principal.is_admin:
        forums = principal.managed_forums or {-1}
        query = query.join(
            MeetingSession, col(MeetingSession.id) == col(Delivery.session_id)
        ).where(col(MeetingSession.forum_id).in_(forums))
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    if person_id is not None:
        query = query.where(col(Delivery.person_id) == person_id)
    if reason is not None:
        query = query.where(col(Delivery.reason) == reason)
    return paginate(db, query, col(Delivery.id).desc(), limit=limit, offset=offset)
