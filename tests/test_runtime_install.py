"""`runtime.install`: ComfyUI found where it is, else cloned at the pinned commit, atomically.

Clones real git repositories made in a temp folder (file:// URLs); the pinned ComfyUI checkout is
never touched.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.errors import ComfyUIInstallError
from runtime.install import ensure_comfyui
from runtime.locate import default_install_dir
from tests.support.install_git import commit_files, file_url, git, init_repo

REPO_ROOT = Path(__file__).resolve().parent.parent
COMFYUI_SHAPE = {"nodes.py": "NODE_CLASS_MAPPINGS = {}\n", "comfy/model_management.py": "# v1\n"}


@pytest.fixture
def install_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty COMFYUI_HOME, so the default install dir is inside the test's temp folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("COMFYUI_HOME", str(home))
    monkeypatch.delenv("COMFYUI_PATH", raising=False)
    return home


@pytest.fixture
def comfy_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A ComfyUI-shaped repository with two commits: (path, first commit, second commit)."""
    repo = init_repo(tmp_path / "ComfyUI-src")
    first = commit_files(repo, COMFYUI_SHAPE, "first")
    second = commit_files(repo, {"comfy/model_management.py": "# v2\n"}, "second")
    return repo, first, second


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name) if folder.exists() else []


def test_clones_pinned_commit_into_default_dir(install_home: Path, comfy_repo) -> None:
    repo, first, _second = comfy_repo

    path = ensure_comfyui(file_url(repo), first)

    assert path == default_install_dir()
    assert path.parent == install_home
    assert git("rev-parse", "HEAD", cwd=path) == first
    assert (path / "comfy" / "model_management.py").read_text() == "# v1\n"
    assert _leftovers(install_home) == []


def test_second_call_reuses_checkout_and_warns_about_other_commit(
    install_home: Path, comfy_repo, caplog: pytest.LogCaptureFixture
) -> None:
    repo, first, second = comfy_repo
    path = ensure_comfyui(file_url(repo), first)
    marker = path / "user-file.txt"
    marker.write_text("kept")

    with caplog.at_level(logging.WARNING, logger="runtime.install"):
        again = ensure_comfyui(file_url(repo), second)

    assert again == path
    assert git("rev-parse", "HEAD", cwd=path) == first, "an existing checkout is never moved"
    assert marker.read_text() == "kept"
    assert f"is at commit {first[:8]}, not the pinned {second[:8]}" in caplog.text


def test_unreachable_url_names_url_and_fix_and_leaves_nothing(install_home: Path, tmp_path: Path) -> None:
    missing = file_url(tmp_path / "no-such-repo")

    with pytest.raises(ComfyUIInstallError) as caught:
        ensure_comfyui(missing, "a" * 40)

    message = str(caught.value)
    assert missing in message and "COMFYUI_PATH" in message and "\n" not in message
    assert not default_install_dir().exists()
    assert _leftovers(install_home) == []


def test_unknown_commit_is_a_clear_error(install_home: Path, comfy_repo) -> None:
    repo, _first, _second = comfy_repo

    with pytest.raises(ComfyUIInstallError, match="commit 0123456789abcdef is not in the repository"):
        ensure_comfyui(file_url(repo), "0123456789abcdef")
    assert not default_install_dir().exists()
    assert _leftovers(install_home) == []


def test_repository_that_is_not_comfyui_is_refused(install_home: Path, tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "other")
    commit = commit_files(repo, {"README.md": "not ComfyUI\n"}, "readme")

    with pytest.raises(ComfyUIInstallError, match="does not look like ComfyUI"):
        ensure_comfyui(file_url(repo), commit)
    assert not default_install_dir().exists()


def test_foreign_folder_at_install_dir_is_not_overwritten(install_home: Path, comfy_repo) -> None:
    repo, first, _second = comfy_repo
    target = default_install_dir()
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine")

    with pytest.raises(ComfyUIInstallError, match="exists but is not a ComfyUI checkout; delete it"):
        ensure_comfyui(file_url(repo), first)
    assert (target / "notes.txt").read_text() == "mine"


def test_comfyui_path_without_comfyui_is_reported(
    install_home: Path, comfy_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, first, _second = comfy_repo
    monkeypatch.setenv("COMFYUI_PATH", str(tmp_path / "elsewhere"))

    with pytest.raises(ComfyUIInstallError, match="does not hold a ComfyUI checkout"):
        ensure_comfyui(file_url(repo), first)


def _run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "COMFYUI_PATH"}
    env["COMFYUI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "runtime.install", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_installs_and_prints_path(tmp_path: Path, comfy_repo) -> None:
    repo, _first, second = comfy_repo
    home = tmp_path / "cli-home"

    completed = _run_cli("--repo", file_url(repo), "--commit", second, home=home)

    assert completed.returncode == 0, completed.stderr
    path = Path(completed.stdout.strip())
    assert path.parent == home
    assert git("rev-parse", "HEAD", cwd=path) == second


def test_cli_failure_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = file_url(tmp_path / "absent")

    completed = _run_cli("--repo", missing, home=tmp_path / "cli-home")

    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith("error: Could not install ComfyUI") and missing in lines[-1]
    assert "Traceback" not in completed.stderr
