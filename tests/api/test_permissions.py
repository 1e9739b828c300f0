"""Who may do what, as a matrix: role x action x (own forum / another forum).

The policy is the table `ALLOWED` below (role -> the actions it may take in its own forum,
the taskforce). Everything not in a role's set must be refused with 403 (401 without a valid
token), as a problem document, and must leave no trace. In a forum where the caller is not a
member, every forum action is refused, whatever the caller's role elsewhere.

Building the world takes most of a test's time, so each test builds it once for one caller and
runs every action as a subtest (reported one by one as `[role] action`). The session, agenda
item and action items an action works on are prepared as admin, and prepared afresh after an
action that used them up (a cancelled session cannot be cancelled again).
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import SQLModel

from tests.api.world import World, ok
from tests.conftest import ADMIN
from workflow.db import get_engine

Auth = dict[str, str]
_unique = itertools.count(1)


@dataclass
class Prepared:
    """What an action works on, created as admin in the forum acted on."""

    forum: int
    forum_key: str
    me: int  # the caller's person (the member's for callers without one)
    session: int  # scheduled, with one agenda item; `extra` is invited
    session_version: int
    starts_at: str
    agenda_item: int
    own_item: int  # action item owned by `me`
    other_item: int  # action item owned by someone else who belongs to the forum
    newcomer: int  # a person in no forum and no session
    extra: int  # a plain member of the forum, invited to the session
    extra_membership: int


@dataclass(frozen=True)
class Act:
    name: str
    call: Callable[[TestClient, World, Prepared, Auth], Response]
    write: bool
    forum_scoped: bool  # about one forum (as opposed to the shared directory, tokens, forums)
    keeps_targets: bool  # done, it leaves the prepared session and items as they were


ACTIONS: dict[str, Act] = {}


def action(*, write: bool, forum_scoped: bool = True, keeps_targets: bool = False) -> Callable:
    def register(fn: Callable[[TestClient, World, Prepared, Auth], Response]) -> Callable:
        ACTIONS[fn.__name__] = Act(fn.__name__, fn, write, forum_scoped, keeps_targets or not write)
        return fn

    return register


# Actions ------------------------------------------------------------------------------------
# Each is one request by the caller (`auth`) against the prepared ids.

API = "/api/v1"


@action(write=False)
def read_forum(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/forums/{p.forum}", headers=auth)


@action(write=True, keeps_targets=True)
def update_forum_name(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/forums/{p.forum}", headers=auth, json={"name": f"Hernoemd overleg {next(_unique)}"}
    )


@action(write=True, keeps_targets=True)
def update_forum_languages_and_secretariat(
    c: TestClient, w: World, p: Prepared, auth: Auth
) -> Response:
    return c.patch(
        f"{API}/forums/{p.forum}",
        headers=auth,
        json={
            "languages": ["nl", "fr"],
            "secretariat_email": "nieuw-secretariaat@example.org",
            "secretariat_name": "Nieuw secretariaat",
        },
    )


@action(write=True, keeps_targets=True)
def update_forum_parent(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    new_parent = w.forums["cross_border" if p.forum_key != "cross_border" else "mayors"]
    return c.patch(f"{API}/forums/{p.forum}", headers=auth, json={"parent_id": new_parent})


@action(write=True, keeps_targets=True)
def update_forum_co_chair_policy(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(f"{API}/forums/{p.forum}", headers=auth, json={"co_chairs_max": 3})


@action(write=False)
def list_members(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/forums/{p.forum}/members", headers=auth)


@action(write=True)
def add_member(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/forums/{p.forum}/members",
        headers=auth,
        json={"person_id": p.newcomer, "role": "member"},
    )


@action(write=True)
def change_member_role(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/forums/{p.forum}/members/{p.extra_membership}",
        headers=auth,
        json={"role": "observer"},
    )


@action(write=True)
def remove_member(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.delete(f"{API}/forums/{p.forum}/members/{p.extra_membership}", headers=auth)


@action(write=False)
def read_forum_events(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/forums/{p.forum}/events", headers=auth)


@action(write=False)
def list_forum_sessions(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions", headers=auth, params={"forum_id": p.forum})


@action(write=False)
def read_session(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions/{p.session}", headers=auth)


@action(write=False)
def list_participants(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions/{p.session}/participants", headers=auth)


@action(write=False)
def list_agenda(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions/{p.session}/agenda-items", headers=auth)


@action(write=False)
def read_session_events(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions/{p.session}/events", headers=auth)


@action(write=True, keeps_targets=True)
def schedule_session(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/forums/{p.forum}/sessions",
        headers=auth,
        json=w.session_body(**_co_chairs(w, p.forum_key)),
    )


@action(write=True)
def reschedule_session(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    later = datetime.fromisoformat(p.starts_at) + timedelta(days=1)
    return c.patch(
        f"{API}/sessions/{p.session}",
        headers={**auth, "If-Match": f'"{p.session_version}"'},
        json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()},
    )


@action(write=True)
def cancel_session(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/sessions/{p.session}/cancel",
        json={"reason": "Geen quorum"},
        headers={**auth, "If-Match": f'"{p.session_version}"'},
    )


@action(write=True)
def add_participant(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/sessions/{p.session}/participants", headers=auth, json={"person_id": p.newcomer}
    )


@action(write=True)
def remove_participant(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.delete(f"{API}/sessions/{p.session}/participants/{p.extra}", headers=auth)


@action(write=True)
def add_agenda_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/sessions/{p.session}/agenda-items",
        headers=auth,
        json={"title": "Mobiliteit", "kind": "discussion"},
    )


@action(write=True)
def update_agenda_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/sessions/{p.session}/agenda-items/{p.agenda_item}",
        headers=auth,
        json={"title": "Jobkanalen en opleiding", "position": 1},
    )


@action(write=True)
def record_agenda_outcome(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/sessions/{p.session}/agenda-items/{p.agenda_item}",
        headers=auth,
        json={"outcome": "Goedgekeurd"},
    )


@action(write=True)
def delete_agenda_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.delete(f"{API}/sessions/{p.session}/agenda-items/{p.agenda_item}", headers=auth)


@action(write=True, keeps_targets=True)
def create_action_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/sessions/{p.session}/action-items",
        headers=auth,
        json=_item_body("Jobbeurs organiseren", p.me),
    )


@action(write=False)
def list_forum_action_items(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/action-items", headers=auth, params={"forum_id": p.forum})


@action(write=False)
def read_own_action_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/action-items/{p.own_item}", headers=auth)


@action(write=False)
def read_other_action_item(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/action-items/{p.other_item}", headers=auth)


@action(write=True)
def update_own_item_progress(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/action-items/{p.own_item}",
        headers=auth,
        json={"status": "in_progress", "current_value": 4, "note": "Vier werkgevers bevestigd"},
    )


@action(write=True)
def update_own_item_title(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/action-items/{p.own_item}", headers=auth, json={"title": "Een andere opdracht"}
    )


@action(write=True)
def update_other_item_progress(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/action-items/{p.other_item}",
        headers=auth,
        json={"status": "in_progress", "current_value": 1},
    )


@action(write=False)
def list_session_reminders(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/sessions/{p.session}/reminders", headers=auth)


@action(write=True)
def escalate_item_to_parent_forum(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/action-items/{p.other_item}/escalate",
        headers=auth,
        json={"note": "Budget van de provincie nodig"},
    )


# The directory, tokens and forums: not about one forum.


@action(write=False, forum_scoped=False)
def list_people(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/people", headers=auth)


@action(write=False, forum_scoped=False)
def read_own_person(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/people/{p.me}", headers=auth)


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_own_name_and_language(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/people/{p.me}",
        headers=auth,
        json={"name": f"Nieuwe naam {next(_unique)}", "language": "en"},
    )


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_own_email(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/people/{p.me}", headers=auth, json={"email": f"nieuw-{next(_unique)}@example.org"}
    )


@action(write=False, forum_scoped=False)
def export_own_data(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/people/{p.me}/export", headers=auth)


@action(write=False, forum_scoped=False)
def export_other_persons_data(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/people/{p.extra}/export", headers=auth)


@action(write=False, forum_scoped=False)
def read_other_person(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.get(f"{API}/people/{w.people['co_chair_2']}", headers=auth)


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_other_person(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(f"{API}/people/{w.people['co_chair_2']}", headers=auth, json={"language": "fr"})


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_other_persons_email(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.patch(
        f"{API}/people/{w.people['co_chair_2']}",
        headers=auth,
        json={"email": f"ander-{next(_unique)}@example.org"},
    )


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_person_of_another_forum(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    """Someone who sits only in the cross-border consultation."""
    return c.patch(f"{API}/people/{w.people['be_mayor_2']}", headers=auth, json={"language": "fr"})


@action(write=True, forum_scoped=False, keeps_targets=True)
def update_newcomer(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    """Someone in the directory who sits in no forum yet."""
    return c.patch(
        f"{API}/people/{p.newcomer}", headers=auth, json={"name": f"Nieuwkomer {next(_unique)}"}
    )


@action(write=True, forum_scoped=False, keeps_targets=True)
def create_person(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    n = next(_unique)
    return c.post(
        f"{API}/people",
        headers=auth,
        json={"name": f"Expert {n}", "email": f"expert-{n}@example.org"},
    )


@action(write=True, forum_scoped=False, keeps_targets=True)
def create_organisation(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/organisations",
        headers=auth,
        json={"name": f"Gemeente {next(_unique)}", "kind": "municipality"},
    )


@action(write=True, forum_scoped=False, keeps_targets=True)
def create_token(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(f"{API}/tokens", headers=auth, json={"name": "integratie", "person_id": p.me})


@action(write=True, forum_scoped=False, keeps_targets=True)
def create_forum(c: TestClient, w: World, p: Prepared, auth: Auth) -> Response:
    return c.post(
        f"{API}/forums",
        headers=auth,
        json={"name": f"Werkgroep {next(_unique)}", "kind": "working_group"},
    )


# The policy ---------------------------------------------------------------------------------

READ = frozenset(
    {
        "read_forum",
        "list_members",
        "read_forum_events",
        "list_forum_sessions",
        "read_session",
        "list_participants",
        "list_agenda",
        "read_session_events",
        "list_forum_action_items",
        "read_other_action_item",
        "list_session_reminders",
    }
)
# One's own e-mail address too: only the person themselves or an administrator changes it.
SELF_SERVICE = frozenset(
    {"read_own_person", "update_own_name_and_language", "update_own_email", "export_own_data"}
)
# An action item's owner reads it and reports its progress whatever their role in the forum:
# owners are often experts or partner organisations that do not sit in the forum.
REPORT_OWN_PROGRESS = frozenset({"read_own_action_item", "update_own_item_progress"})
MANAGE = frozenset(
    {
        "update_forum_name",
        "update_forum_languages_and_secretariat",
        "add_member",
        "change_member_role",
        "remove_member",
        "schedule_session",
        "reschedule_session",
        "cancel_session",
        "add_participant",
        "remove_participant",
        "add_agenda_item",
        "update_agenda_item",
        "record_agenda_outcome",
        "delete_agenda_item",
        "create_action_item",
        "update_own_item_title",
        "update_other_item_progress",
        "escalate_item_to_parent_forum",
    }
)
# Managers edit the people who sit in a forum they manage (`update_other_person`: a fellow
# co-chair of the taskforce), and those who sit in no forum yet; never an e-mail address.
DIRECTORY = frozenset(
    {
        "list_people",
        "read_other_person",
        "update_other_person",
        "update_newcomer",
        "create_person",
        "create_organisation",
    }
)
ADMIN_ONLY = frozenset(
    {
        "export_other_persons_data",
        "update_other_persons_email",
        "update_person_of_another_forum",
        "update_forum_parent",
        "update_forum_co_chair_policy",
        "create_token",
        "create_forum",
    }
)

# Role in the taskforce -> what it may do there (and in the shared directory).
ALLOWED: dict[str, frozenset[str]] = {
    "admin": READ | SELF_SERVICE | REPORT_OWN_PROGRESS | MANAGE | DIRECTORY | ADMIN_ONLY,
    "co_chair": READ | SELF_SERVICE | REPORT_OWN_PROGRESS | MANAGE | DIRECTORY,
    "secretariat": READ | SELF_SERVICE | REPORT_OWN_PROGRESS | MANAGE | DIRECTORY,
    "member": READ | SELF_SERVICE | REPORT_OWN_PROGRESS,
    "observer": READ | SELF_SERVICE | REPORT_OWN_PROGRESS,
    "anonymous": frozenset(),  # no token: 401 instead of 403
}

# Callers in a forum they do not belong to (membership of its parent or child gives nothing):
# every forum action there is refused, except on the action item they own.
NOT_A_MEMBER = [
    ("co_chair", "cross_border"),
    ("secretariat", "cross_border"),
    ("member", "cross_border"),
    ("observer", "cross_border"),
    ("outsider", "taskforce"),
    ("parent_co_chair", "taskforce"),
    ("co_chair", "mayors"),  # a child forum's co-chair in the parent forum
]

# Who belongs where, for lists without a forum filter.
MEMBER_OF: dict[str, set[str]] = {
    "admin": {"mayors", "taskforce", "cross_border"},  # not a member: sees everything
    "co_chair": {"taskforce"},
    "secretariat": {"taskforce"},
    "member": {"taskforce"},
    "observer": {"taskforce"},
    "outsider": set(),
    "parent_co_chair": {"mayors"},
    "fr_mayor": {"cross_border"},
}


def test_the_policy_table_names_real_actions() -> None:
    named = READ | SELF_SERVICE | REPORT_OWN_PROGRESS | MANAGE | DIRECTORY | ADMIN_ONLY
    assert named == set(ACTIONS), sorted(named ^ set(ACTIONS))
    groups = [READ, SELF_SERVICE, REPORT_OWN_PROGRESS, MANAGE, DIRECTORY, ADMIN_ONLY]
    assert sum(map(len, groups)) == len(named), "an action is in two groups"


# Preparing and checking ---------------------------------------------------------------------

OTHER_OWNER = {"taskforce": "co_chair_2", "cross_border": "be_mayor", "mayors": "parent_co_chair"}


def _co_chairs(w: World, forum_key: str) -> dict[str, Any]:
    if forum_key == "cross_border":  # two co-chairs from two countries, out of three
        return {"co_chair_ids": [w.people["fr_mayor"], w.people["be_mayor"]]}
    return {}


def _item_body(title: str, owner: int) -> dict[str, Any]:
    due = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    return {
        "title": title,
        "owner_person_id": owner,
        "due_date": due,
        "indicator": "Aantal deelnemende werkgevers",
        "baseline": 0,
        "target": 10,
    }


def _new_person(c: TestClient, name: str) -> int:
    n = next(_unique)
    return ok(
        c.post(
            f"{API}/people",
            headers=ADMIN,
            json={"name": f"{name} {n}", "email": f"{name.lower()}-{n}@example.org"},
        ),
        201,
    )["id"]


def prepare(w: World, forum_key: str, caller: str) -> Prepared:
    c, forum = w.client, w.forums[forum_key]
    me = w.people.get(caller, w.people["member"])
    newcomer = _new_person(c, "Nieuwkomer")
    extra = _new_person(c, "Lid")
    membership = ok(
        c.post(
            f"{API}/forums/{forum}/members",
            headers=ADMIN,
            json={"person_id": extra, "role": "member"},
        ),
        201,
    )
    session = ok(
        c.post(
            f"{API}/forums/{forum}/sessions",
            headers=ADMIN,
            json=w.session_body(
                agenda=[{"title": "Jobkanalen", "kind": "decision"}], **_co_chairs(w, forum_key)
            ),
        ),
        201,
    )
    assert extra in {x["person_id"] for x in session["participants"]}
    items = f"{API}/sessions/{session['id']}/action-items"
    own = ok(c.post(items, headers=ADMIN, json=_item_body("Jobkanaal opzetten", me)), 201)
    other = ok(
        c.post(
            items,
            headers=ADMIN,
            json=_item_body("Werkgevers contacteren", w.people[OTHER_OWNER[forum_key]]),
        ),
        201,
    )
    return Prepared(
        forum=forum,
        forum_key=forum_key,
        me=me,
        session=session["id"],
        session_version=session["version"],
        starts_at=session["starts_at"],
        agenda_item=session["agenda"][0]["id"],
        own_item=own["id"],
        other_item=other["id"],
        newcomer=newcomer,
        extra=extra,
        extra_membership=membership["id"],
    )


def snapshot(w: World, p: Prepared) -> dict[str, Any]:
    """What a refused write must not change: the forum's event count and the session's
    version, read as admin; and, to be sure, every row of every table."""
    forum_events = ok(
        w.client.get(f"{API}/forums/{p.forum}/events", headers=ADMIN, params={"limit": 1})
    )["total"]
    session = ok(w.client.get(f"{API}/sessions/{p.session}", headers=ADMIN))
    seen: dict[str, Any] = {"forum events": forum_events, "session version": session["version"]}
    with get_engine().connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            query = table.select().order_by(*table.primary_key.columns)
            seen[f"table {table.name}"] = conn.execute(query).all()
    return seen


def assert_refused(r: Response, status: int) -> None:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    if status == 401:
        assert r.headers.get("www-authenticate") == "Bearer"


class Runner:
    """Runs actions for one caller in one forum; prepares afresh after anything changed."""

    def __init__(self, w: World, forum_key: str, caller: str) -> None:
        self.w, self.forum_key, self.caller = w, forum_key, caller
        self.auth = w.auth(caller)
        self.prepared: Prepared | None = None
        self.before: dict[str, Any] | None = None

    def check(self, act: Act, allowed: bool, refusal: int = 403) -> None:
        if self.prepared is None:
            self.prepared = prepare(self.w, self.forum_key, self.caller)
            self.before = None
        p = self.prepared
        if act.write and not allowed and self.before is None:
            self.before = snapshot(self.w, p)
        r = act.call(self.w.client, self.w, p, self.auth)
        if act.write and 200 <= r.status_code < 300:
            self.before = None
            if not act.keeps_targets:
                self.prepared = None  # the targets moved on: prepare new ones
        if allowed:
            assert 200 <= r.status_code < 300, f"expected 2xx, got {r.status_code}: {r.text}"
            return
        assert_refused(r, refusal)
        if act.write:
            before, after = self.before or {}, snapshot(self.w, p)
            changed = [k for k in after if after[k] != before.get(k)]
            if changed:
                self.prepared = None  # start the next action from a known state again
            assert not changed, f"a refused write changed {changed}"


# The matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ALLOWED))
def test_role_in_its_own_forum(w: World, subtests: pytest.Subtests, role: str) -> None:
    runner = Runner(w, "taskforce", role)
    refusal = 401 if role == "anonymous" else 403
    for name, act in ACTIONS.items():
        with subtests.test(f"[{role}] {name}"):
            runner.check(act, name in ALLOWED[role], refusal)


@pytest.mark.parametrize(("caller", "forum"), NOT_A_MEMBER)
def test_nothing_in_a_forum_one_does_not_belong_to(
    w: World, subtests: pytest.Subtests, caller: str, forum: str
) -> None:
    runner = Runner(w, forum, caller)
    for name, act in ACTIONS.items():
        if act.forum_scoped:
            with subtests.test(f"[{caller} in {forum}] {name}"):
                runner.check(act, allowed=name in REPORT_OWN_PROGRESS)


def test_lists_without_a_forum_filter_show_only_readable_forums(
    w: World, subtests: pytest.Subtests
) -> None:
    c = w.client
    sessions: dict[int, str] = {}
    items: dict[int, str] = {}
    owners = {
        "taskforce": ["member", "co_chair_2"],
        "mayors": ["parent_co_chair"],
        # The member owns an item in a forum they do not belong to.
        "cross_border": ["fr_mayor", "member"],
    }
    for key, forum_owners in owners.items():
        s = w.schedule(key, **_co_chairs(w, key))
        sessions[s["id"]] = key
        for owner in forum_owners:
            item = ok(
                c.post(
                    f"{API}/sessions/{s['id']}/action-items",
                    headers=ADMIN,
                    json=_item_body(f"Opdracht voor {owner}", w.people[owner]),
                ),
                201,
            )
            items[item["id"]] = key
    owned_elsewhere = {i for i, key in items.items() if key == "cross_border"} & {
        x["id"]
        for x in ok(
            c.get(
                f"{API}/action-items",
                headers=ADMIN,
                params={"owner_person_id": w.people["member"], "limit": 200},
            )
        )["items"]
    }
    forums = {v: k for k, v in w.forums.items()}
    expected_by_list = {"/forums": forums, "/sessions": sessions, "/action-items": items}
    for who, readable in MEMBER_OF.items():
        for url, where in expected_by_list.items():
            with subtests.test(f"[{who}] GET {url}"):
                page = ok(c.get(f"{API}{url}", headers=w.auth(who), params={"limit": 200}))
                got = {x["id"] for x in page["items"]}
                expected = {i for i, key in where.items() if key in readable}
                if url == "/action-items" and who == "member":
                    expected |= owned_elsewhere  # one's own items, wherever they were decided
                assert got == expected, {
                    "unreadable": sorted(got - expected),
                    "missing": sorted(expected - got),
                }
                assert page["total"] == len(expected)


BAD_CREDENTIALS: dict[str, Callable[[World], Auth]] = {
    "no token": lambda w: {},
    "not a bearer token": lambda w: {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "empty bearer token": lambda w: {"Authorization": "Bearer "},
    "unknown token": lambda w: {"Authorization": "Bearer wf_" + "x" * 43},
    "almost the admin token": lambda w: {"Authorization": "Bearer test-admin-token-"},
    "overlong token": lambda w: {"Authorization": "Bearer wf_" + "x" * 300},
    "revoked token": lambda w: _revoked_token(w),
}


def _revoked_token(w: World) -> Auth:
    from workflow.cli import token_revoke

    made = ok(
        w.client.post(
            f"{API}/tokens",
            headers=ADMIN,
            json={"name": "revoked", "person_id": w.people["co_chair"]},
        ),
        201,
    )
    auth = {"Authorization": f"Bearer {made['token']}"}
    ok(w.client.get(f"{API}/forums/{w.forums['taskforce']}", headers=auth))  # works until...
    token_revoke(made["id"])
    return auth


def test_without_a_valid_token_everything_is_401(w: World, subtests: pytest.Subtests) -> None:
    sample = [
        "read_forum",
        "list_forum_sessions",
        "schedule_session",
        "update_own_item_progress",
        "list_people",
        "create_token",
    ]
    runner = Runner(w, "taskforce", "anonymous")
    for kind, credentials in BAD_CREDENTIALS.items():
        runner.auth = credentials(w)
        runner.before = None  # making a token to revoke changed the world
        for name in sample:
            with subtests.test(f"[{kind}] {name}"):
                runner.check(ACTIONS[name], allowed=False, refusal=401)
