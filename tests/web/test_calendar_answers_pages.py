"""The session page shows what calendar clients said: a participant who passed the
invitation on to a deputy, and new times participants proposed, which the co-chairs adopt
through the reschedule form and its preview, or decline."""

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.api.test_itip_meaning import CAL, counter, itip
from tests.api.world import World, ok
from tests.web.pages import csrf, signed_in_as
from tests.web.test_sessions import _schedule
from workflow.invitations.reconcile import reconcile_session


def test_delegated_and_proposed_times_on_the_session_page(w: World) -> None:
    sid = _schedule(w)
    s = ok(w.client.get(f"/api/v1/sessions/{sid}", headers=w.auth("co_chair")))
    reconcile_session(sid)
    delegation = itip(
        s["uid"],
        "secretariat@example.org",
        "DELEGATED",
        **{"DELEGATED-TO": "mailto:anne@example.org"},
    )
    ok(w.client.post("/api/v1/itip/reply", content=delegation, headers=CAL))
    later = datetime.fromisoformat(s["starts_at"]).astimezone(UTC) + timedelta(days=1)
    ok(
        w.client.post(
            "/api/v1/itip/reply",
            content=counter(s["uid"], "member@example.org", later, comment="Liever dinsdag"),
            headers=CAL,
        )
    )

    # A member sees the answer, not the proposals.
    c = signed_in_as(w, "member", "nl")
    page = c.get(f"/sessions/{sid}").text
    assert "doorgegeven aan een plaatsvervanger" in page and "anne" in page
    assert "Voorgestelde nieuwe tijdstippen" not in page

    for lang, heading, delegated in (
        ("fr", "Nouveaux horaires proposés", "transmis à un suppléant"),
        ("en", "Proposed new times", "passed on to a deputy"),
    ):
        c = signed_in_as(w, "co_chair", lang)
        page = html.unescape(c.get(f"/sessions/{sid}").text)
        assert heading in page and delegated in page and "Liever dinsdag" in page
        assert "Koen Wouters" in page.split(heading)[1]
    adopt = re.search(r'href="(/sessions/\d+/reschedule\?proposal=\d+)"', page)
    assert adopt, page
    form = c.get(adopt.group(1)).text
    local = later.astimezone(ZoneInfo("Europe/Brussels"))
    assert f'value="{local:%Y-%m-%d}"' in form and f'value="{local:%H:%M}"' in form
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    moved = {k: fields[k] for k in ("csrf", "version", "proposal")}
    moved |= {"date": f"{local:%Y-%m-%d}", "start": f"{local:%H:%M}"}
    moved |= {"end": f"{local + timedelta(hours=2):%H:%M}"}
    moved |= {"title": s["title"], "location": s["location"] or "", "online_url": ""}
    preview = c.post(f"/sessions/{sid}/reschedule", data=moved)
    assert preview.status_code == 200 and "Confirm and notify" in preview.text
    r = c.post(
        f"/sessions/{sid}/reschedule", data={**moved, "confirm": "1"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    proposals = ok(w.client.get(f"/api/v1/sessions/{sid}/proposals", headers=w.auth("co_chair")))
    assert [p["status"] for p in proposals] == ["adopted"]
    page = c.get(f"/sessions/{sid}").text
    assert "adopted" in page.split("Proposed new times")[1]
    # On a phone the table stacks, each value under its label, in a box reached by keyboard.
    proposals_table = page.split("Proposed new times")[1].split("</table>")[0]
    assert 'tabindex="0"' in proposals_table and 'class="stack"' in proposals_table
    assert 'data-label="Proposed time"' in proposals_table

    # A second proposal, declined from the page.
    ok(
        w.client.post(
            "/api/v1/itip/reply",
            content=counter(s["uid"], "member@example.org", later + timedelta(days=2)),
            headers=CAL,
        )
    )
    page = c.get(f"/sessions/{sid}").text
    decline = re.search(r'action="(/sessions/\d+/proposals/\d+/decline)"', page)
    assert decline, page
    r = c.post(decline.group(1), data={"csrf": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=counter_declined")
    page = c.get(r.headers["location"]).text
    assert "The proposal is declined" in page and "not adopted" in page
    assert c.post(decline.group(1), data={}, follow_redirects=False).status_code in (400, 403)
