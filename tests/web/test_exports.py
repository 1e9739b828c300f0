"""The attendance list and the action items as CSV (for a Belgian Excel) and PDF, from the
web, to the readers of the pages they come from, headers in the reader's language."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from tests.api.world import World, build_world, ok
from tests.web.pages import signed_in_as
from workflow import clock

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW + timedelta(days=2)


@pytest.fixture
def w(client) -> World:
    clock.freeze(NOW)
    return build_world(client)


def _held(w: World) -> dict:
    s = w.schedule(starts_at=START.isoformat(), ends_at=(START + timedelta(hours=2)).isoformat())
    clock.freeze(START + timedelta(minutes=30))
    ok(
        w.client.put(
            f"/api/v1/sessions/{s['id']}/attendance",
            json={
                "version": s["version"],
                "attendance": [
                    {"person_id": w.people["member"], "attendance": "present"},
                    {"person_id": w.people["observer"], "attendance": "excused"},
                ],
            },
            headers=w.auth("secretariat"),
        )
    )
    return s


def _lines(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]  # UTF-8 with BOM: Excel reads accents
    return [line.split(";") for line in body.decode("utf-8-sig").split("\r\n") if line]


def test_the_attendance_list_as_csv_and_pdf_in_the_readers_language(w: World) -> None:
    s = _held(w)
    c = signed_in_as(w, "member", lang="nl")
    page = c.get(f"/sessions/{s['id']}").text
    assert f'href="/sessions/{s["id"]}/attendance.csv"' in page
    r = c.get(f"/sessions/{s['id']}/attendance.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    head, *rows = _lines(r.content)
    assert head == ["Naam", "Organisatie", "Rol", "Antwoord", "Aanwezigheid"]
    by_name = {row[0]: row for row in rows}
    assert by_name["Koen Wouters"][4] == "aanwezig"
    assert by_name["Els Claes"][4] == "verontschuldigd"
    pdf = c.get(f"/sessions/{s['id']}/attendance.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"Aanwezigheid: {s['title']}" in text and "Koen Wouters" in text
    assert "1 aanwezig, 1 verontschuldigd, 0 afwezig" in text
    # A French reader: the same list in French (the same client, its language switched).
    fr = signed_in_as(w, "member", lang="fr").get(f"/sessions/{s['id']}/attendance.csv")
    assert _lines(fr.content)[0][0] == "Nom" and _lines(fr.content)[0][4] == "Présences"


def test_exports_have_the_pages_permissions(w: World) -> None:
    s = _held(w)
    outsider = signed_in_as(w, "outsider")
    for path in (f"/sessions/{s['id']}/attendance.csv", f"/sessions/{s['id']}/attendance.pdf"):
        r = outsider.get(path)
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    w.client.cookies.clear()
    for path in (f"/sessions/{s['id']}/attendance.csv", "/action-items.pdf?forum_id=1"):
        r = w.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=")


def test_the_boards_action_items_as_csv_and_pdf_as_filtered(w: World) -> None:
    s = w.schedule()
    late = (date.today() - timedelta(days=3)).isoformat()
    for title, due, value in (("Jobbeurs", late, 12000.5), ("Fietsroute", None, None)):
        ok(
            w.client.post(
                f"/api/v1/sessions/{s['id']}/action-items",
                json={
                    "title": title,
                    "owner_person_id": w.people["member"],
                    "due_date": due,
                    "indicator": "Bezoekers" if value else None,
                    "baseline": 0 if value else None,
                    "target": 24001 if value else None,
                    "current_value": value,
                },
                headers=w.auth("secretariat"),
            ),
            201,
        )
    c = signed_in_as(w, "co_chair", lang="nl")
    forum = w.forums["taskforce"]
    board = c.get("/action-items", params={"forum_id": forum, "sort": "status"}).text
    assert f'href="/action-items.csv?forum_id={forum}&amp;sort=status"' in board
    r = c.get("/action-items.csv", params={"forum_id": forum, "sort": "due"})
    assert r.status_code == 200
    assert f"action-items-forum-{forum}.csv" in r.headers["content-disposition"]
    head, *rows = _lines(r.content)
    assert head[:6] == ["Titel", "Forum", "Vergadering", "Trekker", "Te leveren op", "Status"]
    assert [row[0] for row in rows] == ["Jobbeurs", "Fietsroute"]  # sorted by due date
    job = dict(zip(head, rows[0], strict=True))
    assert job["Te leveren op"] == late and job["achterstallig"] == "achterstallig"
    assert job["Huidige waarde"] == "12000,5"  # a decimal comma, no grouping: Excel reads it
    assert rows[1][4] == "" and rows[1][6] == ""
    only_late = c.get("/action-items.csv", params={"overdue": "1"})
    assert [row[0] for row in _lines(only_late.content)[1:]] == ["Jobbeurs"]
    pdf = c.get("/action-items.pdf", params={"forum_id": forum})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Actiepunten" in text and "Jobbeurs" in text and "2 actiepunten" in text
    # A reader of no forum gets an empty list, not someone else's items.
    other = signed_in_as(w, "fr_mayor").get("/action-items.csv", params={"forum_id": forum})
    assert len(_lines(other.content)) == 1
