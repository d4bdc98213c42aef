"""Makes sure ComfyUI is installed: the checkout `runtime.locate` finds, else a clone of the pinned commit.

Only ComfyUI's code is installed here; its Python requirements are in the Space's requirements.txt.

    python -m runtime.install [--repo URL] [--commit SHA]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from runtime.atomic import build_then_rename
from runtime.errors import ComfyUIInstallError
from runtime.gitcmd import GitCommandError, clone_at, head_commit
from runtime.locate import (
    COMFYUI_COMMIT,
    COMFYUI_GIT_URL,
    default_install_dir,
    find_comfyui,
    is_comfyui_checkout,
)
from runtime.progress import report as report_progress

logger = logging.getLogger(__name__)


def ensure_comfyui(repo: str = COMFYUI_GIT_URL, commit: str = COMFYUI_COMMIT) -> Path:
    """The ComfyUI checkout to run: an existing one (left untouched), else a fresh clone at `commit`."""
    existing = find_comfyui()
    if existing is not None:
        _warn_if_other_commit(existing, commit)
        return existing
    configured = os.environ.get("COMFYUI_PATH")
    if configured:
        # Cloning elsewhere would not help: find_comfyui() would still look only there.
        raise ComfyUIInstallError(
            f"COMFYUI_PATH={configured} does not hold a ComfyUI checkout; fix the path, or unset it to "
            f"install ComfyUI into {default_install_dir()}"
        )
    target = default_install_dir()
    if target.exists() and any(target.iterdir()):
        raise ComfyUIInstallError(
            f"{target} exists but is not a ComfyUI checkout; delete it and run `python -m runtime.install` again"
        )
    logger.info("Installing ComfyUI %s from %s into %s", commit[:8], repo, target)
    report_progress(f"Fetching ComfyUI {commit[:8]}")
    try:
        build_then_rename(target, lambda tmp: _clone_comfyui(repo, commit, tmp))
    except GitCommandError as error:
        raise ComfyUIInstallError(
            f"Could not install ComfyUI {commit[:8]} from {repo}: {error}; check the URL (COMFYUI_GIT_URL) "
            "and the network, or set COMFYUI_PATH to an existing ComfyUI checkout"
        ) from None
    except OSError as error:
        if is_comfyui_checkout(target):  # another process finished the same install first
            return target
        raise ComfyUIInstallError(
            f"Could not install ComfyUI into {target}: {error}; set COMFYUI_HOME to a writable folder"
        ) from None
    return target


def _clone_comfyui(repo: str, commit: str, dest: Path) -> None:
    clone_at(repo, commit, dest)
    if not is_comfyui_checkout(dest):
        raise GitCommandError(f"commit {commit[:8]} of {repo} does not look like ComfyUI (no nodes.py)")


def _warn_if_other_commit(path: Path, commit: str) -> None:
    installed = head_commit(path)
    if installed is not None and installed != commit:
        logger.warning(
            "ComfyUI at %s is at commit %s, not the pinned %s; using it as it is",
            path,
            installed[:8],
            commit[:8],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.install", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=COMFYUI_GIT_URL, help="git URL to clone ComfyUI from")
    parser.add_argument("--commit", default=COMFYUI_COMMIT, help="ComfyUI commit to check out")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        path = ensure_comfyui(options.repo, options.commit)
    except ComfyUIInstallError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
