"""Fan-out benchmark: many sessions at once (default 200 sessions x 50 participants = 10,000
invitations), with exactly two worker processes.

People, forums and memberships are seeded with SQL; the sessions are scheduled through the
HTTP API (each forum's session invites its 50 members, the default of `sessions.schedule`).
Measured: the time from the first API call until the SMTP sink has every message and every
delivery row is `sent`, through the real stack (uvicorn API, Celery worker(s) and beat on
Redis, PostgreSQL). Baseline, in the same run against the same sink: the same messages,
pre-built, pushed through one aiosmtplib connection. Also sampled every 0.2 s: the resident
memory (VmRSS) of every process of the worker tree (Celery main process and pool children).

    .venv/bin/python bench/fanout.py [--sessions 200] [--participants 50] [--layout one|two]

--layout one (default): one `workflow worker --concurrency 2 --pool prefork` (the service's
default on a 2-core machine): a main process and 2 pool children. `--pool threads`: the same
worker with a thread pool, one process.
--layout two: `workflow worker --concurrency 1 --pool prefork` started twice: 2 main
processes with 1 pool child each.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.invitations import CountingSink, baseline
from tests import services
from tests.integration.processes import Proc, free_port, running, service_env, wait_for
from workflow.migrate import upgrade

ADMIN_TOKEN = "bench-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# Cleanup --------------------------------------------------------------------------------


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop processes and drop data."""

    def _raise(*_: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _raise)


def delete_queue(queue: str) -> int:
    """Remove every Redis key of this run's queue (the list, its priority lists, kombu's
    bindings) and any unacknowledged message of it left by a worker stopped mid-task."""
    r = redis.Redis.from_url(f"{services.REDIS_URL}/0")
    try:
        keys = list(r.scan_iter(match=f"*{queue}*", count=1000))
        if keys:
            r.delete(*keys)
        for tag, raw in r.hscan_iter("unacked"):
            try:
                _, exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if queue in (exchange, routing_key):
                r.hdel("unacked", tag)
                r.zrem("unacked_index", tag)
        return len(keys)
    finally:
        r.close()


def queue_length(r: redis.Redis, queue: str) -> int:
    return int(r.llen(queue))


