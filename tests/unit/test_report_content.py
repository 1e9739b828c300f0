"""What a follow-up report contains: the numbers a mayor reads, for a taskforce with a
working group under it (the grandchild rolls up through its parent)."""

from datetime import UTC, date, datetime, timedelta

from workflow.follow_up.due import ItemFacts
from workflow.reports.content import (
    ForumFacts,
    ItemRecord,
    Outcome,
    SessionFacts,
    compile_report,
)

START = datetime(2027, 3, 1, tzinfo=UTC)
END = datetime(2027, 6, 1, tzinfo=UTC)
TODAY = date(2027, 6, 1)


def record(
    iid: int, forum: int, *, created: datetime, status: str = "open", **kw: object
) -> ItemRecord:
    facts = {
        "due_date": kw.pop("due_date", None),
        "baseline": kw.pop("baseline", None),
        "target": kw.pop("target", None),
        "current_value": kw.pop("current_value", None),
        "completed_on": kw["completed_at"].date() if kw.get("completed_at") else None,  # type: ignore[union-attr]
    }
    return ItemRecord(
        facts=ItemFacts(
            id=iid,
            forum_id=forum,
            owner_person_id=1,
            status=status,
            created_on=created.date(),
            **facts,  # type: ignore[arg-type]
        ),
        title=f"Item {iid}",
        owner="Mieke Vandenberghe",
        created_at=created,
        **kw,  # type: ignore[arg-type]
    )


def test_a_taskforce_report_with_its_working_group_rolled_up() -> None:
    working_group = ForumFacts(
        id=3,
        name="Themawerkgroep Mobiliteit",
        sessions=(
            SessionFacts(
                30,
                "Werkgroep april",
                datetime(2027, 4, 20, 8, tzinfo=UTC),
                ("present", "absent", None),
                (Outcome("Fietsroutes", "Goedgekeurd", "decision"),),
            ),
        ),
        items=(
            record(31, 3, created=datetime(2027, 4, 20, tzinfo=UTC), due_date=date(2027, 5, 1)),
        ),
    )
    taskforce = ForumFacts(
        id=2,
        name="Taskforce Spitsregio Leuven",
        sessions=(
            SessionFacts(
                20,
                "Taskforce maart",
                datetime(2027, 3, 15, 13, tzinfo=UTC),
                ("present", "present", "excused", "absent"),
                (
                    Outcome("Jobkanalen", "Akkoord", "decision"),
                    Outcome("Opleidingen", "Uitgesteld", "decision"),
                ),
            ),
            # Before the period: not in this report.
            SessionFacts(
                19,
                "Taskforce januari",
                datetime(2027, 1, 10, tzinfo=UTC),
                ("present",),
                (Outcome("Oud", "x", "decision"),),
            ),
        ),
        items=(
            record(
                21,
                2,
                created=datetime(2027, 3, 15, tzinfo=UTC),
                due_date=date(2027, 12, 31),
                indicator="Vacatures ingevuld",
                unit="personen",
                baseline=0.0,
                target=100.0,
                current_value=10.0,
            ),
            record(
                22,
                2,
                created=datetime(2027, 1, 10, tzinfo=UTC),
                status="done",
                completed_at=datetime(2027, 4, 2, tzinfo=UTC),
            ),
            record(
                23,
                2,
                created=datetime(2027, 1, 10, tzinfo=UTC),
                due_date=date(2027, 5, 15),
                escalated_at=datetime(2027, 5, 20, tzinfo=UTC),
                escalation_note="Budget nodig",
            ),
            # Decided already: no longer asks the mayors anything.
            record(
                24,
                2,
                created=datetime(2027, 1, 10, tzinfo=UTC),
                due_date=date(2027, 9, 1),
                escalated_at=datetime(2027, 4, 1, tzinfo=UTC),
                parent_decision="Ja",
            ),
        ),
        children=(working_group,),
    )
    report = compile_report(
        taskforce,
        parent={"forum_id": 1, "forum_name": "Burgemeestersoverleg Oost-Brabant", "session_id": 9},
        period_start=START,
        period_end=END,
        today=TODAY,
    )
    assert report["forum"]["name"] == "Taskforce Spitsregio Leuven"
    assert [s["id"] for s in report["sessions"]] == [20]
    assert report["sessions"][0]["attendance"] == {
        "present": 2,
        "excused": 1,
        "absent": 1,
        "unrecorded": 0,
    }
    assert [d["agenda_item"] for d in report["decisions"]] == ["Jobkanalen", "Opleidingen"]
    assert [i["id"] for i in report["action_items"]["opened"]] == [21]
    assert [i["id"] for i in report["action_items"]["done"]] == [22]
    assert [(i["id"], i["days_overdue"]) for i in report["action_items"]["overdue"]] == [(23, 17)]
    [indicator] = report["indicators"]
    assert indicator["progress"] == 0.1 and indicator["target"] == 100.0
    assert indicator["behind_target_path"] is True  # 10% at about a third of the way
    assert [e["id"] for e in report["escalations"]] == [23]
    assert report["escalations"][0]["note"] == "Budget nodig"
    assert report["counts"] == {
        "sessions_held": 1,
        "decisions": 2,
        "outcomes": 0,
        "action_items_opened": 1,
        "action_items_done": 1,
        "action_items_overdue": 1,
        "action_items_open": 3,
        "indicators_behind": 1,
        "escalations": 1,
    }
    [child] = report["children"]
    assert child["forum"]["name"] == "Themawerkgroep Mobiliteit"
    assert child["sessions"][0]["attendance"]["unrecorded"] == 1
    assert child["counts"]["action_items_overdue"] == 1
    # The totals count the whole subtree.
    assert report["totals"]["sessions_held"] == 2
    assert report["totals"]["decisions"] == 3
    assert report["totals"]["action_items_opened"] == 2
    assert report["totals"]["action_items_overdue"] == 2
    assert report["period"] == {"start": START.isoformat(), "end": END.isoformat()}


