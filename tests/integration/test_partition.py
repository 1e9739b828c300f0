"""A worker on another machine cut off, not killed: it runs in a network namespace of its own,
reaching PostgreSQL, Redis and the SMTP server over a veth link, and that link goes down in the
middle of a fan-out (packets dropped, nobody told), then comes back.

The worker on this side takes over what the cut-off one held once its lease has run out;
nothing is lost; the cut-off worker, back on the network, records nothing over what the other
one did and works again; and the only mail sent twice is one the cut-off worker had already
handed to the SMTP server, at most one per process of that worker.
"""

import asyncio
import contextlib
import email.parser
import email.policy
import ipaddress
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests import services
from tests.integration.conftest import ADMIN
from tests.integration.processes import Proc, free_port, running, wait_for, wait_ready
from tests.integration.smtp_sink import Sink, smtp_sink
from tests.integration.tcp_proxy import tcp_proxy
from tests.integration.test_faults import _seed
from tests.integration.test_outages import PEOPLE, _all_sent, _schedule, _world

pytestmark = pytest.mark.integration

PARTICIPANTS = 60
CONCURRENCY = 2  # pool processes or threads per worker
LEASE = 10  # seconds
SMTP_TIMEOUT = 5  # seconds
CUT_AFTER = 8  # mails the remote worker has sent before its link goes down

# Names carry the creating process's id, so a run can tell a crashed run's leftovers (their
# process is gone) from those of another run going on at the same time.
NS_PREFIX = "wfpart-"
HOST_END = "wfh"  # the veth end on this side
NS_END = "wfn"  # the veth end inside the namespace


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15)
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout


def _quietly(*args: str) -> None:
    subprocess.run(["ip", *args], capture_output=True, timeout=15, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _creator(name: str, prefix: str) -> int | None:
    if not name.startswith(prefix):
        return None
    try:
        return int(name[len(prefix) :], 16)
    except ValueError:
        return None


def _remove_stale() -> None:
    """Namespaces and veth ends left behind by an earlier run that crashed."""
    for line in _ip("netns", "list").splitlines():
        name = line.split(" ", 1)[0]
        pid = _creator(name, NS_PREFIX)
        if pid is not None and not _alive(pid):
            _quietly("netns", "del", name)
    for line in _ip("-o", "link", "show").splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0]
        pid = _creator(name, HOST_END)
        if pid is not None and not _alive(pid):
            _quietly("link", "del", name)


def _unused_link_local() -> ipaddress.IPv4Network:
    """A link-local /30 that no address or route on this machine touches."""
    taken = []
    for listing in (_ip("-o", "-4", "addr", "show"), _ip("-4", "route", "show", "table", "all")):
        for word in listing.split():
            with contextlib.suppress(ValueError):
                net = ipaddress.ip_network(word, strict=False)
                if net.version == 4 and net.prefixlen > 16:  # a route for all of 169.254/16 is fine
                    taken.append(net)
    for _ in range(500):
        # Neither the first nor the last /24 (reserved, RFC 3927), nor 169.254.169.x (where
        # clouds serve instance metadata).
        third = random.choice([n for n in range(1, 255) if n != 169])
        net = ipaddress.ip_network(f"169.254.{third}.{4 * random.randrange(64)}/30")
        if not any(net.overlaps(t) for t in taken):
            return net  # type: ignore[return-value]
    raise AssertionError("no unused link-local /30 found")


def _mac(*where: str) -> str:
    words = _ip(*where).split()
    return words[words.index("link/ether") + 1]


@dataclass
class Link:
    ns: str
    host_end: str
    host_addr: str  # this side: where the remote worker finds PostgreSQL, Redis and SMTP
    ns_addr: str  # the remote worker's own address
    ns_mac: str

    @property
    def inside(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]

    def cut(self) -> None:
        """This side's end down: to the namespace the carrier is gone and every packet it
        sends is dropped; nothing answers, nothing refuses."""
        _ip("link", "set", self.host_end, "down")

    def heal(self) -> None:
        _ip("link", "set", self.host_end, "up")
        # Taking the link down flushed this side's neighbour entry.
        _ip(
            "neigh", "replace", self.ns_addr, "lladdr", self.ns_mac, "dev", self.host_end,
            "nud", "permanent",
        )  # fmt: skip


def _cannot(why: object) -> None:
    services._unavailable("A network namespace", why, state="cannot be created")