# /proc sampling -------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, int, float] | None:
    """(parent pid, CPU seconds, RSS KiB, CPU seconds of its children that have exited and
    been waited for) from /proc/<pid>/stat, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (
        int(fields[1]),
        (int(fields[11]) + int(fields[12])) / TICK,
        int(fields[21]) * PAGE_KIB,
        (int(fields[13]) + int(fields[14])) / TICK,
    )


def _proc_kib(path: str, field: bytes) -> int | None:
    """The KiB figure of the line starting with `field` in a /proc file."""
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def vm_rss_kib(pid: int) -> int | None:
    """VmRSS from /proc/<pid>/status, in KiB."""
    return _proc_kib(f"/proc/{pid}/status", b"VmRSS:")


def pss_kib(pid: int) -> int | None:
    """Pss from /proc/<pid>/smaps_rollup, in KiB: the process's own pages, and each page it
    shares with others divided by the number that share it. Summed over a tree, every page
    counts once."""
    return _proc_kib(f"/proc/{pid}/smaps_rollup", b"Pss:")


def process_tree(roots: Iterable[int]) -> list[int]:
    """The given processes and all their descendants that are alive now."""
    parent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                parent[int(entry.name)] = st[0]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [r for r in roots if r in parent]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(out)


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        st = _stat(pid)
        if st is not None:
            out[pid] = st[1]
    return out


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (PostgreSQL's server and backends, say)."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() == name:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


class CpuMeter:
    """CPU seconds spent by a set of processes between start() and stop(). A process that
    appears in between counts from zero; one that ends in between still counts, through the
    CPU its parent reaps from it, when its parent is in the set: PostgreSQL's server reaps
    the backends of connections closed meanwhile (a pool's overflow, say), which a sum over
    the processes alive at stop() alone would leave out."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self.pids = pids
        self.before = 0.0

    def start(self) -> None:
        self.before = self._total()

    def stop(self) -> float:
        return self._total() - self.before

    def _total(self) -> float:
        total = 0.0
        for pid in self.pids():
            st = _stat(pid)
            if st is not None:
                total += st[1] + st[3]
        return total


@dataclass
class ProcPeak:
    label: str
    first_kib: int
    peak_kib: int
    cpu_seconds: float = 0.0


@dataclass
class MemorySampler:
    """Every `interval` seconds, VmRSS of each process of the trees under `roots`."""

    roots: dict[int, str]  # pid -> label
    interval: float = 0.2
    extra: Callable[[], int] | None = None  # another figure to track the peak of
    peaks: dict[int, ProcPeak] = field(default_factory=dict)
    peak_total_kib: int = 0
    peak_total_pss_kib: int = 0  # the tree's memory with shared pages counted once
    peak_extra: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _label(self, pid: int) -> str:
        if pid in self.roots:
            return f"{self.roots[pid]} main"
        return f"{self.roots.get(_parent(pid) or 0, '?')} pool child"

    def sample(self) -> None:
        total = total_pss = 0
        for pid in process_tree(self.roots):
            rss = vm_rss_kib(pid)
            if rss is None:
                continue
            total += rss
            total_pss += pss_kib(pid) or 0
            peak = self.peaks.get(pid)
            if peak is None:
                self.peaks[pid] = ProcPeak(self._label(pid), rss, rss)
            elif rss > peak.peak_kib:
                peak.peak_kib = rss
        self.peak_total_kib = max(self.peak_total_kib, total)
        self.peak_total_pss_kib = max(self.peak_total_pss_kib, total_pss)
        if self.extra is not None:
            with contextlib.suppress(Exception):
                self.peak_extra = max(self.peak_extra, self.extra())
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.sample()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for pid, cpu in cpu_seconds(self.peaks).items():
            self.peaks[pid].cpu_seconds = cpu


def _parent(pid: int) -> int | None:
    st = _stat(pid)
    return None if st is None else st[0]


# Seeding --------------------------------------------------------------------------------


def seed(db_url: str, sessions: int, participants: int) -> list[int]:
    """`sessions` forums of `participants` members each (the first one co-chair), every
    person in exactly one forum. Returns the forum ids."""
    engine = create_engine(db_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO forum (name, kind, timezone, languages, co_chairs_min, "
                "co_chairs_max, co_chairs_distinct_countries, report_lead_days, "
                "secretariat_email, secretariat_name, created_at) "
                "SELECT 'Burgemeestersoverleg regio ' || g, 'mayors_forum', 'Europe/Brussels', "
                "'[\"nl\", \"fr\"]', 1, 2, false, 5, 'secretariaat' || g || '@example.org', "
                "'Secretariaat regio ' || g, :now FROM generate_series(1, :n) AS g"
            ),
            {"n": sessions, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO person (name, email, language, country, created_at) "
                "SELECT 'Burgemeester ' || g, 'p' || g || '@example.org', "
                "(ARRAY['nl', 'fr', 'en'])[1 + g % 3], 'BE', :now "
                "FROM generate_series(1, :n) AS g"
            ),
            {"n": sessions * participants, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO membership (forum_id, person_id, role, created_at) "
                "SELECT f.id, p.id, CASE WHEN (p.rn - 1) % :per = 0 THEN 'co_chair' "
                "ELSE 'member' END, :now "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM person) AS p "
                "JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM forum) AS f "
                "ON f.rn = (p.rn - 1) / :per + 1"
            ),
            {"per": participants, "now": now},
        )
        forum_ids = list(conn.execute(text("SELECT id FROM forum ORDER BY id")).scalars())
    engine.dispose()
    return forum_ids


