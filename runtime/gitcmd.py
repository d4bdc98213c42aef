"""The few git operations the runtime needs (cloning ComfyUI and custom-node packs at a commit).

Git runs as a subprocess with prompts disabled, so a private or mistyped URL fails at once instead
of waiting for a password nobody will type inside a Space.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

_COMMIT_PATTERN = re.compile(r"^[0-9a-fA-F]{7,40}$")
_ALLOWED_URL_PREFIXES = ("https://", "http://", "file://", "ssh://", "git@", "/")


class GitCommandError(Exception):
    """A git command failed; the message is git's own error line."""


def is_commit_sha(text: str) -> bool:
    return bool(_COMMIT_PATTERN.match(text))


def check_repo_url(url: str) -> None:
    """Refuses URLs git would treat as options or as command-running transports (`ext::`)."""
    if not url.startswith(_ALLOWED_URL_PREFIXES):
        raise GitCommandError(f"unsupported git URL {url!r} (use https://, ssh://, git@ or file://)")


def run_git(*args: str, cwd: Path | None = None) -> str:
    """Runs `git ARGS` and returns its stdout, stripped; raises GitCommandError on failure."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise GitCommandError("git is not installed (add `git` to the Space's packages.txt)") from None
    if completed.returncode != 0:
        raise GitCommandError(
            _error_line(completed.stderr) or f"git {args[0]} exited with {completed.returncode}"
        )
    return completed.stdout.strip()


def _error_line(stderr: str) -> str:
    """Git's first "fatal:"/"error:" line (later lines are generic advice), else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return lines[-1] if lines else ""


def clone_at(url: str, commit: str | None, dest: Path) -> None:
    """Clones `url` into `dest` (absent or empty) and checks out `commit` (detached), or the default branch."""
    check_repo_url(url)
    if commit is not None and not is_commit_sha(commit):
        raise GitCommandError(f"{commit!r} is not a commit hash")
    if commit is None:
        run_git("clone", "--quiet", "--", url, str(dest))
        return
    run_git("clone", "--quiet", "--no-checkout", "--", url, str(dest))
    checkout(dest, commit)


def checkout(path: Path, commit: str) -> None:
    if not is_commit_sha(commit):
        raise GitCommandError(f"{commit!r} is not a commit hash")
    if resolve_commit(path, commit) is None:
        raise GitCommandError(f"commit {commit} is not in the repository")
    run_git("-c", "advice.detachedHead=false", "checkout", "--quiet", commit, cwd=path)


def resolve_commit(path: Path, ref: str) -> str | None:
    """The full hash `ref` names in the repository at `path`, or None when it is unknown there."""
    try:
        return run_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=path)
    except GitCommandError:
        return None


def head_commit(path: Path) -> str | None:
    """The checked-out commit of the repository at `path`, or None when it is not a git checkout."""
    if not (path / ".git").exists():
        return None
    return resolve_commit(path, "HEAD")
