"""What the API accepts and returns. Text that can reach a mail header or a calendar line is
checked here, at the edge: no control characters, no encoded-word openers. Each refusal's
text is a catalogue message (`i18n.validation_message` gives it in the reader's language), so
it names no value of the request."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    HttpUrl,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlmodel import SQLModel

from workflow import models
from workflow.models import (
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
from workflow.rules import EARLIEST_DAY, LATEST_DAY, is_known_timezone

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _single_line(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must be one line without control characters")
    if "=?" in v:
        # RFC 2047 encoded-word opener: could smuggle a header through a mail subject.
        raise ValueError("must not contain '=?'")
    return v


def _multi_line(v: str) -> str:
    v = v.replace("\r\n", "\n")
    if _CONTROL_BUT_NEWLINES.search(v):
        raise ValueError("must not contain control characters")
    return v


def _timezone(v: str) -> str:
    if not is_known_timezone(v):
        raise ValueError("unknown time zone; use an IANA name such as Europe/Brussels")
    return v


def _lower(v: str) -> str:
    return v.lower()


def _one_line(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# One line of text: stripped, not empty, no control characters; several lines: no control
# characters but newlines. Written out as Annotated aliases so that type checkers read them.
_SINGLE_LINE = AfterValidator(_single_line)
_MULTI_LINE = AfterValidator(_multi_line)
Name = Annotated[str, _one_line(200), _SINGLE_LINE]
Title = Annotated[str, _one_line(300), _SINGLE_LINE]
Line40 = Annotated[str, _one_line(40), _SINGLE_LINE]
Line60 = Annotated[str, _one_line(60), _SINGLE_LINE]
Line500 = Annotated[str, _one_line(500), _SINGLE_LINE]
Text2000 = Annotated[str, StringConstraints(max_length=2000), _MULTI_LINE]
Text10000 = Annotated[str, StringConstraints(max_length=10_000), _MULTI_LINE]
Text20000 = Annotated[str, StringConstraints(max_length=20_000), _MULTI_LINE]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(_lower)]
# Strict: `true`, not 0 or "yes"; 5, not "5" or 5.0 (pydantic would otherwise coerce them).
Flag = Annotated[bool, Strict()]
Count = Annotated[int, Strict()]
Id = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]
Version = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
ReminderOffset = Annotated[int, Strict(), Field(ge=1, le=24 * 60)]

# Times are ISO 8601 strings ("2027-03-29T14:00:00", with or without an offset): never a
# number of seconds, which pydantic would otherwise read as a Unix time ("0.5" included).
_ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?$",
    re.ASCII,  # \d: 0-9 only
)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _iso_moment(v: object) -> object:
    if isinstance(v, datetime) or (isinstance(v, str) and _ISO_MOMENT.match(v)):
        return v
    raise ValueError("must be an ISO 8601 date and time, such as 2027-03-29T14:00:00+02:00")


def _iso_day(v: object) -> object:
    if (isinstance(v, date) and not isinstance(v, datetime)) or (
        isinstance(v, str) and _ISO_DAY.match(v)
    ):
        return v
    raise ValueError("must be an ISO 8601 date, such as 2027-03-29")


OUT_OF_RANGE = f"must be between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}"  # in the catalogue


def _moment_in_range(v: datetime) -> datetime:
    """Between 1970 and 2999, on the UTC clock too: year 10000 can never be reached."""
    try:
        day = (v.astimezone(UTC) if v.tzinfo is not None else v).date()
    except OverflowError:
        day = date.max
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(OUT_OF_RANGE)
    return v


def _day_in_range(v: date) -> date:
    if not EARLIEST_DAY <= v <= LATEST_DAY:
        raise ValueError(OUT_OF_RANGE)
    return v


Moment = Annotated[datetime, BeforeValidator(_iso_moment), AfterValidator(_moment_in_range)]
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_day_in_range)]


# In a path or a query string everything is text: these read only what the document says.
def wire_whole_number(v: object) -> object:
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    if isinstance(v, str) and re.fullmatch(r"[0-9]{1,10}", v):
        return int(v)
    raise ValueError("must be a whole number written with the digits 0-9")


def wire_flag(v: object) -> object:
    if v is None or isinstance(v, bool):
        return v
    if v in ("true", "false"):
        return v == "true"
    raise ValueError("must be true or false")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Update(Input):
    """A change: only the fields sent are applied. A field left out is unchanged; an explicit
    null is only accepted where the stored column may be empty (null clears it), taken from
    the table named in `stores`, plus `null_allowed` for fields that are not columns. Anywhere
    else null is refused with a pointer to the field, and the OpenAPI document says so."""

    stores: ClassVar[type[SQLModel] | None] = None
    null_allowed: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def nullable(cls) -> frozenset[str]:
        table = getattr(cls.stores, "__table__", None)
        columns = {c.name for c in table.columns if c.nullable} if table is not None else set()
        return frozenset(columns) | cls.null_allowed

    @field_validator("*", mode="before")
    @classmethod
    def _no_null_where_stored_not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable():
            raise ValueError("may not be null: leave the field out to keep it as it is")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        target = handler.resolve_ref_schema(json_schema)
        allowed = cls.nullable()
        for name, prop in target.get("properties", {}).items():
            if name in allowed or "anyOf" not in prop:
                continue
            kept = [s for s in prop["anyOf"] if s.get("type") != "null"]
            del prop["anyOf"]
            if prop.get("default", "") is None:
                del prop["default"]
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
        return json_schema


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# Forums ---------------------------------------------------------------------------------


class ForumCreate(Input):
    name: Name
    short_name: Line60 | None = None
    kind: ForumKind = ForumKind.mayors_forum
    parent_id: Id | None = None
    timezone: TimeZone = "Europe/Brussels"
    languages: list[Language] = Field(default=[Language.nl], min_length=1, max_length=3)
    co_chairs_min: Count = Field(default=1, ge=1, le=10)
    co_chairs_max: Count = Field(default=2, ge=1, le=10)
    co_chairs_distinct_countries: Flag = False
    secretariat_email: Email | None = None
    secretariat_name: Name | None = None
    report_lead_days: Count = Field(default=5, ge=0, le=60)
    reminder_offsets_hours: list[ReminderOffset] = Field(
        default=[168, 24],
        max_length=5,
        description="Hours before each session that participants are reminded.",
    )
    escalation_days: Count = Field(
        default=14, ge=1, le=365, description="Days overdue before co-chairs are told."
    )


class ForumUpdate(Update):
    stores = models.Forum
    name: Name | None = None
    short_name: Line60 | None = None
    kind: ForumKind | None = None
    parent_id: Id | None = None
    timezone: TimeZone | None = None
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=3)
    co_chairs_min: Count | None = Field(default=None, ge=1, le=10)
    co_chairs_max: Count | None = Field(default=None, ge=1, le=10)
    co_chairs_distinct_countries: Flag | None = None
    secretariat_email: Email | None = None
    secretariat_name: Name | None = None
    report_lead_days: Count | None = Field(default=None, ge=0, le=60)
    reminder_offsets_hours: list[ReminderOffset] | None = Field(default=None, max_length=5)
    escalation_days: Count | None = Field(default=None, ge=1, le=365)


class ForumRead(Output):
    id: int
    name: str
    short_name: str | None
    kind: str
    parent_id: int | None
    timezone: str
    languages: list[str]
    co_chairs_min: Count
    co_chairs_max: Count
    co_chairs_distinct_countries: bool
    secretariat_email: str | None
    secretariat_name: str | None
    report_lead_days: Count
    reminder_offsets_hours: list[int]
    escalation_days: Count
    created_at: datetime


# Organisations and people ---------------------------------------------------------------


class OrganisationCreate(Input):
    name: Name
    kind: OrganisationKind = OrganisationKind.other
    country: Country = "BE"


class OrganisationUpdate(Update):
    stores = models.Organisation
    name: Name | None = None
    kind: OrganisationKind | None = None
    country: Country | None = None


class OrganisationRead(Output):
    id: int
    name: str
    kind: str
    country: str
    created_at: datetime


class PersonCreate(Input):
    name: Name
    email: Email
    language: Language = Language.nl
    country: Country = "BE"
    organisation_id: Id | None = None


class PersonUpdate(Update):
    stores = models.Person
    name: Name | None = None
    email: Email | None = None
    language: Language | None = None
    country: Country | None = None
    organisation_id: Id | None = None


class PersonRead(Output):
    id: int
    name: str
    email: str
    language: str
    country: str
    organisation_id: int | None
    created_at: datetime


class MembershipCreate(Input):
    person_id: Id
    role: Role


class MembershipUpdate(Update):
    stores = models.Membership
    role: Role


class MembershipRead(Output):
    id: int
    forum_id: int
    person_id: int
    role: str
    created_at: datetime


# Sessions -------------------------------------------------------------------------------


class AgendaItemCreate(Input):
    title: Title
    kind: AgendaItemKind = AgendaItemKind.discussion
    description: Text10000 | None = None
    presenter: Title | None = None
    position: Count | None = Field(default=None, ge=1, le=1000)


class AgendaItemUpdate(Update):
    stores = models.AgendaItem
    title: Title | None = None
    kind: AgendaItemKind | None = None
    description: Text10000 | None = None
    presenter: Title | None = None
    outcome: Text20000 | None = None
    position: Count | None = Field(default=None, ge=1, le=1000)


class AgendaItemRead(Output):
    id: int
    session_id: int
    position: Count
    title: str
    kind: str
    description: str | None
    presenter: str | None = None
    outcome: str | None
    child_forum_id: int | None


class SessionCreate(Input):
    title: Title
    starts_at: Moment = Field(
        description="With a UTC offset, or a wall-clock time in the forum's time zone."
    )
    ends_at: Moment
    timezone: TimeZone | None = Field(default=None, description="Defaults to the forum's zone.")
    location: Line500 | None = None
    online_url: HttpUrl | None = None
    co_chair_ids: list[Id] | None = Field(
        default=None, max_length=10, description="Defaults to the forum's co-chairs."
    )
    participant_ids: list[Id] | None = Field(
        default=None, max_length=5000, description="Defaults to every member of the forum."
    )
    agenda: list[AgendaItemCreate] = Field(default=[], max_length=200)


class SessionUpdate(Update):
    stores = models.MeetingSession
    null_allowed = frozenset({"version", "co_chair_ids"})  # null: not given, keep as they are
    title: Title | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    location: Line500 | None = None
    online_url: HttpUrl | None = None
    co_chair_ids: list[Id] | None = Field(default=None, max_length=10)
    version: Version | None = Field(
        default=None, ge=1, description="The version you edited; or send it as If-Match."
    )


class SessionCancel(Input):
    reason: Text2000 | None = None
    version: Version | None = Field(default=None, ge=1)


class ParticipantAdd(Input):
    person_id: Id
    role: ParticipantRole = ParticipantRole.participant


class ParticipantRead(Output):
    person_id: int
    name: str
    email: str
    role: str
    partstat: PartStat
    attendance: Attendance | None = None
    # With partstat "delegated": the deputy (a participant too) the invitation went to.
    delegated_to_person_id: int | None = None


class SessionSummary(Output):
    id: int
    forum_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    starts_at_local: str
    ends_at_local: str
    timezone: str
    location: str | None
    online_url: str | None
    status: SessionStatus
    cancel_reason: str | None
    uid: str
    sequence: int
    version: int
    created_at: datetime
    updated_at: datetime


class SessionRead(SessionSummary):
    participants: list[ParticipantRead]
    agenda: list[AgendaItemRead]


# Action items ---------------------------------------------------------------------------


class ActionItemCreate(Input):
    title: Title
    description: Text10000 | None = None
    owner_person_id: Id | None = None
    owner_organisation_id: Id | None = None
    agenda_item_id: Id | None = None
    due_date: Day | None = None
    indicator: Title | None = None
    unit: Line40 | None = None
    baseline: Number | None = None
    target: Number | None = None
    current_value: Number | None = None


class ActionItemUpdate(Update):
    stores = models.ActionItem
    null_allowed = frozenset({"version", "note"})  # null: not given
    title: Title | None = None
    description: Text10000 | None = None
    owner_person_id: Id | None = None
    owner_organisation_id: Id | None = None
    due_date: Day | None = None
    status: ActionItemStatus | None = None
    indicator: Title | None = None
    unit: Line40 | None = None
    baseline: Number | None = None
    target: Number | None = None
    current_value: Number | None = None
    note: Text10000 | None = Field(default=None, description="A progress note.")
    version: Version | None = Field(default=None, ge=1)


class ProgressRead(Output):
    id: int
    author_person_id: int | None
    note: str | None
    value: float | None
    status: str | None
    created_at: datetime


class ActionItemRead(Output):
    id: int
    forum_id: int
    session_id: int
    agenda_item_id: int | None
    title: str
    description: str | None
    owner_person_id: int | None
    owner_organisation_id: int | None
    due_date: date | None
    status: ActionItemStatus
    overdue: bool
    indicator: str | None
    unit: str | None
    baseline: float | None
    target: float | None
    current_value: float | None
    escalated_at: datetime | None
    escalation_note: str | None
    parent_decision: str | None
    parent_decided_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class ActionItemDetail(ActionItemRead):
    progress: list[ProgressRead]


class EscalationCreate(Input):
    note: Text10000 = Field(
        min_length=1, description="What the child forum asks the mayors to decide."
    )
    version: Version | None = Field(default=None, ge=1)


class DecisionCreate(Input):
    decision: Text10000 = Field(min_length=1)
    version: Version | None = Field(default=None, ge=1)


# After the session ----------------------------------------------------------------------


class AttendanceMark(Input):
    person_id: Id
    attendance: Attendance


class OutcomeRecord(Input):
    agenda_item_id: Id
    outcome: Text20000


class AttendanceRecord(Input):
    attendance: list[AttendanceMark] = Field(max_length=2000)
    version: Version | None = Field(default=None, ge=1)


class SessionClose(Input):
    attendance: list[AttendanceMark] = Field(default=[], max_length=2000)
    outcomes: list[OutcomeRecord] = Field(default=[], max_length=200)
    version: Version | None = Field(default=None, ge=1)


# Report-back ----------------------------------------------------------------------------


class ReportCompile(Input):
    child_forum_id: Id
    notify: Flag = Field(default=True, description="Mail the report to its recipients.")


class ReportSummary(Output):
    id: int
    agenda_item_id: int
    parent_session_id: int
    child_forum_id: int
    version: int
    period_start: datetime
    period_end: datetime
    compiled_at: datetime
    compiled_by: str


class ReportRead(ReportSummary):
    content: dict


# Audit and access -----------------------------------------------------------------------


class EventRead(Output):
    id: int
    occurred_at: datetime
    actor: str
    kind: str
    forum_id: int | None
    session_id: int | None
    action_item_id: int | None
    data: dict


class TokenCreate(Input):
    name: Name
    person_id: Id | None = None
    is_admin: Flag = False


class TokenCreated(Output):
    id: int
    name: str
    person_id: int | None
    is_admin: bool
    token: str = Field(description="Shown once; only its hash is stored.")


# Invitations ----------------------------------------------------------------------------


class CounterRead(Output):
    """A new time a participant proposed from their calendar (iTIP COUNTER)."""

    id: int
    session_id: int
    person_id: int
    name: str
    email: str
    sequence: int
    dtstamp: datetime
    starts_at: datetime
    ends_at: datetime
    comment: str | None
    status: str  # open | adopted | declined
    decided_at: datetime | None


class AnswerSummary(BaseModel):
    accepted: list[ParticipantRead]
    tentative: list[ParticipantRead]
    declined: list[ParticipantRead]
    needs_action: list[ParticipantRead]
    delegated: list[ParticipantRead] = []


class DeliveryRead(Output):
    id: int
    reason: str
    person_id: int
    session_id: int | None
    method: str | None
    sequence: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_answer: str | None = Field(description="The SMTP server's last answer")
    message_id: str
    created_at: datetime
    sent_at: datetime | None


class FeedIssued(BaseModel):
    url: str = Field(description="Secret: anyone with it sees the person's sessions.")
