"""Custom-node packs: which pack provides each class, the git commit each is pinned to, and what
their nodes look like, without running their code where the Comfy Registry knows them.

Identification (`identify_packs`), for every class the bundled core ComfyUI does not define:
1. the node's own `properties`: `cnr_id` (a Comfy Registry id) or `aux_id` ("owner/repo"), with `ver`;
2. ComfyUI-Manager's extension-node map (`data/node_index.json`, built by `scripts/build_index.py`),
   which prefers a pack's original repository over its forks. A class several packs claim goes to a
   pack the same workflow already needs; when none does, the index's choice is kept and a warning
   names the others (`--pack CLASS=OWNER/REPO` chooses another).

Pinning (`pin_packs`): every pack gets a 40-hex git commit, always:
1. `--pin PACK=COMMIT`;
2. the commit the workflow names (`ver` of an `aux_id` pack, or a hash `ver` of a registry pack);
3. a registry version (`cnr_id` + `ver`): the registry's version record gives its repository and date;
   the commit is the repository's tag `v<ver>`/`<ver>`, else the first commit whose `pyproject.toml`
   says `version = "<ver>"`, else the last commit on or before the version's date. When the registry
   cannot be reached, the same git rules run without the date;
4. nothing in the workflow: the pack's last commit on or before the pinned ComfyUI commit's date
   (`COMFYUI_COMMIT_DATE`), on its default branch.
When what the workflow names cannot be had (a missing commit, a deleted fork, an unknown version), the
pack falls back to its original repository and rule 4, with a warning naming both.

Classes nothing above places are looked up in the registry (`GET /comfy-nodes/{class}/node`).

Packs are cloned with plain `git` (so `url.<base>.insteadOf` mirrors work) as partial bare mirrors
under `~/.cache/comfyui-space-wizard/packs/`; `offline=True` uses only what is cached there.

Definitions (`registry_definitions`): the registry's node metadata of the pinned pack version
(`GET /nodes/{id}/versions/{version}/comfy-nodes`) turned into /object_info entries; the sandbox
(`wizard.sandbox.dump_pack_definitions`) covers the rest. `convert_with_packs` does all of it for one
workflow; `merged_requirements` merges the pinned packs' requirements for the Space.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from runtime.gitcmd import GitCommandError, check_repo_url, run_git
from runtime.locate import COMFYUI_COMMIT
from wizard.errors import BuildError, WizardError, fix
from wizard.nodedefs import NodeDefs
from wizard.records import Conversion, FlatNode, LoadedWorkflow, NodePack

NODE_INDEX_PATH = Path(__file__).parent / "data" / "node_index.json"
DEFAULT_REGISTRY_URL = "https://api.comfy.org"  # COMFY_REGISTRY_URL overrides it
# The committer date of runtime.locate.COMFYUI_COMMIT (ComfyUI 0.3.64): the date rule's cut-off.
COMFYUI_COMMIT_DATE = "2025-10-12T00:28:01-04:00"
REGISTRY_TIMEOUT_S = 10.0
# The registry's list endpoints page; the frontend asks for this many comfy-nodes at once.
_REGISTRY_PAGE_SIZE = 100
_CORE_PACK = "comfy-core"
_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")
_OWNER_REPO = re.compile(r"(?!\.+/)[\w.-]+/(?!\.+$)[\w.-]+")  # "owner/name", neither "." nor ".."
_GITHUB_REPO = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", re.IGNORECASE)

Progress = Callable[[str], None]
# Reading a blob of a partial clone fetches it; no background repacking of the cache for each one.
_LAZY = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")


class PackError(WizardError):
    """A pack cannot be identified, pinned or read; the message says which and what to do."""


# ----------------------------------------------------------------------------- the offline index


@dataclass(frozen=True)
class NodeIndex:
    """ComfyUI-Manager's custom-node data, as `scripts/build_index.py` writes it.

    Attributes:
        packs: (pack, repo) by number; pack is "owner/repo" for GitHub repositories.
        class_types: class type -> number of the pack the index chose for it.
        patterns: (regex over class types, pack number) for packs whose class names are dynamic.
        registry: lower-case registry id (cnr_id) -> repository URL.
        alternatives: class type -> numbers of the other packs that also claim it.
    """

    packs: tuple[tuple[str, str], ...]
    class_types: dict[str, int]
    patterns: tuple[tuple[str, int], ...]
    registry: dict[str, str]
    alternatives: dict[str, tuple[int, ...]]

    def claimants(self, class_type: str) -> tuple[int, ...]:
        """Numbers of the packs providing a class type, the index's choice first."""
        number = self.class_types.get(class_type)
        if number is None:
            number = next(
                (number for pattern, number in self.patterns if re.search(pattern, class_type)), None
            )
        if number is None:
            return ()
        return (number, *self.alternatives.get(class_type, ()))

    def number_of_repo(self, repo: str) -> int | None:
        wanted = _normalize_repo(repo)
        return next((n for n, (_, known) in enumerate(self.packs) if _normalize_repo(known) == wanted), None)


@functools.lru_cache(maxsize=1)
def bundled_node_index() -> NodeIndex:
    """The committed node index, read once per process."""
    with NODE_INDEX_PATH.open(encoding="utf-8") as index_file:
        data = json.load(index_file)
    return NodeIndex(
        packs=tuple((pack, repo) for pack, repo, _ in data["packs"]),
        class_types={
            class_type: number
            for number, (_, _, class_types) in enumerate(data["packs"])
            if class_types
            for class_type in class_types.split("\n")
        },
        patterns=tuple((pattern, number) for pattern, number in data["patterns"]),
        registry=data["registry"],
        alternatives={name: tuple(numbers) for name, numbers in data["alternatives"].items()},
    )


def extension_pack(class_type: str) -> tuple[str, str] | None:
    """(pack, repo) of the pack ComfyUI-Manager's data says provides a class type (its original repo)."""
    index = bundled_node_index()
    claimants = index.claimants(class_type)
    return index.packs[claimants[0]] if claimants else None


