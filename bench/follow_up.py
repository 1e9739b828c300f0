"""Follow-up at scale: does the cost of a scan follow what is due, or the size of the tables?

Loads PostgreSQL with 100,000 sessions (most long held, each with its two reminder rows done)
and 1,000,000 action items (most done or due years ahead), of which exactly 100 reminders and
100 action items are due now, and one child forum with 5,000 action items and 300 held
sessions. Then times, with the clock the code reads frozen at one moment:

- one reminder scan (100 reminders due, 5 participants each: 500 deliveries owed),
- one digest scan (100 items due, 40 owners),
- one report compile for the forum with 5,000 action items,

each the median of 5 runs inside a transaction rolled back after every run, so each run sees
the same data. Baselines in the same run, on the same connection: one indexed lookup by id,
and one full pass over the action items (`count(*)`). A scan that tracks what is due costs a
small fraction of a full pass, and stays the same when the tables grow (`--scales`, by
default 1 %, 10 % and 100 % of the sizes above, so the largest is 100x the smallest).

    .venv/bin/python bench/follow_up.py [--scales 0.01,0.1,1] [--runs 5]
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from tests import services
from workflow.migrate import upgrade

NOW = datetime(2027, 6, 14, 7, 30, tzinfo=UTC)  # a Monday, 09:30 in Brussels
FORUMS = 200
PEOPLE = 5_000
DUE = 100  # reminders due, and action items due
OWNERS = 40
REPORT_FORUM = 7  # a child forum (its parent is forum 2)
REPORT_ITEMS = 5_000
REPORT_SESSIONS = 300


def load(url: str, sessions: int, items: int) -> None:
    """Bulk load with INSERT ... SELECT generate_series: seconds, not minutes."""
    engine = create_engine(url)
    now = NOW.replace(tzinfo=None)
    steps = [
        # Forums: 1 is the root; 2..11 report to it, except the report forum, which reports
        # to 2; the rest report to 8..11, so the report forum has no children at any scale.
        """INSERT INTO forum (id, name, kind, timezone, languages, co_chairs_min, co_chairs_max,
             co_chairs_distinct_countries, report_lead_days, reminder_offsets_hours,
             escalation_days, parent_id, created_at)
           SELECT i, 'Forum ' || i, 'taskforce', 'Europe/Brussels', '["nl"]', 1, 2, false, 5,
             '[168, 24]', 14,
             CASE WHEN i = 1 THEN NULL WHEN i = :report_forum THEN 2 WHEN i <= 11 THEN 1
                  ELSE 8 + (i % 4) END,
             :now - interval '10 years'
           FROM generate_series(1, :forums) i""",
        """INSERT INTO person (id, name, email, language, country, created_at)
           SELECT i, 'Persoon ' || i, 'p' || i || '@example.org', 'nl', 'BE', :now
           FROM generate_series(1, :people) i""",
        """INSERT INTO membership (forum_id, person_id, role, created_at)
           SELECT 1 + (i % :forums), i,
             CASE WHEN i <= :forums THEN 'co_chair' WHEN i <= 2 * :forums THEN 'secretariat'
                  ELSE 'member' END, :now
           FROM generate_series(1, :people) i""",
        # Sessions: all held, one a day going back, except the last DUE, which are ahead.
        # The report forum's are the first ones; no other falls in forums 1..11, so the
        # report forum and its parent have the same sessions at every scale.
        """INSERT INTO meeting_session (id, forum_id, title, starts_at, ends_at, timezone,
             status, uid, sequence, version, reconciled_version, created_at, updated_at)
           SELECT i,
             CASE WHEN i <= :report_sessions THEN :report_forum ELSE 12 + (i % (:forums - 11))
             END,
             'Overleg ' || i,
             CASE WHEN i > :sessions - :due THEN :now + interval '20 hours'
                  ELSE :now - (i % 3650) * interval '1 day' - interval '1 hour' END,
             CASE WHEN i > :sessions - :due THEN :now + interval '22 hours'
                  ELSE :now - (i % 3650) * interval '1 day' + interval '1 hour' END,
             'Europe/Brussels',
             CASE WHEN i > :sessions - :due THEN 'scheduled' ELSE 'held' END,
             'bench-' || i || '@example.org', 0, 1, 1, :now, :now
           FROM generate_series(1, :sessions) i""",
        # Two reminder rows per session: done for the past, due now for the DUE ahead.
        """INSERT INTO session_reminder (session_id, offset_hours, due_at, done_at, outcome)
           SELECT s.id, o.h, s.starts_at - o.h * interval '1 hour',
             CASE WHEN s.status = 'held' OR o.h = 168 THEN s.starts_at - o.h * interval '1 hour'
                  END,
             CASE WHEN s.status = 'held' OR o.h = 168 THEN 'sent' END
           FROM meeting_session s CROSS JOIN (VALUES (168), (24)) o(h)""",
        """INSERT INTO participant (session_id, person_id, role, partstat, created_at)
           SELECT s.id, 1 + ((s.id * 7 + k) % :people), 'participant', 'accepted', :now
           FROM meeting_session s CROSS JOIN generate_series(1, 5) k
           WHERE s.status = 'scheduled' OR s.forum_id = :report_forum""",
        # Action items: most done long ago or due years ahead; DUE due now, for OWNERS people.
        """INSERT INTO action_item (id, forum_id, session_id, title, owner_person_id, due_date,
             status, indicator, baseline, target, current_value, version, created_at,
             updated_at, completed_at)
           SELECT i, s.forum_id, s.id, 'Actie ' || i, 1 + (i % :people),
             CASE WHEN i <= :due THEN (:now)::date + (i % 14) - 7
                  ELSE (:now)::date + 1000 + (i % 500) END,
             CASE WHEN i <= :due THEN 'open' WHEN i % 10 < 7 THEN 'done' ELSE 'open' END,
             CASE WHEN i % 3 = 0 THEN 'Indicator ' || i END,
             0, 100, i % 100, 1, :now - interval '400 days', :now,
             CASE WHEN i > :due AND i % 10 < 7 THEN :now - interval '300 days' END
           FROM generate_series(1, :items) i
           JOIN meeting_session s
             ON s.id = :report_sessions + 1 + (i % (:sessions - :due - :report_sessions))""",
        "UPDATE action_item SET owner_person_id = 1 + (id % :owners) WHERE id <= :due",
        # The report forum's 5,000 items, on its own held sessions.
        # The report forum's 5,000 items: opened over the last half year, due around now,
        # four in ten done lately. Owned by partner organisations, so the digest scan's
        # 100 items stay the only ones due.
        """UPDATE action_item SET forum_id = :report_forum,
             session_id = 1 + (id % :report_sessions),
             owner_person_id = NULL,
             created_at = :now - (id % 180) * interval '1 day',
             due_date = (:now)::date + (id % 120) - 60,
             status = CASE WHEN id % 10 < 4 THEN 'done' WHEN id % 10 < 6 THEN 'in_progress'
                           ELSE 'open' END,
             completed_at = CASE WHEN id % 10 < 4 THEN :now - (id % 60) * interval '1 day' END
           WHERE id > :due AND id <= :due + :report_items""",
        "SELECT setval('action_item_id_seq', :items)",
        "SELECT setval('meeting_session_id_seq', :sessions)",
        "SELECT setval('forum_id_seq', :forums)",
        "SELECT setval('person_id_seq', :people)",
    ]
    params = {
        "now": now,
        "forums": FORUMS,
        "people": PEOPLE,
        "sessions": sessions,
        "items": items,
        "due": DUE,
        "owners": OWNERS,
        "report_forum": REPORT_FORUM,
        "report_items": REPORT_ITEMS,
        "report_sessions": REPORT_SESSIONS,
    }
    with engine.begin() as conn:
        for sql in steps:
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median seconds of `runs` calls of `fn`, each in a transaction rolled back after."""
    from sqlmodel import Session as DBSession

    from workflow.db import get_engine

    times, result = [], None
    for _ in range(runs):
        with DBSession(get_engine()) as db:
            started = time.perf_counter()
            result = fn.__call__(db)  # type: ignore[call-arg]
            times.append(time.perf_counter() - started)
            db.rollback()
    return statistics.median(times), result


