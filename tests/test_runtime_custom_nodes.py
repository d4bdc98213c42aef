"""`runtime.custom_nodes`: packs pinned by git commit or registry version, installed idempotently,
and an import failure reported with the pack's name.

Packs are real git repositories made in a temp folder (file:// URLs); the registry is a local HTTP
server answering the documented `GET /nodes/{id}/versions/{version}`. The tier-2 test loads a pack
into the pinned ComfyUI (a subprocess, custom-node folder pointed at the temp folder) and runs it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runtime.custom_nodes import REGISTRY_MARKER, install_packs, pack_dir_name
from runtime.errors import CustomNodeError
from tests.support.install_git import commit_files, file_url, git, init_repo

REPO_ROOT = Path(__file__).resolve().parent.parent

PACK_INIT = '''from .shout import shout


class RuntimeTestShout:
    """Upper-cases its text and appends the pack's version, so a run shows which commit ran."""

    CATEGORY = "runtime-tests"
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": ""})}}

    def run(self, text):
        result = shout(text)
        return {"ui": {"text": [result]}, "result": (result,)}


NODE_CLASS_MAPPINGS = {"RuntimeTestShout": RuntimeTestShout}
NODE_DISPLAY_NAME_MAPPINGS = {"RuntimeTestShout": "Shout (runtime tests)"}
'''


def _shout_module(version: str) -> str:
    return f"def shout(text):\n    return text.upper() + '-{version}'\n"


@pytest.fixture
def shout_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A custom-node pack repository with two commits: (path, v1 commit, v2 commit)."""
    repo = init_repo(tmp_path / "src" / "comfyui-shout")
    v1 = commit_files(repo, {"__init__.py": PACK_INIT, "shout.py": _shout_module("v1")}, "v1")
    v2 = commit_files(repo, {"shout.py": _shout_module("v2")}, "v2")
    return repo, v1, v2


@pytest.fixture
def comfy_dir(tmp_path: Path) -> Path:
    """Stands in for a ComfyUI folder: install_packs only writes its custom_nodes/."""
    return tmp_path / "ComfyUI"


def _pack(repo: Path, commit: str | None, name: str = "shout") -> dict:
    return {"pack": name, "repo": file_url(repo), "commit": commit, "version": None}


def test_git_pack_is_cloned_at_its_commit(shout_repo, comfy_dir: Path) -> None:
    repo, v1, _v2 = shout_repo

    (path,) = install_packs([_pack(repo, v1)], comfy_dir)

    assert path == comfy_dir / "custom_nodes" / "comfyui-shout"
    assert git("rev-parse", "HEAD", cwd=path) == v1
    assert "-v1" in (path / "shout.py").read_text()
    assert [p.name for p in (comfy_dir / "custom_nodes").iterdir()] == ["comfyui-shout"]


def test_reinstall_at_same_commit_changes_nothing(shout_repo, comfy_dir: Path) -> None:
    repo, v1, _v2 = shout_repo
    (path,) = install_packs([_pack(repo, v1)], comfy_dir)
    local_file = path / "local-state.txt"
    local_file.write_text("kept")
    git_dir_mtime = (path / ".git").stat().st_mtime_ns

    assert install_packs([_pack(repo, v1)], comfy_dir) == [path]

    assert local_file.read_text() == "kept"
    assert (path / ".git").stat().st_mtime_ns == git_dir_mtime
    assert git("rev-parse", "HEAD", cwd=path) == v1


def test_other_commit_is_fetched_and_checked_out(shout_repo, comfy_dir: Path) -> None:
    repo, v1, _v2 = shout_repo
    (path,) = install_packs([_pack(repo, v1)], comfy_dir)
    v3 = commit_files(repo, {"shout.py": _shout_module("v3")}, "v3 (made after the first clone)")

    install_packs([_pack(repo, v3)], comfy_dir)

    assert git("rev-parse", "HEAD", cwd=path) == v3
    assert "-v3" in (path / "shout.py").read_text()


def test_unpinned_pack_uses_default_branch_and_warns(
    shout_repo, comfy_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo, _v1, v2 = shout_repo

    (path,) = install_packs([_pack(repo, None)], comfy_dir)

    assert git("rev-parse", "HEAD", cwd=path) == v2
    assert "Custom-node pack 'shout' has no pinned commit; using its default branch" in caplog.text


def test_foreign_folder_in_the_way_is_not_overwritten(shout_repo, comfy_dir: Path) -> None:
    repo, v1, _v2 = shout_repo
    foreign = comfy_dir / "custom_nodes" / "comfyui-shout"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("# someone else's\n")

    with pytest.raises(CustomNodeError, match="exists but is not a git checkout; delete it"):
        install_packs([_pack(repo, v1)], comfy_dir)
    assert (foreign / "__init__.py").read_text() == "# someone else's\n"


def test_requirements_are_installed_with_pip(shout_repo, comfy_dir: Path) -> None:
    repo, _v1, _v2 = shout_repo
    satisfied = commit_files(repo, {"requirements.txt": "networkx\n"}, "needs networkx (installed)")

    (path,) = install_packs([_pack(repo, satisfied)], comfy_dir)

    assert git("rev-parse", "HEAD", cwd=path) == satisfied


def test_failing_requirements_name_the_pack_and_leave_no_folder(shout_repo, comfy_dir: Path) -> None:
    repo, _v1, _v2 = shout_repo
    broken = commit_files(repo, {"requirements.txt": "this is not a requirement ===\n"}, "bad requirements")

    with pytest.raises(
        CustomNodeError, match=r"Could not install the requirements of custom-node pack 'shout'"
    ):
        install_packs([_pack(repo, broken)], comfy_dir)
    assert list((comfy_dir / "custom_nodes").iterdir()) == []


def test_requirements_are_skipped_when_asked(shout_repo, comfy_dir: Path) -> None:
    repo, _v1, _v2 = shout_repo
    broken = commit_files(repo, {"requirements.txt": "this is not a requirement ===\n"}, "bad requirements")

    (path,) = install_packs([_pack(repo, broken)], comfy_dir, install_requirements=False)

    assert git("rev-parse", "HEAD", cwd=path) == broken


def test_unknown_commit_names_the_pack(shout_repo, comfy_dir: Path) -> None:
    repo, _v1, _v2 = shout_repo

    with pytest.raises(CustomNodeError) as caught:
        install_packs([_pack(repo, "deadbeefdeadbeef")], comfy_dir)

    assert str(caught.value) == (
        f"Could not install custom-node pack 'shout' from {file_url(repo)}: "
        "commit deadbeefdeadbeef is not in the repository"
    )
    assert list((comfy_dir / "custom_nodes").iterdir()) == []


@pytest.mark.parametrize(
    "pack, message",
    [
        ({"pack": "x", "repo": None, "commit": "abcdef1", "version": None}, "has no repo URL"),
        ({"pack": "x", "repo": None, "commit": None, "version": None}, "needs a git repo URL with a commit"),
        ({"pack": "user/x", "repo": None, "commit": None, "version": "1.0.0"}, "needs a git repo URL"),
        (
            {"pack": "x", "repo": "ext::sh -c touch% /tmp/pwned", "commit": "abcdef1", "version": None},
            "unsupported",
        ),
        (
            {"pack": "x", "repo": "https://example.com/a/..", "commit": "abcdef1", "version": None},
            "folder name",
        ),
        (
            {"pack": "x", "repo": "file:///tmp/x", "commit": "main; rm -rf", "version": None},
            "not a commit hash",
        ),
    ],
)
def test_bad_pack_entries_are_clear_errors(pack: dict, message: str, comfy_dir: Path) -> None:
    with pytest.raises(CustomNodeError, match=message):
        install_packs([pack], comfy_dir)


def test_pack_folder_is_named_after_the_repository() -> None:
    assert (
        pack_dir_name({"pack": "kj", "repo": "https://github.com/kijai/ComfyUI-KJNodes.git"})
        == "ComfyUI-KJNodes"
    )
    assert pack_dir_name({"pack": "comfyui-impact-pack", "repo": None}) == "comfyui-impact-pack"


class _Registry:
    """A local Comfy registry: version info at /nodes/{id}/versions/{v}, archives at /archives/..."""

    def __init__(self) -> None:
        self.archives: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                parts = self.path.strip("/").split("/")
                if len(parts) == 4 and parts[0] == "nodes" and parts[2] == "versions":
                    key = (parts[1], parts[3])
                    if key not in registry.archives:
                        return self._send(404, b'{"message": "Node version not found"}')
                    info = {
                        "id": "x",
                        "version": key[1],
                        "downloadUrl": f"{registry.url}/archives/{key[0]}/{key[1]}",
                    }
                    return self._send(200, json.dumps(info).encode())
                if len(parts) == 3 and parts[0] == "archives" and (parts[1], parts[2]) in registry.archives:
                    return self._send(200, registry.archives[(parts[1], parts[2])])
                self._send(404, b"{}")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, pack_id: str, version: str, files: dict[str, str]) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        self.archives[(pack_id, version)] = buffer.getvalue()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Registry]:
    server = _Registry()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("COMFY_REGISTRY_URL", server.url)
    monkeypatch.setenv(
        "COMFY_WIZARD_ALLOWED_HOSTS", server.url
    )  # runtime/urlpolicy.py: trust the test registry
    yield server
    server.server.shutdown()
    server.server.server_close()


def _registry_pack(version: str) -> dict:
    return {"pack": "shout-pack", "repo": None, "commit": None, "version": version}


def test_registry_pack_is_downloaded_once_per_version(registry: _Registry, comfy_dir: Path) -> None:
    registry.add("shout-pack", "1.0.0", {"__init__.py": PACK_INIT, "shout.py": _shout_module("1.0.0")})
    registry.add("shout-pack", "1.1.0", {"__init__.py": PACK_INIT, "shout.py": _shout_module("1.1.0")})

    (path,) = install_packs([_registry_pack("1.0.0")], comfy_dir)
    assert path == comfy_dir / "custom_nodes" / "shout-pack"
    assert "-1.0.0" in (path / "shout.py").read_text()
    assert json.loads((path / REGISTRY_MARKER).read_text()) == {"pack": "shout-pack", "version": "1.0.0"}
    assert registry.requests == ["/nodes/shout-pack/versions/1.0.0", "/archives/shout-pack/1.0.0"]

    install_packs([_registry_pack("1.0.0")], comfy_dir)
    assert len(registry.requests) == 2, "an installed version is not fetched again"

    install_packs([_registry_pack("1.1.0")], comfy_dir)
    assert "-1.1.0" in (path / "shout.py").read_text()
    assert len(registry.requests) == 4
    assert sorted(p.name for p in (comfy_dir / "custom_nodes").iterdir()) == ["shout-pack"]


def test_unknown_registry_version_is_a_clear_error(registry: _Registry, comfy_dir: Path) -> None:
    with pytest.raises(
        CustomNodeError, match=r"Could not download custom-node pack 'shout-pack': .* HTTP 404"
    ):
        install_packs([_registry_pack("9.9.9")], comfy_dir)
    assert list((comfy_dir / "custom_nodes").iterdir()) == []


def test_registry_archive_escaping_its_folder_is_refused(registry: _Registry, comfy_dir: Path) -> None:
    registry.add("shout-pack", "1.0.0", {"__init__.py": PACK_INIT, "../escaped.py": "x = 1\n"})

    with pytest.raises(CustomNodeError, match="holds a path outside its folder"):
        install_packs([_registry_pack("1.0.0")], comfy_dir)
    assert not (comfy_dir / "custom_nodes" / "escaped.py").exists()
    assert list((comfy_dir / "custom_nodes").iterdir()) == []


def _run_in_comfyui(comfyui: Path, comfy_dir: Path, work: Path, packs: list[dict], prompt: dict) -> dict:
    job = json.dumps({"packs": packs, "prompt": prompt})
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.install_run_pack",
            str(comfyui),
            str(comfy_dir / "custom_nodes"),
        ]
        + [str(work), job],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.tier2
def test_pinned_pack_runs_in_comfyui_and_broken_pack_is_named(
    comfyui_path: Path, shout_repo, comfy_dir: Path, tmp_path: Path
) -> None:
    repo, v1, _v2 = shout_repo
    broken_repo = init_repo(tmp_path / "src" / "comfyui-broken")
    broken_commit = commit_files(
        broken_repo,
        {"__init__.py": "import runtime_tests_missing_module\nNODE_CLASS_MAPPINGS = {}\n"},
        "broken",
    )
    packs = [_pack(repo, v1), _pack(broken_repo, broken_commit, name="broken")]
    install_packs(packs, comfy_dir)
    prompt = {
        "1": {"class_type": "PrimitiveString", "inputs": {"value": "hello"}},
        "2": {"class_type": "RuntimeTestShout", "inputs": {"text": ["1", 0]}},
    }

    result = _run_in_comfyui(comfyui_path, comfy_dir, tmp_path / "work", packs, prompt)

    assert result["pack_errors"] == {
        "shout": None,
        "broken": "Custom-node pack 'broken' failed to import: "
        "ModuleNotFoundError: No module named 'runtime_tests_missing_module'",
    }
    assert result["success"], result["messages"]
    assert result["outputs"]["2"] == {"text": ["HELLO-v1"]}, "the pinned commit (v1, not v2) ran"
