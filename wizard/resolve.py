"""Find every model file and custom-node pack a workflow needs, and where each comes from.

Models are found from the node definitions (an input whose COMBO lists a model folder's files,
marked by the definitions' `__folder__<folder>__<ext>` sentinel) and from the workflow's own
`properties.models` declarations. Each is resolved, in this order, from:

1. the workflow's own `properties.models` URL (a Hub `resolve`/`blob` URL becomes repo, path and
   revision; any other URL is kept as a URL);
2. the offline index `data/model_index.json` (built by `scripts/build_index.py` from the official
   workflow templates and ComfyUI-Manager's model list);
3. a Hub search (`online=True`, network allowed, `HF_HUB_OFFLINE` unset);
4. nothing: left for the user.

Custom-node packs are found and pinned by `wizard.packs`.

The offline path imports nothing that can open a connection; `huggingface_hub` is imported only
for the online search.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Literal
from urllib.parse import unquote, urlsplit

from wizard.nodedefs import NodeDefs
from wizard.records import Conversion, FlatNode, ModelFile

MODEL_INDEX_PATH = Path(__file__).parent / "data" / "model_index.json"

# ComfyUI's own aliases of renamed model folders (folder_paths.map_legacy).
_LEGACY_FOLDERS = {"clip": "text_encoders", "unet": "diffusion_models"}
# File extensions of model weights (what ComfyUI's folder_paths.supported_pt_extensions lists, plus gguf).
MODEL_EXTENSIONS = (".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft", ".gguf", ".onnx")
_HUB_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's reading of boolean environment variables
# Hub search: how many queries one file may cost, and the Hub's own limits for each.
_MAX_QUERIES = 4
_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class HubFile:
    """A file in a Hub model repo."""

    repo_id: str
    path: str
    revision: str


GB, MB = 10**9, 10**6  # the Hub counts sizes in powers of ten
# ZeroGPU (shared/docs/huggingface.md §7): `@spaces.GPU` gets half a GPU ("large", 48 GB) by default, the
# whole one ("xlarge", 96 GB, twice the quota) when the packed weights pass about 45 GB.
ZEROGPU_LARGE_BYTES = 48 * GB
ZEROGPU_XLARGE_THRESHOLD_BYTES = 45 * GB
ZEROGPU_XLARGE_BYTES = 96 * GB
# A Space's disk: 50 GB, not persistent (https://huggingface.co/docs/hub/spaces-overview, "Hardware resources").
SPACE_DISK_BYTES = 50 * GB
# Assumed, not measured, for the cold-start estimate: Hub -> Space download, and disk -> GPU load.
ASSUMED_DOWNLOAD_BYTES_PER_S = 100 * MB
ASSUMED_LOAD_BYTES_PER_S = 1 * GB
UNREACHABLE = "the Hub could not be reached"
OFFLINE = "offline (HF_HUB_OFFLINE is set)"

CheckState = Literal["found", "not found", "not checked"]


@dataclass(frozen=True)
class ModelStatus:
    """What is known of one model file's download.

    Attributes:
        name, folder: the model file.
        state: "found" (the Hub has the file), "not found" (no download known, or the Hub lacks it) or
            "not checked" (offline, the Hub unreachable, or not a Hub file).
        reason: why it is not found or not checked; None when found.
    """

    name: str
    folder: str
    state: CheckState
    reason: str | None

    def text(self) -> str:
        return self.state if self.reason is None else f"{self.state}: {self.reason}"


@dataclass(frozen=True)
class ModelsCheck:
    """The models after a check. Attributes: models: resolved (searched, sized) files; statuses: one
    `ModelStatus` per model, in the same order."""

    models: tuple[ModelFile, ...]
    statuses: tuple[ModelStatus, ...]


@dataclass(frozen=True)
class ModelsReport:
    """The models step's account of a workflow's model files.

    Attributes:
        statuses: what is known of each file (`ModelStatus`).
        total_bytes: the known sizes, summed: the Space's download.
        unsized: how many files have no known size.
        gated: the gated files' names.
    """

    statuses: tuple[ModelStatus, ...]
    total_bytes: int
    unsized: int
    gated: tuple[str, ...]

    @classmethod
    def of(cls, models: Iterable[ModelFile], statuses: Iterable[ModelStatus]) -> ModelsReport:
        models = tuple(models)
        return cls(
            statuses=tuple(statuses),
            total_bytes=sum(model.size or 0 for model in models),
            unsized=sum(model.size is None for model in models),
            gated=tuple(model.name for model in models if model.gated),
        )

    def headline(self) -> str:
        """ "3 model files: 2 found on the Hub, 1 not checked" (never "all found" unless the Hub said so)."""
        if not self.statuses:
            return "No model files."
        counts = {
            state: sum(s.state == state for s in self.statuses)
            for state in ("found", "not found", "not checked")
        }
        parts = [f"{counts['found']} found on the Hub"] if counts["found"] else []
        parts += [f"{counts[state]} {state}" for state in ("not found", "not checked") if counts[state]]
        total = len(self.statuses)
        return f"{total} model file{'s' * (total != 1)}: {', '.join(parts)}."

    def download(self) -> str | None:
        """The total download and the estimated cold start, or None without any known size."""
        if self.total_bytes == 0:
            return None
        unknown = (
            f" (and {self.unsized} file{'s' * (self.unsized != 1)} of unknown size)" if self.unsized else ""
        )
        fetch = self.total_bytes / ASSUMED_DOWNLOAD_BYTES_PER_S
        load = self.total_bytes / ASSUMED_LOAD_BYTES_PER_S
        return (
            f"Total download: {format_size(self.total_bytes)}{unknown}. Estimated cold start: about "
            f"{_duration(fetch)} to download it (assuming {ASSUMED_DOWNLOAD_BYTES_PER_S // MB} MB/s from the Hub "
            f"to the Space) plus {_duration(load)} to load it (assuming {ASSUMED_LOAD_BYTES_PER_S // GB} GB/s)."
        )

    def warnings(self) -> tuple[str, ...]:
        """Where the models cannot fit ZeroGPU's GPU or the Space's disk."""
        total, found = self.total_bytes, format_size(self.total_bytes)
        warnings = []
        if total > ZEROGPU_XLARGE_BYTES:
            warnings.append(
                f"The model files ({found}) cannot fit ZeroGPU: a whole GPU (`xlarge`) has "
                f"{format_size(ZEROGPU_XLARGE_BYTES)}. Use smaller (quantized) model files."
            )
        elif total > ZEROGPU_XLARGE_THRESHOLD_BYTES:
            warnings.append(
                f"The model files ({found}) do not fit ZeroGPU's default half GPU (`large`, "
                f"{format_size(ZEROGPU_LARGE_BYTES)}): the Space gets a whole one (`xlarge`, "
                f"{format_size(ZEROGPU_XLARGE_BYTES)}), which spends the visitors' GPU quota twice as fast."
            )
        if total > SPACE_DISK_BYTES:
            warnings.append(
                f"The model files ({found}) do not fit the Space's {format_size(SPACE_DISK_BYTES)} disk."
            )
        return tuple(warnings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`inspect --json`)."""
        return {
            "files": [
                {"name": s.name, "folder": s.folder, "state": s.state, "reason": s.reason}
                for s in self.statuses
            ],
            "total_bytes": self.total_bytes,
            "unsized": self.unsized,
            "download": self.download(),
            "warnings": list(self.warnings()),
        }

    def lines(self) -> list[str]:
        """The whole account as lines of text (the CLI prints them)."""
        lines = [self.headline()]
        lines += [f"  {status.folder}/{status.name}: {status.text()}" for status in self.statuses]
        download = self.download()
        lines += [download] if download else []
        if self.gated:
            lines.append(
                f"Gated: {', '.join(self.gated)}: the Space needs an HF_TOKEN secret of an account with access."
            )
        lines += [f"warning: {warning}" for warning in self.warnings()]
        return lines