AGENDA = [
    {"title": "Goedkeuring verslag vorige vergadering", "kind": "decision"},
    {
        "title": "Mobiliteitsplan regio: stand van zaken",
        "kind": "discussion",
        "description": "Toelichting door de vervoerregio; bespreking van de knelpunten.",
    },
    {"title": "Varia", "kind": "information"},
]


async def schedule_all(base: str, forum_ids: list[int], clients: int) -> list[float]:
    """POST one session per forum, `clients` requests at a time. Returns each call's end time."""
    start_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    todo = iter(enumerate(forum_ids))
    done: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=120) as http:
            for i, forum_id in todo:
                starts = start_at + timedelta(hours=i % 200)
                r = await http.post(
                    f"/api/v1/forums/{forum_id}/sessions",
                    json={
                        "title": f"Burgemeestersoverleg {i + 1}",
                        "location": "Provinciehuis Leuven",
                        "starts_at": starts.isoformat(),
                        "ends_at": (starts + timedelta(hours=2)).isoformat(),
                        "agenda": AGENDA,
                    },
                )
                if r.status_code != 201:
                    raise AssertionError(
                        f"scheduling in forum {forum_id}: {r.status_code} {r.text}"
                    )
                done.append(time.perf_counter())

    await asyncio.gather(*(client() for _ in range(clients)))
    return done


class Sink(CountingSink):
    """The house sink, also noting when the first message came in."""

    first_at = 0.0

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self.first_at:
            self.first_at = time.perf_counter()
        return await super().handle_DATA(server, session, envelope)


def delivery_counts(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'sent'), count(*), max(sent_at), "
                "coalesce(sum(attempts), 0), count(*) FILTER (WHERE attempts > 1) FROM delivery"
            )
        ).one()
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM delivery GROUP BY status")).all()
        )
    return {
        "sent": row[0],
        "rows": row[1],
        "last_sent_at": row[2],
        "attempts": row[3],
        "reclaimed": row[4],
        "statuses": statuses,
    }


