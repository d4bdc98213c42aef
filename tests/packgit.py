"""Local git repositories standing in for GitHub in the pack tests and benchmark.

`GitHubStandIn(root)` writes a git config whose `url.<root>/.insteadOf = https://github.com/` sends
every `https://github.com/OWNER/NAME` the product clones to `<root>/OWNER/NAME`, so the product's own
`git` commands run unchanged; a repository not made there fails to clone at once, like a deleted one.
`environment()` is what a test sets: `GIT_CONFIG_GLOBAL` to that file, system config off, and the
wizard's cache (`COMFYUI_HOME`) in the test's folder. `mirror(...)` instead points one GitHub
repository at an existing local (bare) repository, e.g. the pack mirrors of `COMFY_PACK_MIRRORS`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Pack Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Pack Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_IDENTITY, **(env or {})},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


class GitHubStandIn:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "gitconfig"
        self._urls: dict[str, str] = {}
        self._write_config()

    def environment(self, cache: Path) -> dict[str, str]:
        return {"GIT_CONFIG_GLOBAL": str(self.config), "GIT_CONFIG_NOSYSTEM": "1", "COMFYUI_HOME": str(cache)}

    def mirror(self, owner_name: str, path: Path) -> None:
        """Clone `https://github.com/<owner_name>` from the repository at `path`."""
        self._urls[f"https://github.com/{owner_name}"] = f"file://{Path(path).resolve()}"
        self._write_config()

    def _write_config(self) -> None:
        lines = [f'[url "file://{self.root.resolve()}/"]', "\tinsteadOf = https://github.com/"]
        for url, local in sorted(self._urls.items(), key=lambda item: -len(item[0])):
            lines += [f'[url "{local}"]', f"\tinsteadOf = {url}"]
        lines += ["[protocol]", "\tallow = always", "[init]", "\tdefaultBranch = main"]
        # What GitHub offers and the product uses: partial clones, and fetching their blobs later.
        lines += ["[uploadpack]", "\tallowFilter = true", "\tallowAnySHA1InWant = true"]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def repo(self, owner_name: str) -> Path:
        path = self.root / owner_name
        if not (path / ".git").is_dir():
            path.mkdir(parents=True, exist_ok=True)
            git("init", "--quiet", "-b", "main", cwd=path)
        return path

    def commit(
        self,
        owner_name: str,
        date: str,
        files: dict[str, str],
        *,
        message: str = "change",
        tag: str | None = None,
    ) -> str:
        """Write `files` and commit them at `date` (author and committer date); returns the hash."""
        path = self.repo(owner_name)
        for name, text in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text, encoding="utf-8")
        git("add", "-A", cwd=path)
        dates = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=path, env=dates)
        if tag:
            git("tag", tag, cwd=path)
        return git("rev-parse", "HEAD", cwd=path)


def pyproject(name: str, version: str) -> str:
    return f'[project]\nname = "{name}"\nversion = "{version}"\n'
