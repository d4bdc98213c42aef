"""Typed records passed between the wizard's stages.

Each stage takes the previous stage's record and returns its own; all are frozen so a stage can
never change what an earlier one produced. Field names follow ComfyUI's own vocabulary
(class type, widget, API prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedWorkflow:
    """What `wizard.ingest.load_workflow` read from one file.

    `workflow` is the UI-format graph (dict with `nodes`, `links`, ...) when the file carried one;
    `prompt` is the API-format prompt when the file carried one. At least one is set. When both are
    set the conversion uses `workflow` (it holds titles, subgraphs and modes) and keeps `prompt`
    only for comparison.
    """

    filename: str
    source: str  # "json", "api-json", "png", "apng", "webp", "webm", "mp4", "flac", "mp3", "opus", ...
    workflow: dict[str, Any] | None
    prompt: dict[str, Any] | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlatNode:
    """One node of the flattened workflow, as it will run (muted, bypassed and virtual nodes gone).

    `id` is the API prompt id: "12", "5:3" (subgraph instance 5, inner node 3; nested "a:b:c"),
    or "7:0" (legacy group node 7, inner index 0).
    `inputs` is exactly this node's API prompt `inputs`: widget values and `[origin_id, slot]` links.
    `widget_names` lists which of those inputs are widget values the user could expose
    (in the node definition's input order); linked inputs are not among them.
    """

    id: str
    class_type: str
    title: str
    inputs: dict[str, Any]
    widget_names: tuple[str, ...]
    pack: str | None = None  # properties.cnr_id, or aux_id ("user/repo"); "comfy-core" for core
    pack_version: str | None = None  # properties.ver
    subgraph: tuple[str, ...] = ()  # titles of the subgraph / group-node instances containing it
    known: bool = True  # False when no node definition exists for class_type
    properties: dict[str, Any] = field(default_factory=dict)
    # True when its saved widget values were realigned to the current definition (an older node
    # signature, named in a warning): its inputs then differ from the frontend's, deliberately.
    realigned: bool = False


@dataclass(frozen=True)
class UnknownNode:
    """A node whose class type has no definition here; its widget values cannot be named."""

    id: str
    class_type: str
    pack: str | None  # from cnr_id / aux_id when the workflow says
    version: str | None  # from ver when the workflow says


@dataclass(frozen=True)
class Conversion:
    """The result of flattening a workflow and converting it to the API prompt.

    `prompt` is what ComfyUI's frontend 1.27.10 would queue for this workflow:
    `{id: {"class_type": str, "inputs": {...}, "_meta": {"title": str}}}`.
    `nodes` holds the same ids, in the same order, with the extra facts later stages need.
    `workflow` is the original UI workflow (None when only an API prompt was available).
    `declared_models` are the `properties.models` entries of the workflow and its nodes,
    each a dict `{name, url, directory, ...}` plus `"node_id"` (None for top-level entries).
    """

    prompt: dict[str, dict[str, Any]]
    nodes: dict[str, FlatNode]
    workflow: dict[str, Any] | None
    warnings: tuple[str, ...] = ()
    unknown_nodes: tuple[UnknownNode, ...] = ()
    declared_models: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ModelFile:
    """One model file a workflow needs, and where it comes from.

    `name` is exactly as the workflow writes it (may hold a subfolder: "sd/x.safetensors").
    `folder` is the ComfyUI model folder key ("checkpoints", "loras", "text_encoders", ...).
    Hub files have `repo_id`, `path`, `revision`; other downloads only `url`; unresolved ones neither.
    `source` says how it was resolved: "workflow", "index", "hub-search", "user", or None.
    """

    name: str
    folder: str
    repo_id: str | None = None
    path: str | None = None
    revision: str | None = None
    url: str | None = None
    gated: bool | None = None
    size: int | None = None
    source: str | None = None
    node_ids: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.repo_id and self.path) or bool(self.url)


@dataclass(frozen=True)
class NodePack:
    """A custom-node pack a workflow needs.

    `pack` is the registry id (cnr_id) or "user/repo" (aux_id); `repo` a git URL when known;
    `version` a registry version or a git commit; `source`: "cnr_id", "aux_id", "extension-map",
    or None when the pack is unknown (then `pack` is None and `class_types` says what is missing).
    """

    pack: str | None
    repo: str | None
    version: str | None
    class_types: tuple[str, ...]
    source: str | None
