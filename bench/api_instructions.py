"""API cost in instructions: what one request costs the API's own code, counted by valgrind's
callgrind, which gives the same count for the same code whatever else the machine is doing
(the CPU seconds of bench/api_latency.py move by half from one minute to the next on a busy
machine). Use it to compare two versions of the code; bench/api_latency.py says what the
service does under load.

The application runs in this process, under `valgrind --tool=callgrind`, on a fresh
PostgreSQL database seeded as bench/api_latency.py seeds it (one forum with 300 sessions of
60 participants, 500 action items, two other forums). Requests are ASGI calls made one after
another with the admin token:

    baseline  GET  /healthz
    (a)       GET  /api/v1/sessions?forum_id=<id>&limit=50
    (b)       POST /api/v1/sessions/<id>/action-items

Each is warmed up (--warmup requests), then --requests are counted between
`callgrind_control -z` and `-d`. Printed: millions of instructions per request, and the ratio
to the baseline. Not counted: uvicorn's HTTP parsing (there is no server), the kernel's work
for the process, and PostgreSQL's. About four minutes.

    .venv/bin/python bench/api_instructions.py [--requests 100] [--warmup 200]
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_latency import seed
from bench.fanout import ADMIN_TOKEN, delete_queue, stop_on_sigterm
from tests import services
from tests.integration.processes import service_env
from workflow.migrate import upgrade

CASES = ("healthz", "list", "create")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100, help="counted, per endpoint")
    ap.add_argument("--warmup", type=int, default=200, help="not counted, per endpoint")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--world", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        asyncio.run(inside(json.loads(args.world), args.warmup, args.requests))
        return
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install valgrind")
    stop_on_sigterm()
    services.require_postgres()
    services.require_redis()
    run = uuid.uuid4().hex[:8]
    db_name, queue = f"workflow_bench_{run}", f"bench-instructions-{run}"
    out = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, out, ignore_errors=True)
        cleanup.callback(services.drop_database, db_name)
        cleanup.callback(delete_queue, queue)
        db_url = services.create_database(db_name)
        upgrade(db_url)
        world = seed(db_url, 300, 60, 500)
        env = service_env(
            database_url=db_url,
            broker_url=f"{services.REDIS_URL}/0",
            queue_name=queue,
            admin_token=ADMIN_TOKEN,
            data_dir=str(out / "data"),
            log_level="WARNING",
        )
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out / 'callgrind.out'}",
            sys.executable,
            __file__,
            "--inside",
            "--world="
            + json.dumps(
                {
                    "forum": world.forum_id,
                    "sessions": world.session_ids,
                    "members": world.member_ids,
                }
            ),
            f"--warmup={args.warmup}",
            f"--requests={args.requests}",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the counted run failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        counts = read_counts(out)
    report(counts, args.requests)


async def inside(world: dict[str, Any], warmup: int, requests: int) -> None:
    """Under valgrind: the application, its requests, and the counters zeroed and dumped."""
    from workflow.app import create_app

    app = create_app()
    rng = random.Random(1)
    calls = {
        "healthz": lambda: ("GET", "/healthz", b"", b""),
        "list": lambda: (
            "GET",
            "/api/v1/sessions",
            f"forum_id={world['forum']}&limit=50".encode(),
            b"",
        ),
        "create": lambda: (
            "POST",
            f"/api/v1/sessions/{rng.choice(world['sessions'])}/action-items",
            b"",
            json.dumps(
                {
                    "title": f"Opvolging mobiliteitsplan {rng.randrange(10**6)}",
                    "owner_person_id": rng.choice(world["members"]),
                    "due_date": "2027-06-30",
                }
            ).encode(),
        ),
    }
    expect = {"healthz": 200, "list": 200, "create": 201}
    pid = str(os.getpid())
    for name in CASES:
        for n in range(warmup + requests):
            if n == warmup:
                subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
            status = await call(app, *calls[name]())
            if status != expect[name]:
                sys.exit(f"{name}: answered {status}, not {expect[name]}")
        subprocess.run(["callgrind_control", "-d", name, pid], check=True, capture_output=True)


async def call(app: Any, method: str, path: str, query: bytes, body: bytes) -> int:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {ADMIN_TOKEN}".encode())]
    if body:
        headers += [(b"content-type", b"application/json")]
        headers += [(b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    received = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the answer is complete before the app would wait for a disconnect
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def read_counts(out: Path) -> dict[str, int]:
    """Instructions of each dump, by the name it was dumped with."""
    counts = {}
    for dump in out.glob("callgrind.out.*"):
        text = dump.read_text(errors="replace")
        name = re.search(r"^desc: Trigger: dump (\w+)$", text, re.M)
        total = re.search(r"^summary: (\d+)$", text, re.M)
        if name and total:
            counts[name.group(1)] = int(total.group(1))
    if set(counts) != set(CASES):
        sys.exit(f"callgrind dumps found: {sorted(counts)}, expected {list(CASES)}")
    return counts


def report(counts: dict[str, int], requests: int) -> None:
    print(
        f"API instructions per request: callgrind, in-process ASGI calls, {requests} counted "
        "per endpoint, admin token, PostgreSQL"
    )
    base = counts["healthz"] / requests
    names = {
        "healthz": "GET /healthz  (baseline)",
        "list": "GET /api/v1/sessions?forum_id=…&limit=50",
        "create": "POST /api/v1/sessions/{id}/action-items",
    }
    print(f"{'endpoint':46} {'M instr/req':>12} {'vs base':>8}")
    for name in CASES:
        per = counts[name] / requests
        print(f"{names[name]:46} {per / 1e6:12.3f} {per / base:8.2f}")


if __name__ == "__main__":
    main()
