"""Build the wizard's offline indexes from the ComfyUI ecosystem's maintained data.

    python scripts/build_index.py [--no-download] [--download-dir DIR] [--nodes-only]

Writes two committed files, read by `wizard.resolve` (models) and `wizard.packs` (custom nodes):

- `wizard/data/model_index.json`: lower-case model file name -> download candidates, best first.
  Taken from every `properties.models` URL of the official workflow templates
  (the installed `comfyui-workflow-templates` and, unless --no-download, the template packages the
  pinned meta package `comfyui-workflow-templates==TEMPLATES_META` lists) and from ComfyUI-Manager's
  `model-list.json` (installed `comfyui-manager`).
- `wizard/data/node_index.json`: custom-node class type -> the pack that provides it, from
  ComfyUI-Manager's `extension-node-map.json`, `custom-node-list.json` and `github-stats.json`.

Everything is read from PyPI packages by this script, never copied by hand, except one written-down
correction (`REPLACED_ORIGINALS`: a fork Manager lists in place of the original it replaced), and the
output is deterministic for fixed package versions (sorted keys, explicit tie-breaks).
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from wizard.resolve import canonical_folder, index_key, parse_hub_url  # noqa: E402

MODEL_INDEX_PATH = REPO_ROOT / "wizard" / "data" / "model_index.json"
NODE_INDEX_PATH = REPO_ROOT / "wizard" / "data" / "node_index.json"

# The meta package of the split template packages; its Requires-Dist names the siblings
# (`comfyui-workflow-templates-json`, `-core`, `-media-*`), pinned so the index is reproducible.
TEMPLATES_META = "0.11.97"
# ComfyUI itself appears in extension-node-map.json (its newer core nodes): never a custom-node pack.
COMFYUI_REPO = "https://github.com/comfyanonymous/ComfyUI"

SOURCE_RANK = {"templates": 0, "manager": 1}
# Forks that ComfyUI-Manager lists instead of the original they replaced, fork -> original. Manager's
# entry for ltdrdata's fork says so itself: "A replacement node pack provided for existing users
# following the retirement of the original author of the widely used WAS Node Suite"; the original
# stays the pack that workflows were made with (and the Comfy Registry's `was-node-suite-comfyui`).
REPLACED_ORIGINALS = {
    "https://github.com/ltdrdata/was-node-suite-comfyui": "https://github.com/WASasquatch/was-node-suite-comfyui",
}


@dataclass(frozen=True)
class Sighting:
    """One place the ecosystem says where a model file comes from."""

    name: str  # the local file name (what a workflow writes)
    folder: str | None
    url: str
    source: str  # key of SOURCE_RANK


# ----------------------------------------------------------------------------- packages


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{module} is not installed: pip install it first")
    return Path(list(spec.submodule_search_locations)[0])


def pip_download(requirement: str, into: Path) -> Path:
    """Download one wheel (no dependencies) and return its path."""
    before = set(into.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(into)]
        + [requirement],
        check=True,
    )
    name = re.split(r"[=<>!~ ]", requirement, maxsplit=1)[0].replace("-", "_").lower()
    wheels = [p for p in into.glob("*.whl") if p.name.lower().startswith(name + "-")]
    new = [p for p in wheels if p not in before] or wheels
    return sorted(new)[-1]


def sibling_requirements(meta_wheel: Path) -> list[str]:
    """`comfyui-workflow-templates-*==X` requirements of the meta package (unconditional ones)."""
    with zipfile.ZipFile(meta_wheel) as wheel:
        metadata_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(metadata_name).decode("utf-8")
    requirements = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:") and ";" not in line:
            requirement = line.split(":", 1)[1].strip().replace(" ", "")
            if requirement.startswith("comfyui-workflow-templates-"):
                requirements.append(requirement)
    return sorted(set(requirements))


def wheel_workflows(wheel_path: Path) -> Iterator[dict[str, Any]]:
    """Every UI workflow (a JSON object with `nodes`) inside a wheel."""
    with zipfile.ZipFile(wheel_path) as wheel:
        for name in sorted(wheel.namelist()):
            if name.endswith(".json"):
                workflow = _workflow_or_none(wheel.read(name))
                if workflow is not None:
                    yield workflow


def directory_workflows(directory: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob("*.json")):
        workflow = _workflow_or_none(path.read_bytes())
        if workflow is not None:
            yield workflow


def _workflow_or_none(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("nodes"), list) else None


# ----------------------------------------------------------------------------- models


def template_sightings(workflows: Iterable[dict[str, Any]]) -> Iterator[Sighting]:
    """`properties.models` entries of every node (subgraphs included) and top-level `models`."""
    for workflow in workflows:
        entries = list(workflow.get("models") or [])
        nodes = list(workflow.get("nodes") or [])
        for subgraph in (workflow.get("definitions") or {}).get("subgraphs") or []:
            nodes += subgraph.get("nodes") or []
        for node in nodes:
            properties = node.get("properties") if isinstance(node, dict) else None
            if isinstance(properties, dict):
                entries += properties.get("models") or []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("name") and entry.get("url"):
                yield Sighting(
                    name=str(entry["name"]),
                    folder=canonical_folder(entry.get("directory")),
                    url=str(entry["url"]),
                    source="templates",
                )


def manager_folder_map(manager_dir: Path) -> dict[str, str]:
    """ComfyUI-Manager's `model_dir_name_map` (model type -> folder for save_path "default")."""
    tree = ast.parse((manager_dir / "glob" / "constants.py").read_text(encoding="utf-8"))
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "model_dir_name_map" for target in statement.targets
        ):
            return ast.literal_eval(statement.value)
    raise SystemExit("comfyui_manager/glob/constants.py no longer defines model_dir_name_map")


