"""The domain's words: the kinds, roles and states the tables store and the pure rules
reason about. Plain enumerations, so the rules can use them without SQL."""

from enum import StrEnum


class Language(StrEnum):
    nl = "nl"
    fr = "fr"
    en = "en"


class ForumKind(StrEnum):
    mayors_forum = "mayors_forum"
    taskforce = "taskforce"
    working_group = "working_group"
    committee = "committee"
    local_consultation = "local_consultation"


class OrganisationKind(StrEnum):
    municipality = "municipality"
    union = "union"
    employer_organisation = "employer_organisation"
    province = "province"
    expert_agency = "expert_agency"
    support_agency = "support_agency"
    other = "other"


class Role(StrEnum):
    co_chair = "co_chair"
    secretariat = "secretariat"
    member = "member"
    observer = "observer"


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    held = "held"


class ParticipantRole(StrEnum):
    co_chair = "co_chair"  # iCalendar ROLE=CHAIR
    participant = "participant"  # REQ-PARTICIPANT
    optional = "optional"  # OPT-PARTICIPANT (observers)


class Attendance(StrEnum):
    present = "present"
    excused = "excused"
    absent = "absent"


class PartStat(StrEnum):
    needs_action = "needs_action"
    accepted = "accepted"
    tentative = "tentative"
    declined = "declined"
    delegated = "delegated"  # passed the invitation on to a deputy (iTIP DELEGATED-TO)


class AgendaItemKind(StrEnum):
    information = "information"
    discussion = "discussion"
    decision = "decision"
    report_back = "report_back"


class ActionItemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"
