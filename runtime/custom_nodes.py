"""Installs the workflow's custom-node packs into `<ComfyUI>/custom_nodes`, pinned, and reports the
ones that fail to import.

A pack in `comfy.lock.json` is `{"pack", "repo", "commit", "version"}`:
- `repo` + `commit`: a git clone checked out at that commit;
- registry id + `version` (no commit): the archive of that version from the Comfy registry
  (`GET /nodes/{id}/versions/{version}` → `downloadUrl`);
- `repo` alone: the default branch, unpinned (logged as a warning).

ComfyUI only logs a custom node's import failure. Importing this module (before ComfyUI's
`init_extra_nodes`) starts recording those log lines, so `raise_for_failed_packs` can name the pack
and the exception after init.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any, Callable
from urllib.parse import quote

from runtime.atomic import build_then_rename
from runtime.download import DownloadError, download_file, fetch_json
from runtime.errors import CustomNodeError
from runtime.gitcmd import GitCommandError, checkout, clone_at, head_commit, resolve_commit, run_git
from runtime.progress import report as report_progress

logger = logging.getLogger(__name__)

DEFAULT_REGISTRY_URL = "https://api.comfy.org"  # COMFY_REGISTRY_URL overrides it
REGISTRY_ARCHIVE_MAX_BYTES = 2 * 1024**3  # a pack's source archive; its models come separately
REGISTRY_MARKER = ".comfy-registry.json"  # written into a registry-installed pack: {"pack", "version"}
_SAFE_DIR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PROTECTED_PACKAGES = ("torch", "torchvision", "torchaudio")  # a pack's requirements must not replace them


def pack_dir_name(pack: dict[str, Any]) -> str:
    """The folder under custom_nodes: the repository's name (as ComfyUI-Manager names it), else the id."""
    source = pack.get("repo") or pack.get("pack") or ""
    name = source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = name[: -len(".git")] if name.endswith(".git") else name
    if not _SAFE_DIR_NAME.match(name) or name.endswith(".disabled"):
        raise CustomNodeError(f"Custom-node pack {_label(pack)} has no usable folder name ({name!r})")
    return name


def install_packs(
    packs: list[dict[str, Any]], comfyui_path: Path, install_requirements: bool = True
) -> list[Path]:
    """Makes every pack present at its pinned commit or version; returns their folders in order."""
    custom_nodes = Path(comfyui_path) / "custom_nodes"
    custom_nodes.mkdir(parents=True, exist_ok=True)
    return [_install_pack(pack, custom_nodes, install_requirements) for pack in packs]


def _install_pack(pack: dict[str, Any], custom_nodes: Path, install_requirements: bool) -> Path:
    dest = custom_nodes / pack_dir_name(pack)
    report_progress(f"Installing custom-node pack {pack_name(pack)}")
    repo, commit, version = pack.get("repo"), pack.get("commit"), pack.get("version")

    def prepare(pack_dir: Path) -> None:
        """Runs on a new or moved checkout, before a new one is renamed into place."""
        if install_requirements:
            install_pack_requirements(pack, pack_dir)

    try:
        if commit:
            if not repo:
                raise CustomNodeError(
                    f"Custom-node pack {_label(pack)} is pinned to commit {commit} but has no repo URL"
                )
            _git_pack_at(repo, commit, dest, prepare)
        elif version and _is_registry_id(pack.get("pack")):
            _registry_pack_at(pack["pack"], version, dest, prepare)
        elif repo:
            logger.warning("Custom-node pack %s has no pinned commit; using its default branch", _label(pack))
            if not dest.exists():
                build_then_rename(dest, _cloner(repo, None, prepare))
        else:
            raise CustomNodeError(
                f"Custom-node pack {_label(pack)} needs a git repo URL with a commit, or a registry version"
            )
    except GitCommandError as error:
        raise CustomNodeError(
            f"Could not install custom-node pack {_label(pack)} from {repo}: {error}"
        ) from None
    except DownloadError as error:
        raise CustomNodeError(f"Could not download custom-node pack {_label(pack)}: {error}") from None
    except OSError as error:
        raise CustomNodeError(
            f"Could not install custom-node pack {_label(pack)} into {dest}: {error}"
        ) from None
    return dest


def _git_pack_at(repo: str, commit: str, dest: Path, prepare: Callable[[Path], None]) -> None:
    """Clones `repo` at `commit` into `dest`, or moves an existing checkout there; no-op when it is there."""
    if not dest.exists():
        logger.info("Installing custom nodes %s at %s", repo, commit[:8])
        build_then_rename(dest, _cloner(repo, commit, prepare))
        return
    current = head_commit(dest)
    if current is None:
        raise CustomNodeError(
            f"{dest} exists but is not a git checkout; delete it to install {repo} at {commit[:8]}"
        )
    if current == resolve_commit(dest, commit):
        return
    logger.info("Moving custom nodes %s from %s to %s", dest.name, current[:8], commit[:8])
    if resolve_commit(dest, commit) is None:
        run_git("fetch", "--quiet", "origin", cwd=dest)
    checkout(dest, commit)
    prepare(dest)