def _normalize_repo(url: str) -> str:
    return url.strip().rstrip("/").removesuffix(".git").lower()


def github_name(repo: str) -> str | None:
    """ "owner/name" of a GitHub repository URL, else None."""
    match = _GITHUB_REPO.fullmatch(repo.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


# ----------------------------------------------------------------------------- identification


@dataclass(frozen=True)
class Identification:
    """The packs a workflow needs.

    Attributes:
        packs: one NodePack per pack (unpinned: `commit` is None), in first-use order; class types no
            source can place are gathered in one NodePack with `pack=None`.
        warnings: one line per class that several packs provide and the workflow did not settle.
    """

    packs: tuple[NodePack, ...]
    warnings: tuple[str, ...]


def identify_packs(conversion: Conversion, choices: Mapping[str, str] | None = None) -> Identification:
    """The pack of every class the bundled core ComfyUI lacks; `choices` maps a class type to the
    "owner/repo" (or repository URL) the user chose for it."""
    core = NodeDefs.snapshot()
    choices = {name: _repo_url(value) for name, value in (choices or {}).items()}
    nodes = [node for node in conversion.nodes.values() if node.class_type not in core]
    index = bundled_node_index()
    placed = {node.id: _pack_of(node, choices) for node in nodes}
    # Repositories the workflow needs for sure: named by a node, or the only pack with that class.
    needed = {
        _normalize_repo(repo)
        for node in nodes
        for _, repo, _, source in [placed[node.id]]
        if repo and (source != "extension-map" or len(index.claimants(node.class_type)) == 1)
    }
    warnings: list[str] = []
    groups: dict[str | None, dict[str, Any]] = {}
    for node in nodes:
        pack, repo, version, source = placed[node.id]
        if source == "extension-map" and len(index.claimants(node.class_type)) > 1:
            pack, repo, warning = _settle(node.class_type, index, needed)
            if warning and warning not in warnings:
                warnings.append(warning)
        key = _normalize_repo(repo) if repo else pack
        group = groups.setdefault(
            key, {"pack": pack, "repo": repo, "source": source, "versions": Counter(), "class_types": []}
        )
        if group["source"] in ("extension-map", "user") and source in ("cnr_id", "aux_id"):
            group.update(pack=pack, source=source)
        if version:
            group["versions"][version] += 1
        if node.class_type not in group["class_types"]:
            group["class_types"].append(node.class_type)
    packs = tuple(
        NodePack(
            pack=group["pack"],
            repo=group["repo"],
            # Nodes of one pack may name different versions; the one most nodes name wins.
            version=group["versions"].most_common(1)[0][0] if group["versions"] else None,
            class_types=tuple(group["class_types"]),
            source=group["source"],
        )
        for group in groups.values()
    )
    return Identification(packs=packs, warnings=tuple(warnings))


def _settle(class_type: str, index: NodeIndex, needed: set[str]) -> tuple[str, str, str | None]:
    """(pack, repo, warning) for a class several packs provide: one the workflow needs anyway wins."""
    claimants = [index.packs[number] for number in index.claimants(class_type)]
    for pack, repo in claimants:
        if _normalize_repo(repo) in needed:
            return pack, repo, None
    chosen, others = claimants[0], claimants[1:]
    warning = (
        f"{class_type} is provided by several packs: {chosen[0]} (chosen), "
        f"{', '.join(pack for pack, _ in others)}; "
        + fix(
            f"choose another with --pack '{class_type}=OWNER/REPO'",
            "give another one's repository in the packs table",
        )
    )
    return chosen[0], chosen[1], warning


def _pack_of(
    node: FlatNode, choices: Mapping[str, str]
) -> tuple[str | None, str | None, str | None, str | None]:
    """(pack, repo, version, source) for one node whose class type core ComfyUI lacks."""
    properties = node.properties or {}
    version = _text(properties.get("ver")) or node.pack_version
    if node.class_type in choices:
        repo = choices[node.class_type]
        return github_name(repo) or repo, repo, None, "user"
    cnr_id = _text(properties.get("cnr_id"))
    aux_id = _text(properties.get("aux_id"))
    if cnr_id is None and aux_id is None and node.pack:
        cnr_id, aux_id = (None, node.pack) if "/" in node.pack else (node.pack, None)
    if cnr_id and cnr_id != _CORE_PACK:
        return cnr_id, bundled_node_index().registry.get(cnr_id.lower()), version, "cnr_id"
    if aux_id and _OWNER_REPO.fullmatch(aux_id):
        return aux_id, f"https://github.com/{aux_id}", version, "aux_id"
    listed = extension_pack(node.class_type)
    if listed is not None:
        pack, repo = listed
        return pack, repo, None, "extension-map"
    return None, None, None, None


def _repo_url(value: str) -> str:
    value = value.strip()
    if _OWNER_REPO.fullmatch(value):
        return f"https://github.com/{value}"
    if value.startswith(("https://", "http://")):
        return value.rstrip("/").removesuffix(".git")
    raise PackError(f"{value!r} is not OWNER/REPO or a repository URL")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# ----------------------------------------------------------------------------- the registry


class RegistryUnreachable(Exception):
    """The Comfy Registry did not answer (network down, DNS, timeout, 5xx)."""


def registry_url() -> str:
    """The Comfy Registry to ask: `COMFY_REGISTRY_URL`, else https://api.comfy.org."""
    return os.environ.get("COMFY_REGISTRY_URL", DEFAULT_REGISTRY_URL).rstrip("/")


def registry_get(path: str, query: Mapping[str, Any] | None = None) -> Any | None:
    """GET a registry JSON document: its value, None for 404, RegistryUnreachable otherwise."""
    url = registry_url() + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REGISTRY_TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise RegistryUnreachable(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise RegistryUnreachable(f"{url}: {getattr(error, 'reason', error)}") from None


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def registry_comfy_nodes(pack_id: str, version: str) -> list[dict[str, Any]] | None:
    """Every ComfyNode of a pack version (`GET /nodes/{id}/versions/{version}/comfy-nodes`, all
    pages), None when the registry has none for it."""
    nodes: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = registry_get(
            f"/nodes/{_quote(pack_id)}/versions/{_quote(version)}/comfy-nodes",
            {"page": page, "limit": _REGISTRY_PAGE_SIZE},
        )
        if not isinstance(answer, dict):
            return None
        nodes += [node for node in answer.get("comfy_nodes") or () if isinstance(node, dict)]
        pages = answer.get("totalNumberOfPages")
        if not isinstance(pages, int) or page >= pages:
            return nodes or None
        page += 1


def object_info_of_comfy_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """One registry ComfyNode as an /object_info entry.

    The registry's schema types `input_types` (the INPUT_TYPES dict), `return_types` and `return_names`
    as strings: read as JSON, else as Python literals (`('IMAGE',)`, `ast.literal_eval`). It has no
    display name, no input order beyond the dict's own, and no `output_node` flag: the entry gets what
    the registry has.
    """
    name = str(node.get("comfy_node_name") or "")
    inputs = _literal(node.get("input_types"), {})
    outputs = list(_literal(node.get("return_types"), []))
    names = list(_literal(node.get("return_names"), []))
    return {
        "input": inputs if isinstance(inputs, dict) else {},
        "input_order": {
            section: list(inputs[section])
            for section in ("required", "optional")
            if isinstance(inputs, dict) and isinstance(inputs.get(section), dict)
        },
        "output": outputs,
        "output_is_list": list(node.get("output_is_list") or [False] * len(outputs)),
        "output_name": names or [str(kind) if not isinstance(kind, list) else "COMBO" for kind in outputs],
        "name": name,
        "display_name": name,
        "description": str(node.get("description") or ""),
        "category": str(node.get("category") or ""),
        "output_node": False,
        "deprecated": bool(node.get("deprecated")),
        "experimental": bool(node.get("experimental")),
    }


def _literal(value: Any, empty: Any) -> Any:
    if not isinstance(value, str):
        return value if value is not None else empty
    if not value.strip():
        return empty
    try:
        return json.loads(value)
    except ValueError:
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return empty


# ----------------------------------------------------------------------------- git


def cache_home() -> Path:
    """Where the wizard keeps pack clones and definitions (`$COMFYUI_HOME`, else ~/.cache/...)."""
    home = os.environ.get("COMFYUI_HOME") or Path.home() / ".cache" / "comfyui-space-wizard"
    return Path(home)


def clone_dir(repo: str) -> Path:
    """The bare mirror of a repository in the cache: `packs/<owner>+<name>.git`."""
    name = github_name(repo) or re.sub(r"[^\w.-]+", "_", _normalize_repo(repo))
    return cache_home() / "packs" / (name.replace("/", "+") + ".git")


class PackRepos:
    """Bare mirrors of pack repositories, cloned once into the cache (never when offline)."""

    def __init__(self, *, offline: bool, progress: Progress):
        self.offline = offline
        self.progress = progress
        self._failed: dict[str, str] = {}

    def mirror(self, repo: str) -> Path | None:
        """The cached mirror of `repo`, cloned when missing; None when it cannot be had."""
        target = clone_dir(repo)
        if (target / "HEAD").is_file():
            return target
        if self.offline or repo in self._failed:
            return None
        try:
            check_repo_url(repo)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.progress(f"cloning {repo}…")
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".clone-") as tmp:
                # Commits and trees only: blobs (requirements.txt, pyproject.toml) come when read.
                run_git(
                    "clone", "--quiet", "--mirror", "--filter=blob:none", "--", repo, str(Path(tmp) / "repo")
                )
                os.replace(Path(tmp) / "repo", target)
        except (GitCommandError, OSError) as error:
            self._failed[repo] = str(error)
            return None
        return target

    def failure(self, repo: str) -> str:
        return self._failed.get(repo, "not cloned yet" if self.offline else "cannot be cloned")

    def commit(self, mirror: Path, ref: str) -> str | None:
        """The full hash `ref` names in the mirror (fetching once when it is missing), else None."""
        found = _rev_parse(mirror, ref)
        if found is None and _COMMIT.fullmatch(ref) and self.fetch(mirror):
            found = _rev_parse(mirror, ref)
        return found

    def fetch(self, mirror: Path) -> bool:
        """Brings a mirror up to date with its repository (never offline); False when that fails."""
        if self.offline:
            return False
        try:
            run_git("fetch", "--quiet", "--prune", "origin", cwd=mirror)
        except GitCommandError:
            return False
        return True


def _rev_parse(mirror: Path, ref: str) -> str | None:
    try:
        return run_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=mirror) or None
    except GitCommandError:
        return None


