"""API latency benchmark: throughput and latency of two everyday endpoints under load.

The API runs as it does in production (`workflow api`, uvicorn, on PostgreSQL) on a fresh
database seeded with SQL: one forum with a few hundred sessions (default 300) and their
participants, action items, and two other forums. 50 concurrent clients (asyncio, each with
its own httpx.AsyncClient and keep-alive connection, looping) hit, in turn, for a fixed time:

    baseline  GET  /healthz                                 (constant JSON, same app)
    (a)       GET  /api/v1/sessions?forum_id=<id>&limit=50  (a page of sessions)
    (b)       POST /api/v1/sessions/<id>/action-items       (create an action item)

Each is measured for --seconds after a short warm-up; printed: requests, req/s, p50/p99
latency and the ratios to the baseline. Client and server share the machine's cores.

Then the same three open-loop: requests sent at a fixed rate (--open-rate, 100 per second)
on a schedule made in advance, each at its time whether or not the earlier ones were answered,
for --open-seconds. Latency is measured from the time a request was due, not from when it
could be sent, so a server that falls behind is charged for the wait it causes (no
coordinated omission); the client's own lateness is printed with it.

    .venv/bin/python bench/api_latency.py [--seconds 15] [--clients 50] [--api-workers 2]
                                          [--open-rate 100] [--open-seconds 15]
"""

import argparse
import asyncio
import contextlib
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fanout import (
    ADMIN,
    ADMIN_TOKEN,
    CpuMeter,
    delete_queue,
    pids_named,
    process_tree,
    stop_on_sigterm,
)
from tests import services
from tests.integration.processes import free_port, running, service_env, wait_for
from workflow.migrate import upgrade


@dataclass
class World:
    forum_id: int
    session_ids: list[int]
    member_ids: list[int]
    sessions: int
    action_items: int


def seed(db_url: str, sessions: int, members: int, action_items: int) -> World:
    """The forum under test, with `sessions` weekly sessions from two years ago onwards,
    `members` members taking part in each, and `action_items` action items; and two other
    forums with 100 sessions each, so the forum filter has something to leave out."""
    engine = create_engine(db_url)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    first = now - timedelta(days=730)
    with engine.begin() as conn:
        forum_ids = list(
            conn.execute(
                text(
                    "INSERT INTO forum (name, kind, timezone, languages, co_chairs_min, "
                    "co_chairs_max, co_chairs_distinct_countries, report_lead_days, "
                    "secretariat_email, secretariat_name, created_at) VALUES "
                    "('Burgemeestersoverleg Oost-Brabant', 'mayors_forum', 'Europe/Brussels', "
                    "'[\"nl\"]', 1, 2, false, 5, 'secretariaat@example.org', 'Interleuven', :now),"
                    "('Conférence des bourgmestres de Charleroi Métropole', 'mayors_forum', "
                    "'Europe/Brussels', '[\"fr\"]', 1, 2, false, 5, NULL, NULL, :now),"
                    "('Eurometropool Lille-Kortrijk-Tournai', 'mayors_forum', 'Europe/Brussels', "
                    '\'["nl", "fr"]\', 2, 2, true, 5, NULL, NULL, :now) RETURNING id'
                ),
                {"now": now},
            ).scalars()
        )
        forum_id = forum_ids[0]
        conn.execute(
            text(
                "INSERT INTO person (name, email, language, country, created_at) "
                "SELECT 'Burgemeester ' || g, 'm' || g || '@example.org', "
                "(ARRAY['nl', 'fr', 'en'])[1 + g % 3], 'BE', :now "
                "FROM generate_series(1, :n) AS g"
            ),
            {"n": members, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO membership (forum_id, person_id, role, created_at) "
                "SELECT :f, id, CASE WHEN id = (SELECT min(id) FROM person) THEN 'co_chair' "
                "ELSE 'member' END, :now FROM person"
            ),
            {"f": forum_id, "now": now},
        )
        for fid, count in [(forum_id, sessions), *((f, 100) for f in forum_ids[1:])]:
            conn.execute(
                text(
                    "INSERT INTO meeting_session (forum_id, title, starts_at, ends_at, timezone, "
                    "location, status, uid, sequence, version, reconciled_version, created_at, "
                    "updated_at) "
                    "SELECT :f, 'Overleg ' || g, :first + g * interval '7 days', "
                    ":first + g * interval '7 days' + interval '2 hours', 'Europe/Brussels', "
                    "'Provinciehuis Leuven', CASE WHEN :first + g * interval '7 days' < :now "
                    "THEN 'held' ELSE 'scheduled' END, "
                    "md5(:f || '-' || g) || '@forum-workflow.example.org', 0, 1, 1, :now, :now "
                    "FROM generate_series(1, :n) AS g"
                ),
                {"f": fid, "n": count, "first": first, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO participant (session_id, person_id, role, partstat, created_at) "
                "SELECT s.id, m.person_id, CASE m.role WHEN 'co_chair' THEN 'co_chair' "
                "ELSE 'participant' END, 'accepted', :now "
                "FROM meeting_session AS s JOIN membership AS m ON m.forum_id = s.forum_id"
            ),
            {"now": now},
        )
        session_ids = list(
            conn.execute(
                text("SELECT id FROM meeting_session WHERE forum_id = :f ORDER BY id"),
                {"f": forum_id},
            ).scalars()
        )
        member_ids = list(
            conn.execute(
                text("SELECT person_id FROM membership WHERE forum_id = :f ORDER BY person_id"),
                {"f": forum_id},
            ).scalars()
        )
        conn.execute(
            text(
                "INSERT INTO action_item (forum_id, session_id, title, owner_person_id, "
                "due_date, status, version, created_at, updated_at) "
                "SELECT :f, (:sessions)[1 + g % cardinality(:sessions)], 'Actiepunt ' || g, "
                "(:members)[1 + g % cardinality(:members)], "
                "CAST(:now AS date) + (g % 400 - 200), "
                "(ARRAY['open', 'in_progress', 'done'])[1 + g % 3], 1, :now, :now "
                "FROM generate_series(1, :n) AS g"
            ),
            {
                "f": forum_id,
                "sessions": session_ids,
                "members": member_ids,
                "n": action_items,
                "now": now,
            },
        )
    engine.dispose()
    return World(forum_id, session_ids, member_ids, sessions, action_items)