def manager_sightings(manager_dir: Path) -> Iterator[Sighting]:
    folder_of_type = manager_folder_map(manager_dir)
    models = json.loads((manager_dir / "model-list.json").read_text(encoding="utf-8"))["models"]
    for model in models:
        filename, url = model.get("filename", ""), model.get("url", "")
        if filename.startswith("<") or "://" not in url:  # "<huggingface>": a whole-repo snapshot
            continue
        save_path = model.get("save_path", "default")
        if save_path == "default":
            folder = folder_of_type.get(str(model.get("type", "")).lower())
        else:
            folder = save_path.split("/")[0]
        yield Sighting(name=filename, folder=canonical_folder(folder), url=url, source="manager")


def candidate_of(sighting: Sighting) -> dict[str, Any]:
    hub = parse_hub_url(sighting.url)
    candidate: dict[str, Any] = (
        {"repo_id": hub.repo_id, "path": hub.path, "revision": hub.revision} if hub else {"url": sighting.url}
    )
    if sighting.folder:
        candidate["folder"] = sighting.folder
    candidate["source"] = sighting.source
    return candidate


def build_model_index(sightings: Iterable[Sighting]) -> dict[str, list[dict[str, Any]]]:
    """Lower-case basename -> distinct candidates in preference order.

    Order: template URLs (what ComfyUI's own workflows download) before ComfyUI-Manager's list; within
    each, Comfy-Org repos (the official repackaged files) first, then the most-referenced, then by name.
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    candidates: dict[tuple[str, str], dict[str, Any]] = {}
    for sighting in sightings:
        candidate = candidate_of(sighting)
        identity = json.dumps([candidate.get(k) for k in ("repo_id", "path", "revision", "url")])
        key = index_key(sighting.name)
        counts[key][identity] += 1
        known = candidates.get((key, identity))
        if known is None or SOURCE_RANK[sighting.source] < SOURCE_RANK[known["source"]]:
            candidates[(key, identity)] = candidate

    def preference(key: str, identity: str) -> tuple:
        candidate = candidates[(key, identity)]
        official = str(candidate.get("repo_id", "")).lower().startswith("comfy-org/")
        return (SOURCE_RANK[candidate["source"]], not official, -counts[key][identity], identity)

    return {
        key: [
            candidates[(key, identity)] for identity in sorted(counts[key], key=lambda i: preference(key, i))
        ]
        for key in sorted(counts)
    }


# ----------------------------------------------------------------------------- custom nodes


def normalize_repo(url: str) -> str:
    return url.strip().rstrip("/").removesuffix(".git").lower()


def pack_name(repo: str) -> str:
    """ "user/repo" for GitHub URLs (as aux_id writes it), else the URL."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", repo.rstrip("/").removesuffix(".git"))
    return match.group(1) if match else repo