def last_commit_before(mirror: Path, date: str) -> str | None:
    """The default branch's last commit whose committer date is on or before `date` (ISO 8601)."""
    try:
        return run_git("rev-list", "-1", f"--before={date}", "HEAD", cwd=mirror) or None
    except GitCommandError:
        return None


def commit_of_version(mirror: Path, version: str) -> str | None:
    """The commit of a registry version: tag `v<ver>` or `<ver>`, else the first commit whose
    `pyproject.toml` says `version = "<ver>"` (what the registry publishes from)."""
    for tag in (f"refs/tags/v{version}", f"refs/tags/{version}"):
        found = _rev_parse(mirror, tag)
        if found:
            return found
    pattern = rf'^\s*version\s*=\s*["\']{re.escape(version)}["\']'
    try:
        introduced = run_git(
            *_LAZY,
            "log",
            "--format=%H",
            "--reverse",
            "-G",
            pattern,
            "HEAD",
            "--",
            "pyproject.toml",
            cwd=mirror,
        )
    except GitCommandError:
        return None
    for commit in introduced.splitlines():
        try:
            text = _show(mirror, commit, "pyproject.toml") or ""
        except GitCommandError:
            return None
        if re.search(pattern, text, re.MULTILINE):
            return commit
    return None


def _show(mirror: Path, commit: str, path: str) -> str | None:
    """The text of `path` at `commit`, None when the commit has no such file; GitCommandError when
    it has one that cannot be read (a partial clone's blob, offline)."""
    try:
        listed = run_git("ls-tree", "--name-only", commit, "--", path, cwd=mirror)
    except GitCommandError:
        return None
    if not listed:
        return None
    return run_git(*_LAZY, "show", f"{commit}:{path}", cwd=mirror)


