"""Fan-out benchmark: one session with N participants (default 1,000).

Measures the time from the API call that schedules the session to the last invitation
accepted by a local SMTP sink, through the real stack (uvicorn API, a Celery worker on
Redis, PostgreSQL). Baseline, measured in the same run against the same sink: the same
messages, pre-built, pushed through one aiosmtplib connection. Prints both rates and their
ratio; the goal is at least half the baseline's rate.

    .venv/bin/python bench/invitations.py [--participants 1000] [--workers 1] [--pool prefork]
"""

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosmtplib
import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import services
from tests.integration.processes import free_port, running, service_env, wait_for
from workflow.migrate import upgrade

ADMIN = {"Authorization": "Bearer bench-admin"}


class CountingSink:
    def __init__(self) -> None:
        self.count = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.messages: list[tuple[str, bytes]] = []
        self.keep = True
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            self.last_at = time.perf_counter()
            self.first_at = self.first_at or self.last_at
            if self.keep:
                self.messages.append((envelope.rcpt_tos[0], envelope.original_content))
        return "250 OK"


def seed(db_url: str, participants: int) -> int:
    engine = create_engine(db_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        forum_id = conn.execute(
            text(
                "INSERT INTO forum (name, kind, timezone, languages, co_chairs_min, co_chairs_max, "
                "co_chairs_distinct_countries, report_lead_days, secretariat_email, "
                "secretariat_name, created_at) VALUES ('Burgemeestersoverleg Oost-Brabant', "
                "'mayors_forum', 'Europe/Brussels', '[\"nl\"]', 1, 2, false, 5, "
                "'secretariaat@example.org', 'Interleuven', :now) RETURNING id"
            ),
            {"now": now},
        ).scalar_one()
        langs = ("nl", "fr", "en")
        rows = [
            {
                "name": f"Deelnemer {i}",
                "email": f"p{i}@example.org",
                "language": langs[i % 3],
                "now": now,
            }
            for i in range(participants)
        ]
        conn.execute(
            text(
                "INSERT INTO person (name, email, language, country, created_at) "
                "VALUES (:name, :email, :language, 'BE', :now)"
            ),
            rows,
        )
        conn.execute(
            text(
                "INSERT INTO membership (forum_id, person_id, role, created_at) "
                "SELECT :f, id, CASE WHEN id = (SELECT min(id) FROM person) THEN 'co_chair' "
                "ELSE 'member' END, :now FROM person"
            ),
            {"f": forum_id, "now": now},
        )
    engine.dispose()
    return forum_id


async def baseline(port: int, messages: list[tuple[str, bytes]]) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    start = time.perf_counter()
    for rcpt, body in messages:
        await client.sendmail("bench@example.org", [rcpt], body)
    elapsed = time.perf_counter() - start
    await client.quit()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=None, help="default: the service's")
    ap.add_argument("--pool", default=None, choices=["threads", "prefork"])
    ap.add_argument("--workers", type=int, default=1, help="worker processes")
    args = ap.parse_args()
    n = args.participants
    from bench.fanout import CpuMeter, process_tree  # fanout imports this module's sink

    services.require_postgres()
    services.require_redis()
    db_url = services.create_database(f"workflow_bench_{uuid.uuid4().hex[:8]}")
    upgrade(db_url)
    forum_id = seed(db_url, n)

    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    api_port = free_port()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = service_env(
        database_url=db_url,
        broker_url=f"{services.REDIS_URL}/0",
        queue_name=queue,
        admin_token="bench-admin",
        api_port=str(api_port),
        smtp_port=str(smtp_port),
        data_dir=str(logs / "data"),
        log_level="WARNING",
    )
    base = f"http://127.0.0.1:{api_port}"
    worker_options = []
    if args.pool:
        worker_options += ["--pool", args.pool]
    if args.concurrency:
        worker_options += ["--concurrency", str(args.concurrency)]
    with running("api", ["api"], env, logs) as api, contextlib.ExitStack() as stack:
        workers = tuple(
            stack.enter_context(running(f"worker{i}", ["worker", *worker_options], env, logs))
            for i in range(args.workers)
        )
        wait_for(
            lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 60, "api", (api,)
        )
        time.sleep(3)  # let the workers connect to the broker
        start_at = datetime.now(UTC) + timedelta(days=30)
        worker_cpu = CpuMeter(lambda: process_tree(w.popen.pid for w in workers))
        worker_cpu.start()
        t0 = time.perf_counter()
        r = httpx.post(
            f"{base}/api/v1/forums/{forum_id}/sessions",
            headers=ADMIN,
            timeout=60,
            json={
                "title": "Burgemeestersoverleg",
                "location": "Leuven",
                "starts_at": start_at.isoformat(),
                "ends_at": (start_at + timedelta(hours=2)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        answered = time.perf_counter() - t0
        wait_for(lambda: sink.count >= n, 600, f"{n} invitations", (api, *workers))
        service_seconds = sink.last_at - t0
        worker_seconds = worker_cpu.stop()
    sink.keep = False
    messages = list(sink.messages)
    base_seconds = asyncio.run(baseline(smtp_port, messages))
    controller.stop()
    services.drop_database(db_url.rsplit("/", 1)[1])

    service_rate = n / service_seconds
    base_rate = n / base_seconds
    size = sum(len(m) for _, m in messages) / len(messages)
    print(f"participants                   {n}")
    options = " ".join(worker_options) or "(service defaults)"
    print(f"worker processes               {args.workers} {options}")
    print(f"average message size           {size / 1024:.1f} KiB")
    print(f"service: API call -> last mail {service_seconds:.2f} s  ({service_rate:.0f} msg/s)")
    print(f"  API call answered            {answered:.2f} s after the call")
    print(f"  first mail at the sink       {sink.first_at - t0:.2f} s after the call")
    per_mail = worker_seconds / n * 1000
    print(f"  worker CPU                   {worker_seconds:.1f} s ({per_mail:.1f} ms per mail)")
    print(f"baseline: one aiosmtplib conn  {base_seconds:.2f} s  ({base_rate:.0f} msg/s)")
    print(f"ratio service/baseline rate    {service_rate / base_rate:.2f}  (goal >= 0.50)")


if __name__ == "__main__":
    main()
