"""The wizard's command line run as users run it: `python -m wizard ...` in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_wizard(
    *args: str | Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m wizard ARGS` from the repository root; its exit status and text output, never raising."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
