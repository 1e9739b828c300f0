"""All configuration, read once from environment variables prefixed WORKFLOW_."""

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The documented default: anyone who reads the source knows it, so it only ever serves the
# embedded mode without a key file (tests); every other process refuses to start with it.
DEFAULT_SECRET_KEY = "change-me-in-production"
MIN_SECRET_KEY_BYTES = 32
SECRET_KEY_FILE = "secret-key"  # in the data directory, made by `workflow up`
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_", env_file=".env", extra="ignore")

    # Where the embedded defaults keep their files (SQLite database, broker, captured mail).
    data_dir: Path = Path("data")

    # Components. Empty means "the embedded default under data_dir".
    database_url: str = ""
    # How long every process waits at start for the database to answer (it may still be
    # starting, as in a fresh docker-compose stack) before it gives up with a clear error.
    database_wait_seconds: float = Field(default=60.0, ge=0)
    broker_url: str = ""
    # Each deployment gets its own queue: a worker that does not know a task drops it.
    queue_name: str = "workflow"

    # SMTP relay. The embedded default is the capture server started by `workflow up`.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 30.0
    mail_from: str = "noreply@forum-workflow.example.org"

    # Calendar replies (workflow/replies). The ORGANIZER of every invitation when set, so a
    # client's Accept comes back to the service; the secretariat stays the Reply-To. Unset,
    # the ORGANIZER is the secretariat's mailbox as before and replies are not read.
    reply_address: str = Field(default="", max_length=254)
    # The mailbox behind reply_address, read over IMAP (empty host: not read).
    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: bool = True  # TLS from the first byte (993); false with imap_starttls or plain
    imap_starttls: bool = False
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_folder: str = "INBOX"
    # Where applied replies go after their commit; empty: they stay, marked \Seen.
    imap_processed_folder: str = "Processed"
    # Where mail that is no reply (out-of-office, bounces, words) goes for the secretariat;
    # empty: it stays in imap_folder, unread and \Flagged.
    imap_unprocessed_folder: str = ""
    imap_poll_seconds: float = Field(default=60.0, gt=0)
    imap_timeout: float = Field(default=30.0, gt=0)
    # OAuth2 (SASL XOAUTH2) instead of the password, e.g. Microsoft 365: a client-credentials
    # token from the Microsoft identity platform for the app registration.
    imap_oauth2_tenant: str = ""
    imap_oauth2_client_id: str = ""
    imap_oauth2_client_secret: SecretStr = SecretStr("")
    imap_oauth2_scope: str = "https://outlook.office365.com/.default"
    imap_oauth2_token_url: str = ""  # default: the tenant's v2.0 token endpoint

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = ""  # how participants reach the API; defaults to http://api_host:api_port
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: a
    # comma-separated list of addresses or networks (e.g. 172.30.80.0/24), or * for any.
    # From any other address the headers are ignored and the connection's address counts.
    forwarded_allow_ips: str = "127.0.0.1"
    max_body_bytes: int = 1_048_576
    # Requests per client address to the login-free pages (links in mail, calendar feeds);
    # empty turns the limit off. Counted in memory per process unless a store is given.
    public_rate_limit: str = "120/minute"
    rate_limit_storage_url: str = ""
    admin_token: SecretStr = SecretStr("")
    # When set, /metrics answers only `Authorization: Bearer <metrics_token>` (Prometheus's
    # `authorization` scrape setting); empty leaves it open, for a scrape on a private network.
    metrics_token: SecretStr = SecretStr("")
    # Signs links in mails (RSVP, action items, sign-in) and the web session cookie. Required,
    # at least 32 bytes, outside the embedded mode; there, unset, the key file made by
    # `workflow up` in the data directory is used.
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    # The web pages: how long a mailed sign-in link works, and how long a session lasts.
    sign_in_link_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_session_days: int = Field(default=14, ge=1, le=90)
    # At most this many sign-in mails to one address within the window; more requests get the
    # same answer, and no mail.
    sign_in_mails_per_address: int = Field(default=3, ge=1)
    sign_in_mail_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # The page listing captured mail. None: on only when mail goes to the local capture
    # server (the same rule `workflow up` uses to start it).
    web_outbox: bool | None = None

    # Larger sessions list only the co-chairs and the recipient as ATTENDEEs: a thousand
    # attendee lines in every one of a thousand invitations helps nobody.
    calendar_attendee_limit: int = Field(default=100, ge=2)
    # The calendar UID domain: UIDs look like <uuid>@<calendar_domain>.
    calendar_domain: str = "forum-workflow.example.org"
    default_timezone: str = "Europe/Brussels"

    # Background work.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # Prefork sends fastest: its children share what the parent loaded before the fork
    # (bench/fanout.py: 159 msg/s, 0.66 of the baseline; the tree's memory 195 MiB counted
    # once per page, 351 MiB summing each process's RSS). Threads keep a worker one process
    # for a small machine (93 msg/s, 0.38; 131 MiB): WORKFLOW_WORKER_POOL=threads.
    worker_concurrency: int = Field(default_factory=lambda: max(os.cpu_count() or 1, 2), ge=1)
    worker_pool: str = Field(default="prefork", pattern="^(threads|prefork|solo)$")
    # Deliveries one send task claims and sends through one SMTP connection, at most. A batch
    # is composed when it starts.
    mail_batch_size: int = Field(default=50, ge=1)
    # A fan-out goes out in at least this many send tasks (as far as it has mails), so that
    # several worker processes share it, and a worker cut off from the network holds up only
    # the tasks it took until the lease runs out (a session of 60: four tasks of 15 or 16
    # mails, not one of 50 and one of 12). Each task costs about 18 ms of worker CPU: 200
    # sessions of 50 at once went out about 12 % slower at 4 than at 1, 25 % at 8
    # (bench/fanout.py --pool threads: ratios 0.40, 0.35, 0.30).
    mail_batch_spread: int = Field(default=4, ge=1)
    # A claimed delivery not finished within the lease is taken up again (worker killed).
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    # PostgreSQL ends a session that has kept a transaction open this long without a word (a
    # worker cut off from the network), so the row locks it held stop nobody. At most the
    # lease, or what a vanished worker held is not taken over when its lease runs out.
    database_idle_transaction_seconds: float = Field(default=60.0, gt=0)
    # Temporary SMTP failures wait retry_base * 2**(attempt-1), at most retry_max.
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_max_attempts: int = Field(default=12, ge=1)

    # Follow-up. Reminders default to 7 days and 1 day before a session (forums may change
    # theirs); digests and the weekly overview go out at this local hour.
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_horizon_days: int = Field(default=7, ge=0, le=60)  # "due soon" means within this
    overview_weekday: int = Field(default=0, ge=0, le=6)  # 0 is Monday
    stale_after_days: int = Field(default=30, ge=1)  # an item with no progress this long
    action_link_days: int = Field(default=21, ge=1)  # how long digest links work

    # For rehearsals and tests only: a file holding a number of seconds added to the clock
    # of every process that reads it, so time can be moved without sleeping.
    clock_offset_file: Path | None = None

    log_level: str = "INFO"
    log_format: str = Field(default="text", pattern="^(text|json)$")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @model_validator(mode="after")
    def _embedded_key(self) -> "Settings":
        if self.is_embedded and not self.secret_key_given and self.secret_key_path.is_file():
            self.secret_key = SecretStr(self.secret_key_path.read_text(encoding="utf-8").strip())
        return self

    @property
    def secret_key_given(self) -> bool:
        return self.secret_key.get_secret_value() not in ("", DEFAULT_SECRET_KEY)

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE

    def secret_key_problem(self) -> str | None:
        """Why no process may start with this key, in one line; None when it may. Outside the
        embedded mode the key must be set, not the documented default, and 32 bytes or more."""
        if self.is_embedded:
            return None
        key = self.secret_key.get_secret_value()
        if not self.secret_key_given:
            why = (
                "WORKFLOW_SECRET_KEY is not set, and its documented default would let anyone "
                "who reads the source forge sign-in and answer links"
            )
        elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
            why = (
                f"WORKFLOW_SECRET_KEY is {len(key.encode())} bytes long; it needs at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes so that links in mail cannot be forged"
            )
        else:
            return None
        return f"refusing to start: {why}. Make one with: {MAKE_A_KEY}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'workflow.sqlite'}"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.sqlite'}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def mail_capture_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def is_embedded_smtp(self) -> bool:
        return self.smtp_host in ("127.0.0.1", "localhost") and not self.smtp_user

    @property
    def outbox_page(self) -> bool:
        return self.is_embedded_smtp if self.web_outbox is None else self.web_outbox

    @property
    def is_embedded_database(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def is_embedded(self) -> bool:
        """`workflow up` on one machine: SQLite and the local capture server."""
        return self.is_embedded_database and self.is_embedded_smtp


def ensure_secret_key_file(path: Path) -> None:
    """Make the embedded mode's random key once (mode 0600); later starts reuse it. Written
    aside and linked into place, so processes starting at once all read the same whole key."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use theirs
            os.link(aside, path)
    finally:
        aside.unlink()


@lru_cache
def get_settings() -> Settings:
    return Settings()
