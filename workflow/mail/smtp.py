"""Sending over SMTP with one reused connection per worker process.

aiosmtplib is asynchronous and the worker's tasks run in plain threads (a prefork child's
main thread, or each thread of a thread pool), so one background event loop owns the
connection and every task hands it messages; a lock keeps one conversation at a time on the
connection. Failures are sorted into temporary (retry later) and permanent.
"""

import asyncio
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from workflow.config import Settings, get_settings


class TemporaryFailure(Exception):
    """Try again later: connection refused, timeout, 4xx. `connection`: the connection is
    gone (refused, timed out, closed), not just this message refused; what would go next
    through it fares the same."""

    def __init__(self, answer: str, *, connection: bool = False) -> None:
        super().__init__(answer)
        self.connection = connection


class PermanentFailure(Exception):
    """Do not try again: 5xx, or a message that cannot be sent as it is."""


@dataclass(frozen=True)
class Accepted:
    answer: str


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="smtp-loop"
        )
        self._thread.start()
        self._client: aiosmtplib.SMTP | None = None
        self._lock: asyncio.Lock | None = None
        # One TLS context for every connection: building one per connection costs dearly.
        self._tls = ssl.create_default_context()

    def send(self, message: EmailMessage | bytes, sender: str, recipients: list[str]) -> Accepted:
        """`message` as an EmailMessage, or as the bytes to send (CRLF line ends)."""
        future = asyncio.run_coroutine_threadsafe(
            self._send(message, sender, recipients), self._loop
        )
        return future.result(timeout=self.settings.smtp_timeout * 3 + 5)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls if not s.smtp_tls else False,
            tls_context=self._tls,
        )
        await client.connect()
        if s.smtp_user:
            await client.login(s.smtp_user, s.smtp_password.get_secret_value())
        return client

    async def _send(
        self, message: EmailMessage | bytes, sender: str, recipients: list[str]
    ) -> Accepted:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                try:
                    errors, answer = await _hand_over(
                        await self._connected(), message, sender, recipients
                    )
                except aiosmtplib.SMTPServerDisconnected:
                    # A reused connection the server closed while idle: once more, afresh.
                    self._drop()
                    errors, answer = await _hand_over(
                        await self._connected(), message, sender, recipients
                    )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise _classify(exc.recipients[0].code, exc.recipients[0].message) from exc
            except aiosmtplib.SMTPResponseException as exc:
                self._drop()
                raise _classify(exc.code, exc.message, connection=exc.code == 421) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                self._drop()
                raise TemporaryFailure(f"{type(exc).__name__}: {exc}", connection=True) from exc
            if errors:
                code, text = next(iter(errors.values()))
                raise _classify(code, text)
            return Accepted(answer)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            self._client = await self._connect()
        return self._client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    def close(self) -> None:
        async def _quit() -> None:
            if self._client is not None and self._client.is_connected:
                try:
                    await self._client.quit()
                except aiosmtplib.SMTPException:
                    self._client.close()

        asyncio.run_coroutine_threadsafe(_quit(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


async def _hand_over(
    client: aiosmtplib.SMTP, message: EmailMessage | bytes, sender: str, recipients: list[str]
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    if isinstance(message, bytes):
        return await client.sendmail(sender, recipients, message)
    return await client.send_message(message, sender=sender, recipients=recipients)


def _classify(code: int, text: str, *, connection: bool = False) -> Exception:
    answer = f"{code} {text}".strip()
    if code >= 500:
        return PermanentFailure(answer)
    return TemporaryFailure(answer, connection=connection)


_mailer: Mailer | None = None
_mailer_lock = threading.Lock()


def mailer() -> Mailer:
    global _mailer
    with _mailer_lock:
        if _mailer is None:
            _mailer = Mailer(get_settings())
        return _mailer
