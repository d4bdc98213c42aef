"""`runtime.models.ensure_models`: Hub files downloaded once into the HF cache and linked into ComfyUI's
model folders (one copy on disk), nothing fetched again on restart, gated repos explained, other URLs
downloaded into the folder.

The Hub is the local fake (`tests/fakehub.py`, real HTTP); huggingface_hub reads HF_ENDPOINT at import,
so every download runs in a fresh process (`tests/support/models_ensure.py`), like a restarted Space.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.errors import ModelDownloadError
from runtime.models import ensure_models, model_target
from runtime.urlpolicy import ALLOWED_HOSTS_ENV
from tests.fakehub import client_env

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = b"not really a checkpoint, but bytes all the same " * 2000  # ~98 kB


def _hub_model(
    name: str = "sd/tiny.safetensors", repo_id: str = "acme/tiny", path: str = "tiny.safetensors"
) -> dict:
    return {
        "name": name,
        "folder": "checkpoints",
        "repo_id": repo_id,
        "path": path,
        "revision": None,
        "url": None,
    }


def _ensure(
    models: list[dict], models_root: Path, hf_home: Path, endpoint: str, token: str | None = None
) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.support.models_ensure", str(models_root), json.dumps(models)],
        cwd=REPO_ROOT,
        env=client_env(endpoint, hf_home, token, HF_HUB_DISABLE_XET="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _downloads(hub, path: str) -> list[str]:
    return [
        request.method
        for request in hub.requests
        if "/resolve/" in request.path and request.path.endswith(path)
    ]


def test_hub_file_is_downloaded_once_and_linked_from_the_cache(fake_hub, tmp_path: Path) -> None:
    commit = fake_hub.add_model_file("acme/tiny", "tiny.safetensors", WEIGHTS)
    fake_hub.add_model_file("acme/tiny", "tiny.safetensors", b"a later version")
    model = {**_hub_model(), "revision": commit}  # the lock pins the commit it resolved
    models_root, hf_home = tmp_path / "models", tmp_path / "hf-home"

    first = _ensure([model], models_root, hf_home, fake_hub.url)

    assert first["error"] is None
    link = models_root / "checkpoints" / "sd" / "tiny.safetensors"
    assert link.is_symlink()
    assert link.resolve().is_relative_to((hf_home / "hub").resolve()), "the only copy is in the HF cache"
    assert link.read_bytes() == WEIGHTS
    assert _downloads(fake_hub, "tiny.safetensors").count("GET") == 1
    assert first["progress"][-1] == [1.0, "Model files ready"]
    assert any(desc == "Downloading sd/tiny.safetensors" and 0 < f <= 1 for f, desc in first["progress"])
    requests_before_restart = len(fake_hub.requests)

    restart = _ensure([model], models_root, hf_home, fake_hub.url)

    assert restart["error"] is None
    assert len(fake_hub.requests) == requests_before_restart, "a restart sends no request at all"
    assert link.read_bytes() == WEIGHTS


@pytest.mark.tier2
def test_comfyui_finds_the_linked_file_without_a_second_copy(
    fake_hub, tmp_path: Path, comfyui_path: Path
) -> None:
    fake_hub.add_model_file("acme/tiny", "tiny.safetensors", WEIGHTS)
    models_root, hf_home = tmp_path / "models", tmp_path / "hf-home"
    assert _ensure([_hub_model()], models_root, hf_home, fake_hub.url)["error"] is None

    completed = subprocess.run(
        [sys.executable, "-m", "tests.support.models_comfyui_lookup", str(comfyui_path), str(models_root)]
        + ["checkpoints", "sd/tiny.safetensors"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["full_path"] == str(models_root / "checkpoints" / "sd" / "tiny.safetensors")
    assert "sd/tiny.safetensors" in found["listed"]
    assert Path(found["full_path"]).resolve().is_relative_to((hf_home / "hub").resolve())
    copies = [p for p in [*models_root.rglob("*"), *hf_home.rglob("*")] if p.is_file() and not p.is_symlink()]
    assert [p.read_bytes() == WEIGHTS for p in copies].count(True) == 1, "exactly one copy of the weights"


def test_gated_repo_says_accept_the_licence_and_add_hf_token(fake_hub, tmp_path: Path) -> None:
    fake_hub.add_model_file("acme/gated", "gated.safetensors", WEIGHTS, gated=True)
    model = _hub_model("gated.safetensors", "acme/gated", "gated.safetensors")

    result = _ensure([model], tmp_path / "models", tmp_path / "hf-home", fake_hub.url)

    assert result["error"] == (
        "Model gated.safetensors comes from the gated repo acme/gated: accept the licence on "
        f"{fake_hub.url}/acme/gated and add an HF_TOKEN secret"
    )
    assert not (tmp_path / "models" / "checkpoints" / "gated.safetensors").exists()


def test_gated_repo_downloads_with_a_token_that_has_access(fake_hub, tmp_path: Path) -> None:
    fake_hub.add_model_file("acme/gated", "gated.safetensors", WEIGHTS, gated=True)
    fake_hub.grant_access("bob", "acme/gated")
    model = _hub_model("gated.safetensors", "acme/gated", "gated.safetensors")

    result = _ensure([model], tmp_path / "models", tmp_path / "hf-home", fake_hub.url, token="hf_bobtoken")

    assert result["error"] is None
    assert (tmp_path / "models" / "checkpoints" / "gated.safetensors").read_bytes() == WEIGHTS


@pytest.mark.parametrize(
    "model, message",
    [
        (_hub_model("x.safetensors", "acme/absent", "x.safetensors"), "the Hub has no repo acme/absent"),
        (
            _hub_model("x.safetensors", "acme/tiny", "missing.safetensors"),
            "the Hub has no file acme/tiny/missing",
        ),
        ({**_hub_model(), "revision": "no-such-branch"}, "repo acme/tiny has no revision no-such-branch"),
    ],
)
def test_missing_hub_files_are_clear_errors(fake_hub, tmp_path: Path, model: dict, message: str) -> None:
    fake_hub.add_model_file("acme/tiny", "tiny.safetensors", WEIGHTS)

    result = _ensure([model], tmp_path / "models", tmp_path / "hf-home", fake_hub.url)

    assert message in result["error"] and "\n" not in result["error"]


def test_unreachable_hub_is_a_clear_error(tmp_path: Path) -> None:
    closed_port = "http://127.0.0.1:9"  # discard port: nothing listens

    result = _ensure([_hub_model()], tmp_path / "models", tmp_path / "hf-home", closed_port)

    assert result["error"] == (
        "Model sd/tiny.safetensors: cannot reach the Hub to download acme/tiny/tiny.safetensors, and it is not "
        "in the cache; check the network and retry"
    )


def test_plain_url_is_downloaded_into_the_model_folder_once(fake_hub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(
        ALLOWED_HOSTS_ENV, fake_hub.url
    )  # runtime/urlpolicy.py: trust the loopback test server
    fake_hub.add_model_file("acme/tiny", "tiny.safetensors", WEIGHTS)
    url = (
        f"{fake_hub.url}/acme/tiny/resolve/main/tiny.safetensors"  # any HTTP server; this one counts requests
    )
    model = {"name": "up/x4.pth", "folder": "upscale_models", "repo_id": None, "path": None, "revision": None}
    model["url"] = url
    models_root = tmp_path / "models"

    first = _ensure([model], models_root, tmp_path / "hf-home", "http://127.0.0.1:9")
    second = _ensure([model], models_root, tmp_path / "hf-home", "http://127.0.0.1:9")

    target = models_root / "upscale_models" / "up" / "x4.pth"
    assert first["error"] is None and second["error"] is None
    assert target.is_file() and not target.is_symlink() and target.read_bytes() == WEIGHTS
    assert _downloads(fake_hub, "tiny.safetensors") == ["GET"]
    assert [name for name in os.listdir(target.parent)] == ["x4.pth"], "no temp file left behind"
    assert [1.0, "Downloading up/x4.pth"] in first["progress"]


def test_unreachable_url_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "http://127.0.0.1:9")
    model = {"name": "x.pth", "folder": "upscale_models", "url": "http://127.0.0.1:9/x.pth"}

    with pytest.raises(
        ModelDownloadError, match=r"^Model x.pth: http://127.0.0.1:9/x.pth could not be downloaded"
    ):
        ensure_models([model], tmp_path / "models")
    assert list((tmp_path / "models" / "upscale_models").iterdir()) == []


def test_existing_file_is_kept_and_nothing_is_fetched(tmp_path: Path) -> None:
    target = tmp_path / "models" / "loras" / "mine.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"user supplied")
    model = {"name": "mine.safetensors", "folder": "loras", "url": "http://127.0.0.1:9/unreachable"}

    ensure_models([model], tmp_path / "models")

    assert target.read_bytes() == b"user supplied"


@pytest.mark.parametrize(
    "name", ["../escape.safetensors", "/etc/passwd", "a/../../b.safetensors", "", "a/.."]
)
def test_names_leaving_the_model_folder_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ModelDownloadError, match="is not a safe relative path"):
        model_target(tmp_path, {"name": name, "folder": "checkpoints"})


def test_model_without_source_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(
        ModelDownloadError, match="has no download source; add its Hub repo and path or a URL"
    ):
        ensure_models([{"name": "x.safetensors", "folder": "vae"}], tmp_path)
