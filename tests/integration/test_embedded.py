"""The embedded defaults as a first-time user gets them from `make run` (`workflow up`):
SQLite, a broker that needs no server, a real worker and beat, and the capture SMTP server."""

import re
import signal
import smtplib
import socket
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from itsdangerous import BadSignature, URLSafeSerializer

from tests.integration.processes import Proc, free_port, service_env, wait_for
from workflow.config import DEFAULT_SECRET_KEY
from workflow.mailcatcher import read_captured
from workflow.mailcatcher import start as start_capture

pytestmark = pytest.mark.integration


def test_capture_server_keeps_every_message_readable(tmp_path: Path) -> None:
    port = free_port()
    controller = start_capture(tmp_path / "mail", port=port)
    try:
        msg = EmailMessage()
        msg["From"] = "secretariaat@example.org"
        msg["To"] = "Geneviève Dubois <genevieve@example.org>"
        msg["Subject"] = "Uitnodiging: overleg grensgemeenten — Menen"
        msg.set_content("Beste burgemeester,\n\nTot dan.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(msg)
    finally:
        controller.stop()
    [received] = read_captured(tmp_path / "mail")
    assert received["Subject"] == "Uitnodiging: overleg grensgemeenten — Menen"
    assert received["To"].addresses[0].display_name == "Geneviève Dubois"
    assert received["X-Envelope-To"] == "genevieve@example.org"
    assert "Tot dan." in received.get_content()


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _demo_token(tokens_file: Path, role: str) -> str:
    for line in tokens_file.read_text(encoding="utf-8").splitlines():
        if role in line:
            return line.split()[0]
    raise AssertionError(f"no token for {role!r} in {tokens_file.read_text()}")


def test_workflow_up_runs_everything_on_embedded_defaults(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, smtp_port = free_port(), free_port()
    env = service_env(
        data_dir=str(data),
        api_port=str(port),
        smtp_port=str(smtp_port),
        sweep_interval_seconds="2",
        secret_key="",  # as a first-time user has it: no key set
    )
    base = f"http://127.0.0.1:{port}"
    up = Proc("up", ["up"], env, tmp_path)
    try:
        wait_for(
            lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200,
            60,
            "the embedded service to be ready",
            (up,),
        )
        assert "API      http://127.0.0.1" in up.log() and "/docs" in up.log()

        # As in the README: the Taskforce's co-chair schedules a session with curl.
        token = _demo_token(data / "demo-tokens.txt", "co-chair, Taskforce")
        chair = {"Authorization": f"Bearer {token}"}
        forums = httpx.get(f"{base}/api/v1/forums", headers=chair, timeout=10).json()["items"]
        taskforce = next(f for f in forums if f["name"] == "Taskforce Spitsregio Leuven")
        day = (datetime.now(UTC) + timedelta(days=21)).date()
        r = httpx.post(
            f"{base}/api/v1/forums/{taskforce['id']}/sessions",
            headers=chair,
            timeout=10,
            json={
                "title": "Taskforce: jobkanalen en mobiliteit",
                "starts_at": f"{day}T14:00:00",
                "ends_at": f"{day}T16:00:00",
                "location": "Provinciehuis, Leuven",
            },
        )
        assert r.status_code == 201, r.text
        session = r.json()
        assert session["starts_at_local"].startswith(f"{day}T14:00:00+0")
        assert len(session["participants"]) >= 3

        def reconciled() -> bool:
            with sqlite3.connect(data / "workflow.sqlite") as conn:
                row = conn.execute(
                    "SELECT version, reconciled_version FROM meeting_session WHERE id = ?",
                    (session["id"],),
                ).fetchone()
            return row[0] == row[1]

        wait_for(reconciled, 60, "the embedded worker to reconcile the session", (up,))
        invitation = wait_for(
            lambda: next((m for m in read_captured(data / "mail") if "/rsvp/" in _text(m)), None),
            60,
            "an invitation in the capture server",
            (up,),
        )

        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: hello\r\n\r\nhi\r\n")
        wait_for(lambda: list((data / "mail").glob("*.eml")), 10, "the captured mail", (up,))
    finally:
        up.kill(signal.SIGINT, timeout=30)
    assert up.popen.returncode == 0, up.log()
    # No well-known key, even here: `up` made one, private to the data directory, and every
    # process signed with it (the invitation's answer link is valid under it, not the default).
    key_file = data / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key.encode()) >= 32 and key != DEFAULT_SECRET_KEY
    token = re.search(r"/rsvp/(\S+)", _text(invitation)).group(1)  # type: ignore[arg-type,union-attr]
    assert URLSafeSerializer(key, salt="rsvp").loads(token)
    with pytest.raises(BadSignature):
        URLSafeSerializer(DEFAULT_SECRET_KEY, salt="rsvp").loads(token)
    # Everything it started has stopped: the ports are free again. A connection the server
    # side closed first (the capture server closes it after its 221 answer to QUIT, often
    # before the client does) stays in TIME_WAIT on that port for a minute: that is the
    # kernel, not a process left running. SO_REUSEADDR looks past such leftovers and still
    # fails while any process listens on the port or holds it.
    for p in (port, smtp_port):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