def commit_fact(kind: str, repo: str, commit: str, compute: Callable[[], Any]) -> Any:
    """A fact of an immutable commit (its requirements, its registry version, its output nodes):
    computed once, then read from `<cache>/facts/`. A computation that raises is not kept."""
    path = cache_home() / "facts" / f"{clone_dir(repo).stem}@{commit}.{kind}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)
    return value


def pack_requirements(mirror: Path, commit: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(PEP 508 lines of the pack's requirements.txt at `commit`, lines that are not PEP 508)."""
    text = _show(mirror, commit, "requirements.txt") or ""
    kept, skipped = [], []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        try:
            Requirement(line)
        except InvalidRequirement:
            skipped.append(line)
            continue
        if line not in kept:
            kept.append(line)
    return tuple(kept), tuple(skipped)


# ----------------------------------------------------------------------------- output nodes, read not run


def declared_output_nodes(repo: str, commit: str, *, offline: bool) -> frozenset[str]:
    """Class types a pack's Python source at `commit` marks as output nodes, read with `ast` (its code
    never runs): the registry's node metadata has no `output_node` flag. Cached by (repo, commit).

    A class is an output node when its body sets `OUTPUT_NODE = True`, passes `is_output_node=True`
    (the V3 schema), or derives from such a class or from a core output node (`PreviewImage`, ...);
    its class type is its key in a `{"Name": Class}` (or `{"Name": {"class": Class}}`) literal. Names
    computed at import (rgthree's `get_name(...)`) are out of reach. Offline, only a cached answer
    counts (reading the source of a partial clone may need its blobs): else none.
    """
    mirror = clone_dir(repo)
    cached = cache_home() / "facts" / f"{clone_dir(repo).stem}@{commit}.outputs.json"
    if not cached.is_file() and (offline or not (mirror / "HEAD").is_file()):
        return frozenset()
    core_outputs = {d.class_type for d in NodeDefs.snapshot() if d.is_output_node}
    found = commit_fact(
        "outputs", repo, commit, lambda: sorted(_output_nodes(_python_sources(mirror, commit), core_outputs))
    )
    return frozenset(found)


def _python_sources(mirror: Path, commit: str) -> list[str]:
    """The text of every .py file at `commit`; a partial clone fetches their blobs in one request."""
    listing = run_git("ls-tree", "-r", commit, cwd=mirror)
    oids = [line.split()[2] for line in listing.splitlines() if line.endswith(".py") and " blob " in line]
    if not oids:
        return []
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    wanted = "\n".join(oids) + "\n"
    if _is_partial(mirror):
        # What git's own lazy fetch runs for one missing object, for all of them at once.
        subprocess.run(
            ["git", *_LAZY, "-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags"]
            + ["--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin", "origin"],
            cwd=mirror,
            env=env,
            input=wanted,
            capture_output=True,
            text=True,
        )
    batch = subprocess.run(
        ["git", *_LAZY, "cat-file", "--batch"],
        cwd=mirror,
        env=env,
        input=wanted.encode(),
        capture_output=True,
    ).stdout
    texts, position = [], 0
    while position < len(batch):
        header_end = batch.index(b"\n", position)
        header = batch[position:header_end].split()
        position = header_end + 1
        if len(header) < 3:  # "<oid> missing"
            continue
        size = int(header[2])
        texts.append(batch[position : position + size].decode("utf-8", errors="replace"))
        position += size + 1
    return texts


def _is_partial(mirror: Path) -> bool:
    try:
        return run_git("config", "--get", "remote.origin.promisor", cwd=mirror) == "true"
    except GitCommandError:  # unset
        return False


def _output_nodes(sources: Iterable[str], core_outputs: set[str]) -> set[str]:
    classes: dict[str, tuple[list[str | None], bool, str | None]] = {}  # name -> (bases, marked, NAME)
    mappings: list[tuple[ast.expr, str]] = []
    for source in sources:
        try:
            with warnings.catch_warnings():  # the packs' own invalid escapes and the like
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = ([_attribute_name(base) for base in node.bases], *_class_flags(node))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    target = _mapped_class(value)
                    if key is not None and target:
                        mappings.append((key, target))

    def is_output(name: str | None, seen: tuple[str, ...] = ()) -> bool:
        if name in core_outputs:
            return True
        if name not in classes or name in seen:
            return False
        bases, marked, _ = classes[name]
        return marked or any(is_output(base, (*seen, name)) for base in bases)

    found = set()
    for key, target in mappings:
        name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        if isinstance(key, ast.Attribute) and key.attr == "NAME" and _attribute_name(key.value) in classes:
            name = classes[_attribute_name(key.value)][2]
        if name and is_output(target):
            found.add(name)
    return found


def _class_flags(node: ast.ClassDef) -> tuple[bool, str | None]:
    """(marked as an output node, its constant `NAME`) of a class body."""
    marked, constant = False, None
    for statement in node.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                    if target.id == "OUTPUT_NODE":
                        marked = value.value is True
                    elif target.id == "NAME" and isinstance(value.value, str):
                        constant = value.value
    for inner in ast.walk(node):
        if isinstance(inner, ast.keyword) and inner.arg == "is_output_node":
            marked |= isinstance(inner.value, ast.Constant) and inner.value.value is True
    return marked, constant


def _mapped_class(value: ast.expr) -> str | None:
    if isinstance(value, ast.Dict):  # KJNodes: {"Name": {"class": Class, "name": "Title"}}
        for key, inner in zip(value.keys, value.values):
            if isinstance(key, ast.Constant) and key.value == "class":
                return _attribute_name(inner)
        return None
    return _attribute_name(value)


def _attribute_name(expr: ast.expr) -> str | None:
    return expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else None


# ----------------------------------------------------------------------------- pinning


@dataclass(frozen=True)
class PinnedPacks:
    """Packs with their commits.

    Attributes:
        packs: every identified pack, each with `commit` set (unknown packs, `pack=None`, stay as they are).
        warnings: one line per fallback taken (what the workflow named, what was used instead).
        lacking: labels of packs that could not be pinned at all (offline and not cached, or no
            repository anywhere), each with the reason.
        unavailable: one line per commit or version someone named that cannot be had, with the reason
            (the start of its fallback's warning).
    """

    packs: tuple[NodePack, ...]
    warnings: tuple[str, ...]
    lacking: tuple[str, ...]
    unavailable: tuple[str, ...]


def parse_pins(items: Iterable[str]) -> dict[str, str]:
    """`PACK=COMMIT` items (the CLI's `--pin`) as {pack: commit}; PACK is a registry id, "owner/repo"
    or the repository's name."""
    pins = {}
    for item in items:
        pack, separator, commit = item.partition("=")
        if not separator or not pack.strip() or not _COMMIT.fullmatch(commit.strip()):
            raise PackError(f"--pin needs PACK=COMMIT (a 7-40 digit git hash), got {item!r}")
        pins[pack.strip().lower()] = commit.strip().lower()
    return pins


def parse_choices(items: Iterable[str]) -> dict[str, str]:
    """`CLASS=OWNER/REPO` items (the CLI's `--pack`) as {class type: repo}."""
    choices = {}
    for item in items:
        class_type, separator, repo = item.rpartition("=")
        if not separator or not class_type.strip() or not repo.strip():
            raise PackError(f"--pack needs CLASS=OWNER/REPO, got {item!r}")
        _repo_url(repo)
        choices[class_type.strip()] = repo.strip()
    return choices


def pin_packs(
    packs: Sequence[NodePack],
    *,
    pins: Mapping[str, str] | None = None,
    offline: bool = False,
    progress: Progress | None = None,
) -> PinnedPacks:
    """Pin every pack to a commit by the rules in this module's docstring."""
    pinner = _Pinner(pins or {}, offline, progress or (lambda line: None))
    pinned = tuple(pinner.pin(pack) if pack.pack or pack.repo else pack for pack in packs)
    return PinnedPacks(
        packs=pinned,
        warnings=tuple(pinner.warnings),
        lacking=tuple(pinner.lacking),
        unavailable=tuple(pinner.unavailable),
    )


class _Pinner:
    """One `pin_packs` call: its clones, whether the registry answered, its warnings and what it lacks."""

    def __init__(self, pins: Mapping[str, str], offline: bool, progress: Progress):
        self.pins = pins
        self.offline = offline
        self.progress = progress
        self.repos = PackRepos(offline=offline, progress=progress)
        self.registry_down = offline
        self.warnings: list[str] = []
        self.lacking: list[str] = []
        self.unavailable: list[str] = []

    def pin(self, pack: NodePack) -> NodePack:
        """The pack with its commit, by the rules of the module docstring (unchanged when it cannot be had)."""
        # The registry is asked for what only it knows: a version's date, or a repository nobody else names.
        asks_registry = pack.source == "cnr_id" and bool(pack.pack)
        asks_registry &= not pack.repo or bool(pack.version and not _is_commit(pack.version))
        record = self._registry_record(pack) if asks_registry else None
        repo = pack.repo or (record or {}).get("repository")
        if not repo and pack.source == "cnr_id" and pack.pack:
            repo = bundled_node_index().registry.get(pack.pack.lower())
        repo = repo.rstrip("/").removesuffix(".git") if isinstance(repo, str) and repo else None
        original = self._original_repo(pack, repo)
        override = self._override(pack, repo)
        version = pack.version if pack.version and not _is_commit(pack.version) else None
        if override is not None:
            return self._at(pack, repo, override, version, f"--pin {override}")
        if pack.commit:  # pinned before (a spec): it stays
            return pack
        if pack.version and _is_commit(pack.version):
            return self._at(pack, repo, pack.version, version, f"commit {pack.version}")
        if version and pack.source in ("cnr_id", "user"):  # a registry version, or one the user typed
            return self._registry_version(pack, repo, version, record)
        return self._by_date(pack, repo or original, None, warning=None)

    def _override(self, pack: NodePack, repo: str | None) -> str | None:
        """The --pin commit for this pack (by registry id, owner/repo or repository name), else None."""
        keys = {
            key.lower()
            for key in (pack.pack, github_name(repo or ""), (repo or "").rsplit("/", 1)[-1])
            if key
        }
        return next((commit for key, commit in self.pins.items() if key in keys), None)

    def _original_repo(self, pack: NodePack, repo: str | None) -> str | None:
        """The pack's repository when the index lists it for its classes (the index holds originals,
        not forks), else the index's pack for them; `repo` when the index knows none of them."""
        index = bundled_node_index()
        for class_type in pack.class_types:
            claimants = [index.packs[number][1] for number in index.claimants(class_type)]
            if claimants:
                known = repo and next(
                    (c for c in claimants if _normalize_repo(c) == _normalize_repo(repo)), None
                )
                return known or claimants[0]
        return repo

    def _registry_record(self, pack: NodePack) -> dict[str, Any] | None:
        """The registry's Node record ({repository, ...}) plus, for a version, its NodeVersion."""
        if self.registry_down:
            return None
        try:
            node = registry_get(f"/nodes/{_quote(pack.pack)}")
            record = dict(node) if isinstance(node, dict) else {}
            if pack.version and not _is_commit(pack.version):
                found = registry_get(f"/nodes/{_quote(pack.pack)}/versions/{_quote(pack.version)}")
                record["node_version"] = found if isinstance(found, dict) else None
            return record
        except RegistryUnreachable as error:
            self.registry_down = True
            self.warnings.append(f"the Comfy Registry cannot be reached ({error}): pinning from git instead")
            return None

    def _registry_version(
        self, pack: NodePack, repo: str | None, version: str, record: dict[str, Any] | None
    ) -> NodePack:
        """The commit of a registry version: its tag, its pyproject.toml, else its registry date."""
        label = pack.pack
        mirror = self.repos.mirror(repo) if repo else None
        if mirror is None:
            return self._fallback(pack, repo, version, f"{label} {version} from {repo or 'no repository'}")
        commit = commit_of_version(mirror, version)
        if commit is None and self.repos.fetch(mirror):  # a release made since the mirror was cloned
            commit = commit_of_version(mirror, version)
        node_version = (record or {}).get("node_version")
        if commit is None and isinstance(node_version, dict) and node_version.get("createdAt"):
            commit = last_commit_before(mirror, str(node_version["createdAt"]))
        if commit is None:
            return self._fallback(
                pack, repo, version, f"{label} version {version} (no tag or pyproject.toml names it)"
            )
        return self._done(pack, repo, commit, version, mirror)

    def _at(self, pack: NodePack, repo: str | None, ref: str, version: str | None, what: str) -> NodePack:
        """The pack at a commit someone named, else the fallback."""
        mirror = self.repos.mirror(repo) if repo else None
        commit = self.repos.commit(mirror, ref) if mirror is not None else None
        if commit is None:
            where = repo or "no repository"
            reason = "not in it" if mirror is not None else self.repos.failure(repo) if repo else "unknown"
            return self._fallback(pack, repo, version, f"{what} of {where} ({reason})")
        return self._done(pack, repo, commit, version, mirror)

    def _fallback(self, pack: NodePack, repo: str | None, version: str | None, wanted: str) -> NodePack:
        """The original repository at the date rule, with a warning naming what was wanted and what is used."""
        original = self._original_repo(pack, repo) or repo
        unavailable = f"{pack.pack or original}: {wanted} cannot be had"
        self.unavailable.append(unavailable)
        warning = (
            f"{unavailable}; using {original} at its last commit "
            f"on or before ComfyUI {COMFYUI_COMMIT[:8]}'s date ({COMFYUI_COMMIT_DATE[:10]})"
        )
        return self._by_date(pack, original, version, warning)

    def _by_date(
        self, pack: NodePack, repo: str | None, version: str | None, warning: str | None
    ) -> NodePack:
        """The last commit on or before ComfyUI's date; the pack unpinned (and named as lacking) when none."""
        label = pack.pack or repo or "?"
        mirror = self.repos.mirror(repo) if repo else None
        commit = last_commit_before(mirror, COMFYUI_COMMIT_DATE) if mirror is not None else None
        if commit is None:
            reason = (
                (self.repos.failure(repo) if mirror is None else "no commit that old")
                if repo
                else "no repository known"
            )
            self.lacking.append(f"{label} ({reason})")
            return pack
        if warning:
            self.warnings.append(warning)
        return self._done(replace(pack, repo=repo), repo, commit, version, mirror)

    def _done(
        self, pack: NodePack, repo: str | None, commit: str, version: str | None, mirror: Path
    ) -> NodePack:
        """The pinned pack, with its requirements at that commit."""
        try:
            requirements, skipped = commit_fact(
                "requirements", repo, commit, lambda: list(map(list, pack_requirements(mirror, commit)))
            )
        except GitCommandError as error:
            self.lacking.append(
                f"{pack.pack or repo} (its requirements.txt at {commit[:8]} cannot be read: {error})"
            )
            return pack
        for line in skipped:
            self.warnings.append(
                f"{pack.pack}: requirement {line!r} is not a PEP 508 line; left out of requirements.txt"
            )
        return replace(pack, repo=repo, commit=commit, version=version, requirements=tuple(requirements))


# ----------------------------------------------------------------------------- requirements


# The Space's environment, for requirement markers (`; sys_platform == "win32"`).
_SPACE_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
}


def merged_requirements(
    packs: Iterable[NodePack], pinned: Iterable[str], protected: frozenset[str]
) -> list[str]:
    """The pinned packs' requirements merged, one line per package, for the Space's requirements.txt.

    `pinned` are the Space's own lines (gradio, torch, ComfyUI's requirements); `protected` the
    packages no pack may move (torch, torchvision, torchaudio). Lines whose markers exclude the Space
    (Linux, Python 3.12) are left out. A package the Space already pins keeps its pin and gets a line
    only when a pack narrows it. Raises BuildError naming the packs when two ask for versions no release
    satisfies, or a pack asks for a protected package's version other than the pinned one.
    """
    wanted: dict[str, list[tuple[str, Requirement]]] = {}
    asked = [("the Space", line) for line in pinned]
    asked += [(pack.pack or pack.repo or "?", line) for pack in packs for line in pack.requirements]
    for who, line in asked:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(_SPACE_MARKERS):
            continue
        wanted.setdefault(canonicalize_name(requirement.name), []).append((who, requirement))
    conflicts = []
    lines = []
    # The packs' order (the Space's own pins come first in `wanted`, and have their own sections).
    pack_order = list(
        dict.fromkeys(canonicalize_name(Requirement(line).name) for who, line in asked if who != "the Space")
    )
    for name in (name for name in pack_order if name in wanted):
        asks = wanted[name]
        conflict = _conflict(name, asks, protected)
        if conflict:
            conflicts.append(conflict)
            continue
        if name in protected:  # pinned above, and a pack may not move it
            continue
        by_packs = [(who, requirement) for who, requirement in asks if who != "the Space"]
        narrowing = [requirement for _, requirement in by_packs if requirement.specifier or requirement.url]
        if not by_packs or (len(by_packs) < len(asks) and not narrowing):
            continue
        lines.append(_merged_line(name, [requirement for _, requirement in by_packs]))
    if conflicts:
        raise BuildError("custom-node requirements conflict: " + "; ".join(conflicts))
    return lines


def _conflict(name: str, asks: list[tuple[str, Requirement]], protected: frozenset[str]) -> str | None:
    """A sentence naming who asks for incompatible versions of one package, else None."""
    if name in protected:
        pinned = next(r for who, r in asks if who == "the Space" and r.specifier)
        version = next(iter(pinned.specifier)).version
        against = [
            who
            for who, r in asks
            if who != "the Space" and not r.specifier.contains(version, prereleases=True)
        ]
        if against:
            return f"{', '.join(against)} need{'s' if len(against) == 1 else ''} {name} other than the pinned {version}"
        return None
    urls = {str(r.url) for _, r in asks if r.url}
    if len(urls) > 1:
        return f"{name} from different URLs ({', '.join(who for who, r in asks if r.url)})"
    specified = [(who, r) for who, r in asks if r.specifier]
    if len(specified) < 2:
        return None
    combined = SpecifierSet(",".join(str(r.specifier) for _, r in specified))
    if any(combined.contains(candidate, prereleases=True) for candidate in _candidates(specified)):
        return None
    words = ", ".join(f"{who} ({name}{r.specifier})" for who, r in specified)
    return f"no {name} release satisfies {words}"


def _candidates(asks: list[tuple[str, Requirement]]) -> list[Version]:
    """Versions worth trying against a set of specifiers: each bound, and just above each bound."""
    found = []
    for _, requirement in asks:
        for specifier in requirement.specifier:
            text = specifier.version.rstrip(".*")
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            found += [version, Version(f"{version.base_version}.0.0.1")]
    return found


def _merged_line(name: str, requirements: list[Requirement]) -> str:
    """One requirement line for the packs' asks of one package (their specifiers intersected)."""
    first = requirements[0]
    extras = sorted({extra for r in requirements for extra in r.extras})
    head = first.name + (f"[{','.join(extras)}]" if extras else "")
    url = next((r.url for r in requirements if r.url), None)
    if url:
        return f"{head} @ {url}"
    specifier = SpecifierSet(",".join(str(r.specifier) for r in requirements if r.specifier))
    return head + ",".join(sorted(str(s) for s in specifier))


def _is_commit(version: str) -> bool:
    """A `ver` that is a git hash (7-40 hex digits, not all of them digits: "20240101" is a date)."""
    return bool(_COMMIT.fullmatch(version)) and not version.isdigit()


def lock_entry(pack: NodePack) -> dict[str, Any]:
    """The lock-file entry of a pinned pack (the shape runtime/ reads; `requirements` is extra)."""
    return {
        "pack": pack.pack,
        "repo": pack.repo,
        "commit": pack.commit,
        "version": pack.version,
        "requirements": list(pack.requirements),
    }


# ----------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class PackSetup:
    """Everything the wizard learnt about a workflow's packs.

    Attributes:
        packs: the pinned packs (see PinnedPacks.packs).
        object_info: class type -> /object_info entry for the classes the packs add.
        warnings: identification, pinning and definition warnings, one line each.
        lacking: packs without a pin or without definitions, each with the reason.
    """

    packs: tuple[NodePack, ...]
    object_info: dict[str, dict[str, Any]]
    warnings: tuple[str, ...]
    lacking: tuple[str, ...]

    def messages(self, offline: bool) -> tuple[str, ...]:
        """The warnings for the user, one line each, the lacking packs in one."""
        if not self.lacking:
            return self.warnings
        where = "not in the cache (offline)" if offline else "missing"
        return (*self.warnings, f"custom-node packs {where}: {'; '.join(self.lacking)}")


def registry_definitions(pack_id: str, version: str, *, offline: bool) -> dict[str, dict[str, Any]] | None:
    """/object_info entries of a registry pack version from the registry's node metadata, cached on
    disk; None when the registry has none (or cannot be reached, or offline without a cached copy)."""
    cached = cache_home() / "registry" / f"{_safe(pack_id)}@{_safe(version)}.json"
    if cached.is_file():  # `null`: the registry said it has no metadata for this version
        return json.loads(cached.read_text(encoding="utf-8"))
    if offline:
        return None
    try:
        nodes = registry_comfy_nodes(pack_id, version)
    except RegistryUnreachable:
        return None
    info = {
        str(node["comfy_node_name"]): object_info_of_comfy_node(node)
        for node in nodes or ()
        if node.get("comfy_node_name")
    } or None
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, cached)
    return info


