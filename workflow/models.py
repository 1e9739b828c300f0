"""The domain's tables. Vocabulary follows OParl where it fits (Meeting -> Session).

Times are stored as naive UTC and handed back as aware UTC datetimes (see UTCDateTime),
so SQLite and PostgreSQL behave the same.
"""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from workflow import clock
from workflow.vocabulary import (  # noqa: F401  # the tables' vocabulary, read from here too
    ActionItemStatus,
    AgendaItemKind,
    Attendance,
    ForumKind,
    Language,
    OrganisationKind,
    ParticipantRole,
    PartStat,
    Role,
    SessionStatus,
)


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(nullable: bool = False, index: bool = False) -> Any:
    column: Column[datetime] = Column(UTCDateTime(), nullable=nullable, index=index)
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)


def created_column() -> Any:
    return Field(default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False))


class Forum(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    short_name: str | None = Field(default=None, max_length=60)
    kind: str = Field(default=ForumKind.mayors_forum, max_length=40)
    # The tree: a taskforce or working group reports to its parent forum.
    parent_id: int | None = Field(default=None, foreign_key="forum.id", index=True)
    timezone: str = Field(default="Europe/Brussels", max_length=64)
    languages: list[str] = Field(
        default_factory=lambda: ["nl"], sa_column=Column(JSON, nullable=False)
    )
    # Co-chair policy.
    co_chairs_min: int = 1
    co_chairs_max: int = 2
    co_chairs_distinct_countries: bool = False
    # The ORGANIZER of its invitations: a mailbox that can receive replies.
    secretariat_email: str | None = Field(default=None, max_length=254)
    secretariat_name: str | None = Field(default=None, max_length=200)
    # Days before the parent's session that the report-back is compiled.
    report_lead_days: int = 5
    # Hours before each session that participants are reminded.
    reminder_offsets_hours: list[int] = Field(
        default_factory=lambda: [168, 24], sa_column=Column(JSON, nullable=False)
    )
    # Days overdue after which an action item is listed for the forum's co-chairs.
    escalation_days: int = 14
    created_at: datetime = created_column()


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(default=OrganisationKind.other, max_length=40)
    country: str = Field(default="BE", max_length=2)
    created_at: datetime = created_column()


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Stored lower-cased so one mailbox is one person.
    email: str = Field(max_length=254, unique=True)
    language: str = Field(default=Language.nl, max_length=2)
    country: str = Field(default="BE", max_length=2)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # SHA-256 of the secret in the person's calendar feed URL; None when no feed is issued.
    feed_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    created_at: datetime = created_column()


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("forum_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    forum_id: int = Field(foreign_key="forum.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=20)
    created_at: datetime = created_column()


class MeetingSession(SQLModel, table=True):
    """A consultation session (OParl: Meeting)."""

    __tablename__ = "meeting_session"
    __table_args__ = (
        # The sweep looks only at sessions whose reconciliation lags.
        Index(
            "ix_session_unreconciled",
            "id",
            postgresql_where=text("reconciled_version < version"),
            sqlite_where=text("reconciled_version < version"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    forum_id: int = Field(foreign_key="forum.id", index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = utc_column(index=True)
    ends_at: datetime = utc_column()
    timezone: str = Field(max_length=64)
    location: str | None = Field(default=None, max_length=500)
    online_url: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=SessionStatus.scheduled, max_length=20, index=True)
    cancel_reason: str | None = Field(default=None, max_length=2000)
    # One calendar UID for life; SEQUENCE rises whenever what a calendar shows changes.
    uid: str = Field(max_length=255, unique=True)
    sequence: int = 0
    # Rises on every change; the reconciler catches up to it.
    version: int = 1
    reconciled_version: int = 0
    created_at: datetime = created_column()
    updated_at: datetime = created_column()

    @staticmethod
    def new_uid(domain: str) -> str:
        return f"{uuid.uuid4()}@{domain}"


class Participant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="meeting_session.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(default=ParticipantRole.participant, max_length=20)
    partstat: str = Field(default=PartStat.needs_action, max_length=20)
    # Removed participants stay as rows so the reconciler knows a CANCEL is owed.
    removed_at: datetime | None = utc_column(nullable=True)
    responded_at: datetime | None = utc_column(nullable=True)
    # Which answer is applied (RFC 5546 2.1.5): the SEQUENCE it answered and its DTSTAMP (for
    # an answer by link, the session's SEQUENCE then and the moment). A reply is applied only
    # when (SEQUENCE, DTSTAMP) is newer, whatever the order in which replies arrive.
    answer_sequence: int | None = None
    answer_dtstamp: datetime | None = utc_column(nullable=True)
    # For PARTSTAT=DELEGATED: the deputy the invitation was passed on to.
    delegated_to_person_id: int | None = Field(default=None, foreign_key="person.id")
    # Recorded after the session: present, excused or absent.
    attendance: str | None = Field(default=None, max_length=20)
    created_at: datetime = created_column()


class CounterStatus(StrEnum):
    open = "open"
    adopted = "adopted"
    declined = "declined"


class CounterProposal(SQLModel, table=True):
    """A participant's proposed new time (iTIP METHOD:COUNTER), for the co-chairs to adopt
    (a normal reschedule) or decline (a METHOD:DECLINECOUNTER mail to that person)."""

    __tablename__ = "counter_proposal"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="meeting_session.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    sequence: int  # the SEQUENCE the proposal was made against
    dtstamp: datetime = utc_column()
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    comment: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=CounterStatus.open, max_length=20)
    decided_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_column()


class SessionReminder(SQLModel, table=True):
    """One reminder offset of one session. `due_at` moves with the session; `done_at` is set
    once the reminder's mail is owed (or skipped), in the same transaction."""

    __tablename__ = "session_reminder"
    __table_args__ = (
        UniqueConstraint("session_id", "offset_hours"),
        # The scan reads only reminders not yet done, in due order.
        Index(
            "ix_session_reminder_due",
            "due_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="meeting_session.id", index=True)
    offset_hours: int
    due_at: datetime = utc_column()
    done_at: datetime | None = utc_column(nullable=True)
    # "sent" when reminders were owed, otherwise why not (cancelled, already started, ...).
    outcome: str | None = Field(default=None, max_length=40)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"
    __table_args__ = (
        # The report scan reads only report-back items whose report is still to compile.
        Index(
            "ix_agenda_item_report_due",
            "report_due_at",
            postgresql_where=text("report_due_at IS NOT NULL"),
            sqlite_where=text("report_due_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="meeting_session.id", index=True)
    position: int
    title: str = Field(max_length=300)
    kind: str = Field(default=AgendaItemKind.discussion, max_length=20)
    description: str | None = Field(default=None, max_length=10_000)
    # Who presents the item: a name as the agenda prints it ("Schepen Peeters, VDAB").
    presenter: str | None = Field(default=None, max_length=300)
    outcome: str | None = Field(default=None, max_length=20_000)
    # For report-back items: the child forum reporting, and when its report is next due.
    child_forum_id: int | None = Field(default=None, foreign_key="forum.id")
    report_due_at: datetime | None = utc_column(nullable=True)


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"
    __table_args__ = (Index("ix_action_item_open_due", "status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    forum_id: int = Field(foreign_key="forum.id", index=True)
    session_id: int = Field(foreign_key="meeting_session.id", index=True)
    agenda_item_id: int | None = Field(default=None, foreign_key="agenda_item.id")
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    owner_person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    owner_organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    due_date: date | None = None
    status: str = Field(default=ActionItemStatus.open, max_length=20)
    # The measurable objective.
    indicator: str | None = Field(default=None, max_length=300)
    unit: str | None = Field(default=None, max_length=40)
    baseline: float | None = None
    target: float | None = None
    current_value: float | None = None
    # Put before the parent forum for a decision by the child's coordinators, and the answer.
    escalated_at: datetime | None = utc_column(nullable=True)
    escalation_note: str | None = Field(default=None, max_length=10_000)
    parent_decision: str | None = Field(default=None, max_length=10_000)
    parent_decided_at: datetime | None = utc_column(nullable=True)
    version: int = 1
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    completed_at: datetime | None = utc_column(nullable=True)


class FormNonce(SQLModel, table=True):
    """A form that created something, by the one-time value it carried: the same form sent
    twice (a double click, a reload, a retry) finds it here and creates nothing again."""

    __tablename__ = "form_nonce"

    nonce: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=40)
    object_id: int
    created_at: datetime = created_column()


class ActionItemProgress(SQLModel, table=True):
    __tablename__ = "action_item_progress"

    id: int | None = Field(default=None, primary_key=True)
    action_item_id: int = Field(foreign_key="action_item.id", index=True)
    author_person_id: int | None = Field(default=None, foreign_key="person.id")
    note: str | None = Field(default=None, max_length=10_000)
    value: float | None = None
    status: str | None = Field(default=None, max_length=20)
    created_at: datetime = created_column()


class DeliveryStatus(StrEnum):
    pending = "pending"  # owed, not yet handed to the SMTP server
    sending = "sending"  # claimed by a worker under a lease
    sent = "sent"
    failed = "failed"  # permanent refusal, or out of attempts
    superseded = "superseded"  # a newer calendar state is owed instead


class Delivery(SQLModel, table=True):
    """One e-mail owed to one person for one reason. The unique key makes a second send of the
    same thing impossible; the row is written before the mail is sent."""

    __table_args__ = (
        # The sweep looks only at work that is not finished.
        Index(
            "ix_delivery_unfinished",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_delivery_session_person", "session_id", "person_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    reason: str = Field(max_length=30)
    person_id: int = Field(foreign_key="person.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="meeting_session.id")
    method: str | None = Field(default=None, max_length=10)  # REQUEST | CANCEL for calendar mail
    sequence: int | None = None
    status: str = Field(default=DeliveryStatus.pending, max_length=20, index=True)
    attempts: int = 0
    next_attempt_at: datetime = created_column()
    lease_until: datetime | None = utc_column(nullable=True)
    last_answer: str | None = Field(default=None, max_length=1000)
    message_id: str = Field(max_length=255)
    # What the mail is about beyond person and session, for its composer (a reminder's
    # session start, a digest's day, a report's id).
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = created_column()
    sent_at: datetime | None = utc_column(nullable=True)


class ScanMark(SQLModel, table=True):
    """The last period a calendar-driven scan completed (a digest day, an overview week), so
    two beat processes, or a restart, never do one period twice."""

    __tablename__ = "scan_mark"

    name: str = Field(primary_key=True, max_length=60)
    period: str = Field(max_length=20)
    done_at: datetime = created_column()


class FollowUpReport(SQLModel, table=True):
    """One compiled follow-up report of a child forum for a session of its parent. A recompile
    is a new version; earlier versions are kept."""

    __tablename__ = "follow_up_report"
    __table_args__ = (UniqueConstraint("agenda_item_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(foreign_key="agenda_item.id", index=True)
    parent_session_id: int = Field(foreign_key="meeting_session.id", index=True)
    child_forum_id: int = Field(foreign_key="forum.id", index=True)
    version: int
    period_start: datetime = utc_column()
    period_end: datetime = utc_column()
    compiled_at: datetime = created_column()
    compiled_by: str = Field(max_length=200)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # SHA-256 of the token: tokens are long random strings, so a fast hash is safe here.
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    is_admin: bool = False
    created_at: datetime = created_column()
    revoked_at: datetime | None = utc_column(nullable=True)


class WebSignIn(SQLModel, table=True):
    """One sign-in link mailed to a person and, once used, the browser session it opened.

    The link and the session cookie carry this row's id under the service's signature, so
    nothing secret is stored: `used_at` makes the link single-use, `ended_at` is sign-out."""

    __tablename__ = "web_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = created_column()
    expires_at: datetime = utc_column()  # of the link
    used_at: datetime | None = utc_column(nullable=True)
    ended_at: datetime | None = utc_column(nullable=True)
    # The page asked for before signing in, to land on once signed in.
    next_path: str | None = Field(default=None, max_length=500)


class SignInRequest(SQLModel, table=True):
    """A sign-in link asked for on the web, known address or not: the request only records
    this, and a background step (workflow.sign_in.owe_requested) owes the mail, if any, and
    deletes the row. So a known and an unknown address cost the request the same work."""

    __tablename__ = "sign_in_request"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    next_path: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_column()


class Event(SQLModel, table=True):
    """Append-only audit trail of every domain change."""

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = created_column()
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=60, index=True)
    forum_id: int | None = Field(default=None, foreign_key="forum.id", index=True)
    session_id: int | None = Field(default=None, foreign_key="meeting_session.id", index=True)
    action_item_id: int | None = Field(default=None, foreign_key="action_item.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InboundMessage(SQLModel, table=True):
    """One message read from the reply mailbox (or given to the embedded capture server),
    recorded in the transaction that applies it, before the mailbox is told: a message seen
    again (a restart between commit and move, a second copy) is recognised by its key and
    applies nothing. `outcome`: applied, not_a_reply (left for the secretariat) or failed
    (a calendar reply the service could not apply, with the reason; left too)."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    # The Message-ID, or sha256:<hex> of the raw bytes when it has none.
    message_key: str = Field(max_length=300, unique=True)
    mailbox: str = Field(max_length=300)  # imap://user@host/folder, or smtp
    uidvalidity: int | None = None
    uid: int | None = None
    outcome: str = Field(max_length=20, index=True)
    kind: str = Field(max_length=30)  # reply | auto_reply | bounce | no_calendar | ...
    reason: str | None = Field(default=None, max_length=500)
    sender: str | None = Field(default=None, max_length=254)
    subject: str | None = Field(default=None, max_length=300)
    received_at: datetime = created_column()
    # When the mailbox was told (moved or flagged); empty while that is still to do.
    settled_at: datetime | None = utc_column(nullable=True)
