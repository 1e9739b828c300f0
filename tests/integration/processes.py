"""Start the service's real processes (API, worker, beat, capture SMTP) for a test."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Outside the embedded mode the service refuses the documented default key; the processes
# of a test share this one with the test process (tests/conftest.py). `secret_key=""` leaves
# it unset, as a first-time user of `workflow up` has it.
TEST_SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnopqrstuv"


def service_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env["WORKFLOW_SECRET_KEY"] = TEST_SECRET_KEY
    env.update({f"WORKFLOW_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Proc:
    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_dir: Path,
        prefix: Sequence[str] = (),
    ) -> None:
        """`prefix` runs the process through another command (e.g. `ip netns exec NS`)."""
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [*prefix, sys.executable, "-m", "workflow.cli", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()


@contextmanager
def running(
    name: str,
    args: list[str],
    env: dict[str, str],
    log_dir: Path,
    prefix: Sequence[str] = (),
) -> Iterator[Proc]:
    proc = Proc(name, args, env, log_dir, prefix)
    try:
        yield proc
    finally:
        proc.kill()


def wait_for(
    check: Callable[[], object],
    timeout: float = 30,
    what: str = "condition",
    procs: tuple[Proc, ...] = (),
) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        for p in procs:
            if p.popen.poll() is not None:
                raise AssertionError(f"{p.name} exited ({p.popen.returncode}):\n{p.log()}")
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.log()[-4000:]}" for p in procs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n{logs}")


def wait_ready(base_url: str, proc: Proc, timeout: float = 30) -> None:
    wait_for(
        lambda: httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200,
        timeout,
        f"{base_url}/healthz",
        (proc,),
    )