def registry_identity(pack: NodePack) -> tuple[str, str] | None:
    """(registry id, version) whose code is exactly the pinned commit, else None.

    A registry pin is its version. Any other pin counts when its `pyproject.toml` (what the registry
    publishes from: `[project] name` is the id) declares a version whose commit (`commit_of_version`)
    is the pinned one; a commit between two versions is no version's code.
    """
    if pack.source == "cnr_id" and pack.pack and pack.version and not _is_commit(pack.version):
        return pack.pack, pack.version
    if not pack.repo or not pack.commit or not (clone_dir(pack.repo) / "HEAD").is_file():
        return None
    try:
        found = commit_fact(
            "registry", pack.repo, pack.commit, lambda: _version_at(clone_dir(pack.repo), pack.commit)
        )
    except GitCommandError:
        return None
    return tuple(found) if found else None


def _version_at(mirror: Path, commit: str) -> list[str] | None:
    """[registry id, version] when `commit` is the commit of the version its pyproject.toml declares."""
    try:
        project = tomllib.loads(_show(mirror, commit, "pyproject.toml") or "").get("project") or {}
    except tomllib.TOMLDecodeError:
        return None
    name, version = project.get("name"), project.get("version")
    if not (isinstance(name, str) and isinstance(version, str)):
        return None
    # Registry ids are lower-case; pyproject names are not always.
    return [name.lower(), version] if commit_of_version(mirror, version) == commit else None


