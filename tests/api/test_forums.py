from tests.api.world import World, ok
from tests.conftest import ADMIN


def test_forum_tree_and_its_children(w: World) -> None:
    children = ok(
        w.client.get("/api/v1/forums", headers=ADMIN, params={"parent_id": w.forums["mayors"]})
    )
    assert [f["name"] for f in children["items"]] == ["Taskforce Spitsregio Leuven"]
    taskforce = ok(w.client.get(f"/api/v1/forums/{w.forums['taskforce']}", headers=ADMIN))
    assert taskforce["parent_id"] == w.forums["mayors"]
    assert taskforce["timezone"] == "Europe/Brussels"


def test_a_forum_cannot_report_to_its_own_taskforce(w: World) -> None:
    r = w.client.patch(
        f"/api/v1/forums/{w.forums['mayors']}",
        headers=ADMIN,
        json={"parent_id": w.forums["taskforce"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/parent_id"
    r = w.client.patch(
        f"/api/v1/forums/{w.forums['mayors']}", headers=ADMIN, json={"parent_id": 999}
    )
    assert r.status_code == 404


def test_forum_settings_are_validated(w: World) -> None:
    r = w.client.post(
        "/api/v1/forums", headers=ADMIN, json={"name": "X", "timezone": "Europe/Atlantis"}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "pointer": "/timezone",
            "detail": "unknown time zone; use an IANA name such as Europe/Brussels",
        }
    ]
    r = w.client.post(
        "/api/v1/forums", headers=ADMIN, json={"name": "X", "co_chairs_min": 3, "co_chairs_max": 2}
    )
    assert r.status_code == 422
    r = w.client.post("/api/v1/forums", headers=ADMIN, json={"name": "X", "languages": ["de"]})
    assert r.status_code == 422


def test_memberships(w: World) -> None:
    fid = w.forums["taskforce"]
    members = ok(w.client.get(f"/api/v1/forums/{fid}/members", headers=w.auth("member")))
    assert members["total"] == 5
    co_chairs = ok(
        w.client.get(
            f"/api/v1/forums/{fid}/members", headers=w.auth("member"), params={"role": "co_chair"}
        )
    )
    assert co_chairs["total"] == 2
    dup = w.client.post(
        f"/api/v1/forums/{fid}/members",
        headers=w.auth("secretariat"),
        json={"person_id": w.people["member"], "role": "observer"},
    )
    assert dup.status_code == 409
    m = ok(
        w.client.post(
            f"/api/v1/forums/{fid}/members",
            headers=w.auth("secretariat"),
            json={"person_id": w.people["outsider"], "role": "member"},
        ),
        201,
    )
    ok(
        w.client.patch(
            f"/api/v1/forums/{fid}/members/{m['id']}",
            headers=w.auth("secretariat"),
            json={"role": "observer"},
        )
    )
    # The new member's token now reads the forum.
    assert w.client.get(f"/api/v1/forums/{fid}", headers=w.auth("outsider")).status_code == 200
    assert (
        w.client.delete(
            f"/api/v1/forums/{fid}/members/{m['id']}", headers=w.auth("secretariat")
        ).status_code
        == 204
    )
    assert w.client.get(f"/api/v1/forums/{fid}", headers=w.auth("outsider")).status_code == 403
    kinds = [
        e["kind"]
        for e in ok(
            w.client.get(f"/api/v1/forums/{fid}/events", headers=ADMIN, params={"limit": 3})
        )["items"]
    ]
    assert kinds == ["membership.removed", "membership.changed", "membership.added"]


def test_people_directory(w: World) -> None:
    r = w.client.post(
        "/api/v1/people",
        headers=w.auth("secretariat"),
        json={"name": "Ann Verhaegen", "email": "Ann.Verhaegen@Example.org", "language": "fr"},
    )
    person = ok(r, 201)
    assert person["email"] == "ann.verhaegen@example.org"
    again = w.client.post(
        "/api/v1/people",
        headers=w.auth("secretariat"),
        json={"name": "Ann V.", "email": "ann.verhaegen@example.org"},
    )
    assert again.status_code == 409
    found = ok(
        w.client.get("/api/v1/people", headers=w.auth("secretariat"), params={"q": "verhaegen"})
    )
    assert [p["id"] for p in found["items"]] == [person["id"]]
    org = ok(
        w.client.post(
            "/api/v1/organisations",
            headers=w.auth("secretariat"),
            json={"name": "VDAB", "kind": "expert_agency"},
        ),
        201,
    )
    moved = ok(
        w.client.patch(
            f"/api/v1/people/{person['id']}",
            headers=w.auth("secretariat"),
            json={"organisation_id": org["id"]},
        )
    )
    assert moved["organisation_id"] == org["id"]
    bad = w.client.patch(
        f"/api/v1/people/{person['id']}",
        headers=w.auth("secretariat"),
        json={"organisation_id": 9999},
    )
    assert bad.status_code == 422
