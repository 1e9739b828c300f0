"""Reading the reply mailbox over IMAP (stdlib imaplib): password or SASL XOAUTH2 login.

One pass (`poll_once`): select the folder, list the messages not yet \\Flagged whose UID the
ledger has not settled, and for each: fetch it with BODY.PEEK[] (a message left for the
secretariat stays unread), `inbound.process` it (recorded and applied in one commit), and
only then tell the mailbox: an applied reply is moved to the processed folder (or marked
\\Seen), anything else is \\Flagged and left unread, or moved to the folder the secretariat
reads. A crash anywhere in between leaves the message where it was; the next pass reads it
again, finds its key in the ledger, applies nothing and finishes telling the mailbox.

`watch` waits with IDLE (RFC 2177) where the server has it, so a reply is applied within
seconds; beat's poll every WORKFLOW_IMAP_POLL_SECONDS remains the safety net either way.
"""

import base64
import contextlib
import fcntl
import imaplib
import logging
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from workflow.config import Settings, get_settings
from workflow.db import db_session, get_engine
from workflow.replies import inbound

log = logging.getLogger(__name__)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapError(Exception):
    """The mailbox could not be read (login refused, folder missing, connection lost)."""


def xoauth2_string(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (as Microsoft and Google define it), before base64:
    user=<user>^Aauth=Bearer <token>^A^A."""
    if "\x01" in user or "\x01" in access_token:
        raise ValueError("a user or token with \\x01 in it cannot be sent")
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def xoauth2_initial_response(user: str, access_token: str) -> bytes:
    """What goes after `AUTHENTICATE XOAUTH2`, base64 encoded."""
    return base64.b64encode(xoauth2_string(user, access_token).encode())


def token_url(settings: Settings) -> str:
    return (
        settings.imap_oauth2_token_url
        or f"https://login.microsoftonline.com/{settings.imap_oauth2_tenant}/oauth2/v2.0/token"
    )


def client_credentials_form(settings: Settings) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": settings.imap_oauth2_client_id,
        "client_secret": settings.imap_oauth2_client_secret.get_secret_value(),
        "scope": settings.imap_oauth2_scope,
    }


def fetch_access_token(settings: Settings) -> str:
    """A client-credentials token from the Microsoft identity platform (or the token URL
    given), for the app registration allowed IMAP.AccessAsApp on the mailbox."""
    response = httpx.post(
        token_url(settings), data=client_credentials_form(settings), timeout=settings.imap_timeout
    )
    if response.status_code != 200:
        raise ImapError(
            f"the token endpoint answered {response.status_code}: {response.text[:300]}"
        )
    token = response.json().get("access_token")
    if not isinstance(token, str) or not token:
        raise ImapError("the token endpoint gave no access_token")
    return token


def uses_oauth2(settings: Settings) -> bool:
    return bool(settings.imap_oauth2_client_id)


def mailbox_name(settings: Settings) -> str:
    return f"imap://{settings.imap_user}@{settings.imap_host}/{settings.imap_folder}"[:300]


def connect(settings: Settings) -> imaplib.IMAP4:
    try:
        conn: imaplib.IMAP4
        if settings.imap_tls:
            conn = imaplib.IMAP4_SSL(
                settings.imap_host,
                settings.imap_port,
                ssl_context=ssl.create_default_context(),
                timeout=settings.imap_timeout,
            )
        else:
            conn = imaplib.IMAP4(
                settings.imap_host, settings.imap_port, timeout=settings.imap_timeout
            )
            if settings.imap_starttls:
                conn.starttls(ssl.create_default_context())
        if uses_oauth2(settings):
            token = fetch_access_token(settings)
            conn.authenticate(
                "XOAUTH2", lambda _: xoauth2_string(settings.imap_user, token).encode()
            )
        else:
            conn.login(settings.imap_user, settings.imap_password.get_secret_value())
    except (OSError, imaplib.IMAP4.error, httpx.HTTPError) as exc:
        raise ImapError(f"{settings.imap_host}:{settings.imap_port}: {exc}") from exc
    return conn


def _ok(result: tuple[str, list], what: str) -> list:
    typ, data = result
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data!r}"[:300])
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select(conn: imaplib.IMAP4, folder: str) -> int:
    _ok(conn.select(_quote(folder)), f"SELECT {folder}")
    _, data = conn.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status = _ok(conn.status(_quote(folder), "(UIDVALIDITY)"), "STATUS")
    found = _UIDVALIDITY.search(b" ".join(d for d in status if isinstance(d, bytes)))
    if not found:
        raise ImapError(f"{folder} has no UIDVALIDITY")
    return int(found[1])


def _move(conn: imaplib.IMAP4, uid: str, folder: str) -> None:
    if "MOVE" in conn.capabilities:
        _ok(conn.uid("MOVE", uid, _quote(folder)), f"MOVE to {folder}")
        return
    _ok(conn.uid("COPY", uid, _quote(folder)), f"COPY to {folder}")
    _ok(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE \\Deleted")
    if "UIDPLUS" in conn.capabilities:
        _ok(conn.uid("EXPUNGE", uid), "UID EXPUNGE")
    else:
        _ok(conn.expunge(), "EXPUNGE")


def _tell_mailbox(
    conn: imaplib.IMAP4, uid: str, outcome: inbound.Outcome, settings: Settings
) -> None:
    if outcome.for_the_service:
        if settings.imap_processed_folder:
            _move(conn, uid, settings.imap_processed_folder)
        else:
            _ok(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "STORE \\Seen")
        return
    # Left for the secretariat: flagged, unread, where they read mail.
    _ok(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Flagged)"), "STORE \\Flagged")
    if settings.imap_unprocessed_folder:
        _move(conn, uid, settings.imap_unprocessed_folder)


@dataclass
class PollResult:
    read: int = 0
    applied: int = 0
    not_a_reply: int = 0
    failed: int = 0
    seen_before: int = 0
    reported: list[str] = field(default_factory=list)  # what was left for the secretariat

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "applied": self.applied,
            "not_a_reply": self.not_a_reply,
            "failed": self.failed,
            "seen_before": self.seen_before,
        }


# Any number, the same in every process: the PostgreSQL advisory lock of the mailbox reader.
_READER_LOCK = 0x7265706C  # "repl"


@contextlib.contextmanager
def _one_reader(settings: Settings) -> Iterator[bool]:
    """True while this process is the only one reading the mailbox. Two readers at once
    would each fetch a message before the other moved it, and IMAP servers copy a message
    another session just expunged: a second copy in the processed folder. On PostgreSQL an
    advisory lock (held by a connection: a dead process lets go); on SQLite, one machine, a
    file lock in the data directory."""
    if settings.is_embedded_database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with (settings.data_dir / "replies.lock").open("a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return
    with get_engine().connect() as lock:
        got = bool(
            lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _READER_LOCK}).scalar()
        )
        lock.commit()
        try:
            yield got
        finally:
            if got:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _READER_LOCK})
                lock.commit()


def poll_once(
    settings: Settings | None = None,
    conn: imaplib.IMAP4 | None = None,
) -> PollResult:
    """One pass over the mailbox; nothing when another process is reading it right now."""
    settings = settings or get_settings()
    with _one_reader(settings) as alone:
        if not alone:
            return PollResult()
        return _poll(settings, conn)


def _poll(settings: Settings, conn: imaplib.IMAP4 | None) -> PollResult:
    result = PollResult()
    own = conn is None
    conn = conn or connect(settings)
    try:
        for folder in (settings.imap_processed_folder, settings.imap_unprocessed_folder):
            if folder:
                conn.create(_quote(folder))  # NO when it exists already: fine
        uidvalidity = _select(conn, settings.imap_folder)
        mailbox = mailbox_name(settings)
        uids = _ok(conn.uid("SEARCH", "UNFLAGGED", "UNDELETED"), "SEARCH")
        candidates = [u.decode() for u in (uids[0] or b"").split()]
        with db_session() as db:
            settled = inbound.settled_uids(db, mailbox, uidvalidity)
        for uid in candidates:
            if int(uid) in settled:
                continue
            data = _ok(conn.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
            raw = next((d[1] for d in data if isinstance(d, tuple) and len(d) == 2), None)
            if not isinstance(raw, bytes):
                continue  # expunged meanwhile
            with db_session() as db:
                outcome = inbound.process(
                    db, raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=int(uid)
                )
            result.read += 1
            if not outcome.first_time:
                result.seen_before += 1
            elif outcome.outcome == inbound.APPLIED:
                result.applied += 1
            elif outcome.outcome == inbound.FAILED:
                result.failed += 1
            else:
                result.not_a_reply += 1
            if not outcome.for_the_service:
                result.reported.append(f"{outcome.kind}: {outcome.reason or ''}".strip())
            _tell_mailbox(conn, uid, outcome, settings)
            with db_session() as db:
                inbound.settle(db, outcome.id)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(str(exc)) from exc
    finally:
        if own:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()
    if result.read:
        log.info("reply mailbox read: %s", result.as_dict())
    return result


def _idle(conn: imaplib.IMAP4, seconds: float) -> None:
    """RFC 2177 IDLE until the server announces something or `seconds` pass, then DONE."""
    # imaplib has no IDLE before Python 3.14: the command by hand, with its private tag.
    tag: bytes = conn._new_tag()
    conn.send(tag + b" IDLE\r\n")
    if not conn.readline().startswith(b"+"):
        raise ImapError("the server refused IDLE")
    sock = conn.socket()
    sock.settimeout(seconds)
    try:
        conn.readline()  # an untagged EXISTS/RECENT/EXPUNGE: something changed
    except TimeoutError:
        pass
    finally:
        sock.settimeout(None)
        conn.send(b"DONE\r\n")
        while True:
            line = conn.readline()
            if not line or line.startswith(tag):
                break


def watch(settings: Settings | None = None, idle_seconds: float = 300.0) -> None:
    """Poll, then wait with IDLE (or sleep the poll interval where there is none); forever.
    A lost connection is logged and made again after the poll interval."""
    settings = settings or get_settings()
    while True:
        try:
            conn = connect(settings)
            try:
                while True:
                    poll_once(settings, conn)
                    if "IDLE" in conn.capabilities:
                        _idle(conn, min(idle_seconds, 29 * 60))  # RFC 2177: under 30 minutes
                    else:
                        time.sleep(settings.imap_poll_seconds)
            finally:
                with contextlib.suppress(OSError, imaplib.IMAP4.error):
                    conn.logout()
        except (ImapError, OSError, imaplib.IMAP4.error) as exc:
            log.warning("reply mailbox: %s; trying again in %ss", exc, settings.imap_poll_seconds)
            time.sleep(settings.imap_poll_seconds)