def registry_lookup(class_types: Sequence[str]) -> list[NodePack]:
    """Packs the registry says provide classes nothing else placed (`GET /comfy-nodes/{class}/node`),
    at the registry's latest version; classes it does not know stay in one pack-less NodePack."""
    found: dict[str, dict[str, Any]] = {}
    unplaced = []
    for number, class_type in enumerate(class_types):
        try:
            node = registry_get(f"/comfy-nodes/{_quote(class_type)}/node")
        except RegistryUnreachable:
            unplaced += class_types[number:]
            break
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            unplaced.append(class_type)
            continue
        latest = node.get("latest_version") if isinstance(node.get("latest_version"), dict) else {}
        group = found.setdefault(
            node["id"],
            {"repo": node.get("repository") or None, "version": latest.get("version"), "class_types": []},
        )
        group["class_types"].append(class_type)
    packs = [
        NodePack(
            pack=pack_id,
            repo=group["repo"],
            version=group["version"],
            class_types=tuple(group["class_types"]),
            source="cnr_id",
        )
        for pack_id, group in found.items()
    ]
    if unplaced:
        packs.append(NodePack(pack=None, repo=None, version=None, class_types=tuple(unplaced), source=None))
    return packs


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def prepare_packs(
    conversion: Conversion,
    *,
    pins: Mapping[str, str] | None = None,
    choices: Mapping[str, str] | None = None,
    offline: bool = False,
    definitions: bool = True,
    progress: Progress | None = None,
) -> PackSetup:
    """Identify, pin and (when `definitions`) get the definitions of every pack a conversion needs.

    Definitions come from the registry's node metadata when it has the pack version, else from
    `wizard.sandbox.dump_pack_definitions` (the packs' own import, in a sandboxed worker).
    """
    say = progress or (lambda line: None)
    identified = identify_packs(conversion, choices)
    packs: list[NodePack] = []
    for pack in identified.packs:
        unknown = pack.pack is None and pack.repo is None
        packs += registry_lookup(pack.class_types) if unknown and not offline else [pack]
    pinned = pin_packs(packs, pins=pins, offline=offline, progress=say)
    warnings = [*identified.warnings, *pinned.warnings]
    lacking = list(pinned.lacking)
    object_info: dict[str, dict[str, Any]] = {}
    to_import = []
    for pack in pinned.packs:
        if not pack.commit or not definitions:
            continue
        identity = registry_identity(pack)
        found = registry_definitions(*identity, offline=offline) if identity else None
        if found is not None and set(pack.class_types) <= set(found):
            say(f"fetching {pack.pack} {pack.commit[:7]}… (node metadata of {identity[0]} {identity[1]})")
            outputs = declared_output_nodes(pack.repo, pack.commit, offline=offline)
            for class_type, entry in found.items():
                # No outputs at all: ComfyUI would never run it unless it were an output node.
                entry["output_node"] = class_type in outputs or not entry["output"]
            object_info.update(found)
        else:
            to_import.append(pack)
    if to_import:
        object_info.update(_imported_definitions(to_import, offline, say, lacking))
    return PackSetup(
        packs=pinned.packs, object_info=object_info, warnings=tuple(warnings), lacking=tuple(lacking)
    )


