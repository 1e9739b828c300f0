"""The signing key: the embedded mode's own key file, and the refusal of a key anyone can
know outside it."""

import os
import stat
from pathlib import Path

import pytest

from workflow.config import DEFAULT_SECRET_KEY, Settings, ensure_secret_key_file

POSTGRES = "postgresql+psycopg://workflow@db.internal:5432/workflow"


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(os.environ):
        if name.startswith("WORKFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file of the checkout
    for name, value in {"data_dir": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(f"WORKFLOW_{name.upper()}", value)
    return Settings()


def test_the_key_file_is_made_once_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, monkeypatch)
    assert s.is_embedded and not s.secret_key_path.exists()
    ensure_secret_key_file(s.secret_key_path)
    key = s.secret_key_path.read_text().strip()
    assert stat.S_IMODE(s.secret_key_path.stat().st_mode) == 0o600
    assert len(key.encode()) >= 32 and key != DEFAULT_SECRET_KEY
    assert [p.name for p in s.secret_key_path.parent.iterdir()] == ["secret-key"]
    # A later start keeps it (links already mailed go on working), and every process of the
    # embedded mode signs with it.
    ensure_secret_key_file(s.secret_key_path)
    assert s.secret_key_path.read_text().strip() == key
    assert _settings(tmp_path, monkeypatch).secret_key.get_secret_value() == key
    # Two data directories, two keys: nothing is well known.
    other = tmp_path / "other" / "secret-key"
    ensure_secret_key_file(other)
    assert other.read_text().strip() != key


def test_a_key_given_wins_over_the_file_and_the_file_is_only_for_the_embedded_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, monkeypatch)
    ensure_secret_key_file(s.secret_key_path)
    given = "k" * 40
    assert _settings(tmp_path, monkeypatch, secret_key=given).secret_key.get_secret_value() == given
    away = _settings(tmp_path, monkeypatch, database_url=POSTGRES)
    assert away.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
    assert away.secret_key_problem() is not None


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({"database_url": POSTGRES}, "is not set"),
        ({"database_url": POSTGRES, "secret_key": DEFAULT_SECRET_KEY}, "is not set"),
        ({"database_url": POSTGRES, "secret_key": ""}, "is not set"),
        ({"database_url": POSTGRES, "secret_key": "x" * 31}, "is 31 bytes long"),
        # SQLite, but mail to a real relay: not the embedded mode either.
        ({"smtp_host": "smtp.example.org"}, "is not set"),
        ({"smtp_user": "relay"}, "is not set"),
        ({"database_url": POSTGRES, "secret_key": "é" * 16}, None),  # 32 bytes
        ({"database_url": POSTGRES, "secret_key": "x" * 32}, None),
        ({}, None),  # the embedded mode
    ],
)
def test_outside_the_embedded_mode_a_key_anyone_can_know_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], refused: str | None
) -> None:
    problem = _settings(tmp_path, monkeypatch, **env).secret_key_problem()
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem
        assert "\n" not in problem and "token_urlsafe(32)" in problem
