"""`python -m wizard build` writes beside the target and renames at the end: a full disk or a read-only
folder is a one-line user error naming the path and leaves nothing behind, a build killed mid-way leaves
no folder that publish would take, and a rebuild keeps what the user keeps in the folder.

The full disk is a real 64 KiB tmpfs and the read-only folder a real read-only mount, each in a private
mount namespace (`unshare -rm`, no root needed); the tests skip with the reason when that is unavailable.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wizard_cli import REPO_ROOT, run_wizard
from wizard.errors import PublishFolderError
from wizard.manifest import MANIFEST_NAME
from wizard.publish import publish_folder


def _can_mount_tmpfs() -> str | None:
    """None when `unshare -rm` can mount a tmpfs here, else why not."""
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
    )
    return (
        None if probe.returncode == 0 else f"cannot mount a tmpfs in a user namespace: {probe.stderr.strip()}"
    )


needs_tmpfs = pytest.mark.skipif(_can_mount_tmpfs() is not None, reason=str(_can_mount_tmpfs()))


@pytest.fixture
def workflow(templates_dir) -> Path:
    return templates_dir / "image2image.json"


def build_in_mount(
    workflow: Path, mount: Path, mount_options: str
) -> tuple[subprocess.CompletedProcess, str]:
    """`wizard build` into `mount/space`, `mount` being a fresh tmpfs with `mount_options`; returns the run
    and what `mount` held afterwards (`ls -A`), seen from inside the namespace."""
    mount.mkdir()
    script = (
        f'mount -t tmpfs -o {mount_options} tmpfs "$1" && '
        f'"$2" -m wizard build "$3" --auto -o "$1/space"; status=$?; '
        'echo "--- held:"; ls -A "$1"; exit $status'
    )
    completed = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(mount), sys.executable, str(workflow)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    held = completed.stdout.split("--- held:\n", 1)[1]
    return completed, held


@needs_tmpfs
def test_a_full_disk_is_a_user_error_with_the_path_and_leaves_nothing(workflow, tmp_path):
    completed, held = build_in_mount(workflow, tmp_path / "small", "size=64k")
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
    assert completed.stderr.startswith("error: the disk is full while writing ")
    assert str(tmp_path / "small") in completed.stderr
    assert held.split() == []  # no Space folder, no partial sibling


@needs_tmpfs
def test_a_read_only_folder_is_a_user_error_with_the_path(workflow, tmp_path):
    completed, held = build_in_mount(workflow, tmp_path / "readonly", "ro,size=1m")
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
    assert completed.stderr.startswith(f"error: no permission to write {tmp_path / 'readonly'}")
    assert held.split() == []


def test_a_build_killed_mid_way_leaves_no_folder_publish_would_take(workflow, tmp_path):
    """RLIMIT_FSIZE kills the build (SIGXFSZ, which Python ignores unless told not to) in the middle of
    writing its files, as a crash would."""
    crash_on_limit = (
        "import runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); "
        "sys.argv = ['wizard', *sys.argv[1:]]; runpy.run_module('wizard', run_name='__main__')"
    )

    def small_file_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            crash_on_limit,
            "build",
            str(workflow),
            "--auto",
            "-o",
            str(tmp_path / "space"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_file_limit,
    )
    assert killed.returncode == -signal.SIGXFSZ, (killed.returncode, killed.stderr[-2000:])
    assert not (tmp_path / "space").exists()
    [partial] = [entry for entry in tmp_path.iterdir() if entry.name.startswith(".space.partial-")]
    assert (partial / "app.py").is_file() and not (partial / MANIFEST_NAME).exists()
    with pytest.raises(PublishFolderError, match=f"has no {MANIFEST_NAME}, so its build did not finish"):
        publish_folder(partial, space="tiny-sd", token="hf_unused")


def test_a_rebuild_replaces_the_wizards_files_and_keeps_the_users(workflow, tmp_path):
    space = tmp_path / "space"
    assert run_wizard("build", workflow, "--auto", "-o", space).returncode == 0
    (space / "comfy_data" / "models").mkdir(parents=True)
    (space / "comfy_data" / "models" / "big.safetensors").write_bytes(b"weights")
    (space / "NOTES.md").write_text("mine")
    (space / "runtime" / "stale.py").write_text("# from an older wizard\n")
    (space / "app.py").write_text("edited by hand\n")

    assert run_wizard("build", workflow, "--auto", "-o", space).returncode == 0
    assert (space / "comfy_data" / "models" / "big.safetensors").read_bytes() == b"weights"
    assert (space / "NOTES.md").read_text() == "mine"
    assert not (space / "runtime" / "stale.py").exists()
    assert (space / "app.py").read_text() != "edited by hand\n"
    assert [entry.name for entry in tmp_path.iterdir() if entry.name.startswith(".space.")] == []
