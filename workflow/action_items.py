"""Action items: born in a session, owned by a person or organisation, measurable, chased."""

from datetime import date

from sqlalchemy import ColumnElement, and_, bindparam, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import clock, rules, spine
from workflow.auth import Principal
from workflow.db import new_row
from workflow.errors import Forbidden, Invalid, NotFound
from workflow.models import (
    ActionItem,
    ActionItemProgress,
    ActionItemStatus,
    AgendaItem,
    Event,
    MeetingSession,
    Membership,
    Organisation,
    Participant,
    Person,
    SessionStatus,
)
from workflow.pagination import paginate
from workflow.permissions import Action
from workflow.schemas import (
    ActionItemCreate,
    ActionItemDetail,
    ActionItemRead,
    ActionItemUpdate,
    ProgressRead,
)
from workflow.sessions import require

# What an owner who does not manage the forum may change on their own item.
OWNER_FIELDS = frozenset({"status", "current_value", "note", "version"})


def _check_owner(
    db: DBSession,
    person_id: int | None,
    organisation_id: int | None,
    *,
    person_known: bool = False,
) -> None:
    """`person_known`: the owner was found already with something else (else: look it up)."""
    rules.check_action_item_owner(person_id, organisation_id)
    if not person_known and person_id is not None and db.get(Person, person_id) is None:
        raise rules.RuleError(
            "person %(id)s is not known to the service", "owner_person_id", {"id": person_id}
        )
    if organisation_id is not None and db.get(Organisation, organisation_id) is None:
        raise rules.RuleError(
            "organisation %(id)s is not known to the service",
            "owner_organisation_id",
            {"id": organisation_id},
        )


# Made once, of the tables' own columns (Core): what a request fills in is its parameters (a
# statement built per request, or handled by the ORM, costs more than the round trip).
_SESSIONS = MeetingSession.__table__  # type: ignore[attr-defined]  # a table model has its table
_PEOPLE = Person.__table__  # type: ignore[attr-defined]  # a table model has its table
_SESSION_AND_OWNER = (
    sa_select(_SESSIONS.c.forum_id, _SESSIONS.c.status, _PEOPLE.c.id)
    .select_from(_SESSIONS)
    .outerjoin(_PEOPLE, _PEOPLE.c.id == bindparam("person_id"))
    .where(_SESSIONS.c.id == bindparam("session_id"))
)
_ITEMS = ActionItem.__table__  # type: ignore[attr-defined]  # a table model has its table


def _session_and_owner(
    db: DBSession, session_id: int, person_id: int | None
) -> tuple[int, str, bool]:
    """The session's forum and status (404 if it is unknown) and, in the same round trip,
    whether the person named as owner exists (False if none is named). Columns, not objects:
    nothing here is changed."""
    found = (
        db.connection()
        .execute(_SESSION_AND_OWNER, {"session_id": session_id, "person_id": person_id})
        .first()
    )
    if found is None:
        raise NotFound("session %(id)s does not exist", id=session_id)  # as get_session says
    forum_id, status, owner_id = found
    return forum_id, status, owner_id is not None


def get_item(db: DBSession, item_id: int) -> ActionItem:
    item = db.get(ActionItem, item_id)
    if item is None:
        raise NotFound("action item %(id)s does not exist", id=item_id)
    return item


def create(
    db: DBSession, principal: Principal, session_id: int, data: ActionItemCreate
) -> ActionItemRead:
    """The new item, as read. Its row is written with its event by one statement of the
    model's columns and defaults, without an ActionItem object: building one and having the
    unit of work write it cost more than the statement, and nothing in this transaction
    changes the item after."""
    forum_id, status, owner_known = _session_and_owner(db, session_id, data.owner_person_id)
    require(principal, forum_id, Action.manage)
    if status == SessionStatus.cancelled:
        raise rules.RuleError("a cancelled session decides no action items", "session_id")
    _check_owner(db, data.owner_person_id, data.owner_organisation_id, person_known=owner_known)
    if data.agenda_item_id is not None:
        agenda_item = db.get(AgendaItem, data.agenda_item_id)
        if agenda_item is None or agenda_item.session_id != session_id:
            raise rules.RuleError("that agenda item is not on this session", "agenda_item_id")
    item = new_row(ActionItem, forum_id=forum_id, session_id=session_id, **data.model_dump())
    item["id"] = spine.record_created(
        db,
        _ITEMS,
        item,
        principal.actor,
        "action_item.created",
        link="action_item_id",
        forum_id=forum_id,
        session_id=session_id,
        title=item["title"],
        owner_person_id=item["owner_person_id"],
        owner_organisation_id=item["owner_organisation_id"],
        due_date=item["due_date"].isoformat() if item["due_date"] else None,
    )
    overdue = rules.is_overdue(item["status"], item["due_date"], clock.today())
    return ActionItemRead.model_validate({**item, "overdue": overdue})


