"""The session workflow: schedule, change, cancel, participants and agenda.

Every change bumps the session's version and records an Event in the same transaction
(spine.claim / spine.record); the calendar SEQUENCE rises only when what a participant's
calendar shows changes (calendar_sequence). Scheduling, moving and cancelling a session are
told to the spine's listeners (spine.session_changed), which bring its reminders and
report-backs along. Mail follows from reconciliation after the commit.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import calendar_sequence, clock, rules, spine
from workflow.auth import Principal
from workflow.config import get_settings
from workflow.db import aware_utc, names, new_row
from workflow.errors import Conflict, Forbidden, NotFound, PreconditionRequired
from workflow.models import (
    AgendaItem,
    Forum,
    MeetingSession,
    Membership,
    Participant,
    ParticipantRole,
    Person,
    Role,
    SessionStatus,
    UTCDateTime,
)
from workflow.pagination import paginate
from workflow.permissions import Action
from workflow.schemas import (
    AgendaItemCreate,
    AgendaItemRead,
    AgendaItemUpdate,
    ParticipantRead,
    SessionCreate,
    SessionRead,
    SessionSummary,
    SessionUpdate,
)


def require(principal: Principal, forum_id: int, action: Action) -> None:
    if not principal.may(forum_id, action):
        raise Forbidden()


def get_forum(db: DBSession, forum_id: int) -> Forum:
    forum = db.get(Forum, forum_id)
    if forum is None:
        raise NotFound("forum %(id)s does not exist", id=forum_id)
    return forum


def get_session(db: DBSession, session_id: int) -> MeetingSession:
    session = db.get(MeetingSession, session_id)
    if session is None:
        raise NotFound("session %(id)s does not exist", id=session_id)
    return session


def claim_session(db: DBSession, session_id: int, expected_version: int | None) -> MeetingSession:
    try:
        return spine.claim(db, MeetingSession, session_id, expected_version)
    except LookupError:
        raise NotFound("session %(id)s does not exist", id=session_id) from None


def _claim_to_change(
    db: DBSession, principal: Principal, session_id: int, expected_version: int | None
) -> MeetingSession:
    """The session, claimed for a change by someone who manages its forum, if it may change."""
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    session = claim_session(db, session_id, expected_version)
    rules.check_can_change(session.status)
    return session


def _jsonable(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    def j(v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v

    return {k: [j(a), j(b)] for k, (a, b) in changes.items()}


def _existing_people(db: DBSession, ids: Sequence[int], field: str) -> dict[int, Person]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = {p.id: p for p in db.exec(select(Person).where(col(Person.id).in_(wanted))).all()}
    missing = sorted(wanted - set(found))
    if missing:
        raise rules.RuleError(
            "persons %(ids)s are not known to the service", field, {"ids": missing}
        )
    return found  # type: ignore[return-value]  # a stored row has its id


def _forum_roles(db: DBSession, forum_id: int) -> dict[int, str]:
    return dict(
        db.exec(
            select(col(Membership.person_id), col(Membership.role)).where(
                col(Membership.forum_id) == forum_id
            )
        ).all()
    )


def check_co_chairs(db: DBSession, forum: Forum, co_chair_ids: Sequence[int]) -> None:
    """Raise RuleError unless these people may co-chair a session of the forum."""
    people = _existing_people(db, co_chair_ids, "co_chair_ids")
    roles = _forum_roles(db, forum.id)  # type: ignore[arg-type]  # a stored row has its id
    rules.check_co_chairs(
        rules.CoChairPolicy(
            forum.co_chairs_min, forum.co_chairs_max, forum.co_chairs_distinct_countries
        ),
        [rules.CoChairCandidate(pid, people[pid].country, roles.get(pid)) for pid in co_chair_ids],
    )


def _as_utc(value: datetime, tz: str, field: str) -> datetime:
    return rules.to_utc(value, tz, field)


def schedule(
    db: DBSession, principal: Principal, forum_id: int, data: SessionCreate
) -> MeetingSession:
    forum = get_forum(db, forum_id)
    require(principal, forum_id, Action.manage)
    tz = data.timezone or forum.timezone
    starts_at = _as_utc(data.starts_at, tz, "starts_at")
    ends_at = _as_utc(data.ends_at, tz, "ends_at")
    rules.check_session_times(starts_at, ends_at, clock.now())

    roles = _forum_roles(db, forum_id)
    co_chair_ids = (
        list(data.co_chair_ids)
        if data.co_chair_ids is not None
        else sorted(p for p, r in roles.items() if r == Role.co_chair)
    )
    check_co_chairs(db, forum, co_chair_ids)
    if data.participant_ids is not None:
        invited = list(dict.fromkeys(data.participant_ids))
        _existing_people(db, invited, "participant_ids")
    else:
        invited = sorted(roles)

    session = MeetingSession(
        forum_id=forum_id,
        title=data.title,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz,
        location=data.location,
        online_url=str(data.online_url) if data.online_url else None,
        uid=MeetingSession.new_uid(get_settings().calendar_domain),
    )
    db.add(session)
    db.flush()
    chairs = set(co_chair_ids)

    def role(person_id: int) -> str:
        if person_id in chairs:
            return ParticipantRole.co_chair
        if roles.get(person_id) == Role.observer:
            return ParticipantRole.optional
        return ParticipantRole.participant

    rows = [
        new_row(Participant, session_id=session.id, person_id=person_id, role=role(person_id))
        for person_id in dict.fromkeys([*co_chair_ids, *invited])
    ]
    if rows:
        # One executemany of plain rows, not an ORM object each: for a forum of a thousand
        # members, building and flushing the objects took most of the call.
        db.connection().execute(insert(Participant.__table__), rows)  # type: ignore[attr-defined]  # SQLModel's table
    for position, item in enumerate(data.agenda, start=1):
        db.add(_agenda_row(session.id, position, item))  # type: ignore[arg-type]  # a stored row has its id
    spine.session_changed(db, session, spine.SessionChange.scheduled)
    spine.record(
        db,
        principal.actor,
        "session.scheduled",
        forum_id=forum_id,
        session_id=session.id,
        title=session.title,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
        co_chair_ids=co_chair_ids,
        participant_count=len(set(co_chair_ids) | set(invited)),
    )
    spine.mark_changed(db, session.id)  # type: ignore[arg-type]  # a stored row has its id
    return session


def update(
    db: DBSession,
    principal: Principal,
    session_id: int,
    data: SessionUpdate,
    expected_version: int | None,
) -> MeetingSession:
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    if expected_version is None:
        raise PreconditionRequired()
    session = claim_session(db, session_id, expected_version)
    rules.check_can_change(session.status)
    before = calendar_sequence.shown(session)
    fields = data.model_dump(exclude_unset=True, exclude={"version", "co_chair_ids"})

    if "starts_at" in fields or "ends_at" in fields:
        starts_at = (
            _as_utc(data.starts_at, session.timezone, "starts_at")
            if data.starts_at
            else session.starts_at
        )
        ends_at = (
            _as_utc(data.ends_at, session.timezone, "ends_at") if data.ends_at else session.ends_at
        )
        rules.check_session_times(starts_at, ends_at, clock.now())
        moved = starts_at != session.starts_at
        session.starts_at, session.ends_at = starts_at, ends_at
        if moved:
            spine.session_changed(db, session, spine.SessionChange.moved)
    for name in ("title", "location"):
        if name in fields:
            setattr(session, name, fields[name])
    if "online_url" in fields:
        session.online_url = str(data.online_url) if data.online_url else None

    co_chairs_changed = False
    if data.co_chair_ids is not None:
        co_chairs_changed = _set_co_chairs(db, session, data.co_chair_ids)

    after = calendar_sequence.shown(session)
    changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    calendar_sequence.raise_if_changed(session, before, attendees=co_chairs_changed)
    spine.record(
        db,
        principal.actor,
        "session.updated",
        forum_id=session.forum_id,
        session_id=session.id,
        changes=_jsonable(changes),
        co_chair_ids=data.co_chair_ids,
        sequence=session.sequence,
    )
    return session


def _set_co_chairs(db: DBSession, session: MeetingSession, co_chair_ids: list[int]) -> bool:
    forum = get_forum(db, session.forum_id)
    check_co_chairs(db, forum, co_chair_ids)
    rows = {p.person_id: p for p in _participant_rows(db, session.id)}  # type: ignore[arg-type]  # a stored row has its id
    changed = False
    for person_id, row in rows.items():
        if row.role == ParticipantRole.co_chair and person_id not in co_chair_ids:
            row.role, changed = ParticipantRole.participant, True
    for person_id in co_chair_ids:
        existing = rows.get(person_id)
        if existing is None:
            db.add(
                Participant(
                    session_id=session.id,  # type: ignore[arg-type]  # a stored row has its id
                    person_id=person_id,
                    role=ParticipantRole.co_chair,
                )
            )
            changed = True
        elif existing.role != ParticipantRole.co_chair or existing.removed_at is not None:
            existing.role, existing.removed_at, changed = ParticipantRole.co_chair, None, True
    return changed


def cancel(
    db: DBSession,
    principal: Principal,
    session_id: int,
    reason: str | None,
    expected_version: int | None,
) -> MeetingSession:
    session = _claim_to_change(db, principal, session_id, expected_version)
    before = calendar_sequence.shown(session)
    session.status = SessionStatus.cancelled
    session.cancel_reason = reason
    calendar_sequence.raise_if_changed(session, before)
    spine.session_changed(db, session, spine.SessionChange.cancelled)
    spine.record(
        db,
        principal.actor,
        "session.cancelled",
        forum_id=session.forum_id,
        session_id=session.id,
        reason=reason,
        sequence=session.sequence,
    )
    return session


def add_participant(
    db: DBSession,
    principal: Principal,
    session_id: int,
    person_id: int,
    role: str,
    expected_version: int | None,
) -> MeetingSession:
    if role == ParticipantRole.co_chair:
        raise rules.RuleError("co-chairs are set with the session's co_chair_ids", "role")
    session = _claim_to_change(db, principal, session_id, expected_version)
    _existing_people(db, [person_id], "person_id")
    row = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session_id, col(Participant.person_id) == person_id
        )
    ).first()
    if row is not None and row.removed_at is None:
        raise Conflict("person %(person)s already takes part in this session", person=person_id)
    if row is None:
        # Others' calendars do not change: the newcomer gets the current invitation.
        db.add(Participant(session_id=session_id, person_id=person_id, role=role))
    else:
        # Back after a removal: their calendar dropped the event on the CANCEL, and clients
        # ignore a REQUEST whose SEQUENCE did not rise past it.
        row.removed_at, row.role, row.partstat, row.responded_at = None, role, "needs_action", None
        calendar_sequence.raise_if_changed(session, attendees=True)
    spine.record(
        db,
        principal.actor,
        "session.participant_added",
        forum_id=session.forum_id,
        session_id=session_id,
        person_id=person_id,
        role=role,
    )
    return session


def remove_participant(
    db: DBSession,
    principal: Principal,
    session_id: int,
    person_id: int,
    expected_version: int | None,
) -> MeetingSession:
    session = _claim_to_change(db, principal, session_id, expected_version)
    row = db.exec(
        select(Participant).where(
            col(Participant.session_id) == session_id,
            col(Participant.person_id) == person_id,
            col(Participant.removed_at).is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("participant %(id)s does not exist", id=person_id)
    if row.role == ParticipantRole.co_chair:
        raise rules.RuleError(
            "a co-chair cannot be removed; change the session's co_chair_ids first", "person_id"
        )
    row.removed_at = clock.now()
    # RFC 5546: the removed person gets a CANCEL; the others a REQUEST at SEQUENCE+1.
    calendar_sequence.raise_if_changed(session, attendees=True)
    spine.record(
        db,
        principal.actor,
        "session.participant_removed",
        forum_id=session.forum_id,
        session_id=session_id,
        person_id=person_id,
        sequence=session.sequence,
    )
    return session


# Agenda -----------------------------------------------------------------------------------


def _agenda_row(session_id: int, position: int, item: AgendaItemCreate) -> AgendaItem:
    return AgendaItem(
        session_id=session_id,
        position=position,
        title=item.title,
        kind=item.kind,
        description=item.description,
        presenter=item.presenter,
    )


def agenda_rows(db: DBSession, session_id: int) -> list[AgendaItem]:
    return list(
        db.exec(
            select(AgendaItem)
            .where(col(AgendaItem.session_id) == session_id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ).all()
    )


def _renumber(items: list[AgendaItem]) -> None:
    for n, i in enumerate(items, start=1):
        i.position = n


def _place(items: list[AgendaItem], item: AgendaItem, position: int | None) -> None:
    """Put `item` at `position` (1-based, end if None) and number everything 1..n again."""
    others = [i for i in items if i is not item]
    index = len(others) if position is None else min(position, len(others) + 1) - 1
    others.insert(index, item)
    _renumber(others)


def add_agenda_item(
    db: DBSession,
    principal: Principal,
    session_id: int,
    data: AgendaItemCreate,
    expected_version: int | None,
) -> AgendaItem:
    session = _claim_to_change(db, principal, session_id, expected_version)
    items = agenda_rows(db, session_id)
    if len(items) >= 200:
        raise rules.RuleError("a session has at most 200 agenda items", "position")
    item = _agenda_row(session_id, 0, data)
    db.add(item)
    # Without a place of its own, an item goes before the closing ones ('Varia', 'Rondvraag').
    position = data.position or rules.agenda_insert_position([i.title for i in items])
    _place(items, item, position)
    calendar_sequence.raise_if_changed(session, agenda=True)
    db.flush()
    spine.record(
        db,
        principal.actor,
        "agenda.item_added",
        forum_id=session.forum_id,
        session_id=session_id,
        agenda_item_id=item.id,
        title=item.title,
        position=item.position,
    )
    return item


def _agenda_item(db: DBSession, session_id: int, item_id: int) -> AgendaItem:
    item = db.get(AgendaItem, item_id)
    if item is None or item.session_id != session_id:
        raise NotFound("agenda item %(id)s does not exist", id=item_id)
    return item


def update_agenda_item(
    db: DBSession,
    principal: Principal,
    session_id: int,
    item_id: int,
    data: AgendaItemUpdate,
    expected_version: int | None,
) -> AgendaItem:
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    _agenda_item(db, session_id, item_id)
    session = claim_session(db, session_id, expected_version)
    item = _agenda_item(db, session_id, item_id)
    fields = data.model_dump(exclude_unset=True)
    shown = set(fields) - {"outcome"}
    if session.status == SessionStatus.cancelled or (
        shown and session.status != SessionStatus.scheduled
    ):
        rules.check_can_change(session.status)
    for name in ("title", "kind", "description", "presenter", "outcome"):
        if name in fields:
            setattr(item, name, fields[name])
    if "position" in fields:
        _place(agenda_rows(db, session_id), item, data.position)
    calendar_sequence.raise_if_changed(session, agenda=bool(shown))
    spine.record(
        db,
        principal.actor,
        "agenda.item_updated",
        forum_id=session.forum_id,
        session_id=session_id,
        agenda_item_id=item_id,
        fields=sorted(fields),
    )
    return item


def delete_agenda_item(
    db: DBSession,
    principal: Principal,
    session_id: int,
    item_id: int,
    expected_version: int | None,
) -> None:
    current = get_session(db, session_id)
    require(principal, current.forum_id, Action.manage)
    _agenda_item(db, session_id, item_id)
    session = claim_session(db, session_id, expected_version)
    rules.check_can_change(session.status)
    item = _agenda_item(db, session_id, item_id)
    if item.kind == "report_back" and item.child_forum_id is not None:
        raise rules.RuleError("a child forum's report-back is a fixed agenda item", "kind")
    db.delete(item)
    db.flush()
    _renumber(agenda_rows(db, session_id))
    calendar_sequence.raise_if_changed(session, agenda=True)
    spine.record(
        db,
        principal.actor,
        "agenda.item_removed",
        forum_id=session.forum_id,
        session_id=session_id,
        item_id=item_id,
        title=item.title,
    )


# Reading ------------------------------------------------------------------------------


def _participant_rows(db: DBSession, session_id: int) -> list[Participant]:
    return list(db.exec(select(Participant).where(col(Participant.session_id) == session_id)).all())


def participants(db: DBSession, session_id: int) -> list[ParticipantRead]:
    rows = db.exec(
        select(Participant, Person)
        .join(Person, col(Person.id) == col(Participant.person_id))
        .where(col(Participant.session_id) == session_id, col(Participant.removed_at).is_(None))
        .order_by(col(Participant.role), col(Person.name))
    ).all()
    return [
        ParticipantRead(
            person_id=p.id,
            name=p.name,
            email=p.email,
            role=pt.role,
            partstat=pt.partstat,
            attendance=pt.attendance,
            delegated_to_person_id=pt.delegated_to_person_id,
        )
        for pt, p in rows
    ]


def summary(session: MeetingSession) -> SessionSummary:
    """Validated once, from the row's attributes (no dump of the row into a dict first)."""
    return SessionSummary(
        id=session.id,
        forum_id=session.forum_id,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        starts_at_local=rules.local_iso(session.starts_at, session.timezone),
        ends_at_local=rules.local_iso(session.ends_at, session.timezone),
        timezone=session.timezone,
        location=session.location,
        online_url=session.online_url,
        status=session.status,
        cancel_reason=session.cancel_reason,
        uid=session.uid,
        sequence=session.sequence,
        version=session.version,
        created_at=session.created_at,
        updated_at=session.updated_at,
    )