def format_size(size: int | None) -> str:
    """Bytes as the Hub writes them ("6.94 GB"); "" when unknown."""
    if size is None:
        return ""
    for unit, scale in (("GB", GB), ("MB", MB), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{size} B"


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


# ----------------------------------------------------------------------------- small helpers


def parse_hub_url(url: str) -> HubFile | None:
    """`https://huggingface.co/{ns}/{repo}/resolve|blob/{rev}/{path}[?download=true]` -> HubFile.

    Returns None for anything else (other hosts, datasets/Spaces, URLs without a file path).
    Each segment is URL-decoded, so an encoded `refs%2Fpr%2F1` revision or `%20` in a name is read right.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _HUB_HOSTS:
        return None
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        return None  # not a file the Hub serves: "../" would point outside the repo
    for repo_length in (2, 1):  # "ns/repo", or a legacy namespace-less repo ("gpt2")
        rest = segments[repo_length:]
        if len(rest) >= 3 and rest[0] in ("resolve", "blob") and segments[0] not in ("datasets", "spaces"):
            return HubFile("/".join(segments[:repo_length]), "/".join(rest[2:]), rest[1])
    return None


def index_key(name: str) -> str:
    """The offline index key of a model file name: its lower-case basename ("sd/X.ckpt" -> "x.ckpt")."""
    return re.split(r"[/\\]", name)[-1].lower()


def canonical_folder(folder: Any) -> str | None:
    """A ComfyUI model folder key with the legacy aliases mapped ("clip" -> "text_encoders")."""
    if not isinstance(folder, str) or not folder.strip():
        return None
    folder = folder.strip()
    return _LEGACY_FOLDERS.get(folder, folder)


def hub_offline() -> bool:
    """True when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) forbids network calls.

    Read like huggingface_hub's `constants.py` reads it, without importing huggingface_hub.
    """
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in _TRUE


# ----------------------------------------------------------------------------- offline indexes


class ModelIndex:
    """Lower-case file basename -> download candidates, best first (what `scripts/build_index.py` writes).

    Each candidate is `{"repo_id", "path", "revision"}` or `{"url"}`, plus `"folder"` and `"source"`
    ("templates" or "manager").
    """

    def __init__(self, models: dict[str, list[dict[str, Any]]]):
        self.models = models

    def candidate(self, name: str, folder: str | None) -> dict[str, Any] | None:
        """The best download for a file name, from the same folder when one is known.

        A candidate from another folder is a different file that shares the name, so it is never used.
        Nor is a name ComfyUI-Manager's list gives to several different files of one folder (generic
        names such as `model.safetensors`) unless a template settles it: guessing would fetch the wrong
        file. Template candidates sort first, so a manager candidate first means no template knows it.
        """
        folder = canonical_folder(folder)
        candidates = [
            candidate
            for candidate in self.models.get(index_key(name), ())
            if folder is None or candidate.get("folder") in (None, folder)
        ]
        if not candidates or (candidates[0]["source"] == "manager" and len(candidates) > 1):
            return None
        return candidates[0]


@functools.lru_cache(maxsize=1)
def bundled_model_index() -> ModelIndex:
    """The committed index, read once per process (about 0.2 MB of JSON)."""
    with MODEL_INDEX_PATH.open(encoding="utf-8") as index_file:
        return ModelIndex(json.load(index_file)["models"])


# ----------------------------------------------------------------------------- finding models


def find_models(conversion: Conversion, node_defs: NodeDefs) -> list[ModelFile]:
    """Every model file the workflow uses, with its ComfyUI folder, deduplicated by (folder, name)."""
    found: dict[tuple[str, str], ModelFile] = {}

    def add(folder: str, name: str, node_id: str | None, url: str | None) -> None:
        key = (folder, name)
        known = found.get(key, ModelFile(name=name, folder=folder))
        node_ids = known.node_ids + ((node_id,) if node_id and node_id not in known.node_ids else ())
        found[key] = replace(known, url=known.url or url, node_ids=node_ids)

    for node in conversion.nodes.values():
        for folder, name in _model_inputs(node, node_defs):
            add(folder, name, node.id, None)
    for entry in conversion.declared_models:
        name, folder = entry.get("name"), canonical_folder(entry.get("directory"))
        # The frontend's schema requires name and directory; an entry without them names no file.
        if isinstance(name, str) and name.strip() and folder:
            url = entry.get("url") if isinstance(entry.get("url"), str) and entry["url"].strip() else None
            node_id = entry.get("node_id")
            add(folder, name, str(node_id) if node_id is not None else None, url)
    return list(found.values())


def _model_inputs(node: FlatNode, node_defs: NodeDefs) -> Iterable[tuple[str, str]]:
    """(folder, file name) of each model-file widget value of one node.

    Core loaders list a model folder's files (the `__folder__` sentinel). Custom loaders often list
    fixed file names they download themselves (DepthAnythingV2's `depth_anything_v2_vitl_fp32.safetensors`):
    such a widget value with a model file extension counts when the offline index knows the file,
    in the folder the index gives.
    """
    definition = node_defs.get(node.class_type)
    if definition is None:
        return
    for spec in definition.inputs:
        folder = spec.model_folder
        value = node.inputs.get(spec.name)
        if not isinstance(value, str) or not value.strip():
            continue
        if folder:
            # Other choices the definition lists ("pixel_space", bundled configs) ship with ComfyUI.
            if value not in (spec.choices or ()):
                yield canonical_folder(folder) or folder, value
        elif spec.type in ("COMBO", "STRING") and value.lower().endswith(MODEL_EXTENSIONS):
            candidate = bundled_model_index().candidate(value, None)
            if candidate is not None and candidate.get("folder"):
                yield candidate["folder"], value


# ----------------------------------------------------------------------------- resolving models


def resolve_models(
    models: Iterable[ModelFile], *, online: bool = False, token: str | None = None
) -> list[ModelFile]:
    """Say where each model file comes from: workflow URL, offline index, Hub search, else nobody.

    Offline (`online=False` or `HF_HUB_OFFLINE` set) makes no network attempt at all. Online, files
    still unresolved are searched on the Hub, and Hub files get their size and gated status.
    """
    return list(check_models(models, online=online, token=token).models)


def check_models(
    models: Iterable[ModelFile],
    *,
    online: bool = False,
    token: str | None = None,
    not_asked: str = "the Hub was not asked",
) -> ModelsCheck:
    """`resolve_models`, and what the Hub said of each file: found, not found, or not checked (`not_asked`
    says why when `online` is False)."""
    resolved = [_resolve_offline(model) for model in models]
    if not online or hub_offline():
        why = OFFLINE if online else not_asked
        return ModelsCheck(tuple(resolved), tuple(unchecked_status(model, why) for model in resolved))
    from huggingface_hub import HfApi

    search = _HubSearch(HfApi(token=token))
    checked = [search.check(model) for model in resolved]
    return ModelsCheck(tuple(model for model, _ in checked), tuple(status for _, status in checked))


def unchecked_status(model: ModelFile, why: str) -> ModelStatus:
    """The status of a file the Hub was not asked about: not found without a download, else not checked."""
    if not model.resolved:
        return ModelStatus(
            model.name, model.folder, "not found", "no download known: give its Hub repo and path"
        )
    return ModelStatus(model.name, model.folder, "not checked", why)


def _resolve_offline(model: ModelFile) -> ModelFile:
    if model.repo_id and model.path:
        return model
    if model.url:
        hub = parse_hub_url(model.url)
        if hub is None:
            return replace(model, source="workflow")
        return replace(
            model, repo_id=hub.repo_id, path=hub.path, revision=hub.revision, url=None, source="workflow"
        )
    candidate = bundled_model_index().candidate(model.name, model.folder)
    if candidate is None:
        return model
    if "url" in candidate:
        return replace(model, url=candidate["url"], source="index")
    return replace(
        model,
        repo_id=candidate["repo_id"],
        path=candidate["path"],
        revision=candidate["revision"],
        source="index",
    )


def search_queries(name: str) -> list[str]:
    """Hub search strings for a file name, most specific first.

    The Hub's search matches repo ids only, so the file stem is tried, then shorter prefixes cut at
    separators ("flux1-dev-fp8" -> "flux1-dev" -> "flux1"), which is how repos are usually named.
    """
    stem = re.split(r"[/\\]", name)[-1].rsplit(".", 1)[0]
    cuts = [match.start() for match in re.finditer(r"[-_. ]", stem)]
    queries = []
    for end in [len(stem)] + cuts[::-1]:
        query = stem[:end].strip("-_. ")
        if len(query) >= 3 and query not in queries:
            queries.append(query)
    return queries[:_MAX_QUERIES]


class _HubSearch:
    """Online look-ups for one `check_models` call; stops at the first network failure."""

    def __init__(self, api: Any):
        self.api = api
        self.reachable = True
        self._gated: dict[str, bool | None] = {}

    def check(self, model: ModelFile) -> tuple[ModelFile, ModelStatus]:
        """The file, searched for when unresolved and described when on the Hub, with what the Hub said."""
        if self.reachable and not model.resolved:
            model = self.find(model)
            if self.reachable and not model.resolved:
                return model, ModelStatus(
                    model.name,
                    model.folder,
                    "not found",
                    "no download known, and no Hub repo has a file of that name: give its Hub repo and path",
                )
        if not self.reachable:
            return model, unchecked_status(model, UNREACHABLE)
        if not (model.repo_id and model.path):
            return model, ModelStatus(
                model.name,
                model.folder,
                "not checked",
                "not a Hub file: its size shows when the Space downloads it",
            )
        return self.describe(model)

    def find(self, model: ModelFile) -> ModelFile:
        basename = re.split(r"[/\\]", model.name)[-1]
        wanted_path = model.name.replace("\\", "/")
        for query in search_queries(model.name):
            repos, ok = self._call(
                lambda: list(
                    self.api.list_models(
                        search=query, sort="downloads", limit=_SEARCH_LIMIT, expand=["siblings"]
                    )
                )
            )
            if not ok:
                if not self.reachable:
                    return model
                continue
            match = _best_sibling(repos, basename, wanted_path)
            if match is not None:
                repo_id, path = match
                return replace(model, repo_id=repo_id, path=path, revision="main", source="hub-search")
        return model

    def describe(self, model: ModelFile) -> tuple[ModelFile, ModelStatus]:
        """A Hub file with its size and gated status, found or not found; not checked when the Hub is down."""
        from huggingface_hub.hf_api import RepoFile

        infos, ok = self._call(
            lambda: self.api.get_paths_info(model.repo_id, [model.path], revision=model.revision)
        )
        where = f"{model.repo_id} at {model.revision or 'main'}"
        if not self.reachable:
            return model, unchecked_status(model, UNREACHABLE)
        if not ok:  # 401/404: the Hub shows no such repo (or revision) to this token
            return model, ModelStatus(
                model.name, model.folder, "not found", f"the Hub shows no repo {where} (missing, or private)"
            )
        info = next((info for info in infos if info.path == model.path and isinstance(info, RepoFile)), None)
        if info is None:
            return model, ModelStatus(
                model.name, model.folder, "not found", f"{where} has no file {model.path}"
            )
        if model.repo_id not in self._gated:
            repo, ok = self._call(lambda: self.api.model_info(model.repo_id))
            self._gated[model.repo_id] = bool(getattr(repo, "gated", False)) if ok else None
        gated = self._gated[model.repo_id]
        described = replace(model, size=info.size, gated=model.gated if gated is None else gated)
        return described, ModelStatus(model.name, model.folder, "found", None)

    def _call(self, request) -> tuple[Any, bool]:
        """Run one Hub request: (its answer, True), or (None, False) when it fails (and stop all look-ups
        when the Hub is unreachable)."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError

        try:
            return request(), True
        except HfHubHTTPError as error:
            # huggingface_hub already retried 429/5xx with backoff: the Hub is down, asking more only waits.
            status = error.response.status_code if error.response is not None else 500
            self.reachable = not (status == 429 or status >= 500)
            return None, False
        except (httpx2.TransportError, OSError):
            self.reachable = False
            return None, False


def _best_sibling(repos: Iterable[Any], basename: str, wanted_path: str) -> tuple[str, str] | None:
    """The repo file that is exactly the wanted file: same path first, else same basename; repos in
    download order."""
    by_basename = None
    for repo in repos:
        for sibling in getattr(repo, "siblings", None) or ():
            path = sibling.rfilename
            if path == wanted_path:
                return repo.id, path
            if by_basename is None and path.rsplit("/", 1)[-1] == basename:
                by_basename = (repo.id, path)
    return by_basename