def update(
    db: DBSession,
    principal: Principal,
    item_id: int,
    data: ActionItemUpdate,
    expected_version: int | None,
) -> ActionItem:
    current = get_item(db, item_id)
    owns = principal.person_id is not None and principal.person_id == current.owner_person_id
    manages = principal.may(current.forum_id, Action.manage)
    if not manages:
        if not principal.may(current.forum_id, Action.report_progress, owns_item=owns):
            raise Forbidden()
        beyond = sorted(set(data.model_dump(exclude_unset=True)) - OWNER_FIELDS)
        if beyond:
            raise Forbidden(
                "owners may update status, current_value and notes only, not %(fields)s",
                fields=", ".join(beyond),
            )
        if _cancels_or_reopens(current, data):
            raise Forbidden(
                "only the forum's co-chairs and secretariat cancel an action item "
                "or take it out of cancelled"
            )
    item = spine.claim(db, ActionItem, item_id, expected_version)

    fields = data.model_dump(exclude_unset=True, exclude={"version", "note"})
    if "owner_person_id" in fields or "owner_organisation_id" in fields:
        _check_owner(
            db,
            fields.get("owner_person_id", item.owner_person_id),
            fields.get("owner_organisation_id", item.owner_organisation_id),
        )
    before = {k: getattr(item, k) for k in fields}
    for name, value in fields.items():
        setattr(item, name, value)
    if "status" in fields:
        item.completed_at = clock.now() if item.status == ActionItemStatus.done else None
    changed = {
        k: [_plain(before[k]), _plain(getattr(item, k))]
        for k in fields
        if before[k] != getattr(item, k)
    }
    if data.note is not None or "current_value" in changed or "status" in changed:
        db.add(
            ActionItemProgress(
                action_item_id=item_id,
                author_person_id=principal.person_id,
                note=data.note,
                value=item.current_value if "current_value" in changed else None,
                status=item.status if "status" in changed else None,
            )
        )
    if not changed and data.note is None:
        raise Invalid("nothing to change")
    spine.record(
        db,
        principal.actor,
        "action_item.updated",
        forum_id=item.forum_id,
        session_id=item.session_id,
        action_item_id=item_id,
        changes=changed,
        note=data.note is not None,
    )
    return item


def _cancels_or_reopens(item: ActionItem, data: ActionItemUpdate) -> bool:
    """Does this update cancel the item, or move it out of cancelled? Cancelling takes an
    item off every overdue and escalation list, so it is the forum's managers' decision, and
    so is undoing it."""
    if "status" not in data.model_fields_set or data.status == item.status:
        return False
    return ActionItemStatus.cancelled in (data.status, item.status)


def may_cancel(principal: Principal, item: ActionItem) -> bool:
    """May this principal set the item's status to cancelled, or out of it? (The forms
    offer the status only to those who may.)"""
    return principal.may(item.forum_id, Action.manage)


def _plain(v: object) -> object:
    return v.isoformat() if hasattr(v, "isoformat") else v


_READ_COLUMNS = tuple(name for name in ActionItemRead.model_fields if name != "overdue")


def read(item: ActionItem) -> ActionItemRead:
    """Validated once, from the row's attributes (no dump of the row into a dict first)."""
    fields = {name: getattr(item, name) for name in _READ_COLUMNS}
    return ActionItemRead.model_validate({**fields, "overdue": is_overdue(item)})


def is_overdue(item: ActionItem) -> bool:
    return rules.is_overdue(item.status, item.due_date, clock.today())


def detail(db: DBSession, item: ActionItem) -> ActionItemDetail:
    progress = db.exec(
        select(ActionItemProgress)
        .where(col(ActionItemProgress.action_item_id) == item.id)
        .order_by(col(ActionItemProgress.created_at), col(ActionItemProgress.id))
    ).all()
    return ActionItemDetail(
        **read(item).model_dump(), progress=[ProgressRead.model_validate(p) for p in progress]
    )


def can_read(principal: Principal, item: ActionItem) -> bool:
    owns = principal.person_id is not None and principal.person_id == item.owner_person_id
    return owns or principal.may(item.forum_id, Action.read)