def _build(ns: str, host_end: str, ns_end: str, host_addr: str, ns_addr: str) -> str:
    """Namespace, veth pair, addresses; returns the namespace end's MAC address."""
    _ip("netns", "add", ns)
    _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end, "netns", ns)
    # No IPv6 link-local address either: the link has only the two addresses given here.
    _ip("link", "set", host_end, "addrgenmode", "none")
    _ip("-n", ns, "link", "set", ns_end, "addrgenmode", "none")
    _ip("addr", "add", f"{host_addr}/30", "dev", host_end)
    _ip("link", "set", host_end, "up")
    _ip("-n", ns, "addr", "add", f"{ns_addr}/30", "dev", ns_end)
    _ip("-n", ns, "link", "set", ns_end, "up")
    _ip("-n", ns, "link", "set", "lo", "up")
    host_mac = _mac("-o", "link", "show", "dev", host_end)
    ns_mac = _mac("-n", ns, "-o", "link", "show", "dev", ns_end)
    # Fixed neighbours on both ends: with the link down a packet is simply lost, as on a real
    # network, instead of a failed ARP lookup answering "no route to host".
    _ip("neigh", "replace", ns_addr, "lladdr", ns_mac, "dev", host_end, "nud", "permanent")
    _ip(
        "-n", ns, "neigh", "replace", host_addr, "lladdr", host_mac, "dev", ns_end,
        "nud", "permanent",
    )  # fmt: skip
    return ns_mac


@contextmanager
def network_namespace() -> Iterator[Link]:
    """A namespace with a veth link to this one, on a link-local /30 the test picks; removed
    afterwards whatever happened."""
    if shutil.which("ip") is None:
        _cannot("no `ip` program: apt-get install iproute2")
    if os.geteuid() != 0:
        _cannot("the test must run as root")
    _remove_stale()
    token = f"{os.getpid():x}"
    ns, host_end, ns_end = NS_PREFIX + token, HOST_END + token, NS_END + token
    net = _unused_link_local()
    host_addr, ns_addr = (str(a) for a in net.hosts())
    try:
        try:
            ns_mac = _build(ns, host_end, ns_end, host_addr, ns_addr)
        except subprocess.CalledProcessError as exc:
            _cannot(f"{' '.join(exc.cmd)}: {exc.stderr.strip() or exc.returncode}")
        yield Link(ns, host_end, host_addr, ns_addr, ns_mac)
    finally:
        _quietly("netns", "del", ns)  # takes the veth pair with it
        _quietly("link", "del", host_end)


_headers = email.parser.BytesHeaderParser(policy=email.policy.default)