def _cloner(repo: str, commit: str | None, prepare: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(tmp: Path) -> None:
        clone_at(repo, commit, tmp)
        prepare(tmp)

    return build


def _registry_pack_at(pack_id: str, version: str, dest: Path, prepare: Callable[[Path], None]) -> None:
    """Downloads and unpacks `pack_id` `version` from the Comfy registry; no-op when it is there."""
    marker = dest / REGISTRY_MARKER
    wanted = {"pack": pack_id, "version": version}
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == wanted:
        return
    if dest.exists() and not marker.is_file():
        raise CustomNodeError(
            f"{dest} exists but was not installed from the registry; delete it to install {pack_id}"
        )
    registry = os.environ.get("COMFY_REGISTRY_URL", DEFAULT_REGISTRY_URL).rstrip("/")
    info = fetch_json(f"{registry}/nodes/{quote(pack_id, safe='')}/versions/{quote(version, safe='')}")
    download_url = info.get("downloadUrl") if isinstance(info, dict) else None
    if not download_url:
        raise CustomNodeError(f"The Comfy registry has no download for custom-node pack {pack_id} {version}")
    logger.info("Installing custom nodes %s %s from the Comfy registry", pack_id, version)

    def build(tmp: Path) -> None:
        _unpack_registry_archive(download_url, wanted, tmp)
        prepare(tmp)

    build_then_rename(dest, build, replace=True)


def _unpack_registry_archive(url: str, marker: dict[str, str], folder: Path) -> None:
    archive = download_file(url, folder / ".archive.zip", max_bytes=REGISTRY_ARCHIVE_MAX_BYTES)
    with zipfile.ZipFile(archive) as zipped:
        root = folder.resolve()
        for member in zipped.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise CustomNodeError(f"The archive {url} holds a path outside its folder: {member!r}")
        zipped.extractall(folder)
    archive.unlink()
    (folder / REGISTRY_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def install_pack_requirements(pack: dict[str, Any], pack_dir: Path) -> None:
    """`pip install -r requirements.txt` of the pack, never replacing the installed torch."""
    requirements = pack_dir / "requirements.txt"
    if not requirements.is_file():
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("".join(f"{name}=={version}\n" for name, version in protected_versions().items()))
    pip_install = [sys.executable, "-m", "pip", "install", "--quiet"]
    command = [*pip_install, "-r", str(requirements), "-c", constraints.name]
    try:
        completed = subprocess.run(command, capture_output=True, text=True)
    finally:
        os.unlink(constraints.name)
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or [f"pip exited with {completed.returncode}"]
        raise CustomNodeError(
            f"Could not install the requirements of custom-node pack {_label(pack)}: {lines[-1]}"
        )


def protected_versions() -> dict[str, str]:
    versions = {}
    for name in PROTECTED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


class _ImportFailureRecorder(logging.Filter):
    """Remembers ComfyUI's "Cannot import <path> module for custom nodes: <error>" warnings.

    ComfyUI logs the traceback first, then that line; the traceback's last line ("ModuleNotFoundError:
    No module named 'x'") is the most useful one. A root-logger filter sees these records without
    becoming a handler, so logging output stays as configured.
    """

    _FAILURE = re.compile(r"^Cannot import (?P<path>.+) module for custom nodes: (?P<error>.*)$", re.DOTALL)

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, str] = {}
        self._last_traceback_line: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Traceback (most recent call last)"):
            self._last_traceback_line = message.strip().splitlines()[-1]
        elif match := self._FAILURE.match(message):
            module_name = os.path.basename(match["path"].rstrip("/\\"))
            self.failures[module_name] = self._last_traceback_line or match["error"].strip()
            self._last_traceback_line = None
        return True


_IMPORT_FAILURES = _ImportFailureRecorder()
logging.getLogger().addFilter(_IMPORT_FAILURES)


def failed_packs(comfy_nodes_module: ModuleType, packs: list[dict[str, Any]]) -> dict[str, str]:
    """Packs ComfyUI did not load after `init_extra_nodes`: `pack_name` -> the exception line."""
    loaded = getattr(comfy_nodes_module, "LOADED_MODULE_DIRS", {})
    failures = {}
    for pack in packs:
        name = pack_dir_name(pack)
        if name not in loaded:
            failures[pack_name(pack)] = _IMPORT_FAILURES.failures.get(
                name, "it was not loaded (see the log above for ComfyUI's message)"
            )
    return failures


def raise_for_failed_packs(comfy_nodes_module: ModuleType, packs: list[dict[str, Any]]) -> None:
    """Raises CustomNodeError naming the first pack that failed to import, with its exception line."""
    failures = failed_packs(comfy_nodes_module, packs)
    if failures:
        name, reason = next(iter(failures.items()))
        others = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise CustomNodeError(f"Custom-node pack {name!r} failed to import: {reason}{others}")


def _is_registry_id(pack_id: str | None) -> bool:
    """Registry ids are plain names; "user/repo" ids come from unregistered packs (aux_id)."""
    return bool(pack_id) and "/" not in pack_id


def pack_name(pack: dict[str, Any]) -> str:
    """What messages call a pack: its id, else its repository."""
    return pack.get("pack") or pack.get("repo") or "?"


def _label(pack: dict[str, Any]) -> str:
    return repr(pack_name(pack))
