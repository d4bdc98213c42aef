"""Makes every model file of the workflow visible to ComfyUI under `<models_root>/<folder>/<name>`.

Hub files are downloaded with `hf_hub_download` into the Hugging Face cache (where a Space's
`preload_from_hub` puts them too) and linked into the model folder, so there is one copy on disk.
Other URLs are downloaded straight into the model folder. A file that is already there (a link that
resolves, or a real file) is not fetched again: a restarted Space makes no request at all.

A model in `comfy.lock.json` is `{"name", "folder", "repo_id", "path", "revision", "url", "size"}`; `name`
is what the workflow names it and may hold subfolders ("sd/x.safetensors"). `size` (bytes, or null) is the
size the file must have: a download that is larger fails before or while it is fetched, naming the file;
without it a URL download is capped at `runtime.download.DEFAULT_MAX_BYTES`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from runtime.download import DEFAULT_MAX_BYTES, DownloadError, download_file
from runtime.errors import ModelDownloadError
from runtime.progress import ByteCounter

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], Any]  # gr.Progress-style: progress(fraction, desc)
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def model_target(models_root: Path, model: dict[str, Any]) -> Path:
    """`<models_root>/<folder>/<name>`, refusing names that would leave the folder."""
    folder, name = model.get("folder") or "", model.get("name") or ""
    # Exactly the path ComfyUI's get_full_path(folder, name) joins (a backslash is no separator on Linux).
    parts = PurePosixPath(name).parts
    if not _FOLDER_NAME.match(folder) or not parts or name.startswith("/") or ".." in parts:
        raise ModelDownloadError(f"Model file {name!r} in folder {folder!r} is not a safe relative path")
    return Path(models_root, folder, *parts)


def ensure_models(models: list[dict[str, Any]], models_root: Path, progress: Progress | None = None) -> None:
    """Downloads or links every model not yet present; reports progress as `progress(fraction, desc)`."""
    targets = [model_target(Path(models_root), model) for model in models]  # all names checked first
    for index, (model, target) in enumerate(zip(models, targets)):
        if target.exists():
            continue
        if target.is_symlink():  # a link whose cached file was deleted: fetch it again
            target.unlink()
        report = _FileProgress(progress, index, len(models), model["name"])
        report(0, None)
        if model.get("repo_id") and model.get("path"):
            _link_hub_file(model, target, report)
        elif model.get("url"):
            _download_url(model, target, report)
        else:
            raise ModelDownloadError(
                f"Model {model['name']} ({model['folder']}) has no download source; add its Hub repo and path "
                "or a URL to comfy.lock.json, or put the file in the Space"
            )
    if progress is not None and models:
        progress(1.0, "Model files ready")


class _FileProgress:
    """Turns one file's byte counts into overall `progress(fraction, desc)` calls."""

    def __init__(self, progress: Progress | None, index: int, count: int, name: str) -> None:
        self.progress, self.index, self.count, self.name = progress, index, count, name
        self.bytes = ByteCounter(f"Downloading model {name}")  # for the Test run: bytes and speed

    def __call__(self, done: int, total: int | None) -> None:
        self.bytes(done, total)
        if self.progress is None:
            return
        file_fraction = min(done / total, 1.0) if total else 0.0
        self.progress((self.index + file_fraction) / self.count, f"Downloading {self.name}")


def _link_hub_file(model: dict[str, Any], target: Path, report: _FileProgress) -> None:
    cached = _hf_hub_download(model, report)
    temporary_link = target.with_name(f".{target.name}.link-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary_link.unlink(missing_ok=True)
        os.symlink(os.path.abspath(cached), temporary_link)
        os.replace(temporary_link, target)  # atomic: ComfyUI never sees a half-made link
    except OSError as error:
        raise ModelDownloadError(
            f"Model {model['name']}: could not link {target} to the Hub cache: {error}"
        ) from None
    logger.info("Linked %s -> %s", target, cached)


def _hf_hub_download(model: dict[str, Any], report: _FileProgress) -> str:
    # Imported here, not at module import: huggingface_hub reads HF_ENDPOINT once, when first imported.
    import huggingface_hub
    from huggingface_hub import constants, errors

    repo_id, path, revision = model["repo_id"], model["path"], model.get("revision")
    where = f"{repo_id}/{path}" + (f" at {revision}" if revision else "")
    try:
        # The token, when needed, is HF_TOKEN (read by huggingface_hub itself, never logged here).
        return huggingface_hub.hf_hub_download(
            repo_id, path, revision=revision, tqdm_class=_tqdm_class(report, model, where)
        )
    except errors.GatedRepoError:
        raise ModelDownloadError(
            f"Model {model['name']} comes from the gated repo {repo_id}: accept the licence on "
            f"{constants.ENDPOINT}/{repo_id} and add an HF_TOKEN secret"
        ) from None
    except errors.RepositoryNotFoundError:
        raise ModelDownloadError(
            f"Model {model['name']}: the Hub has no repo {repo_id} (if it is private, add an HF_TOKEN secret "
            "that can read it)"
        ) from None
    except errors.RevisionNotFoundError:
        raise ModelDownloadError(
            f"Model {model['name']}: repo {repo_id} has no revision {revision}"
        ) from None
    except errors.RemoteEntryNotFoundError:
        raise ModelDownloadError(f"Model {model['name']}: the Hub has no file {where}") from None
    except errors.LocalEntryNotFoundError:
        raise ModelDownloadError(
            f"Model {model['name']}: cannot reach the Hub to download {where}, and it is not in the cache; "
            "check the network and retry"
        ) from None
    except errors.HfHubHTTPError as error:
        raise ModelDownloadError(
            f"Model {model['name']}: the Hub answered HTTP {error.response.status_code} for {where}"
        ) from None
    except OSError as error:
        raise ModelDownloadError(f"Model {model['name']}: could not save {where}: {error}") from None


def _tqdm_class(report: _FileProgress, model: dict[str, Any], where: str) -> type:
    """A huggingface_hub progress bar that forwards its byte counts to `report` and stops a download
    larger than the lock's `size` as soon as the Hub states the size (the bar is made before any byte)."""
    from huggingface_hub.utils import tqdm

    expected = model.get("size")

    class ReportingTqdm(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            total = kwargs.get("total")
            if expected is not None and total is not None and total > expected:
                raise ModelDownloadError(
                    f"Model {model['name']}: {where} is {total} bytes, larger than the {expected} bytes "
                    "comfy.lock.json expects"
                )
            super().__init__(*args, **kwargs)
            self.reported_total = total
            self.reported_done = kwargs.get("initial") or 0

        def update(self, n: float | None = 1) -> bool | None:
            self.reported_done += n or 0
            if expected is not None and self.reported_done > expected:
                raise ModelDownloadError(
                    f"Model {model['name']}: {where} sent more than the {expected} bytes comfy.lock.json expects"
                )
            report(int(self.reported_done), self.reported_total)
            return super().update(n)

    return ReportingTqdm


def _download_url(model: dict[str, Any], target: Path, report: _FileProgress) -> None:
    logger.info("Downloading %s into %s", model["url"], target)
    try:
        download_file(
            model["url"],
            target,
            on_bytes=report,
            expected_size=model.get("size"),
            max_bytes=DEFAULT_MAX_BYTES,
        )
    except DownloadError as error:
        raise ModelDownloadError(f"Model {model['name']}: {error}") from None