def count_action_items(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM action_item")).scalar_one()
    finally:
        engine.dispose()


# Load -----------------------------------------------------------------------------------

Call = Callable[[httpx.AsyncClient, random.Random], Any]  # -> an awaitable Response


@dataclass
class Endpoint:
    name: str
    call: Call
    expect: int


@dataclass
class Measured:
    endpoint: Endpoint
    seconds: float
    latencies: list[float] = field(default_factory=list)  # of requests started in the window
    errors: int = 0
    first_error: str = ""
    ok_total: int = 0  # successes, warm-up included
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        """Nearest rank, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load(
    base: str,
    endpoint: Endpoint,
    clients: int,
    warmup: float,
    seconds: float,
    meters: dict[str, CpuMeter],
) -> Measured:
    """`clients` loops, each with its own client and connection, for warmup + seconds; only
    requests started in the last `seconds` count."""
    result = Measured(endpoint, seconds)
    loop_start = time.perf_counter()
    window_start = loop_start + warmup
    window_end = window_start + seconds

    async def client(i: int) -> None:
        rng = random.Random(i)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers=ADMIN, timeout=30, limits=limits
        ) as http:
            while (started := time.perf_counter()) < window_end:
                try:
                    r = await endpoint.call(http, rng)
                    status, body = r.status_code, r.text
                except httpx.HTTPError as exc:
                    status, body = 0, f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - started
                if status == endpoint.expect:
                    result.ok_total += 1
                if started < window_start:
                    continue
                if status == endpoint.expect:
                    result.latencies.append(elapsed)
                else:
                    result.errors += 1
                    result.first_error = result.first_error or f"{status} {body[:300]}"

    async def meter() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        for m in meters.values():
            m.start()
        cpu0 = own_cpu()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        result.cpu = {name: m.stop() for name, m in meters.items()}
        result.cpu["client (this script)"] = own_cpu() - cpu0

    await asyncio.gather(meter(), *(client(i) for i in range(clients)))
    return result


@dataclass
class OpenLoop:
    endpoint: Endpoint
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)  # from the due time, in seconds
    late: list[float] = field(default_factory=list)  # how late the client sent each
    errors: int = 0
    first_error: str = ""
    ok_total: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def percentile(self, values: list[float], q: float) -> float:
        """Nearest rank, in milliseconds."""
        ordered = sorted(values)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


async def open_loop(
    base: str,
    endpoint: Endpoint,
    rate: float,
    warmup: float,
    seconds: float,
    meters: dict[str, CpuMeter],
) -> OpenLoop:
    """Request i is due at start + i / rate; each is sent at its due time on a connection of
    a shared pool, without waiting for the earlier ones. Requests due in the warm-up are
    not counted; every request due in the window is waited for, however late."""
    result = OpenLoop(endpoint, rate, seconds)
    rng = random.Random(7)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=60, limits=limits) as http:
        start = time.perf_counter() + 0.2
        window_start = start + warmup
        total = round((warmup + seconds) * rate)

        async def one(due: float, counted: bool) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = time.perf_counter()
            try:
                r = await endpoint.call(http, rng)
                status, body = r.status_code, r.text
            except httpx.HTTPError as exc:
                status, body = 0, f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            if status == endpoint.expect:
                result.ok_total += 1
            if not counted:
                return
            if status == endpoint.expect:
                result.latencies.append(done - due)
                result.late.append(sent - due)
            else:
                result.errors += 1
                result.first_error = result.first_error or f"{status} {body[:300]}"

        async def meter() -> None:
            await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
            for m in meters.values():
                m.start()
            cpu0 = own_cpu()
            await asyncio.sleep(max(0.0, window_start + seconds - time.perf_counter()))
            result.cpu = {name: m.stop() for name, m in meters.items()}
            result.cpu["client (this script)"] = own_cpu() - cpu0

        dues = [start + i / rate for i in range(total)]
        await asyncio.gather(meter(), *(one(due, due >= window_start) for due in dues))
    return result


def endpoints(world: World) -> list[Endpoint]:
    def healthz(http: httpx.AsyncClient, rng: random.Random) -> Any:
        return http.get("/healthz")

    def list_sessions(http: httpx.AsyncClient, rng: random.Random) -> Any:
        return http.get("/api/v1/sessions", params={"forum_id": world.forum_id, "limit": 50})

    def create_action_item(http: httpx.AsyncClient, rng: random.Random) -> Any:
        session_id = rng.choice(world.session_ids)
        return http.post(
            f"/api/v1/sessions/{session_id}/action-items",
            json={
                "title": f"Opvolging mobiliteitsplan {rng.randrange(10**6)}",
                "owner_person_id": rng.choice(world.member_ids),
                "due_date": "2027-06-30",
            },
        )

    return [
        Endpoint("GET /healthz  (baseline)", healthz, 200),
        Endpoint(f"GET /api/v1/sessions?forum_id={world.forum_id}&limit=50", list_sessions, 200),
        Endpoint("POST /api/v1/sessions/{id}/action-items", create_action_item, 201),
    ]


# Main -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15, help="measured, per endpoint")
    ap.add_argument("--warmup", type=float, default=3, help="not measured, per endpoint")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--sessions", type=int, default=300, help="in the forum under test")
    ap.add_argument("--members", type=int, default=60)
    ap.add_argument("--action-items", type=int, default=500)
    ap.add_argument("--open-rate", type=float, default=100, help="open loop: requests per second")
    ap.add_argument("--open-seconds", type=float, default=15, help="open loop: measured, each")
    args = ap.parse_args()

    stop_on_sigterm()
    services.require_postgres()
    services.require_redis()
    run = uuid.uuid4().hex[:8]
    logs = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        world, results, opened, created = measure(
            args, f"workflow_bench_{run}", f"bench-api-{run}", logs
        )
    except BaseException:
        print(f"failed; process logs kept in {logs}", file=sys.stderr)
        raise
    shutil.rmtree(logs, ignore_errors=True)
    report(args, world, results, opened, created)


def measure(
    args: argparse.Namespace, db_name: str, queue: str, logs: Path
) -> tuple[World, list[Measured], list[OpenLoop], int]:
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(services.drop_database, db_name)
        cleanup.callback(delete_queue, queue)
        db_url = services.create_database(db_name)
        upgrade(db_url)
        world = seed(db_url, args.sessions, args.members, args.action_items)
        port = free_port()
        env = service_env(
            database_url=db_url,
            broker_url=f"{services.REDIS_URL}/0",
            queue_name=queue,
            admin_token=ADMIN_TOKEN,
            api_port=str(port),
            data_dir=str(logs / "data"),
            log_level="WARNING",
        )
        base = f"http://127.0.0.1:{port}"
        with running("api", ["api", "--workers", str(args.api_workers)], env, logs) as api:
            wait_for(
                lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200,
                60,
                "api",
                (api,),
            )
            # Every uvicorn worker up (with --workers 1 uvicorn serves in its own process).
            wait_for(
                lambda: (
                    len(process_tree([api.popen.pid]))
                    >= 1 + (args.api_workers > 1) * args.api_workers
                ),
                60,
                "uvicorn workers",
                (api,),
            )
            time.sleep(2)
            meters = {
                "API": CpuMeter(lambda: process_tree([api.popen.pid])),
                "PostgreSQL": CpuMeter(lambda: pids_named("postgres")),
            }
            results = []
            for endpoint in endpoints(world):
                results.append(
                    asyncio.run(
                        load(base, endpoint, args.clients, args.warmup, args.seconds, meters)
                    )
                )
                if api.popen.poll() is not None:
                    raise AssertionError(f"the API exited:\n{api.log()[-4000:]}")
            opened = []
            for endpoint in endpoints(world):
                opened.append(
                    asyncio.run(
                        open_loop(
                            base, endpoint, args.open_rate, args.warmup, args.open_seconds, meters
                        )
                    )
                )
                if api.popen.poll() is not None:
                    raise AssertionError(f"the API exited:\n{api.log()[-4000:]}")
        created = count_action_items(db_url) - args.action_items
        posted = results[2].ok_total + opened[2].ok_total
        if created != posted:
            raise AssertionError(f"{posted} action items answered 201 but {created} are stored")
    return world, results, opened, created


def report(
    args: argparse.Namespace,
    world: World,
    results: list[Measured],
    opened: list[OpenLoop],
    created: int,
) -> None:
    cores = os.cpu_count()
    workers = args.api_workers
    print(
        f"API: `workflow api --workers {workers}` (uvicorn, {workers} worker process"
        f"{'es' if workers != 1 else ''}) on PostgreSQL, admin token"
    )
    print(
        f"seeded: forum {world.forum_id} with {world.sessions} sessions of {len(world.member_ids)}"
        f" participants, {world.action_items} action items; 2 other forums x 100 sessions"
    )
    print(
        f"load: {args.clients} concurrent clients (asyncio, one httpx.AsyncClient and keep-alive "
        f"connection each, looping), {args.seconds:g} s measured per endpoint after "
        f"{args.warmup:g} s warm-up"
    )
    print(
        f"NOTE: client and server share this machine's {cores} cores (with PostgreSQL): "
        "the client's own CPU use below takes from the server's"
    )
    print()
    base = results[0]
    head = (
        f"{'endpoint':46}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'req/s vs base':>14}{'p50 vs base':>12}{'errors':>7}{'API CPU ms/req':>15}"
    )
    print(head)
    print("-" * len(head))
    for m in results:
        print(
            f"{m.endpoint.name:46}{len(m.latencies):>9}{m.rate:>8.0f}{m.percentile(0.5):>8.1f}"
            f"{m.percentile(0.99):>8.1f}{m.rate / base.rate:>14.2f}"
            f"{m.percentile(0.5) / base.percentile(0.5):>12.2f}{m.errors:>7}"
            f"{m.cpu['API'] * 1000 / max(1, len(m.latencies)):>15.2f}"
        )
    print()
    client_busy = base.cpu["client (this script)"] / args.seconds
    if client_busy > 0.85:
        print(
            f"NOTE: during the baseline the client used {client_busy:.0%} of a core (it is one "
            "Python process): /healthz is limited by the client, not the server, so the req/s "
            "ratios overstate (a) and (b) relative to what the server could do; 'API CPU ms/req' "
            "compares the server's own cost per request."
        )
        print()
    print(
        f"open loop: {args.open_rate:g} requests per second on a fixed schedule, "
        f"{args.open_seconds:g} s measured per endpoint after {args.warmup:g} s; latency from "
        "the time each request was due; 'late' is how late the client sent it"
    )
    head = (
        f"{'endpoint':46}{'requests':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'late p99':>9}{'errors':>7}{'API CPU ms/req':>15}"
    )
    print(head)
    print("-" * len(head))
    for o in opened:
        print(
            f"{o.endpoint.name:46}{len(o.latencies):>9}{o.percentile(o.latencies, 0.5):>8.1f}"
            f"{o.percentile(o.latencies, 0.99):>8.1f}{o.percentile(o.latencies, 1.0):>8.1f}"
            f"{o.percentile(o.late, 0.99):>9.1f}{o.errors:>7}"
            f"{o.cpu['API'] * 1000 / max(1, len(o.latencies)):>15.2f}"
        )
    print()
    print(f"CPU seconds while measuring ({args.seconds:g} s x {cores} cores):")
    for m in results:
        spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in m.cpu.items())
        print(f"  {m.endpoint.name:46}{spent}")
    print(f"open loop ({args.open_seconds:g} s):")
    for o in opened:
        spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in o.cpu.items())
        print(f"  {o.endpoint.name:46}{spent}")
    print(f"action items created by (b), warm-up included: {created} (all stored)")
    for m in [*results, *opened]:
        if m.errors:
            print(f"first error of {m.endpoint.name}: {m.first_error}")


if __name__ == "__main__":
    main()