def explain(sql: str) -> list[str]:
    from workflow.db import get_engine

    with get_engine().connect() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).all()
        conn.rollback()
    return [r[0] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales",
        default="0.01,0.1,1",
        help="comma-separated multiples of 100,000 sessions and 1,000,000 action items",
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    services.require_postgres()
    results: dict[float, dict[str, float]] = {}
    for scale in (float(s) for s in args.scales.split(",")):
        results[scale] = at_scale(scale, args.runs)
    if len(results) > 1:
        growth(results)


def at_scale(scale: float, runs: int) -> dict[str, float]:
    sessions = max(int(100_000 * scale), REPORT_SESSIONS + DUE + 100)
    items = max(int(1_000_000 * scale), DUE + REPORT_ITEMS + 1000)
    name = f"workflow_bench_{uuid.uuid4().hex[:8]}"
    url = services.create_database(name)
    try:
        upgrade(url)
        os.environ["WORKFLOW_DATABASE_URL"] = url
        started = time.perf_counter()
        load(url, sessions, items)
        print(f"\nloaded {sessions:,} sessions and {items:,} action items "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        return run(runs, sessions, items)
    finally:
        from workflow.config import get_settings
        from workflow.db import get_engine

        get_engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()
        services.drop_database(name)


def growth(results: dict[float, dict[str, float]]) -> None:
    """How each figure grows with the tables, against the smallest scale's."""
    scales = sorted(results)
    smallest = results[scales[0]]
    print(f"\nhow the cost grows with the data (x the figure at scale {scales[0]:g})\n")
    print(f"{'measurement':45} " + " ".join(f"{f'{s:g}x data':>12}" for s in scales))
    for label in smallest:
        cells = " ".join(f"{results[s][label] / smallest[label]:12.2f}" for s in scales)
        print(f"{label:45} {cells}")
    print("A scan that tracks what is due stays near 1 while the full pass grows with the table.")


def run(runs: int, sessions: int, items: int) -> dict[str, float]:
    from sqlmodel import Session as DBSession

    from workflow import clock, workflows
    from workflow.db import get_engine
    from workflow.follow_up import digests, reminders
    from workflow.models import AgendaItem, MeetingSession
    from workflow.reports import report_back

    workflows.load()  # the composers of the mail the scans owe
    clock.freeze(NOW)
    # The report: a session of the report forum's parent, with its report-back item.
    with DBSession(get_engine()) as db:
        parent = MeetingSession(
            forum_id=2,
            title="Burgemeestersoverleg",
            starts_at=datetime(2027, 6, 20, 8, tzinfo=UTC),
            ends_at=datetime(2027, 6, 20, 10, tzinfo=UTC),
            timezone="Europe/Brussels",
            uid=f"bench-parent-{uuid.uuid4()}@example.org",
        )
        # The parent's previous session, 90 days back: the report's period at every scale.
        previous = MeetingSession(
            forum_id=2,
            title="Burgemeestersoverleg (vorige)",
            starts_at=NOW - timedelta(days=90),
            ends_at=NOW - timedelta(days=90) + timedelta(hours=2),
            timezone="Europe/Brussels",
            status="held",
            uid=f"bench-previous-{uuid.uuid4()}@example.org",
        )
        db.add_all([parent, previous])
        db.flush()
        item = AgendaItem(session_id=parent.id, position=1, title="Forum 7",  # type: ignore[arg-type]
                          kind="report_back", child_forum_id=REPORT_FORUM)  # fmt: skip
        db.add(item)
        db.commit()
        item_id = item.id

    def compile_report(db: DBSession) -> object:
        report, _ = report_back.compile_for(
            db,
            db.get(AgendaItem, item_id),
            "bench",
            notify=False,  # type: ignore[arg-type]
        )
        return report.content["counts"]

    figures = {
        "baseline: one indexed lookup": timed(
            lambda db: db.exec(text("SELECT id FROM action_item WHERE id = 1")).all(), runs
        ),
        "baseline: one full pass over action_item": timed(
            lambda db: db.exec(text("SELECT count(*) FROM action_item")).one(), runs
        ),
        "reminder scan (100 due)": timed(lambda db: len(reminders.scan(db)), runs),
        "digest scan (100 items due)": timed(lambda db: len(digests.scan_digests(db)), runs),
        f"report compile ({REPORT_ITEMS:,} items)": timed(compile_report, runs),
    }
    full = figures["baseline: one full pass over action_item"][0]
    print(f"\n{sessions:,} sessions, {items:,} action items; median of {runs} runs\n")
    print(f"{'measurement':45} {'ms':>9} {'x full pass':>12}  result")
    for label, (seconds, result) in figures.items():
        print(f"{label:45} {seconds * 1000:9.1f} {seconds / full:12.3f}  {result}")

    print("\nplans (PostgreSQL EXPLAIN ANALYZE):")
    now = NOW.replace(tzinfo=None).isoformat(sep=" ")
    for label, sql in (
        (
            "reminder scan",
            "SELECT r.id FROM session_reminder r JOIN meeting_session s ON s.id = r.session_id "
            f"WHERE r.done_at IS NULL AND r.due_at <= '{now}' ORDER BY r.due_at, r.id LIMIT 500",
        ),
        (
            "digest scan",
            "SELECT id FROM action_item WHERE status IN ('open', 'in_progress') "
            f"AND due_date <= '{NOW.date().isoformat()}'::date + 7 "
            "AND owner_person_id IS NOT NULL",
        ),
    ):
        plan = explain(sql)
        print(f"-- {label}")
        for line in plan:
            print("   " + line)
        if any("Seq Scan on action_item" in line or "Seq Scan on session_reminder" in line
               for line in plan):  # fmt: skip
            print("   !! a sequential scan of a big table: this scan would grow with the table")
    return {label: seconds for label, (seconds, _) in figures.items()}


if __name__ == "__main__":
    main()