def list_items(
    db: DBSession,
    principal: Principal,
    *,
    forum_id: int | None,
    session_id: int | None,
    owner_person_id: int | None,
    status: str | None,
    overdue: bool | None,
    limit: int,
    offset: int,
    due_by: date | None = None,
) -> tuple[list[ActionItem], int]:
    query = select(ActionItem)
    if forum_id is not None:
        require(principal, forum_id, Action.read)
        query = query.where(col(ActionItem.forum_id) == forum_id)
    elif not principal.is_admin:
        visible: list[ColumnElement[bool]] = [
            col(ActionItem.forum_id).in_(principal.readable_forums or {-1})
        ]
        if principal.person_id is not None:
            visible.append(col(ActionItem.owner_person_id) == principal.person_id)
        query = query.where(or_(*visible))
    if session_id is not None:
        query = query.where(col(ActionItem.session_id) == session_id)
    if owner_person_id is not None:
        query = query.where(col(ActionItem.owner_person_id) == owner_person_id)
    if status is not None:
        query = query.where(col(ActionItem.status) == status)
    if due_by is not None:
        query = query.where(col(ActionItem.due_date) <= due_by)
    if overdue is not None:
        late = and_(
            col(ActionItem.due_date).is_not(None),
            col(ActionItem.due_date) < clock.today(),
            col(ActionItem.status).in_([ActionItemStatus.open, ActionItemStatus.in_progress]),
        )
        query = query.where(late if overdue else ~late)
    return paginate(
        db, query, col(ActionItem.due_date), col(ActionItem.id), limit=limit, offset=offset
    )


def readable_item(db: DBSession, principal: Principal, item_id: int) -> ActionItem:
    """The item, if `principal` reads its forum or owns it: unknown is 404, else 403."""
    item = get_item(db, item_id)
    if not can_read(principal, item):
        raise Forbidden()
    return item


def owner_choices(
    db: DBSession, session: MeetingSession
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who may own an item decided in `session`: the forum's members and the session's
    participants, by name, and their organisations, by name."""
    members = select(col(Membership.person_id)).where(col(Membership.forum_id) == session.forum_id)
    invited = select(col(Participant.person_id)).where(col(Participant.session_id) == session.id)
    rows = db.exec(
        select(col(Person.id), col(Person.name), col(Person.organisation_id)).where(
            col(Person.id).in_(members) | col(Person.id).in_(invited)
        )
    ).all()
    org_ids = {o for _, _, o in rows if o is not None}
    orgs = db.exec(
        select(col(Organisation.id), col(Organisation.name)).where(
            col(Organisation.id).in_(org_ids or {-1})
        )
    ).all()
    people = sorted(((i, n) for i, n, _ in rows), key=lambda p: p[1])
    return people, sorted(orgs, key=lambda o: o[1])  # type: ignore[arg-type,return-value]  # stored ids


# What the item's page lists as changed by an edit (status and value come as progress).
EDITED_FIELDS = (
    "title",
    "description",
    "owner_person_id",
    "owner_organisation_id",
    "due_date",
    "indicator",
    "unit",
    "baseline",
    "target",
)


def history(db: DBSession, item: ActionItem) -> list[dict[str, object]]:
    """The item's history, oldest first: created, edited (which fields), escalated, the
    parent's decision (from the event log), and each progress row (status, value, note),
    with who and when."""
    events = db.exec(
        select(Event)
        .where(col(Event.action_item_id) == item.id)
        .order_by(col(Event.occurred_at), col(Event.id))
    ).all()
    progress = db.exec(
        select(ActionItemProgress)
        .where(col(ActionItemProgress.action_item_id) == item.id)
        .order_by(col(ActionItemProgress.created_at), col(ActionItemProgress.id))
    ).all()
    authors = {
        p.id: p.name
        for p in db.exec(
            select(Person).where(col(Person.id).in_({p.author_person_id for p in progress} or {-1}))
        ).all()
    }
    rows: list[dict[str, object]] = []
    for e in events:
        who = e.actor.split(" ", 1)[1] if e.actor.startswith("person:") else e.actor
        if e.kind == "action_item.created":
            rows.append({"at": e.occurred_at, "kind": "created", "who": who})
        elif e.kind == "action_item.updated":
            edited = [k for k in (e.data.get("changes") or {}) if k in EDITED_FIELDS]
            if edited:
                rows.append({"at": e.occurred_at, "kind": "edited", "who": who, "fields": edited})
        elif e.kind == "action_item.escalated":
            rows.append({"at": e.occurred_at, "kind": "escalated", "who": who})
        elif e.kind == "action_item.decided":
            rows.append({"at": e.occurred_at, "kind": "decided", "who": who})
    for p in progress:
        rows.append(
            {
                "at": p.created_at,
                "kind": "progress",
                "who": authors.get(p.author_person_id) if p.author_person_id else None,
                "status": p.status,
                "value": p.value,
                "note": p.note,
            }
        )
    rows.sort(key=lambda r: r["at"])  # type: ignore[arg-type,return-value]  # datetimes
    return rows


__all__ = ["MeetingSession", "create", "detail", "list_items", "read", "update"]
