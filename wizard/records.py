"""Typed records passed between the wizard's stages.

Each stage takes the previous stage's record and returns its own; all are frozen so a stage can
never change what an earlier one produced. Field names follow ComfyUI's own vocabulary
(class type, widget, API prompt).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, get_args

# The fixed vocabularies of the records (and of appspec.json): `get_args(ValueType)` lists them.
ValueType = Literal["INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", "FILE"]  # FILE: an uploaded file
OutputKind = Literal["images", "video", "audio", "mesh", "text"]
Media = Literal["image", "mask", "image+mask", "video", "audio", "file"]  # what a FILE input takes
InputComponent = Literal[
    "Slider",
    "Number",
    "Textbox",
    "Checkbox",
    "Dropdown",
    "Radio",
    "Image",
    "ImageEditor",
    "Video",
    "Audio",
    "File",
]
OutputComponent = Literal["Gallery", "Video", "Audio", "Model3D", "Textbox"]
ModelSource = Literal["workflow", "index", "hub-search", "user"]
PackSource = Literal["cnr_id", "aux_id", "extension-map", "user"]

VALUE_TYPES: tuple[str, ...] = get_args(ValueType)
OUTPUT_KINDS: tuple[str, ...] = get_args(OutputKind)
MODEL_SOURCES: tuple[str, ...] = get_args(ModelSource)
PACK_SOURCES: tuple[str, ...] = get_args(PackSource)


@dataclass(frozen=True)
class LoadedWorkflow:
    """What `wizard.ingest.load_workflow` read from one file.

    Attributes:
        filename: the file's name.
        source: its format: "json", "api-json", "png", "apng", "webp", "webm", "mp4", "flac", "mp3", "opus", ...
        ui_graph: the saved UI workflow (dict with `nodes`, `links`, ...) when the file carried one.
        prompt: the API-format prompt when the file carried one. At least one of the two is set; when
            both are, the conversion uses `ui_graph` (it holds titles, subgraphs and modes) and keeps
            `prompt` only for comparison.
        warnings: one line each, for the user.
    """

    filename: str
    source: str
    ui_graph: dict[str, Any] | None
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
    """A node whose class type has no definition here; its widget values cannot be named.

    Attributes:
        id, class_type: the node.
        pack, version: its pack (cnr_id / aux_id) and version, when the workflow says.
    """

    id: str
    class_type: str
    pack: str | None
    version: str | None


@dataclass(frozen=True)
class Conversion:
    """The result of flattening a workflow and converting it to the API prompt.

    `prompt` is what ComfyUI's frontend 1.27.10 would queue for this workflow:
    `{id: {"class_type": str, "inputs": {...}, "_meta": {"title": str}}}`.
    `nodes` holds the same ids, in the same order, with the extra facts later stages need.
    `ui_graph` is the original UI workflow (None when only an API prompt was available).
    `declared_models` are the `properties.models` entries of the workflow and its nodes,
    each a dict `{name, url, directory, ...}` plus `"node_id"` (None for top-level entries).
    """

    prompt: dict[str, dict[str, Any]]
    nodes: dict[str, FlatNode]
    ui_graph: dict[str, Any] | None
    warnings: tuple[str, ...] = ()
    unknown_nodes: tuple[UnknownNode, ...] = ()
    declared_models: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ModelFile:
    """One model file a workflow needs, and where it comes from.

    Attributes:
        name: exactly as the workflow writes it (may hold a subfolder: "sd/x.safetensors").
        folder: the ComfyUI model folder key ("checkpoints", "loras", "text_encoders", ...).
        repo_id, path, revision: where on the Hub (Hub files); `url` for other downloads; neither when unresolved.
        gated, size: what the Hub says of the file, when known.
        source: how it was resolved (a `ModelSource`), or None.
        node_ids: the nodes that load it (the analysis keeps them; a spec does not).
    """

    name: str
    folder: str
    repo_id: str | None = None
    path: str | None = None
    revision: str | None = None
    url: str | None = None
    gated: bool | None = None
    size: int | None = None
    source: ModelSource | None = None
    node_ids: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.repo_id and self.path) or bool(self.url)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (appspec.json, `inspect --json`): every field but the analysis' `node_ids`."""
        return {key: getattr(self, key) for key in MODEL_KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelFile:
        return cls(**_known_keys(cls, data, MODEL_KEYS))


@dataclass(frozen=True)
class NodePack:
    """A custom-node pack a workflow needs.

    Attributes:
        pack: the registry id (cnr_id) or "user/repo" (aux_id); None when the pack is unknown.
        repo: its git URL when known.
        version: a registry version or a git commit, as the workflow names it (once pinned: the
            registry version, or None).
        class_types: the node types of the workflow it provides (or, when unknown, that are missing).
        source: how it was found (a `PackSource`), or None when unknown.
        commit: the 40-hex git commit `wizard.packs.pin_packs` pinned it to (None: not pinned yet).
        requirements: the PEP 508 lines of its requirements.txt at that commit.
    """

    pack: str | None
    repo: str | None
    version: str | None
    class_types: tuple[str, ...]
    source: PackSource | None
    commit: str | None = None
    requirements: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **{key: getattr(self, key) for key in PACK_KEYS},
            "class_types": list(self.class_types),
            "requirements": list(self.requirements),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodePack:
        return cls(**_known_keys(cls, data, PACK_KEYS))


MODEL_KEYS = ("name", "folder", "repo_id", "path", "revision", "url", "gated", "size", "source")
PACK_KEYS = ("pack", "repo", "version", "class_types", "source", "commit", "requirements")


def _known_keys(cls: type, data: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """`data`'s entries for `cls(**...)`, lists made tuples; ValueError names unknown or missing keys."""
    if not isinstance(data, dict):
        raise ValueError(f"a {cls.__name__} must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ValueError(f"{cls.__name__} has unknown key(s) {', '.join(map(str, unknown))}")
    required = [f.name for f in fields(cls) if f.name in keys and f.default is MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{cls.__name__} lacks {', '.join(missing)}")
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}


@dataclass(frozen=True, kw_only=True)
class InputSettings:
    """How one widget value of the workflow is offered as an app input: what the analysis proposes
    (`wizard.analyze.CandidateInput`) and what the user chose (`wizard.appspec.AppInput`) share these.

    Attributes:
        node_id, input_name: the widget value in the API prompt.
        label: the component's label.
        value_type: what kind of value it holds (FILE: an uploaded file the node loads).
        component: the Gradio component that edits it (`wizard.app_contract.INPUT_COMPONENTS`).
        minimum, maximum, step: a number's range, when it has one.
        choices: a Dropdown's or Radio's values.
        multiline: a Textbox of several lines.
        media: what a FILE input takes.
        advanced: shown in the collapsed "Advanced" section.
        also_targets: more widget values (node id, input name) that take the same value, e.g. the
            refiner's prompt next to the base's: one app input drives them all.
    """

    node_id: str
    input_name: str
    label: str
    value_type: ValueType
    component: InputComponent
    minimum: int | float | None = None
    maximum: int | float | None = None
    step: int | float | None = None
    choices: tuple[Any, ...] | None = None
    multiline: bool = False
    media: Media | None = None
    advanced: bool = False
    also_targets: tuple[tuple[str, str], ...] = ()

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """Every widget value (node id, input name) this input sets, its own first."""
        return ((self.node_id, self.input_name), *self.also_targets)


@dataclass(frozen=True, kw_only=True)
class OutputSettings:
    """How one output node's results are shown: shared by `CandidateOutput` and `AppOutput`.

    Attributes:
        node_id: the output node in the API prompt.
        label: the component's label.
        kind: what the node produces.
        component: the Gradio component that shows it (one per kind: `wizard.app_contract.OUTPUT_COMPONENTS`).
    """

    node_id: str
    label: str
    kind: OutputKind
    component: OutputComponent
