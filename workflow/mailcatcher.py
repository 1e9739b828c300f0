"""The embedded capture SMTP server: every message it receives is written to a file.

Used by `workflow up` so a first-time user can read the invitations the service sends
(data/mail/*.eml open in any mail client), and by the tests as a real SMTP peer.
"""

import asyncio
import email.policy
import logging
import os
import time
import uuid
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope

from workflow.config import get_settings

log = logging.getLogger(__name__)


class CaptureHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        tmp = self.directory / f".{name}.tmp"
        content = envelope.original_content or b""
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        tmp.write_bytes(header + content)
        os.replace(tmp, self.directory / name)  # readers never see half a message
        log.info("captured mail for %s in %s", ", ".join(envelope.rcpt_tos), name)
        reply_address = get_settings().reply_address.strip().lower()
        if reply_address and reply_address in (r.strip().lower() for r in envelope.rcpt_tos):
            # The embedded mode's reply mailbox: a calendar client's answer is applied at
            # once, through the same ledger as a reply read over IMAP.
            await asyncio.to_thread(_apply_reply, content, name)
        return "250 Message accepted for delivery"


def _apply_reply(content: bytes, name: str) -> None:
    from workflow.db import db_session
    from workflow.replies import inbound

    try:
        with db_session() as db:
            outcome = inbound.process(db, content, mailbox="smtp")
            inbound.settle(db, outcome.id)
    except Exception:
        log.exception("the reply in %s was captured but not applied", name)


def read_captured(directory: Path) -> list[Any]:
    """The captured messages, oldest first, parsed as a mail client would."""
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]


def start(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(CaptureHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def serve_forever(directory: Path, host: str, port: int) -> None:
    controller = start(directory, host, port)
    log.info("capturing mail sent to %s:%s in %s", host, port, directory)
    try:
        asyncio.run(_forever())
    finally:
        controller.stop()


async def _forever() -> None:
    await asyncio.Event().wait()
