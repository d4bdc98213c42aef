"""`python -m wizard publish DIR --space [USER/]NAME [--private] [--token TOKEN]` end to end against the fake
Hub, run from a clean copy of the repository (the files a clone would hold) with only HF_ENDPOINT and the
token in the environment: no saved login, no installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakehub import FakeHub
from tests.test_fakehub import http
from tests.test_publish import ALICE, assert_complete, commits, make_space

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clean_clone(tmp_path_factory) -> Path:
    """The repository as a fresh clone of this working tree would have it: tracked and not-ignored files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    clone = tmp_path_factory.mktemp("clone") / "repo"
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            (clone / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / relative)
    return clone


def cli(clone: Path, hub: FakeHub, tmp_path: Path, *args: str, token: str | None = ALICE):
    """Run the CLI in `clone` with a minimal environment; returns (exit status, stdout, stderr, seconds)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    if token is not None:
        env["HF_TOKEN"] = token
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "wizard", "publish", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.returncode, completed.stdout, completed.stderr, time.perf_counter() - started


def test_cli_publishes_and_republishes(clean_clone, fake_hub, tmp_path):
    files = make_space(tmp_path)
    folder = str(tmp_path / "space")
    status, stdout, stderr, _ = cli(clean_clone, fake_hub, tmp_path, folder, "--space", "tiny-sd")
    assert (status, stdout) == (0, f"{fake_hub.url}/spaces/alice/tiny-sd\n"), stderr
    assert_complete(fake_hub, "alice/tiny-sd", files)
    create = next(r for r in fake_hub.requests if r.path == "/api/repos/create").json()
    assert (create["hardware"], create["visibility"], create["sdk"]) == ("zero-a10g", "public", "gradio")
    assert ALICE not in stdout + stderr

    (tmp_path / "space" / "app.py").write_bytes(files["app.py"] + b"# update\n")
    status, stdout, stderr, _ = cli(clean_clone, fake_hub, tmp_path, folder, "--space", "alice/tiny-sd")
    assert (status, stdout) == (0, f"{fake_hub.url}/spaces/alice/tiny-sd\n"), stderr
    assert len(commits(fake_hub)) == 2
    assert fake_hub.repos[("space", "alice/tiny-sd")].files["app.py"].endswith(b"# update\n")


def test_cli_private_with_the_token_flag(clean_clone, fake_hub, tmp_path):
    files = make_space(tmp_path)
    status, stdout, stderr, _ = cli(
        clean_clone,
        fake_hub,
        tmp_path,
        str(tmp_path / "space"),
        "--space",
        "acme/tiny-sd",
        "--private",
        "--token",
        ALICE,
        token=None,
    )
    assert (status, stdout) == (0, f"{fake_hub.url}/spaces/acme/tiny-sd\n"), stderr
    assert fake_hub.repos[("space", "acme/tiny-sd")].private
    assert_complete(fake_hub, "acme/tiny-sd", files)
    assert ALICE not in stdout + stderr


def test_cli_failure_then_retry_completes_the_space(clean_clone, fake_hub, tmp_path):
    files = make_space(tmp_path)
    folder = str(tmp_path / "space")
    fake_hub.fail_next(method="POST", path="/commit/", drop_connection=True)
    status, stdout, stderr, _ = cli(clean_clone, fake_hub, tmp_path, folder, "--space", "tiny-sd")
    assert (status, stdout) == (2, "")
    assert stderr.startswith(
        "error: the connection to the Hugging Face Hub dropped while uploading to alice/tiny-sd"
    )
    assert len(stderr.strip().splitlines()) == 1 and ALICE not in stderr
    status, stdout, stderr, _ = cli(clean_clone, fake_hub, tmp_path, folder, "--space", "tiny-sd")
    assert status == 0, stderr
    assert_complete(fake_hub, "alice/tiny-sd", files)


@pytest.mark.parametrize(
    "args, token, message",
    [
        (["--space", "tiny-sd"], "hf_expiredtoken", "error: the Hugging Face Hub rejected your token"),
        (["--space", "tiny-sd"], None, "error: no Hugging Face token"),
        (["--space", "bad--name"], ALICE, "error: invalid Space name 'bad--name'"),
    ],
    ids=["bad-token", "no-token", "bad-name"],
)
def test_cli_errors_are_one_line(clean_clone, fake_hub, tmp_path, args, token, message):
    make_space(tmp_path)
    status, stdout, stderr, seconds = cli(
        clean_clone, fake_hub, tmp_path, str(tmp_path / "space"), *args, token=token
    )
    assert (status, stdout) == (2, "") and stderr.startswith(message), stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    if token:
        assert token not in stderr
    print(f"{message!r}: {seconds:.2f} s")


def test_cli_refuses_a_missing_folder_within_two_seconds(clean_clone, fake_hub, tmp_path):
    status, stdout, stderr, seconds = cli(
        clean_clone, fake_hub, tmp_path, str(tmp_path / "nope"), "--space", "x"
    )
    assert (status, stdout) == (2, "")
    assert (
        stderr
        == f"error: {tmp_path / 'nope'} is not a folder: build the Space first with `python -m wizard build`\n"
    )
    assert seconds < 2.0, seconds
    assert fake_hub.requests == []


def test_cli_builds_and_publishes_a_real_template(clean_clone, fake_hub, tmp_path, templates_dir):
    """`python -m wizard build` on the official default workflow, then `publish`: the whole generated folder
    lands in one commit and the fake Hub's runtime sees the app file."""
    folder = tmp_path / "built"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    build = subprocess.run(
        [sys.executable, "-m", "wizard", "build", str(templates_dir / "default.json"), "-o", str(folder)],
        cwd=clean_clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    built = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {"app.py", "README.md", "requirements.txt", "workflow_api.json", "comfy.lock.json"} <= set(built)

    status, stdout, stderr, _ = cli(clean_clone, fake_hub, tmp_path, str(folder), "--space", "sd15-demo")
    assert (status, stdout) == (0, f"{fake_hub.url}/spaces/alice/sd15-demo\n"), stderr
    assert_complete(fake_hub, "alice/sd15-demo", built)
    (commit,) = commits(fake_hub)
    assert sorted(line["value"]["path"] for line in commit.ndjson()[1:]) == sorted(built)
    status, _, runtime = http(fake_hub, "GET", "/api/spaces/alice/sd15-demo/runtime")
    assert (status, runtime["stage"], runtime["hardware"]["requested"]) == (200, "RUNNING", "zero-a10g")
