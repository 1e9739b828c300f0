"""The report-back page: the compiled report with its charts, versions and PDF, for the
readers of the child forum and of the parent forum."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.test_follow_up import T0, at, schedule
from tests.api.test_reports import PARENT_START, held_taskforce_session
from tests.api.world import World, build_world, ok
from tests.conftest import ADMIN
from tests.web.pages import signed_in_as
from workflow import clock


@pytest.fixture
def w(client: Any) -> World:
    clock.freeze(T0)
    return build_world(client)


def _report(w: World) -> int:
    held_taskforce_session(w)
    parent = schedule(w, PARENT_START, forum="mayors")
    at(datetime(2027, 3, 24, 9, 0, tzinfo=UTC))
    [summary] = ok(w.client.get(f"/api/v1/sessions/{parent['id']}/reports", headers=ADMIN))
    return summary["id"]


def test_the_report_page_has_its_charts_versions_and_pdf(w: World) -> None:
    rid = _report(w)
    c = signed_in_as(w, "parent_co_chair")
    page = c.get(f"/reports/{rid}/view")
    assert page.status_code == 200
    text = page.text
    assert "Follow-up report: Taskforce Spitsregio Leuven" in text
    # Action-item status and indicator progress as SVG charts with a text alternative.
    assert 'aria-labelledby="status-chart-text"' in text and "Action items opened: 2" in text
    assert (
        'aria-labelledby="indicator-chart-text"' in text and "Jobbeurs &lt;Tienen&gt;: 10%" in text
    )
    assert "<Tienen>" not in text  # escaped
    assert f'href="/reports/{rid}/view.pdf"' in text
    pdf = c.get(f"/reports/{rid}/view.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The overview lists it as the taskforce's last report-back.
    assert f'href="/reports/{rid}/view"' in c.get("/").text


@pytest.mark.parametrize(
    ("who", "status"),
    [("member", 200), ("parent_co_chair", 200), ("outsider", 403), ("fr_mayor", 403)],
)
def test_who_may_read_the_report_page(w: World, who: str, status: int) -> None:
    rid = _report(w)
    c = signed_in_as(w, who)
    assert c.get(f"/reports/{rid}/view").status_code == status
    assert c.get(f"/reports/{rid}/view.pdf").status_code == status
    assert c.get("/reports/999999/view").status_code == 404