def detail(db: DBSession, session: MeetingSession) -> SessionRead:
    return SessionRead(
        **summary(session).model_dump(),
        participants=participants(db, session.id),  # type: ignore[arg-type]  # a stored row has its id
        agenda=[AgendaItemRead.model_validate(i) for i in agenda_rows(db, session.id)],  # type: ignore[arg-type]  # a stored row has its id
    )


def list_sessions(
    db: DBSession,
    principal: Principal,
    *,
    forum_id: int | None,
    status: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[MeetingSession], int]:
    which, params = _session_filters(principal, forum_id, status, starts_after, starts_before)
    query = select(MeetingSession).where(*_filter_clauses(which)).params(params)
    return paginate(
        db, query, col(MeetingSession.starts_at), col(MeetingSession.id), limit=limit, offset=offset
    )


def list_session_summaries(
    db: DBSession,
    principal: Principal,
    *,
    forum_id: int | None,
    status: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """The same page as list_sessions, as the fields of its summaries, to be validated with
    the page in one pass (SessionSummary). Read as plain rows of a statement made once for
    each combination of filters (Core, not the ORM: no objects are built and tracked for an
    answer that only reads their columns)."""
    which, params = _session_filters(principal, forum_id, status, starts_after, starts_before)
    params.update(limit=limit, offset=offset)
    conn = db.connection()
    page, count = _summary_statements(conn.dialect.name, which)
    rows = conn.execute(page, params).all()
    # The window's count is carried by every row; with no row, this is the first page of
    # nothing or a page past the end.
    if rows:
        total = rows[0][-1]
    elif offset == 0:
        total = 0
    else:
        total = conn.execute(count, params).scalar_one()
    items = []
    for row in rows:
        fields = dict(zip(_SUMMARY_NAMES, row, strict=False))  # the total, last, left out
        fields["starts_at_local"] = rules.local_iso(fields["starts_at"], fields["timezone"])
        fields["ends_at_local"] = rules.local_iso(fields["ends_at"], fields["timezone"])
        items.append(fields)
    return items, total


_SESSIONS = MeetingSession.__table__  # type: ignore[attr-defined]  # a table model has its table
# The columns a summary shows, in the table's order.
_SUMMARY_COLUMNS = tuple(c for c in _SESSIONS.columns if c.name in SessionSummary.model_fields)
_SUMMARY_NAMES = tuple(c.name for c in _SUMMARY_COLUMNS)


class _Filters(NamedTuple):
    """Which of a listing's filters apply: the statement for them is made once and its
    values are given at each execution. `forums`: "one" (forum_id), "some" (forum_ids, the
    forums a non-administrator reads) or "any"."""

    forums: str
    status: bool
    starts_after: bool
    starts_before: bool


def _session_filters(
    principal: Principal,
    forum_id: int | None,
    status: str | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
) -> tuple[_Filters, dict[str, Any]]:
    """The one place that says which sessions a listing shows `principal`, for the API's page
    and the web's lists alike: the forum asked for (refused if they may not read it), else
    the forums they read (every forum for an administrator); then the status and the start
    times asked for. Returns the filters and their values."""
    params: dict[str, Any] = {}
    if forum_id is not None:
        require(principal, forum_id, Action.read)
        forums, params["forum_id"] = "one", forum_id
    elif not principal.is_admin:
        forums, params["forum_ids"] = "some", sorted(principal.readable_forums) or [-1]
    else:
        forums = "any"
    for name, value in (
        ("status", status),
        ("starts_after", starts_after),
        ("starts_before", starts_before),
    ):
        if value is not None:
            params[name] = value
    which = _Filters(
        forums, status is not None, starts_after is not None, starts_before is not None
    )
    return which, params


@cache
def _filter_clauses(which: _Filters) -> tuple[Any, ...]:
    """The WHERE clauses of `which`, with their values as parameters."""
    c = _SESSIONS.c
    where = []
    if which.forums == "one":
        where.append(c.forum_id == bindparam("forum_id"))
    elif which.forums == "some":
        where.append(c.forum_id.in_(bindparam("forum_ids", expanding=True)))
    if which.status:
        where.append(c.status == bindparam("status"))
    if which.starts_after:
        where.append(c.starts_at >= bindparam("starts_after"))
    if which.starts_before:
        where.append(c.starts_at < bindparam("starts_before"))
    return tuple(where)


@cache
def _summary_statements(dialect: str, which: _Filters) -> tuple[Any, Any]:
    """A page of summaries with its total (`count(*) OVER ()`, computed before LIMIT in the
    same statement, so the same snapshot), and the count alone, for one combination of
    filters."""
    c = _SESSIONS.c
    where = _filter_clauses(which)
    page = (
        sa_select(
            *(
                aware_utc(column, dialect) if isinstance(column.type, UTCDateTime) else column
                for column in _SUMMARY_COLUMNS
            ),
            func.count().over().label("_page_total"),
        )
        .where(*where)
        .order_by(c.starts_at, c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return page, sa_select(func.count()).select_from(_SESSIONS).where(*where)


def session_for(
    db: DBSession, principal: Principal, session_id: int, action: Action
) -> MeetingSession:
    """The session, if `principal` may do `action` in its forum: unknown is 404, not allowed
    403. The one prologue of every route and page about a session."""
    session = get_session(db, session_id)
    require(principal, session.forum_id, action)
    return session


def forum_for(db: DBSession, principal: Principal, forum_id: int, action: Action) -> Forum:
    """The forum, if `principal` may do `action` in it: unknown is 404, not allowed 403."""
    forum = get_forum(db, forum_id)
    require(principal, forum_id, action)
    return forum


def titles(db: DBSession, ids: Iterable[int | None]) -> dict[int, str]:
    """{session id: title}, in one query."""
    return names(db, col(MeetingSession.id), col(MeetingSession.title), ids)
