"""Values that once were stored and broke the forum afterwards, and loosely typed input: each is
refused with a 422 that points at the field, and nothing of it is stored."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.world import World, ok
from tests.conftest import ADMIN
from tests.web.pages import signed_in_as
from workflow import models, schemas


def _pointers(r: Any) -> list[str]:
    return [e["pointer"] for e in r.json().get("errors", [])]


def _forum_still_works(w: World, forum: str = "taskforce") -> None:
    fid = w.forums[forum]
    ok(w.client.get("/api/v1/forums", headers=ADMIN))
    ok(w.client.get(f"/api/v1/forums/{fid}", headers=ADMIN))
    ok(w.client.get("/api/v1/sessions", headers=ADMIN))
    w.schedule(forum)


@pytest.mark.parametrize(
    ("who", "field"),
    [
        ("co_chair", "reminder_offsets_hours"),
        ("co_chair", "languages"),
        ("co_chair", "name"),
        ("co_chair", "timezone"),
        ("co_chair", "report_lead_days"),
        ("admin", "co_chairs_max"),
        ("admin", "co_chairs_distinct_countries"),
        ("admin", "kind"),
    ],
)
def test_null_on_a_forum_setting_that_cannot_be_empty_is_refused(
    w: World, who: str, field: str
) -> None:
    fid = w.forums["taskforce"]
    before = ok(w.client.get(f"/api/v1/forums/{fid}", headers=ADMIN))
    r = w.client.patch(f"/api/v1/forums/{fid}", headers=w.auth(who), json={field: None})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert _pointers(r) == [f"/{field}"]
    assert ok(w.client.get(f"/api/v1/forums/{fid}", headers=ADMIN)) == before
    _forum_still_works(w)


def test_null_still_clears_what_may_be_empty(w: World) -> None:
    fid = w.forums["taskforce"]
    forum = ok(
        w.client.patch(
            f"/api/v1/forums/{fid}",
            headers=w.auth("co_chair"),
            json={"short_name": None, "secretariat_name": None},
        )
    )
    assert forum["short_name"] is None and forum["secretariat_name"] is None


def test_null_where_the_column_is_not_null_is_refused_everywhere(w: World) -> None:
    """Every change the API offers: a null is a 422 on the field, never a 409 or a 500."""
    s = w.schedule(agenda=[{"title": "Stand van zaken"}])
    item = ok(
        w.client.post(
            f"/api/v1/sessions/{s['id']}/action-items",
            headers=ADMIN,
            json={
                "title": "Actie",
                "owner_person_id": w.people["co_chair"],
                "description": "Toelichting",
                "due_date": "2027-06-30",
            },
        ),
        201,
    )
    org = ok(w.client.post("/api/v1/organisations", headers=ADMIN, json={"name": "Leuven"}), 201)
    agenda = ok(w.client.get(f"/api/v1/sessions/{s['id']}/agenda-items", headers=ADMIN))
    members = ok(w.client.get(f"/api/v1/forums/{w.forums['taskforce']}/members", headers=ADMIN))
    cases = [
        (f"/api/v1/organisations/{org['id']}", {}, ["name", "kind", "country"]),
        (f"/api/v1/people/{w.people['member']}", {}, ["name", "email", "language", "country"]),
        (
            f"/api/v1/forums/{w.forums['taskforce']}/members/{members['items'][0]['id']}",
            {},
            ["role"],
        ),
        (
            f"/api/v1/sessions/{s['id']}",
            {"If-Match": f'"{s["version"]}"'},
            ["title", "starts_at", "ends_at"],
        ),
        (
            f"/api/v1/sessions/{s['id']}/agenda-items/{agenda[0]['id']}",
            {},
            ["title", "kind", "position"],
        ),
        (f"/api/v1/action-items/{item['id']}", {}, ["title", "status"]),
    ]
    readable = [f"/api/v1/sessions/{s['id']}", f"/api/v1/forums/{w.forums['taskforce']}/members"]
    readable += [f"/api/v1/sessions/{s['id']}/agenda-items", f"/api/v1/action-items/{item['id']}"]
    before = [ok(w.client.get(url, headers=ADMIN)) for url in readable]
    for url, headers, fields in cases:
        for field in fields:
            r = w.client.patch(url, headers={**ADMIN, **headers}, json={field: None})
            assert r.status_code == 422, (url, field, r.status_code, r.text)
            assert _pointers(r) == [f"/{field}"], (url, field)
    assert [ok(w.client.get(url, headers=ADMIN)) for url in readable] == before
    # What may be empty can still be emptied.
    cleared = ok(
        w.client.patch(
            f"/api/v1/action-items/{item['id']}",
            headers=ADMIN,
            json={"description": None, "due_date": None},
        )
    )
    assert cleared["description"] is None and cleared["due_date"] is None


def test_every_update_schema_knows_which_of_its_fields_may_be_null() -> None:
    """The rule comes from the tables, so a new NOT NULL column is covered without thought."""
    updates = [c for c in vars(schemas).values() if isinstance(c, type) and c is not schemas.Update]
    updates = [c for c in updates if issubclass(c, schemas.Update)]
    assert {c.__name__ for c in updates} >= {
        "ForumUpdate",
        "OrganisationUpdate",
        "PersonUpdate",
        "MembershipUpdate",
        "SessionUpdate",
        "AgendaItemUpdate",
        "ActionItemUpdate",
    }
    for update in updates:
        assert update.stores is not None, update.__name__
        columns = update.stores.__table__.columns  # type: ignore[attr-defined]
        for name in update.model_fields:
            documented = update.model_json_schema()["properties"][name]
            says_null = {"type": "null"} in documented.get("anyOf", [])
            if name in update.null_allowed:  # not stored as sent (a version, a note)
                assert says_null, (update.__name__, name)
            elif name in columns:
                assert says_null == columns[name].nullable, (update.__name__, name)
            else:
                assert not says_null, (update.__name__, name)
    assert models.Forum.__table__.columns["languages"].nullable is False  # type: ignore[attr-defined]


def _far(years: int, days: int = 0) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=365 * years + days)).replace(microsecond=0)
    return {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }


def test_a_session_far_in_the_future_is_refused_and_nothing_is_stored(w: World) -> None:
    fid = w.forums["taskforce"]
    body = w.session_body()
    # The one from the report: it ends past midnight of 9999-12-31 on the forum's clock.
    end_of_time = {**body, "starts_at": "9999-12-31T22:30:00Z", "ends_at": "9999-12-31T23:30:00Z"}
    six_years = {**body, **_far(6)}
    for attempt in (end_of_time, six_years, {**body, "starts_at": "2999-12-31T23:30:00-23:59"}):
        r = w.client.post(f"/api/v1/forums/{fid}/sessions", headers=ADMIN, json=attempt)
        assert r.status_code == 422, r.text
        assert "/starts_at" in _pointers(r)
    r = w.client.post(
        f"/api/v1/forums/{fid}/sessions",
        headers={**ADMIN, "Accept-Language": "fr-BE,fr;q=0.9"},
        json=six_years,
    )
    assert r.json()["errors"] == [
        {
            "pointer": "/starts_at",
            "detail": "une séance peut être planifiée au plus 5 ans à l’avance",
        }
    ]
    r = w.client.post(
        f"/api/v1/forums/{fid}/sessions", headers={**ADMIN, "Accept-Language": "nl"}, json=six_years
    )
    assert r.json()["detail"] == "een vergadering kan ten hoogste 5 jaar vooruit gepland worden"
    assert ok(w.client.get("/api/v1/sessions", headers=ADMIN))["total"] == 0

    # Almost five years ahead is fine; moving it past five years is refused.
    s = w.schedule(**_far(5, days=-3))
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        headers={**ADMIN, "If-Match": f'"{s["version"]}"'},
        json=_far(5, days=5),
    )
    assert r.status_code == 422 and _pointers(r) == ["/starts_at"], r.text
    r = w.client.patch(
        f"/api/v1/sessions/{s['id']}",
        headers={**ADMIN, "If-Match": f'"{s["version"]}"'},
        json={"ends_at": "9999-12-31T23:30:00Z"},
    )
    assert r.status_code == 422 and _pointers(r) == ["/ends_at"], r.text
    assert ok(w.client.get(f"/api/v1/sessions/{s['id']}", headers=ADMIN)) == s

    # The forum is whole: the list, the session's calendar file, the forum's page.
    assert ok(w.client.get("/api/v1/sessions", headers=ADMIN))["total"] == 1
    r = w.client.get(f"/api/v1/sessions/{s['id']}/calendar.ics", headers=ADMIN)
    assert r.status_code == 200 and "BEGIN:VEVENT" in r.text
    page = signed_in_as(w, "co_chair").get(f"/forums/{fid}")
    assert page.status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "10000-01-01T00:00:00",
        "0.5",
        "1700000000",
        "2027-03-29",
        "²",
    ],
)
def test_a_time_in_a_query_is_an_iso_moment_within_range(w: World, value: str) -> None:
    for name in ("starts_after", "starts_before"):
        r = w.client.get("/api/v1/sessions", headers=ADMIN, params={name: value})
        assert r.status_code == 422, (name, value, r.text)
        assert _pointers(r) == [f"/query/{name}"]


def test_booleans_ids_and_numbers_are_what_the_document_says(w: World) -> None:
    r = w.client.post("/api/v1/tokens", headers=ADMIN, json={"name": "x", "is_admin": 0})
    assert r.status_code == 422 and _pointers(r) == ["/is_admin"]
    r = w.client.post(
        "/api/v1/tokens", headers=ADMIN, json={"name": "x", "person_id": str(w.people["member"])}
    )
    assert r.status_code == 422 and _pointers(r) == ["/person_id"]
    fid = w.forums["taskforce"]
    r = w.client.patch(f"/api/v1/forums/{fid}", headers=ADMIN, json={"co_chairs_max": 2.0})
    assert r.status_code == 422 and _pointers(r) == ["/co_chairs_max"]
    r = w.client.post(
        f"/api/v1/forums/{fid}/sessions", headers=ADMIN, json=w.session_body(starts_at=1900000000)
    )
    assert r.status_code == 422 and "/starts_at" in _pointers(r)
    for params in ({"overdue": "yes"}, {"overdue": "1"}, {"forum_id": "5.0"}, {"limit": "+5"}):
        r = w.client.get("/api/v1/action-items", headers=ADMIN, params=params)
        assert r.status_code == 422, (params, r.text)
    assert w.client.get(f"/api/v1/forums/{fid}.0", headers=ADMIN).status_code == 422
    ok(w.client.get("/api/v1/action-items", headers=ADMIN, params={"overdue": "true"}))


def test_the_document_declares_each_error_status_as_problem_details(w: World) -> None:
    document = ok(w.client.get("/openapi.json"))
    patch = document["paths"]["/api/v1/sessions/{session_id}"]["patch"]["responses"]
    assert {"401", "403", "404", "409", "412", "413", "422", "428", "503"} <= set(patch)
    problem = {"$ref": "#/components/schemas/ProblemDocument"}
    assert patch["412"]["content"]["application/problem+json"]["schema"] == problem
    assert "ETag" in patch["412"]["headers"]
    assert "429" in document["paths"]["/rsvp/{token}"]["get"]["responses"]
    assert "415" in document["paths"]["/api/v1/itip/reply"]["post"]["responses"]
    assert "401" not in document["paths"]["/healthz"]["get"]["responses"]
    assert "ProblemDocument" in document["components"]["schemas"]
    # Nothing left of the framework's own 422 shape, which the API never answers.
    assert "HTTPValidationError" not in document["components"]["schemas"]
