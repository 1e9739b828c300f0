"""The `workflow` command: run the service's processes and administer it."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from workflow.config import ensure_secret_key_file, get_settings
from workflow.replies.cli import replies_app

app = typer.Typer(
    help="Consultation workflow for inter-municipal mayors' forums.",
    no_args_is_help=True,
    add_completion=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(replies_app, name="replies")
log = logging.getLogger("workflow.cli")


def _wait_for_database() -> None:
    """Every process starts by waiting for the database (WORKFLOW_DATABASE_WAIT_SECONDS),
    then gives up with one clear line and exit code 1, not a traceback."""
    from workflow.db import DatabaseUnavailable, wait_for_database

    try:
        wait_for_database()
    except DatabaseUnavailable as exc:
        log.error("%s", exc)
        raise typer.Exit(1) from None


EX_CONFIG = 78  # sysexits.h: a configuration error


@app.callback()
def _before_every_command() -> None:
    """No process starts with a signing key anyone can know: outside the embedded mode the
    key must be set and long enough; in it, an unset key is the data directory's own."""
    if "--help" in sys.argv[1:]:
        return
    s = get_settings()
    if s.is_embedded and not s.secret_key_given:
        ensure_secret_key_file(s.secret_key_path)
        get_settings.cache_clear()
        s = get_settings()
    problem = s.secret_key_problem()
    if problem:
        typer.echo(f"workflow: {problem}", err=True)
        raise typer.Exit(EX_CONFIG)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade head), once the database
    answers (it waits up to WORKFLOW_DATABASE_WAIT_SECONDS)."""
    from workflow.db import describe
    from workflow.logs import configure_logging
    from workflow.migrate import upgrade

    configure_logging()
    _wait_for_database()
    where = describe(get_settings().effective_database_url)
    try:
        upgrade()
    except Exception as exc:
        log.exception("the schema upgrade of the database at %s failed: %s", where, exc)
        raise typer.Exit(1) from None
    log.info("the database at %s is up to date", where)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Defaults to WORKFLOW_API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Defaults to WORKFLOW_API_PORT")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the HTTP API. X-Forwarded-For is believed only from WORKFLOW_FORWARDED_ALLOW_IPS."""
    import uvicorn

    from workflow.logs import configure_logging, uvicorn_log_config

    configure_logging()
    _wait_for_database()
    s = get_settings()
    uvicorn.run(
        "workflow.main:app",
        host=host or s.api_host,
        port=port or s.api_port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=s.forwarded_allow_ips,
        log_level=s.log_level.lower(),
        log_config=uvicorn_log_config(),
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Defaults to WORKFLOW_WORKER_CONCURRENCY")
    ] = None,
    pool: Annotated[str | None, typer.Option(help="threads, prefork or solo")] = None,
) -> None:
    """Run a Celery worker: reconciliation and mail."""
    from workflow.logs import configure_logging
    from workflow.tasks import celery_app

    configure_logging()
    _wait_for_database()
    s = get_settings()
    pool = pool or s.worker_pool
    concurrency = concurrency or s.worker_concurrency
    log.info(
        "worker starting: queue %s, %s pool of %d, log level %s",
        s.queue_name,
        pool,
        concurrency,
        s.log_level,
    )
    celery_app.worker_main(
        [
            # Quiet: no banner printed past the logs; its facts are in the line above.
            "--quiet",
            "worker",
            "--loglevel",
            s.log_level,
            "--queues",
            s.queue_name,
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
        ]
    )


@app.command()
def beat() -> None:
    """Run the periodic scheduler (exactly one per deployment)."""
    from workflow.logs import configure_logging
    from workflow.tasks import celery_app

    configure_logging()
    _wait_for_database()
    s = get_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("beat starting: every %g s, queue %s", s.sweep_interval_seconds, s.queue_name)
    celery_app.start(
        [
            "--quiet",
            "beat",
            "--loglevel",
            s.log_level,
            "--schedule",
            str(s.data_dir / "beat-schedule"),
        ]
    )


@app.command("follow-up")
def follow_up() -> None:
    """Run the follow-up scans once (reminders, reports, digests, overviews) and queue what
    they owe. Beat does this every sweep interval; this is for checks and catching up."""
    from workflow.logs import configure_logging
    from workflow.tasks.jobs import run_scans

    configure_logging()
    for name, count in run_scans().items():
        typer.echo(f"{name}: {count} mail(s) owed")


@app.command()
def mailcatcher() -> None:
    """Run the capture SMTP server: mail sent to it is written to data/mail/*.eml."""
    from workflow import mailcatcher as mc
    from workflow.logs import configure_logging

    configure_logging()
    s = get_settings()
    mc.serve_forever(s.mail_capture_dir, s.smtp_host, s.smtp_port)


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="The real forums, invented people")] = False,
) -> None:
    """Load demonstration data: the forums of East Brabant, Halle-Vilvoorde, Charleroi
    Métropole and the Eurometropolis, with invented people and API tokens for them."""
    if not demo:
        typer.echo("nothing to seed: pass --demo", err=True)
        raise typer.Exit(2)
    _print_tokens(_seed_demo())


def _seed_demo() -> list[tuple[str, str, str]]:
    from workflow.db import db_session
    from workflow.seed import seed_demo

    with db_session() as db:
        return seed_demo(db).tokens


def _address_of(name: str) -> str:
    """A demo person's e-mail address, to sign in to the web pages with."""
    from sqlmodel import col, select

    from workflow.db import db_session
    from workflow.models import Person

    with db_session() as db:
        return db.exec(select(col(Person.email)).where(col(Person.name) == name)).first() or name


