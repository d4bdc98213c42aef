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
from typing import Any, Iterable
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
    resolved = [_resolve_offline(model) for model in models]
    if online and not hub_offline():
        resolved = _resolve_online(resolved, token)
    return resolved


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


def _resolve_online(models: list[ModelFile], token: str | None) -> list[ModelFile]:
    from huggingface_hub import HfApi

    search = _HubSearch(HfApi(token=token))
    resolved = []
    for model in models:
        if not search.reachable:
            resolved.append(model)
        elif model.resolved:
            resolved.append(search.describe(model))
        else:
            resolved.append(search.find(model))
    return resolved


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
    """Online look-ups for one `resolve_models` call; stops at the first network failure."""

    def __init__(self, api: Any):
        self.api = api
        self.reachable = True
        self._gated: dict[str, bool | None] = {}

    def find(self, model: ModelFile) -> ModelFile:
        basename = re.split(r"[/\\]", model.name)[-1]
        wanted_path = model.name.replace("\\", "/")
        for query in search_queries(model.name):
            repos = self._call(
                lambda: list(
                    self.api.list_models(
                        search=query, sort="downloads", limit=_SEARCH_LIMIT, expand=["siblings"]
                    )
                )
            )
            if repos is None:
                if not self.reachable:
                    return model
                continue
            match = _best_sibling(repos, basename, wanted_path)
            if match is not None:
                repo_id, path = match
                return self.describe(
                    replace(model, repo_id=repo_id, path=path, revision="main", source="hub-search")
                )
        return model

    def describe(self, model: ModelFile) -> ModelFile:
        """Add size and gated status to a Hub file (left as they are when the Hub cannot say)."""
        if not (model.repo_id and model.path) or (model.size is not None and model.gated is not None):
            return model
        infos = self._call(
            lambda: self.api.get_paths_info(model.repo_id, [model.path], revision=model.revision)
        )
        size = next((getattr(info, "size", None) for info in infos or () if info.path == model.path), None)
        if model.repo_id not in self._gated:
            info = self._call(lambda: self.api.model_info(model.repo_id))
            self._gated[model.repo_id] = None if info is None else bool(getattr(info, "gated", False))
        return replace(
            model,
            size=model.size if size is None else size,
            gated=model.gated if model.gated is not None else self._gated[model.repo_id],
        )

    def _call(self, request):
        """Run one Hub request; None when it fails (and stop all look-ups when the Hub is unreachable)."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError

        try:
            return request()
        except HfHubHTTPError as error:
            # huggingface_hub already retried 429/5xx with backoff: the Hub is down, asking more only waits.
            status = error.response.status_code if error.response is not None else 500
            self.reachable = not (status == 429 or status >= 500)
            return None
        except (httpx2.TransportError, OSError):
            self.reachable = False
            return None


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