def build_node_index(manager_dir: Path) -> dict[str, Any]:
    """Packs with the class types each provides, name patterns, registry id -> repo, and the other
    packs that also claim a class type.

    A fork that ComfyUI-Manager lists in place of its retired original (`REPLACED_ORIGINALS`) is
    attributed to the original. A class type several packs claim goes to the pack that declares it in
    `preemptions`, else a pack listed in custom-node-list.json, as its `reference` rather than among its
    `files`, one with a registry id, else the one with most GitHub stars, else the first URL; the
    others are kept as its `alternatives`, best first.
    """
    node_map = json.loads((manager_dir / "extension-node-map.json").read_text(encoding="utf-8"))
    for fork, original in REPLACED_ORIGINALS.items():
        if fork in node_map:
            node_map[original] = node_map.pop(fork)
    node_list = json.loads((manager_dir / "custom-node-list.json").read_text(encoding="utf-8"))[
        "custom_nodes"
    ]
    stars = {
        normalize_repo(url): int(info.get("stars") or 0)
        for url, info in json.loads((manager_dir / "github-stats.json").read_text(encoding="utf-8")).items()
    }
    listed: dict[str, dict[str, Any]] = {}
    references: set[str] = set()
    for entry in node_list:
        references.add(normalize_repo(entry.get("reference", "")))
        for url in [entry.get("reference", "")] + list(entry.get("files") or []):
            listed.setdefault(normalize_repo(url), entry)

    repos = sorted(url for url in node_map if normalize_repo(url) != normalize_repo(COMFYUI_REPO))
    number_of = {repo: number for number, repo in enumerate(repos)}
    claims: dict[str, list[str]] = defaultdict(list)
    patterns: list[list[Any]] = []
    for number, repo in enumerate(repos):
        class_types, meta = node_map[repo]
        for class_type in class_types:
            if repo not in claims[class_type]:
                claims[class_type].append(repo)
        if meta.get("nodename_pattern"):
            patterns.append([meta["nodename_pattern"], number])

    def rank(class_type: str, repo: str) -> tuple:
        key = normalize_repo(repo)
        entry = listed.get(key, {})
        preempts = class_type in (node_map[repo][1].get("preemptions") or entry.get("preemptions") or [])
        return (not preempts, not entry, key not in references, not entry.get("id"), -stars.get(key, 0), repo)

    provided: dict[str, list[str]] = defaultdict(list)
    alternatives: dict[str, list[int]] = {}
    for class_type, owners in sorted(claims.items()):
        ranked = sorted(owners, key=lambda repo: rank(class_type, repo))
        provided[ranked[0]].append(class_type)
        if len(ranked) > 1:
            alternatives[class_type] = [number_of[repo] for repo in ranked[1:]]

    registry: dict[str, str] = {}
    for repo in repos:  # the registry id is usually the repo name, lower-cased
        registry.setdefault(repo.rstrip("/").rsplit("/", 1)[-1].lower(), repo)
    for entry in node_list:  # ComfyUI-Manager's own ids win
        if entry.get("id") and entry.get("reference"):
            registry[entry["id"].lower()] = entry["reference"]
    return {
        # one newline-joined string per pack: far quicker to parse than a 25k-key object
        "packs": [[pack_name(repo), repo, "\n".join(provided[repo])] for repo in repos],
        "patterns": patterns,
        "registry": dict(sorted(registry.items())),
        "alternatives": alternatives,
    }


# ----------------------------------------------------------------------------- main


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, separators=(",", ":"), sort_keys=False, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(REPO_ROOT)} ({path.stat().st_size / 1e6:.2f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-download", action="store_true", help="use installed packages only")
    parser.add_argument("--download-dir", type=Path, help="keep downloaded wheels here (default: a temp dir)")
    parser.add_argument("--nodes-only", action="store_true", help="rebuild node_index.json alone")
    args = parser.parse_args(argv)

    manager_dir = package_dir("comfyui_manager")
    if args.nodes_only:
        write_node_index(manager_dir)
        return 0
    templates_dir = package_dir("comfyui_workflow_templates") / "templates"
    sources = {
        "comfyui-manager": importlib.metadata.version("comfyui-manager"),
        "comfyui-workflow-templates": importlib.metadata.version("comfyui-workflow-templates"),
    }
    sightings = list(template_sightings(directory_workflows(templates_dir)))
    if not args.no_download:
        with tempfile.TemporaryDirectory() as temp:
            download_dir = args.download_dir or Path(temp)
            download_dir.mkdir(parents=True, exist_ok=True)
            meta = pip_download(f"comfyui-workflow-templates=={TEMPLATES_META}", download_dir)
            for requirement in sibling_requirements(meta):
                wheel = pip_download(requirement, download_dir)
                found = list(template_sightings(wheel_workflows(wheel)))
                name, version = requirement.split("==")
                print(f"{requirement}: {len(found)} model URLs")
                if found:
                    sources[name] = version
                    sightings += found
    sightings += manager_sightings(manager_dir)

    models = build_model_index(sightings)
    write_json(MODEL_INDEX_PATH, {"format": 1, "sources": sources, "models": models})
    write_node_index(manager_dir)
    print(f"{len(models)} model file names")
    return 0


def write_node_index(manager_dir: Path) -> None:
    nodes = build_node_index(manager_dir)
    sources = {"comfyui-manager": importlib.metadata.version("comfyui-manager")}
    write_json(NODE_INDEX_PATH, {"format": 2, "sources": sources, **nodes})
    class_types = sum(len(types.split("\n")) for _, _, types in nodes["packs"] if types)
    print(f"{class_types} custom-node class types, {len(nodes['alternatives'])} claimed by several packs")


if __name__ == "__main__":
    raise SystemExit(main())
