"""Real git repositories made in a temp folder for the install tests (cloned over file:// URLs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

_IDENTITY = [
    "-c",
    "user.name=Runtime Tests",
    "-c",
    "user.email=tests@example.invalid",
    "-c",
    "commit.gpgsign=false",
]


def git(*args: str, cwd: Path) -> str:
    completed = subprocess.run(
        ["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    return path


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    """Writes `files` (relative path -> text), commits them, and returns the new commit's hash."""
    for relative, text in files.items():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
