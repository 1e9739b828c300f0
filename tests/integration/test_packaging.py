"""The package as pip installs it (not this checkout): its templates travel with it, so the
service renders mail and pages whatever the working directory of the process."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RENDER = """
from types import SimpleNamespace
import workflow
from workflow.i18n import render_named, render_page
mail = render_named(
    "sign_in", "fr", "Sign in to the forum workflow",
    recipient=SimpleNamespace(name="Geneviève Dubois", email="g@example.org"),
    link="https://forum.example.org/sign-in/abc", minutes=30,
)
assert "https://forum.example.org/sign-in/abc" in mail.text, mail.text
assert "<html" in mail.html.lower()
print(workflow.__file__)
print(mail.subject)
"""


def test_an_installed_package_renders_mail_from_any_working_directory(tmp_path: Path) -> None:
    # What the image copies, built apart: no build output of this checkout comes along.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "workflow", source / "workflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", RENDER],
        cwd=elsewhere,
        env={
            "PYTHONPATH": str(target),
            "PATH": "/usr/bin:/bin",
            "WORKFLOW_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    where, subject = run.stdout.splitlines()
    # The installed copy rendered it, not this checkout.
    assert Path(where).is_relative_to(target), where
    assert subject.strip()
