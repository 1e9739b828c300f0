"""One name for each of the two sessions: the table is `MeetingSession`, SQLModel's database
session is always imported as `DBSession`. A file that said `Session` for either would make
the reader guess which one it means."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL_SESSION = re.compile(r"from sqlmodel import .*\bSession\b(?! as DBSession)")
TABLE_SESSION = re.compile(r"from workflow\.models import .*\bSession\b|models\.Session\b")


def test_each_session_has_one_name() -> None:
    files = [*ROOT.glob("workflow/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]
    wrong = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        if path.name != "test_names.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if SQL_SESSION.search(line) or TABLE_SESSION.search(line)
    ]
    assert not wrong, "\n".join(wrong)
