"""`workflow token create` names the id it gave; `workflow token list` shows every token's
id, name, whom it acts as and when it was made, and never a secret."""

import subprocess
import sys
from pathlib import Path

from tests.integration.processes import service_env


def _workflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_token_create_list_and_revoke_by_the_listed_id(tmp_path: Path) -> None:
    env = service_env(data_dir=str(tmp_path / "data"))
    _workflow(env, "migrate")
    _workflow(env, "seed", "--demo")
    created = _workflow(env, "token", "create", "--name", "monitoring", "--admin")
    secret = created.stdout.strip()
    assert secret.startswith("wf_") and "\n" not in secret
    token_id = created.stderr.split("token id ", 1)[1].split()[0]

    listed = _workflow(env, "token", "list").stdout
    header, *rows = listed.splitlines()
    assert header.split() == ["ID", "NAME", "ACTS", "AS", "CREATED", "REVOKED"]
    mine = next(r for r in rows if r.split()[0] == token_id)
    assert "monitoring" in mine and "administrator" in mine and "UTC" in mine
    # A demo person's token shows whom it acts as.
    assert any("@example.org" in r for r in rows)
    assert "wf_" not in listed and secret not in listed

    _workflow(env, "token", "revoke", token_id)
    assert token_id not in [
        r.split()[0] for r in _workflow(env, "token", "list").stdout.splitlines()
    ]
    revoked = _workflow(env, "token", "list", "--revoked").stdout.splitlines()
    assert next(r for r in revoked if r.split()[0] == token_id).count("UTC") == 2
