"""`workflow replies ...`: read the reply mailbox once, keep watching it, list what was left."""

from typing import Annotated

import typer

from workflow.config import get_settings

replies_app = typer.Typer(help="Calendar replies in the reply mailbox.", no_args_is_help=True)


def _need_imap() -> None:
    if not get_settings().imap_host:
        typer.echo("WORKFLOW_IMAP_HOST is not set: there is no reply mailbox to read", err=True)
        raise typer.Exit(2)


@replies_app.command("poll")
def poll() -> None:
    """Read the reply mailbox once (beat does it every WORKFLOW_IMAP_POLL_SECONDS)."""
    from workflow.logs import configure_logging
    from workflow.replies import imap

    configure_logging()
    _need_imap()
    try:
        result = imap.poll_once()
    except imap.ImapError as exc:
        typer.echo(f"reply mailbox not read: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(" ".join(f"{k}={v}" for k, v in result.as_dict().items()))
    for line in result.reported:
        typer.echo(f"  left for the secretariat: {line}")


@replies_app.command("watch")
def watch(
    idle: Annotated[float, typer.Option(help="Seconds per IDLE wait before reading again")] = 300,
) -> None:
    """Keep reading the reply mailbox: IDLE where the server has it, so a reply is applied
    within seconds. Optional beside beat's poll, which stays the safety net."""
    from workflow.logs import configure_logging
    from workflow.replies import imap

    configure_logging()
    _need_imap()
    imap.watch(idle_seconds=idle)


@replies_app.command("list")
def list_left(
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
) -> None:
    """Messages the service did not apply (out-of-office, bounces, words, replies it could not
    apply): they are left in the mailbox for the secretariat; this says which and why."""
    from workflow.db import db_session
    from workflow.replies import inbound

    with db_session() as db:
        rows = inbound.left_for_the_secretariat(db, limit)
    for r in rows:
        when = r.received_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(
            f"{r.id}  {when}  {r.outcome:<11} {r.kind:<11} {r.sender or '-'}  "
            f"{r.subject or ''}  ({r.reason or ''})"
        )
    if not rows:
        typer.echo("nothing left for the secretariat")
