"""All configuration, read once from environment variables prefixed WORKFLOW_."""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # Signs links in mails (RSVP, action items). Must be set in production.
    secret_key: SecretStr = SecretStr("change-me-in-production")

    # The web pages: how long a mailed sign-in link works, and how long a session lasts.
    sign_in_link_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_session_days: int = Field(default=14, ge=1, le=90)
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
    # Rendering mail is CPU work: one process per core beats many threads (measured).
    worker_concurrency: int = Field(default_factory=lambda: max(os.cpu_count() or 1, 2), ge=1)
    worker_pool: str = "prefork"
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
