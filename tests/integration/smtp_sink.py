"""A real SMTP server in the test process that keeps what it receives and can be told to
refuse: the peer the worker talks to over a real connection."""

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope

from tests.integration.processes import free_port


@dataclass
class Received:
    rcpt: str
    message: EmailMessage

    def calendar_part(self) -> EmailMessage:
        for part in self.message.walk():
            if part.get_content_type() == "text/calendar" and not part.get_filename():
                return part  # type: ignore[return-value]
        raise AssertionError("no inline text/calendar part")

    def ics(self) -> bytes:
        return self.calendar_part().get_payload(decode=True)  # type: ignore[return-value]

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@dataclass
class Sink:
    port: int
    received: list[Received] = field(default_factory=list)
    # Answers to give instead of accepting, consumed one per DATA; e.g. ["451 busy"].
    refusals: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> "550 ..."
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Any,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        answer = self.refuse_rcpt.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            message = email.message_from_bytes(
                envelope.original_content or b"", policy=email.policy.default
            )
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(rcpt.lower(), message))  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.rcpt == address]

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@contextmanager
def smtp_sink(kind: type[Sink] = Sink) -> Iterator[Sink]:
    sink = kind(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