# Main -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--participants", type=int, default=50)
    ap.add_argument(
        "--layout",
        choices=["one", "two"],
        default="one",
        help="one: one worker with --concurrency 2 (prefork); two: two workers with "
        "--concurrency 1 (prefork) each",
    )
    ap.add_argument(
        "--pool",
        choices=["prefork", "threads"],
        default="prefork",
        help="the workers' pool: prefork (2 child processes per --concurrency 2) or threads "
        "(2 threads in the worker's one process)",
    )
    ap.add_argument("--api-clients", type=int, default=4, help="concurrent scheduling calls")
    ap.add_argument("--no-beat", action="store_true", help="do not run beat (sweep, scans)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--log-level", default="WARNING", help="of the service's processes")
    ap.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = ap.parse_args()
    n = args.sessions * args.participants

    stop_on_sigterm()
    services.require_postgres()
    services.require_redis()
    run = uuid.uuid4().hex[:8]
    db_name = f"workflow_bench_{run}"
    queue = f"bench-fanout-{run}"
    logs = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        result = measure(args, n, db_name, queue, logs)
    except BaseException:
        print(f"failed; process logs kept in {logs}", file=sys.stderr)
        raise
    if args.keep_logs:
        print(f"process logs: {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    report(args, n, result)


def measure(args: argparse.Namespace, n: int, db_name: str, queue: str, logs: Path) -> dict:
    with contextlib.ExitStack() as cleanup:
        # Unwound in reverse: processes stop first, then the sink, the queue, the database.
        cleanup.callback(services.drop_database, db_name)
        cleanup.callback(delete_queue, queue)
        db_url = services.create_database(db_name)
        upgrade(db_url)
        t_seed = time.perf_counter()
        forum_ids = seed(db_url, args.sessions, args.participants)
        seed_seconds = time.perf_counter() - t_seed

        sink = Sink()
        smtp_port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        cleanup.callback(controller.stop)
        api_port = free_port()
        env = service_env(
            database_url=db_url,
            broker_url=f"{services.REDIS_URL}/0",
            queue_name=queue,
            admin_token=ADMIN_TOKEN,
            api_port=str(api_port),
            smtp_port=str(smtp_port),
            data_dir=str(logs / "data"),
            log_level=args.log_level,
        )
        base = f"http://127.0.0.1:{api_port}"
        if args.layout == "one":
            worker_args = [["worker", "--concurrency", "2", "--pool", args.pool]]
        else:
            worker_args = [["worker", "--concurrency", "1", "--pool", args.pool]] * 2
        children = (2 if args.layout == "one" else 1) if args.pool == "prefork" else 0
        # The service's processes are stopped before the baseline runs, on the same sink.
        stack = cleanup.enter_context(contextlib.ExitStack())
        api = stack.enter_context(running("api", ["api"], env, logs))
        workers: list[Proc] = [
            stack.enter_context(running(f"worker{i}", wa, env, logs))
            for i, wa in enumerate(worker_args)
        ]
        procs: tuple[Proc, ...] = (api, *workers)
        if not args.no_beat:
            procs += (stack.enter_context(running("beat", ["beat"], env, logs)),)
        wait_for(
            lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 60, "api", procs
        )
        # Every pool child forked and the workers listening on the queue.
        wait_for(
            lambda: (
                len(process_tree(w.popen.pid for w in workers)) >= len(workers) * (1 + children)
            ),
            60,
            "worker pool children",
            procs,
        )
        time.sleep(3)

        r = redis.Redis.from_url(f"{services.REDIS_URL}/0")
        cleanup.callback(r.close)
        sampler = MemorySampler(
            {w.popen.pid: w.name for w in workers}, extra=lambda: queue_length(r, queue)
        )
        sampler.sample()  # the idle figures, before any work
        cleanup.callback(sampler.stop)
        engine = create_engine(db_url)
        cleanup.callback(engine.dispose)
        api_cpu = CpuMeter(lambda: process_tree([api.popen.pid]))
        worker_cpu = CpuMeter(lambda: process_tree(w.popen.pid for w in workers))
        pg_cpu = CpuMeter(lambda: pids_named("postgres"))
        redis_cpu = CpuMeter(lambda: pids_named("redis-server"))
        meters = {"API": api_cpu, "worker tree": worker_cpu, "PostgreSQL": pg_cpu}
        meters |= {
            "Redis": redis_cpu,
            "this script (sink, sampler)": CpuMeter(lambda: [os.getpid()]),
        }
        for meter in meters.values():
            meter.start()

        sampler.start()
        t0_wall = datetime.now(UTC)
        t0 = time.perf_counter()
        calls_done = asyncio.run(schedule_all(base, forum_ids, args.api_clients))
        api_seconds = max(calls_done) - t0
        wait_for(lambda: sink.count >= n, args.timeout, f"{n} messages at the sink", procs)
        counts = wait_for(
            lambda: (c := delivery_counts(engine))["sent"] >= n and c, 120, "all sent", procs
        )
        sampler.stop()
        cpu = {name: meter.stop() for name, meter in meters.items()}
        assert isinstance(counts, dict)
        last_sent = counts["last_sent_at"].replace(tzinfo=UTC)
        done_at = max(sink.last_at, t0 + (last_sent - t0_wall).total_seconds())
        service_seconds = done_at - t0
        first_mail = sink.first_at - t0
        time.sleep(2)  # a late duplicate would show up here
        received = sink.count
        final = delivery_counts(engine)
        stack.close()

        sink.keep = False
        messages = list(sink.messages)
        base_seconds = asyncio.run(baseline(smtp_port, messages))
    return {
        "seed_seconds": seed_seconds,
        "service_seconds": service_seconds,
        "api_seconds": api_seconds,
        "first_mail": first_mail,
        "received": received,
        "final": final,
        "cpu": cpu,
        "sampler": sampler,
        "messages": messages,
        "base_seconds": base_seconds,
    }


def report(args: argparse.Namespace, n: int, r: dict) -> None:
    sampler: MemorySampler = r["sampler"]
    messages = r["messages"]
    service_rate = n / r["service_seconds"]
    base_rate = len(messages) / r["base_seconds"]
    size = sum(len(m) for _, m in messages) / len(messages)
    if args.pool == "threads":
        layout = (
            "one `workflow worker --concurrency 2 --pool threads` (one process, 2 threads)"
            if args.layout == "one"
            else "two `workflow worker --concurrency 1 --pool threads` (2 processes)"
        )
    else:
        layout = (
            "one `workflow worker --concurrency 2 --pool prefork` (main + 2 pool children)"
            if args.layout == "one"
            else "two `workflow worker --concurrency 1 --pool prefork` (2 x (main + 1 pool child))"
        )
    cores = os.cpu_count()
    print(f"fan-out: {args.sessions} sessions x {args.participants} participants = {n} mails")
    print(f"machine: {cores} cores, shared by API, workers, beat, PostgreSQL, Redis and the sink")
    print(f"workers: {layout}")
    print(f"API: one uvicorn process (`workflow api`), {args.api_clients} concurrent clients")
    print(f"beat: {'off' if args.no_beat else 'on (service default sweep interval)'}")
    print(f"seeding {n} people and memberships with SQL: {r['seed_seconds']:.2f} s")
    print(f"average message size: {size / 1024:.1f} KiB")
    print()
    print(f"{'':40}{'messages':>9}{'seconds':>10}{'msg/s':>9}")
    rows = [
        ("service: first API call -> all sent", n, r["service_seconds"], service_rate),
        ("baseline: one aiosmtplib connection", len(messages), r["base_seconds"], base_rate),
    ]
    for name, count, seconds, rate in rows:
        print(f"{name:40}{count:>9}{seconds:>10.2f}{rate:>9.0f}")
    print(f"{'ratio service/baseline (msg/s)':40}{service_rate / base_rate:>28.2f}")
    print()
    print(f"last scheduling call answered {r['api_seconds']:8.2f} s after the first call")
    print(f"first mail at the sink        {r['first_mail']:8.2f} s")
    print(f"all {n} delivered and sent {r['service_seconds']:8.2f} s")
    print(f"peak queue depth (Redis LLEN) {sampler.peak_extra:8d} tasks")
    final = r["final"]
    print(
        f"sink received {r['received']} (duplicates: {r['received'] - n}); deliveries by status "
        f"{final['statuses']}; {final['attempts']} attempts, {final['reclaimed']} claimed twice"
    )
    spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r["cpu"].items())
    print(f"CPU seconds during the fan-out ({r['service_seconds']:.1f} s x {cores} cores): {spent}")
    print()
    print(f"worker memory: VmRSS sampled every {sampler.interval} s ({sampler.samples} samples)")
    print(f"{'pid':>8}  {'process':28}{'idle MiB':>10}{'peak MiB':>10}{'CPU s':>8}")
    for pid, p in sorted(sampler.peaks.items()):
        print(
            f"{pid:>8}  {p.label:28}{p.first_kib / 1024:>10.1f}{p.peak_kib / 1024:>10.1f}"
            f"{p.cpu_seconds:>8.1f}"
        )
    sum_peaks = sum(p.peak_kib for p in sampler.peaks.values())
    print(f"{'':10}{'sum of per-process peaks':28}{'':>10}{sum_peaks / 1024:>10.1f}")
    print(f"{'':10}{'peak of the summed samples':28}{'':>10}{sampler.peak_total_kib / 1024:>10.1f}")
    print(f"{'':10}{'peak of the summed PSS':28}{'':>10}{sampler.peak_total_pss_kib / 1024:>10.1f}")
    print(
        "(RSS counts the pages a pool child still shares with its parent after fork twice; "
        "PSS counts each page once, split among the processes sharing it.)"
    )


if __name__ == "__main__":
    main()