def test_an_empty_period_gives_zeros_not_errors() -> None:
    report = compile_report(
        ForumFacts(5, "Nieuwe werkgroep"),
        parent={"forum_id": 1},
        period_start=START,
        period_end=START + timedelta(days=1),
        today=TODAY,
    )
    assert set(report["totals"].values()) == {0}
    assert report["children"] == [] and report["sessions"] == []


def test_a_cancelled_item_is_not_counted_as_opened() -> None:
    created = datetime(2027, 4, 1, tzinfo=UTC)
    report = compile_report(
        ForumFacts(
            5,
            "Werkgroep",
            items=(
                record(51, 5, created=created),
                record(52, 5, created=created, status="cancelled", due_date=date(2027, 4, 2)),
            ),
        ),
        parent={"forum_id": 1},
        period_start=START,
        period_end=END,
        today=TODAY,
    )
    assert report["totals"]["action_items_opened"] == 1
    assert [i["id"] for i in report["action_items"]["opened"]] == [51]
    assert report["totals"]["action_items_overdue"] == 0


def test_the_mayors_decisions_of_the_period_are_reported_with_their_question() -> None:
    asked = datetime(2027, 2, 1, tzinfo=UTC)
    decided = {"escalated_at": asked, "escalation_note": "Budget?", "parent_decision": "Ja."}
    report = compile_report(
        ForumFacts(
            5,
            "Werkgroep",
            items=(
                record(61, 5, created=asked, **decided, parent_decided_at=START + timedelta(1)),
                # decided before the period: in an earlier report, not this one
                record(62, 5, created=asked, **decided, parent_decided_at=START - timedelta(1)),
                record(63, 5, created=asked, escalated_at=asked, escalation_note="Nog open?"),
            ),
        ),
        parent={"forum_id": 1},
        period_start=START,
        period_end=END,
        today=TODAY,
    )
    [d] = report["parent_decisions"]
    assert (d["id"], d["note"], d["decision"]) == (61, "Budget?", "Ja.")
    assert d["decided_at"] == (START + timedelta(1)).isoformat()
    assert [e["id"] for e in report["escalations"]] == [63]


def test_every_outcome_is_reported_and_the_decisions_apart() -> None:
    """A meeting recorded on the web: outcomes on items for discussion and information count
    as much as those of items for decision, which are listed apart."""
    held = SessionFacts(
        40,
        "Taskforce mei",
        datetime(2027, 5, 3, 13, tzinfo=UTC),
        ("present",),
        (
            Outcome("Stand van zaken", "Toegelicht", "information"),
            Outcome("Mobiliteitsplan", "Besproken; terug in juni", "discussion"),
            Outcome("Budget jobbeurs", "Goedgekeurd: € 5 000", "decision"),
            Outcome("Werkgroep Mobiliteit", "Rapport ontvangen", "report_back"),
        ),
    )
    group = ForumFacts(
        6,
        "Werkgroep",
        sessions=(
            SessionFacts(
                60,
                "Werkgroep mei",
                datetime(2027, 5, 4, tzinfo=UTC),
                (),
                (Outcome("Fietsroutes", "Besproken"),),  # an item's kind is discussion unless set
            ),
        ),
    )
    report = compile_report(
        ForumFacts(5, "Taskforce", sessions=(held,), children=(group,)),
        parent={"forum_id": 1},
        period_start=START,
        period_end=END,
        today=TODAY,
    )
    assert [(d["agenda_item"], d["outcome"]) for d in report["decisions"]] == [
        ("Budget jobbeurs", "Goedgekeurd: € 5 000")
    ]
    assert [(o["agenda_item"], o["kind"], o["session_id"]) for o in report["outcomes"]] == [
        ("Stand van zaken", "information", 40),
        ("Mobiliteitsplan", "discussion", 40),
        ("Werkgroep Mobiliteit", "report_back", 40),
    ]
    assert (report["counts"]["decisions"], report["counts"]["outcomes"]) == (1, 3)
    assert (report["totals"]["decisions"], report["totals"]["outcomes"]) == (1, 4)
    assert report["children"][0]["outcomes"][0]["outcome"] == "Besproken"