def _imported_definitions(
    packs: Sequence[NodePack], offline: bool, say: Progress, lacking: list[str]
) -> dict[str, dict[str, Any]]:
    """The packs' own definitions, dumped by the sandboxed worker; what it cannot give goes to `lacking`."""
    try:
        from wizard.sandbox import dump_pack_definitions
    except ImportError:
        lacking.extend(
            f"{pack.pack} (no definitions: the sandboxed import is not available)" for pack in packs
        )
        return {}
    try:
        definitions = dump_pack_definitions(
            [lock_entry(pack) for pack in packs], progress=say, offline=offline
        )
    except WizardError as error:  # e.g. no ComfyUI checkout to import them with
        lacking.extend(f"{pack.pack} (no definitions: {error})" for pack in packs)
        return {}
    for label, error in definitions.failures.items():
        lacking.append(f"{label} ({error})")
    return dict(definitions.object_info)


def merged_node_defs(base: NodeDefs, object_info: Mapping[str, dict[str, Any]]) -> NodeDefs:
    """`base` NodeDefs with the packs' classes added (`NodeDefs.with_extra`, the agreed interface)."""
    if not object_info:
        return base
    with_extra = getattr(base, "with_extra", None)
    if with_extra is not None:
        return with_extra(dict(object_info))
    # Until NodeDefs.with_extra (helper `convert`) is merged: the same merge, done here.
    return type(base)({**{d.class_type: d.raw for d in base}, **object_info}, source=f"{base.source}+packs")