class Cutter:
    """Cuts the link at the worst moment for the remote worker: one of its processes holds a
    message the SMTP server has accepted (its answer is then lost on the way back); in a
    prefork pool, the other process has just changed a row in a transaction PostgreSQL holds
    open for it (its locks stay)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.armed = threading.Event()
        self.done = threading.Event()
        self.mid_transaction = False
        self._lock = threading.Lock()

    def now(self, mid_transaction: bool = False) -> None:
        with self._lock:
            if not self.done.is_set():
                self.link.cut()
                self.mid_transaction = mid_transaction
                self.done.set()

    def watch_postgres(self, data: bytes, from_client: bool) -> None:
        # An UPDATE's CommandComplete followed by ReadyForQuery "in transaction": the server
        # has changed rows and waits for the client's next word. Cut before it hears back.
        # (A mail's mark commits by itself; a claim, or what a batch's mails show, does not.)
        if self.armed.is_set() and not from_client and IN_TRANSACTION_AFTER_UPDATE.search(data):
            self.now(mid_transaction=True)


IN_TRANSACTION_AFTER_UPDATE = re.compile(
    rb"C\x00\x00\x00.UPDATE \d+\x00Z\x00\x00\x00\x05T", re.DOTALL
)


@dataclass
class PartitionSink(Sink):
    """Takes 30 ms per message and notes who handed over each one. At the remote worker's
    CUT_AFTER-th message it arms the cutter and holds the message until the cut, then accepts
    it. A prefork worker's other process is cut mid-transaction (waiting for that at most a
    little less than the worker's SMTP timeout, holding this side's messages meanwhile); a
    thread pool's other sends wait behind the held one on the process's one SMTP connection,
    so the cut comes at once."""

    remote: str = ""
    cutter: Cutter | None = None
    wait_for_transaction: bool = False
    arrivals: list[tuple[str, str, float]] = field(default_factory=list)  # peer, Message-ID, time

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        await asyncio.sleep(0.03)
        peer = session.peer[0]
        cutter = self.cutter
        if peer != self.remote and cutter is not None:
            # While the cut waits for its moment, this side's worker waits too (an SMTP server
            # slow to answer), so that the cut still comes early in the fan-out.
            deadline = time.monotonic() + SMTP_TIMEOUT - 1
            while cutter.armed.is_set() and not cutter.done.is_set():
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.005)
        if peer == self.remote and cutter is not None and not cutter.armed.is_set():
            with self.lock:
                there = sum(1 for p, _, _ in self.arrivals if p == self.remote)
                here = len(self.arrivals) - there
            if there + 1 >= CUT_AFTER and here >= CUT_AFTER:
                cutter.armed.set()
                deadline = time.monotonic() + (SMTP_TIMEOUT - 1 if self.wait_for_transaction else 0)
                while not cutter.done.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                cutter.now()
        answer = await super().handle_DATA(server, session, envelope)
        message_id = str(_headers.parsebytes(envelope.original_content or b"")["Message-ID"])
        with self.lock:
            self.arrivals.append((peer, message_id, time.time()))
        return answer


def _rows(engine, where: str = "true") -> list[Any]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id, status, attempts, message_id, lease_until, session_id "
                    f"FROM delivery WHERE {where} ORDER BY id"
                )
            )
        )


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_a_worker_cut_off_mid_fan_out(stack: dict, pool: str) -> None:
    started = time.monotonic()
    with network_namespace() as link:
        _run(stack, link, pool)
    print(f"partition test ({pool}) took {time.monotonic() - started:.1f}s")


def _processes(pool: str) -> int:
    """How many of the remote worker's mails can be on their way at once: one per process,
    each with its one SMTP connection."""
    return CONCURRENCY if pool == "prefork" else 1


def _run(stack: dict, link: Link, pool: str) -> None:
    engine = stack["engine"]
    env = {
        **stack["env"],
        "WORKFLOW_WORKER_POOL": pool,
        "WORKFLOW_DELIVERY_LEASE_SECONDS": str(LEASE),
        "WORKFLOW_DATABASE_IDLE_TRANSACTION_SECONDS": str(LEASE),
        # Calendars listing only the co-chairs and the recipient: quick to compose, as this
        # test is about the network.
        "WORKFLOW_CALENDAR_ATTENDEE_LIMIT": "2",
        "WORKFLOW_SMTP_TIMEOUT": str(SMTP_TIMEOUT),
    }
    database = make_url(env["WORKFLOW_DATABASE_URL"])
    broker = urlsplit(services.REDIS_URL)
    with (
        smtp_sink(PartitionSink) as sink,
        tcp_proxy((database.host or "127.0.0.1", database.port or 5432), link.host_addr) as pg,
        tcp_proxy((broker.hostname or "127.0.0.1", broker.port or 6379), link.host_addr) as rd,
    ):
        sink.remote, sink.cutter = link.ns_addr, Cutter(link)
        # Another process of the remote worker can be caught mid-transaction.
        sink.wait_for_transaction = _processes(pool) > 1
        pg.watch = sink.cutter.watch_postgres
        remote_smtp = Controller(sink, hostname=link.host_addr, port=free_port())
        remote_smtp.start()
        env["WORKFLOW_SMTP_PORT"] = str(sink.port)
        # The remote worker: the same settings, with this side's veth address in every URL.
        remote_env = {
            **env,
            "WORKFLOW_DATABASE_URL": database.set(
                host=link.host_addr, port=pg.port
            ).render_as_string(hide_password=False),
            "WORKFLOW_BROKER_URL": f"redis://{link.host_addr}:{rd.port}/0",
            "WORKFLOW_SMTP_HOST": link.host_addr,
            "WORKFLOW_SMTP_PORT": str(remote_smtp.port),
        }
        worker = ["worker", "--concurrency", str(CONCURRENCY)]
        try:
            with (
                running("api", ["api"], env, stack["logs"]) as api,
                running("beat", ["beat"], env, stack["logs"]) as beat,
                running("worker-here", worker, env, stack["logs"]) as here,
                running("worker-there", worker, remote_env, stack["logs"], link.inside) as there,
            ):
                cut = _fan_out_with_a_cut(stack, link, sink, api, beat, here, there)
        finally:
            remote_smtp.stop()
    _check(engine, link, sink, cut, _processes(pool))


@dataclass
class Cut:
    at: float = 0.0
    sent: int = 0  # invitations in the sink when the link went down
    held: dict[str, datetime] = field(default_factory=dict)  # sending then: Message-ID -> lease end
    healed_at: float = 0.0
    mid_transaction: bool = False  # one of its processes was inside a transaction


def _fan_out_with_a_cut(stack, link, sink, api, beat, here, there) -> Cut:  # type: ignore[no-untyped-def]
    engine = stack["engine"]
    procs = (api, beat, here, there)
    wait_ready(stack["base"], api)
    wait_for(
        lambda: all("ready" in w.log() for w in (here, there)), 60, "both workers ready", procs
    )
    client = httpx.Client(base_url=stack["base"], headers=ADMIN, timeout=15)
    forum = client.post("/api/v1/forums", json={"name": "Burgemeestersoverleg"}).json()
    _seed(engine, forum["id"], PARTICIPANTS)
    _schedule(client, forum["id"], days=9)

    assert sink.cutter is not None
    wait_for(sink.cutter.done.is_set, 90, "the remote worker's link cut mid fan-out", procs)
    cut = Cut(at=time.time(), sent=sink.count(), mid_transaction=sink.cutter.mid_transaction)
    cut.held = {row.message_id: row.lease_until for row in _rows(engine, "status = 'sending'")}
    assert cut.sent < PARTICIPANTS * 3 // 4, "the cut came too late to prove anything"

    # Cut off, the remote worker still runs. This side's worker goes on with the fan-out and
    # takes over what the other held once its lease has run out; what the other had locked in
    # its open transaction is released by then too.
    def taken_over() -> bool:
        held = ", ".join(f"'{m}'" for m in cut.held) or "''"
        return time.time() >= cut.at + LEASE + 1 and not _rows(
            engine, f"message_id IN ({held}) AND status <> 'sent'"
        )

    wait_for(taken_over, LEASE + 60, "the worker on this side taking over", procs)
    link.heal()
    cut.healed_at = time.time()
    wait_for(lambda: _all_sent(engine, PARTICIPANTS), 60, "the whole fan-out sent", procs)

    # Back on the network, the remote worker works again: with this side's worker stopped,
    # only it can send the invitations of another forum's session.
    here.kill()
    forum_id = _world(client, "back")
    _schedule(client, forum_id, days=12)
    wait_for(
        lambda: _all_sent(engine, PARTICIPANTS + PEOPLE),
        90,
        "the remote worker sending again after the link came back",
        (api, beat, there),
    )
    # Every task it took, before the cut too, has finished: whatever it had to say late is said.
    wait_for(lambda: _idle(there), 60, "the remote worker idle", (api, beat, there))
    wait_for(
        lambda: _all_sent(engine, PARTICIPANTS + PEOPLE), 30, "everything still sent", (there,)
    )
    return cut


_TASK = re.compile(
    r"Task workflow\.send_(?:delivery|batch)\[([0-9a-f-]+)\] (received|succeeded|raised)"
)


def _idle(worker: Proc) -> bool:
    """Has the worker finished every delivery task it received?"""
    open_tasks: set[str] = set()
    for task_id, what in _TASK.findall(worker.log()):
        if what == "received":
            open_tasks.add(task_id)
        else:
            open_tasks.discard(task_id)
    return not open_tasks


def _check(engine, link: Link, sink: PartitionSink, cut: Cut, processes: int) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(engine)
    assert [r.status for r in rows if r.status != "sent"] == []  # every delivery ends sent
    expected = {f"p{i}@example.org" for i in range(PARTICIPANTS)} | {
        f"back{i}@example.org" for i in range(PEOPLE)
    }
    assert {r.rcpt for r in sink.received} == expected  # nobody missed their invitation
    assert {m for p, m, _ in sink.arrivals if p == link.ns_addr if m not in cut.held}, (
        "the remote worker sent nothing"
    )
    assert {m for p, m, t in sink.arrivals if p == link.ns_addr and t > cut.healed_at}, (
        "the remote worker sent nothing after the link came back"
    )

    # Taken over: what the remote worker held at the cut, sent here only after its lease.
    taken_over = {r.message_id for r in rows if r.attempts > 1}
    assert taken_over, "nothing the cut-off worker held was taken over"
    assert taken_over <= set(cut.held), (taken_over, cut.held)
    for message_id in taken_over:
        here_at = min(t for p, m, t in sink.arrivals if m == message_id and p != link.ns_addr)
        assert here_at >= cut.held[message_id].timestamp() - 0.1, (
            "taken over before the lease ended"
        )

    per_message = Counter(m for _, m, _ in sink.arrivals)
    doubled = {m: n for m, n in per_message.items() if n > 1}
    remote = {m for p, m, _ in sink.arrivals if p == link.ns_addr}
    # Sent twice: only what the cut-off worker had handed to the SMTP server when its link went
    # down, its copy and the one sent here after the lease. Each of its processes holds one
    # SMTP conversation at a time, so that is at most one mail per process; the sink
    # guaranteed one by cutting while it held a message.
    assert all(n == 2 for n in doubled.values()), doubled
    assert set(doubled) <= remote & taken_over, (doubled, taken_over)
    assert 1 <= len(doubled) <= processes, doubled
    back = min(t for p, _, t in sink.arrivals if p == link.ns_addr and t > cut.healed_at)
    print(
        f"link down {cut.healed_at - cut.at:.1f}s; remote worker sending again "
        f"{back - cut.healed_at:.1f}s after it came back"
    )
    print(
        f"cut after {cut.sent} of {PARTICIPANTS} invitations "
        f"({'inside' if cut.mid_transaction else 'outside'} a transaction); "
        f"held at the cut: {len(cut.held)}; "
        f"taken over: {len(taken_over)}; sent twice: {len(doubled)}"
    )