def _print_tokens(tokens: list[tuple[str, str, str]], to: Path | None = None) -> None:
    lines = [f"{token}  {name} ({role})" for name, role, token in tokens]
    typer.echo("API tokens (shown once):")
    for line in lines:
        typer.echo(f"  {line}")
    if to is not None:
        to.write_text("\n".join(lines) + "\n", encoding="utf-8")
        to.chmod(0o600)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for")],
    email: Annotated[str | None, typer.Option(help="The person it acts as")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Full administrator rights")] = False,
) -> None:
    """Issue an API token; it is printed once and only its hash is kept."""
    from sqlmodel import col, select

    from workflow import auth, spine
    from workflow.db import db_session
    from workflow.models import Person

    if email is None and not admin:
        typer.echo("give --email for a person's token, or --admin", err=True)
        raise typer.Exit(2)
    with db_session() as db:
        person_id = None
        if email is not None:
            person = db.exec(select(Person).where(col(Person.email) == email.lower())).first()
            if person is None:
                typer.echo(f"no person with e-mail {email}", err=True)
                raise typer.Exit(1)
            person_id = person.id
        row, token = auth.create_token(db, name, person_id=person_id, is_admin=admin)
        spine.record(
            db, "cli", "token.created", token_id=row.id, person_id=person_id, is_admin=admin
        )
        token_id = row.id
    # The secret alone on the first line (scripts read it); the id revokes it later.
    typer.echo(token)
    typer.echo(f"token id {token_id} (revoke with: workflow token revoke {token_id})", err=True)


@token_app.command("list")
def token_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="Show revoked tokens too")] = False,
) -> None:
    """The tokens issued: id, name, whom they act as, when created (never the secret:
    only its hash is kept)."""
    from sqlmodel import col, select

    from workflow.db import db_session
    from workflow.models import ApiToken, Person

    with db_session() as db:
        query = select(ApiToken, Person).join(
            Person,
            col(ApiToken.person_id) == col(Person.id),
            isouter=True,
        )
        if not revoked:
            query = query.where(col(ApiToken.revoked_at).is_(None))
        rows = db.exec(query.order_by(col(ApiToken.id))).all()
    table = [("ID", "NAME", "ACTS AS", "CREATED", "REVOKED")]
    for token, person in rows:
        acts_as = "administrator" if token.is_admin else (person.email if person else "-")
        table.append(
            (
                str(token.id),
                token.name,
                acts_as,
                _when(token.created_at),
                _when(token.revoked_at) if token.revoked_at else "",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if len(table) == 1:
        typer.echo("no tokens" + ("" if revoked else " (--revoked shows revoked ones)"))


def _when(moment: object) -> str:
    from datetime import datetime

    if not isinstance(moment, datetime):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id."""
    from workflow import auth
    from workflow.db import db_session
    from workflow.models import ApiToken

    with db_session() as db:
        row = db.get(ApiToken, token_id)
        if row is None:
            typer.echo(f"no token {token_id}", err=True)
            raise typer.Exit(1)
        auth.revoke(row)
    typer.echo(f"token {token_id} revoked")


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Seed the demo forums on first start")
    ] = True,
) -> None:
    """Everything on one machine with embedded defaults: API, worker, beat and a capture
    SMTP server, on SQLite and a broker that needs no server. Ctrl-C stops it all."""
    from workflow.migrate import upgrade

    s = get_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    _wait_for_database()
    upgrade()
    tokens_file = s.data_dir / "demo-tokens.txt"
    web = "sign in with your address: the link arrives as mail, below"
    if demo and _first_start():
        seeded = _seed_demo()
        tokens = [*seeded, ("Administrator", "admin", _admin_token())]
        _print_tokens(tokens, to=tokens_file)
        web = f"sign in as {_address_of(seeded[0][0])}: the link arrives as mail, below"

    me = [sys.executable, "-m", "workflow.cli"]
    commands = {"api": [*me, "api"], "worker": [*me, "worker"], "beat": [*me, "beat"]}
    if s.is_embedded_smtp:
        commands = {"mailcatcher": [*me, "mailcatcher"], **commands}
    children = {
        name: subprocess.Popen(cmd, env=os.environ.copy()) for name, cmd in commands.items()
    }

    base = s.effective_public_url
    typer.echo(
        f"\nForum workflow is starting.\n"
        f"  Web      {base}/ ({web})\n"
        f"  API      {base}/api/v1\n"
        f"  Docs     {base}/docs\n"
        f"  Health   {base}/readyz\n"
        f"  Mail     {s.mail_capture_dir} (every message as .eml)\n"
        f"  Tokens   {tokens_file}\n"
        f"  Data     {s.data_dir}\n"
        f"Press Ctrl-C to stop.\n"
    )
    _supervise(children)


def _first_start() -> bool:
    from sqlmodel import col, select

    from workflow.db import db_session
    from workflow.models import Forum

    with db_session() as db:
        return db.exec(select(col(Forum.id)).limit(1)).first() is None


def _admin_token() -> str:
    from workflow import auth
    from workflow.db import db_session

    with db_session() as db:
        return auth.create_token(db, "embedded administrator", is_admin=True)[1]


def _supervise(children: dict[str, subprocess.Popen]) -> None:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                typer.echo(f"{name} stopped with exit code {child.returncode}; stopping", err=True)
                stopping, code = True, 1
                break
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