@dataclass(frozen=True)
class PackedConversion:
    """A workflow converted with its packs' definitions.

    Attributes:
        conversion: the conversion with the packs' classes defined (where definitions were found).
        node_defs: the definitions it was converted with (the base plus the packs' classes).
        setup: the packs, pinned, with the warnings and what is lacking.
    """

    conversion: Conversion
    node_defs: NodeDefs
    setup: PackSetup


@dataclass(frozen=True)
class PackOptions:
    """How the wizard gets a workflow's packs.

    Attributes:
        pins: pack (registry id, "owner/repo" or repo name, lower-case) -> commit (`--pin`).
        choices: class type -> "owner/repo" for a class several packs define (`--pack`).
        offline: the cache only: no registry, no clone, no fetch (`--offline`).
        definitions: get the packs' node definitions (False when an installed ComfyUI has them: `--live`).
        progress: called with one line per step ("fetching kijai/ComfyUI-KJNodes 6ee278a…").
    """

    pins: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, str] = field(default_factory=dict)
    offline: bool = False
    definitions: bool = True
    progress: Progress | None = None


def convert_with_packs(
    loaded: LoadedWorkflow, node_defs: NodeDefs, options: PackOptions = PackOptions()
) -> PackedConversion:
    """Convert, find the packs the conversion needs (`prepare_packs`), and convert again with their
    definitions: what the CLI and the page (`wizard.session.open_loaded`) do for every workflow."""
    from wizard.convert import convert

    conversion = convert(loaded, node_defs)
    setup = prepare_packs(
        conversion,
        pins=options.pins,
        choices=options.choices,
        offline=options.offline,
        definitions=options.definitions,
        progress=options.progress,
    )
    if setup.object_info:
        node_defs = merged_node_defs(node_defs, setup.object_info)
        conversion = convert(loaded, node_defs)
    return PackedConversion(conversion=conversion, node_defs=node_defs, setup=setup)
