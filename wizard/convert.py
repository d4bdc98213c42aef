"""Flatten a ComfyUI workflow and convert it to the API prompt the frontend would queue.

This reproduces ComfyUI frontend 1.27.10's `graphToPrompt` ([FE] `src/utils/executionUtil.ts:27-150`) in
three stages:

1. **Load** (`_load_workflow`): the UI JSON (v0.4 array links, v1 object links, subgraph definitions,
   legacy group nodes) becomes frozen `_Graph`/`_Node`/`_Link` records with their link maps built once.
2. **Plan** (`_Planner`): every node gets the widgets the frontend builds from its definition, filled
   from `widgets_values` the way `LGraphNode.configure` does (by position, control/upload extras, dict
   form, defaults); PrimitiveNodes push their values; subgraph instances and group nodes expand into
   executable nodes with ids `instance:inner` / `group:index` (`ExecutableNodeDTO`).
3. **Render** (`_render`): each executable node that is not virtual, muted or bypassed writes its widget
   values (dynamic prompts and `filename_prefix` substitutions applied), then resolves each input slot
   through reroutes, bypassed nodes and subgraph boundaries (`_Resolver`); finally link inputs whose
   origin is absent are deleted.

Where the frontend would queue something ComfyUI cannot run, the converter deliberately differs and
says so in a warning: widget values saved by an older node signature are realigned by type
(`_Planner._realign_if_shifted`); a node type without a definition keeps its class type and links but
no guessed values; record-form `widgets_values` are read by widget name, as the packs that write them do.

[FE] cites the frontend source, [C] ComfyUI's; `shared/docs/comfyui.md` §3-6 summarises both.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol

from wizard.errors import WorkflowFileError, WorkflowGraphError
from wizard.nodedefs import InputSpec, NodeDef, NodeDefs
from wizard.records import Conversion, FlatNode, LoadedWorkflow, UnknownNode

SUBGRAPH_INPUT_ID = "-10"  # [FE] src/lib/litegraph/src/constants.ts:8
SUBGRAPH_OUTPUT_ID = "-20"  # [FE] src/lib/litegraph/src/constants.ts:11
MODE_NEVER = 2  # muted ([FE] globalEnums.ts:83-89)
MODE_BYPASS = 4
REROUTE = "Reroute"
PRIMITIVE_NODE = "PrimitiveNode"
NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
REPLACE_PROPERTY = "Run widget replace on values"  # [FE] widgetInputs.ts:23
# Nodes whose filename_prefix widget runs search-and-replace ([FE] saveImageExtraOutput.ts:5-17).
SAVE_NODE_TYPES = frozenset(
    {
        "SaveImage",
        "SaveAnimatedWEBP",
        "SaveWEBM",
        "SaveAudio",
        "SaveGLB",
        "SaveAnimatedPNG",
        "CLIPSave",
        "VAESave",
        "ModelSave",
        "LoraSave",
        "SaveLatent",
    }
)
# Node types the frontend renames on load ([FE] app.ts, `loadGraphData`).
LEGACY_TYPE_NAMES = {
    "T2IAdapterLoader": "ControlNetLoader",
    "ConditioningAverage ": "ConditioningAverage",
    "SDV_img2vid_Conditioning": "SVD_img2vid_Conditioning",
}
# KSampler sampler names saved with this prefix lose it on load ([FE] app.ts, `loadGraphData`).
LEGACY_SAMPLER_PREFIX = "sample_"
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize", "increment-wrap"})
# COMBO options that make the frontend append an upload button ([FE] uploadImage.ts:36-53).
IMAGE_UPLOAD_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")
# Values nested deeper than this are no value any ComfyUI node takes; refusing them keeps copying
# and JSON encoding of hostile input safe.
MAX_VALUE_DEPTH = 64


class ChoiceSource(Protocol):
    """What dynamic prompts need from a random generator (`random.Random` fits)."""

    def random(self) -> float: ...


# ---------------------------------------------------------------------------------------------------
# Loaded graph records
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    """One link of a graph ([FE] workflowSchema.ts:51 array form, :68 object form)."""

    id: Any
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int
    type: str


@dataclass(frozen=True)
class _Slot:
    """One input slot as the live node holds it: name, type, link id and the widget it drives."""

    name: str
    type: str
    link: Any = None  # a link id
    widget: str | None = None


@dataclass(frozen=True)
class _Node:
    """One serialised node, normalised: string ids, hashable link ids, `widgets_values` as saved."""

    id: str
    type: str
    mode: int
    title: str | None
    inputs: tuple[_Slot, ...]
    output_types: tuple[str, ...]
    widgets_values: Any
    properties: dict[str, Any]


@dataclass(frozen=True)
class _Graph:
    """The root graph, a subgraph definition or an expanded group node, with its link map."""

    key: str  # "" for the root graph, else the definition's id
    name: str
    nodes: dict[str, _Node]
    links: dict[Any, _Link]
    links_from: dict[tuple[str, int], tuple[_Link, ...]]  # (origin id, origin slot) -> links
    inputs: tuple[_Slot, ...] = ()  # subgraph inputs, the slots of the -10 node
    output_links: tuple[tuple[Any, ...], ...] = ()  # link ids into each subgraph output (-20 node)
    output_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class _GroupDef:
    """A legacy group node definition, `extra.groupNodes[NAME]` ([FE] groupNode.ts:50-65)."""

    name: str
    nodes: tuple[_Node, ...]  # ids are the inner indexes
    links: tuple[tuple[int, int, int, int, str], ...]  # origin index, slot, target index, slot, type


@dataclass(frozen=True)
class _Workflow:
    root: _Graph
    subgraphs: dict[str, _Graph]
    group_nodes: dict[str, _GroupDef]


# ---------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------


def convert(loaded: LoadedWorkflow, node_defs: NodeDefs, *, rng: ChoiceSource | None = None) -> Conversion:
    """Flatten `loaded` and convert it to the API prompt ComfyUI frontend 1.27.10 would queue.

    `rng` picks dynamic-prompt options (`{a|b}`) like the frontend's `Math.random`; by default it is a
    `random.Random` seeded from the workflow, so the same file always converts to the same prompt.
    When only an API prompt is available it is checked and described, not rewritten.
    """
    if loaded.workflow is not None:
        return _convert_workflow(loaded, node_defs, rng or _ContentSeededRandom(loaded.workflow))
    if loaded.prompt is not None:
        return _convert_api_prompt(loaded, node_defs)
    raise WorkflowFileError(f"{loaded.filename}: it holds neither a workflow nor an API prompt")


def _convert_workflow(loaded: LoadedWorkflow, node_defs: NodeDefs, rng: ChoiceSource) -> Conversion:
    planner = _Planner(_load_workflow(loaded.workflow), node_defs, rng)
    execs = planner.plan()
    prompt = _render(execs, planner)
    _check_acyclic(prompt)
    nodes = {exec_id: _flat_node(execs[exec_id], prompt[exec_id], planner.realigned) for exec_id in prompt}
    unknown = tuple(_unknown_node(execs[exec_id]) for exec_id in prompt if execs[exec_id].kind == "unknown")
    return Conversion(
        prompt=prompt,
        nodes=nodes,
        workflow=loaded.workflow,
        warnings=_unique([*loaded.warnings, *planner.warnings, *map(_unknown_warning, unknown)]),
        unknown_nodes=unknown,
        declared_models=tuple(_declared_models(loaded.workflow, nodes)),
    )


def _convert_api_prompt(loaded: LoadedWorkflow, node_defs: NodeDefs) -> Conversion:
    """An API prompt given directly: check its shape, drop links to absent nodes, describe its nodes."""
    prompt = _checked_api_prompt(loaded.prompt, loaded.filename)
    warnings = list(loaded.warnings)
    for node_id, entry in prompt.items():
        for name, value in list(entry["inputs"].items()):
            if _is_link(value) and value[0] not in prompt:
                warnings.append(
                    f"node {node_id}: input {name!r} links to absent node {value[0]}; the link was dropped"
                )
                del entry["inputs"][name]
    _check_acyclic(prompt)
    layouts = _Layouts()
    nodes, unknown = {}, []
    for node_id, entry in prompt.items():
        node_def = node_defs.get(entry["class_type"])
        title = entry["_meta"].get("title")
        entry["_meta"]["title"] = (
            title if isinstance(title, str) else _default_title(entry["class_type"], node_def)
        )
        widget_names = _exposable_widgets(layouts.get(node_def), entry["inputs"]) if node_def else ()
        nodes[node_id] = FlatNode(
            node_id,
            entry["class_type"],
            entry["_meta"]["title"],
            entry["inputs"],
            widget_names,
            known=bool(node_def),
        )
        if node_def is None:
            unknown.append(UnknownNode(node_id, entry["class_type"], None, None))
    warnings += map(_unknown_warning, unknown)
    return Conversion(prompt, nodes, None, _unique(warnings), tuple(unknown), ())


def _checked_api_prompt(raw: Any, filename: str) -> dict[str, dict[str, Any]]:
    """A copy of an API prompt `{id: {"class_type", "inputs", "_meta"?}}`, or a one-line error."""
    if not isinstance(raw, dict) or not raw:
        raise WorkflowFileError(f"{filename}: the API prompt is not a non-empty JSON object of nodes")
    prompt = {}
    for node_id, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("class_type"), str):
            raise WorkflowFileError(f"{filename}: API prompt node {node_id!r} has no class_type")
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            raise WorkflowFileError(
                f"{filename}: the inputs of API prompt node {node_id!r} are not an object"
            )
        for name, value in inputs.items():
            _check_depth(f"node {node_id}", name, value)
        meta = entry.get("_meta") if isinstance(entry.get("_meta"), dict) else {}
        prompt[str(node_id)] = {
            "inputs": copy.deepcopy(inputs),
            "class_type": entry["class_type"],
            "_meta": copy.deepcopy(meta),
        }
    return prompt


class _ContentSeededRandom:
    """`random.Random` seeded from the workflow's content, so a conversion is repeatable; the seed is
    computed on first use, as most workflows have no dynamic prompt."""

    def __init__(self, workflow: dict[str, Any]):
        self._workflow = workflow
        self._random: random.Random | None = None

    def random(self) -> float:
        if self._random is None:
            try:
                text = json.dumps(self._workflow, sort_keys=True, default=str)
            except (TypeError, ValueError, RecursionError):
                text = repr(sorted(map(str, self._workflow)))
            digest = hashlib.sha256(text.encode("utf-8", "replace")).digest()
            self._random = random.Random(int.from_bytes(digest[:8], "big"))
        return self._random.random()


def _unique(messages: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(messages))


def _unknown_node(dto: _Exec) -> UnknownNode:
    properties = dto.node.properties
    return UnknownNode(dto.id, dto.class_type, _pack(properties), _text(properties.get("ver")))


def _unknown_warning(unknown: UnknownNode) -> str:
    pack = ""
    if unknown.pack:
        pack = f" from node pack {unknown.pack}" + (f" {unknown.version}" if unknown.version else "")
    return (
        f"node {unknown.id}: node type {unknown.class_type!r}{pack} is not installed here, so only its links "
        "were kept (its widget values cannot be named without its definition); install the pack and convert "
        "with the live node definitions"
    )


# ---------------------------------------------------------------------------------------------------
# Loader: UI JSON -> _Workflow
# ---------------------------------------------------------------------------------------------------


def _load_workflow(data: Any) -> _Workflow:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise WorkflowFileError("not a ComfyUI workflow: it has no `nodes` list")
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    subgraphs: dict[str, _Graph] = {}
    for index, raw in enumerate(_list(definitions.get("subgraphs"))):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise WorkflowFileError(f"not a ComfyUI workflow: definitions.subgraphs[{index}] has no id")
        subgraphs[raw["id"]] = _load_graph(
            raw, key=raw["id"], where=f"subgraph {raw.get('name') or raw['id']}"
        )
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    group_nodes = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    return _Workflow(
        root=_load_graph(data, key="", where="workflow"),
        subgraphs=subgraphs,
        group_nodes={
            name: _load_group_def(name, raw) for name, raw in group_nodes.items() if isinstance(raw, dict)
        },
    )


def _load_graph(data: dict[str, Any], *, key: str, where: str) -> _Graph:
    if not isinstance(data.get("nodes", []), list):
        raise WorkflowFileError(f"not a ComfyUI workflow: the nodes of {where} are not a list")
    nodes: dict[str, _Node] = {}
    for index, raw in enumerate(data.get("nodes") or ()):
        node = _load_node(raw, f"{where}: nodes[{index}]")
        nodes[node.id] = node
    links = {link.id: link for link in map(_load_link, _list(data.get("links"))) if link is not None}
    outputs = [raw for raw in _list(data.get("outputs")) if isinstance(raw, dict)]
    return _Graph(
        key=key,
        name=str(data.get("name") or ""),
        nodes=nodes,
        links=links,
        links_from=_index_links_from(links),
        inputs=tuple(
            _Slot(str(raw.get("name", "")), _slot_type(raw.get("type"))) for raw in _dicts(data, "inputs")
        ),
        output_links=tuple(_subgraph_output_links(index, raw, links) for index, raw in enumerate(outputs)),
        output_types=tuple(_slot_type(raw.get("type")) for raw in outputs),
    )


def _index_links_from(links: dict[Any, _Link]) -> dict[tuple[str, int], tuple[_Link, ...]]:
    table: dict[tuple[str, int], list[_Link]] = {}
    for link in links.values():
        table.setdefault((link.origin_id, link.origin_slot), []).append(link)
    return {key: tuple(value) for key, value in table.items()}


def _subgraph_output_links(index: int, raw: dict[str, Any], links: dict[Any, _Link]) -> tuple[Any, ...]:
    """The links into subgraph output `index`: its `linkIds`, else the links that target -20."""
    ids = raw.get("linkIds")
    if isinstance(ids, list) and ids:
        return tuple(_link_id(i) for i in ids)
    return tuple(l.id for l in links.values() if l.target_id == SUBGRAPH_OUTPUT_ID and l.target_slot == index)


def _load_node(raw: Any, where: str) -> _Node:
    if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw.get("type"), str):
        raise WorkflowFileError(f"not a ComfyUI workflow: {where} is not a node with an id and a type")
    mode, title = raw.get("mode", 0), raw.get("title")
    return _Node(
        id=_node_id(raw["id"]),
        type=LEGACY_TYPE_NAMES.get(raw["type"], raw["type"]),
        mode=mode if isinstance(mode, int) else 0,
        title=title if isinstance(title, str) and title else None,
        inputs=tuple(_load_slot(slot) for slot in _dicts(raw, "inputs")),
        output_types=tuple(_slot_type(slot.get("type")) for slot in _dicts(raw, "outputs")),
        widgets_values=raw.get("widgets_values"),
        properties=raw.get("properties") if isinstance(raw.get("properties"), dict) else {},
    )


def _load_slot(raw: dict[str, Any]) -> _Slot:
    widget = raw.get("widget")
    widget_name = widget.get("name") if isinstance(widget, dict) else None
    return _Slot(
        name=str(raw.get("name", "")),
        type=_slot_type(raw.get("type")),
        link=_link_id(raw.get("link")),
        widget=widget_name if isinstance(widget_name, str) else None,
    )


def _load_link(raw: Any) -> _Link | None:
    """A v0.4 array link `[id, origin, slot, target, slot, type]` or a v1 object link; None if malformed."""
    if isinstance(raw, list) and len(raw) >= 5:
        fields = raw[:6] if len(raw) > 5 else [*raw[:5], "*"]
    elif isinstance(raw, dict) and "id" in raw:
        keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
        fields = [raw.get(key) for key in keys]
    else:
        return None
    link_id, origin_id, origin_slot, target_id, target_slot, link_type = fields
    if origin_id is None or target_id is None or not _is_int(origin_slot) or not _is_int(target_slot):
        return None
    if origin_slot < 0 or target_slot < 0:
        return None
    return _Link(
        _link_id(link_id),
        _node_id(origin_id),
        int(origin_slot),
        _node_id(target_id),
        int(target_slot),
        _slot_type(link_type),
    )


def _load_group_def(name: str, raw: dict[str, Any]) -> _GroupDef:
    nodes = tuple(
        _load_node({**node, "id": index}, f"group node {name}: nodes[{index}]")
        for index, node in enumerate(_list(raw.get("nodes")))
    )
    links = tuple(
        (int(link[0]), int(link[1]), int(link[2]), int(link[3]), _slot_type(link[-1]))
        for link in _list(raw.get("links"))
        if isinstance(link, list) and len(link) >= 5 and all(_is_int(v) for v in link[:4])
    )
    return _GroupDef(name, nodes, links)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in _list(raw.get(key)) if isinstance(item, dict)]


def _node_id(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _link_id(value: Any) -> Any:
    """Link ids as dictionary keys: integers stay integers, anything else hashable."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if value is None or isinstance(value, (int, str)) else repr(value)


def _is_int(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _slot_type(value: Any) -> str:
    if isinstance(value, list):  # legacy list-COMBO sockets
        return "COMBO"
    return "*" if value in (None, "", 0) else str(value)


# ---------------------------------------------------------------------------------------------------
# Widgets: what the frontend builds from a node definition
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """The facts about one widget input that conversion needs, computed once per definition."""

    name: str
    type: str
    minimum: float | None
    maximum: float | None
    options: frozenset[Any] | None  # fixed COMBO options (not file or remote lists)
    dynamic_prompts: bool
    multiline: bool  # a textarea, which holds its value as text

    def held(self, value: Any) -> Any:
        """What the widget holds after `widget.value = value`: a textarea turns anything into text, with
        line breaks normalised (HTML `textarea.value`; [FE] useStringWidget.ts:12-30)."""
        if not self.multiline or isinstance(value, str) and "\r" not in value:
            return value
        text = "" if value is None else _js_string(value)
        return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, eq=False)  # compared by identity: one object per widget of a layout
class _Widget:
    """One widget the frontend creates for a node.

    `saved`: it owns a position in `widgets_values` (`widget.serialize !== false`, [FE] LGraphNode.ts:836-846).
    `sent`: graphToPrompt sends it (`options.serialize !== false`, [FE] executionUtil.ts:91).
    `kind`: "value" (checked against `spec`), "control" (control_after_generate) or "other".
    `exposable`: it is an input of the node definition (not a button or player a frontend extension adds).
    """

    name: str
    spec: _Spec | None
    kind: str
    default: Any
    saved: bool = True
    sent: bool = True
    exposable: bool = False

    def hold(self, value: Any) -> Any:
        return self.spec.held(value) if self.spec else value


@dataclass(frozen=True)
class _Layout:
    """A node definition as the frontend instantiates it."""

    widgets: tuple[_Widget, ...]  # in creation order
    positions: tuple[_Widget, ...]  # the widgets that own a `widgets_values` position, in order
    sockets: tuple[_Slot, ...]  # socket inputs, then one per widget input ([FE] litegraphService.ts:528-538)
    specs: dict[str, _Spec]
    force_input_order: tuple[bool, ...]  # for `migrateWidgetsValues`: widget-or-forceInput inputs, in order
    force_input_controls: tuple[bool, ...]


# Core frontend extensions that add widgets to particular nodes: an audio player without a saved
# position ([FE] uploadAudio.ts:96-125), a 3D viewer ([FE] saveMesh.ts:13-18, load3d.ts:501-505) and a
# read-only text preview ([FE] previewAny.ts:13-30). They are appended to `required`, after `input_order`.
_AUDIO_PLAYER_NODES = frozenset({"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"})
_VIEWER_3D_NODES = frozenset({"Preview3D", "SaveGLB"})
_TEXT_PREVIEW_NODES = frozenset({"PreviewAny"})
# Widget types whose constructors core frontend extensions register, beyond the core ones
# (PREVIEW_TEXT stands for PreviewAny's read-only STRING widget).
_EXTENSION_WIDGET_TYPES = frozenset(
    {
        "IMAGEUPLOAD",
        "AUDIOUPLOAD",
        "AUDIO_UI",
        "AUDIO_RECORD",
        "PREVIEW_3D",
        "PREVIEW_TEXT",
        "LOAD_3D",
        "LOAD_3D_ANIMATION",
        "WEBCAM",
    }
)


class _Layouts:
    """Layouts by class type, built on first use (one conversion's cache; no global state)."""

    def __init__(self) -> None:
        self._cache: dict[str, _Layout] = {}

    def get(self, node_def: NodeDef) -> _Layout:
        layout = self._cache.get(node_def.class_type)
        if layout is None:
            layout = self._cache[node_def.class_type] = _build_layout(node_def)
        return layout


def _build_layout(node_def: NodeDef) -> _Layout:
    specs = _ordered_specs(node_def)
    widget_specs = [spec for spec in specs if _is_widget_spec(spec)]
    facts = {spec.name: _spec_facts(spec) for spec in widget_specs}
    widgets = tuple(w for spec in widget_specs for w in _widgets_for(spec, facts[spec.name]))
    # Every widget input also gets a socket: no core widget is `socketless` ([FE] litegraphService.ts:506).
    sockets = tuple(_Slot(s.name, s.type) for s in specs if not _is_widget_spec(s)) + tuple(
        _Slot(s.name, s.type, widget=s.name) for s in widget_specs
    )
    original = [s for s in specs if _is_widget_spec(s) or s.options.get("forceInput")]
    return _Layout(
        widgets=widgets,
        positions=tuple(w for w in widgets if w.saved),
        sockets=sockets,
        specs=facts,
        force_input_order=tuple(bool(s.options.get("forceInput")) for s in original),
        force_input_controls=tuple(
            bool(s.options.get("control_after_generate")) or s.name in ("seed", "noise_seed")
            for s in original
        ),
    )


def _ordered_specs(node_def: NodeDef) -> tuple[InputSpec, ...]:
    """`input_order` (required, optional), then what extensions appended to `required` as leftovers
    ([FE] nodeDefOrderingUtil.ts:13-53)."""
    specs = node_def.inputs
    extra: list[InputSpec] = []
    if node_def.class_type in _AUDIO_PLAYER_NODES:
        extra.append(InputSpec("audioUI", "AUDIO_UI", {}, None, "required"))
    if node_def.class_type in _VIEWER_3D_NODES:
        extra.append(InputSpec("image", "PREVIEW_3D", {}, None, "required"))
    if node_def.class_type in _TEXT_PREVIEW_NODES:
        extra.append(InputSpec("preview", "PREVIEW_TEXT", {}, None, "required"))
    upload = _upload_button(specs)
    if upload is not None:
        extra.append(upload)
    replaced = {spec.name for spec in extra}
    return tuple(spec for spec in specs if spec.name not in replaced) + tuple(extra)


def _upload_button(specs: tuple[InputSpec, ...]) -> InputSpec | None:
    """The upload button input ([FE] uploadImage.ts:36-53, uploadAudio.ts:185-188)."""
    for spec in specs:
        if spec.section != "required":
            continue
        if spec.type == "COMBO" and any(spec.options.get(option) for option in IMAGE_UPLOAD_OPTIONS):
            return InputSpec("upload", "IMAGEUPLOAD", {}, None, "required")
        if spec.name == "audio" and spec.options.get("audio_upload") is True:
            return InputSpec("upload", "AUDIOUPLOAD", {}, None, "required")
    return None


def _is_widget_spec(spec: InputSpec) -> bool:
    """[FE] litegraphService.ts:465-474: a widget constructor exists for the type, and no forceInput."""
    if spec.type in _EXTENSION_WIDGET_TYPES:
        return not spec.options.get("forceInput")
    return spec.is_widget


def _spec_facts(spec: InputSpec) -> _Spec:
    fixed = spec.type == "COMBO" and _has_fixed_options(spec)
    low, high = spec.options.get("min"), spec.options.get("max")
    return _Spec(
        name=spec.name,
        type=spec.type,
        minimum=low if isinstance(low, (int, float)) and not isinstance(low, bool) else None,
        maximum=high if isinstance(high, (int, float)) and not isinstance(high, bool) else None,
        options=(
            frozenset(c for c in spec.choices or () if isinstance(c, (str, int, float))) if fixed else None
        ),
        dynamic_prompts=spec.type == "STRING" and bool(spec.options.get("dynamicPrompts")),
        multiline=spec.type == "STRING" and bool(spec.options.get("multiline")),
    )


def _has_fixed_options(spec: InputSpec) -> bool:
    """A COMBO whose options do not come from files on disk or a remote list."""
    dynamic = ("image_folder", "remote", "file_upload", *IMAGE_UPLOAD_OPTIONS, "audio_upload")
    return (
        bool(spec.choices)
        and spec.model_folder is None
        and not spec.input_file_kinds
        and not any(spec.options.get(option) for option in dynamic)
    )


def _widgets_for(spec: InputSpec, facts: _Spec) -> tuple[_Widget, ...]:
    """The widgets one input creates, in creation order."""
    kind = spec.type
    if kind in ("IMAGEUPLOAD", "AUDIOUPLOAD"):  # button with options.serialize = false
        return (_Widget(spec.name, None, "other", spec.name, sent=False),)
    if kind == "AUDIO_UI":  # DOM player: widget.serialize = false, still sent ('' by default)
        return (_Widget(spec.name, None, "other", "", saved=False),)
    if kind == "PREVIEW_TEXT":  # read-only STRING widget, widget.serialize = false
        return (_Widget(spec.name, None, "other", "", saved=False),)
    if kind == "PREVIEW_3D":
        return (_Widget(spec.name, None, "other", ""),)
    value = _Widget(spec.name, facts, "value", spec.default, exposable=True)
    if kind in ("AUDIO_RECORD", "WEBCAM"):  # recorder / capture button follows ([FE] uploadAudio.ts:312-401)
        return (value, _Widget(spec.name, None, "other", "", sent=False))
    if kind in ("LOAD_3D", "LOAD_3D_ANIMATION"):  # three buttons first ([FE] load3d.ts:239-262)
        buttons = (("upload 3d model", "upload3dmodel"), ("upload extra resources", "uploadExtraResources"))
        return (
            *(_Widget(name, None, "other", label) for name, label in buttons),
            _Widget("clear", None, "other", "clear"),
            _Widget(spec.name, facts, "value", "", exposable=True),
        )
    if kind == "INT" and spec.has_control_after_generate:  # [FE] useIntWidget.ts:74-91
        return (value, _Widget("control_after_generate", None, "control", "randomize", sent=False))
    if kind == "COMBO" and spec.options.get("control_after_generate"):  # [FE] widgets.ts:150-163
        return (
            value,
            _Widget("control_after_generate", None, "control", "randomize", sent=False),
            _Widget("control_filter_list", None, "other", "", sent=False),
        )
    remote = spec.options.get("remote")
    if kind == "COMBO" and isinstance(remote, dict):  # [FE] useRemoteWidget.ts: toggle, then refresh button
        toggle = _Widget("Auto-refresh after generation", None, "other", False, sent=False)
        refresh = (_Widget("refresh", None, "other", "refresh"),) if remote.get("refresh_button") else ()
        return (value, toggle, *refresh)
    return (value,)


def _live_inputs(layout: _Layout, saved: tuple[_Slot, ...]) -> tuple[_Slot, ...]:
    """Defined inputs take the saved link by name; saved extra inputs follow ([FE] litegraphService.ts:304-331)."""
    by_name = {slot.name: slot for slot in saved}
    defined = tuple(
        _Slot(s.name, s.type, by_name[s.name].link, s.widget) if s.name in by_name else s
        for s in layout.sockets
    )
    names = {socket.name for socket in layout.sockets}
    return defined + tuple(slot for slot in saved if slot.name not in names)


def _value_matches(spec: _Spec, value: Any) -> bool:
    """Whether a value has exactly the widget's type (and, for fixed option lists, is an option)."""
    kind = spec.type
    if kind == "INT":
        return _is_int(value)
    if kind == "FLOAT":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "COMBO":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return False
        return spec.options is None or value in spec.options
    if kind in ("STRING", "MARKDOWN", "TEXTAREA"):
        return isinstance(value, str)
    return True


def _comfy_accepts(spec: _Spec, value: Any) -> bool:
    """Whether ComfyUI's `validate_inputs` accepts it: its casts, min/max, options ([C] execution.py:840-905)."""
    if spec.type in ("INT", "FLOAT"):
        try:
            number = int(value) if spec.type == "INT" else float(value)
        except (TypeError, ValueError, OverflowError):
            return False
        return not (spec.minimum is not None and number < spec.minimum) and not (
            spec.maximum is not None and number > spec.maximum
        )
    if spec.type == "COMBO":
        return _value_matches(spec, value)
    return True


def _fit(widget: _Widget, value: Any) -> int:
    """How well a saved value fits a widget position: 2 exact type, 1 accepted by ComfyUI, 0 not at all."""
    if widget.kind == "control":
        legacy = (
            isinstance(value, bool) or value is None
        )  # old files store true/false ([FE] app.ts:1244-1256)
        return 2 if legacy or isinstance(value, str) and value in CONTROL_VALUES else 0
    if widget.spec is None:
        return 2 if value is None or isinstance(value, (str, bool)) else 0
    if not _comfy_accepts(widget.spec, value):
        return 0
    return 2 if _value_matches(widget.spec, value) else 1


def _migrate_force_input_placeholders(layout: _Layout, values: list[Any]) -> list[Any]:
    """`migrateWidgetsValues` ([FE] litegraphUtil.ts:105-131): drop pre-1.16 placeholders of forceInput
    inputs when the count matches. Reproduced as written: inputs pair with values by input index."""
    if not any(layout.force_input_order):
        return values
    if sum(2 if control else 1 for control in layout.force_input_controls) != len(values):
        return values
    forced = layout.force_input_order
    return [value for index, value in enumerate(values) if not (index < len(forced) and forced[index])]


_UNASSIGNED = object()


def _align_to_definition(positions: tuple[_Widget, ...], values: list[Any]) -> tuple[list[Any], int]:
    """The best order-preserving assignment of saved values to widget positions, and its score.

    Each assigned value scores its `_fit`; a dropped control word (`randomize`, ...) right after a value
    assigned to an INT widget scores 1, being the control widget an older signature had. Positions left
    without a value hold `_UNASSIGNED`. Dynamic programming over (position, value): O(positions × values).
    """
    n_positions, n_values = len(positions), len(values)
    best = [[0] * (n_values + 1) for _ in range(n_positions + 1)]
    for i in range(n_positions - 1, -1, -1):
        for j in range(n_values - 1, -1, -1):
            fit = _fit(positions[i], values[j])
            best[i][j] = max(
                best[i + 1][j],
                best[i][j + 1] + _control_bonus(positions, values, i, j),
                best[i + 1][j + 1] + fit if fit else 0,
            )
    aligned: list[Any] = []
    i = j = 0
    while i < n_positions:
        fit = _fit(positions[i], values[j]) if j < n_values else 0
        if fit and best[i][j] == best[i + 1][j + 1] + fit:
            aligned.append(values[j])
            i, j = i + 1, j + 1
        elif j < n_values and best[i][j] == best[i][j + 1] + _control_bonus(positions, values, i, j):
            j += 1
        else:
            aligned.append(_UNASSIGNED)
            i += 1
    return aligned, best[0][0]


def _control_bonus(positions: tuple[_Widget, ...], values: list[Any], i: int, j: int) -> int:
    """1 when values[j] is a control word following a value that fits the INT widget before position i."""
    previous = positions[i - 1] if i > 0 else None
    return int(
        j > 0
        and previous is not None
        and previous.spec is not None
        and previous.spec.type == "INT"
        and isinstance(values[j], str)
        and values[j] in CONTROL_VALUES
        and _is_int(values[j - 1])
    )


def _exposable_widgets(layout: _Layout, inputs: dict[str, Any]) -> tuple[str, ...]:
    """Widget inputs of the definition that hold a value (not a link), in definition order."""
    return tuple(
        w.name for w in layout.widgets if w.exposable and w.name in inputs and not _is_link(inputs[w.name])
    )


# ---------------------------------------------------------------------------------------------------
# Planner: executable nodes and their widget values
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Exec:
    """One node as `ExecutableNodeDTO` sees it: an execution id, its graph and its live slots."""

    id: str
    path: tuple[str, ...]  # ids of the subgraph / group-node instances containing it
    graph: _Graph
    node: _Node
    kind: str  # "node", "unknown", "reroute", "primitive", "note" or "subgraph"
    class_type: str
    title: str
    inputs: tuple[_Slot, ...]
    output_types: tuple[str, ...]
    instance_titles: tuple[str, ...] = ()
    definition: _Graph | None = None  # for subgraph and group-node instances
    layout: _Layout | None = None  # for nodes with a definition

    @property
    def is_virtual(self) -> bool:
        return self.kind in ("reroute", "primitive", "note", "subgraph")


class _Planner:
    """Builds executable nodes and widget values as the frontend does when it loads and queues."""

    def __init__(self, workflow: _Workflow, node_defs: NodeDefs, rng: ChoiceSource):
        self.workflow = workflow
        self.node_defs = node_defs
        self.layouts = _Layouts()
        self.rng = rng
        self.warnings: list[str] = []
        self.definitions = dict(workflow.subgraphs)  # by node type; group nodes are added per instance
        self._group_instances: dict[tuple[str, str], _Graph] = {}
        # Widget values per definition node (graph key, node id) -> {widget name: value}. Nodes of a
        # subgraph definition are shared by all its instances, as the frontend's node objects are.
        self.values: dict[tuple[str, str], dict[str, Any]] = {}
        # Definition nodes (graph key, node id) whose saved values were realigned (see `_realign_if_shifted`).
        self.realigned: set[tuple[str, str]] = set()
        # Values PrimitiveNodes pushed into subgraph-instance widgets: (graph key, node id) -> {name: value}.
        self._pushed: dict[tuple[str, str], dict[str, Any]] = {}
        self._promoted: dict[tuple[str, str], dict[int, Any]] = {}
        self._named_nodes: tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]] | None = None
        self.execs: dict[str, _Exec] = {}

    def plan(self) -> dict[str, _Exec]:
        """Executable nodes by id, in the frontend's order (root execution order, instances expanded)."""
        graphs = [self.workflow.root, *self.workflow.subgraphs.values()]
        for graph in graphs:
            for node in graph.nodes.values():
                self._configure(graph, node)
        for graph in graphs:
            self._expand_group_nodes(graph)
        for graph in graphs:  # applyToGraph of virtual nodes ([FE] executionUtil.ts:33-42)
            for node in graph.nodes.values():
                if node.type == PRIMITIVE_NODE:
                    self._apply_primitive(graph, node)
        root = self.workflow.root
        for node_id in _execution_order(root):
            self._add_exec(root, root.nodes[node_id], (), (), frozenset())
        return self.execs

    def node_def(self, node: _Node) -> NodeDef | None:
        if node.type in self.definitions:
            return None
        return self.node_defs.get(node.type)

    def layout(self, node: _Node) -> _Layout | None:
        node_def = self.node_def(node)
        return self.layouts.get(node_def) if node_def else None

    # -- widget values ----------------------------------------------------------------------------

    def _configure(self, graph: _Graph, node: _Node) -> None:
        """`LGraphNode.configure` for a node with a definition ([FE] LGraphNode.ts:836-846)."""
        layout = self.layout(node)
        if layout is None:
            return
        where = f"node {node.id} ({node.type})"
        saved = node.widgets_values
        if isinstance(saved, dict):  # record form, keyed by widget name (custom packs' own JS reads it)
            assigned = {w: saved.get(w.name, _UNASSIGNED) for w in layout.widgets if w.sent}
        else:
            if saved is not None and not isinstance(saved, list):
                self.warnings.append(
                    f"{where}: widgets_values is neither a list nor an object; defaults are used"
                )
            positional = _migrate_force_input_placeholders(layout, _list(saved))
            positional = self._realign_if_shifted(graph, node, layout, positional)
            assigned = dict(zip(layout.positions, positional))
        values = {}
        for widget in layout.widgets:
            if widget.sent:
                value = assigned.get(widget, _UNASSIGNED)
                values[widget.name] = widget.hold(widget.default if value is _UNASSIGNED else value)
        sampler = values.get("sampler_name")
        if node.type in ("KSampler", "KSamplerAdvanced") and isinstance(sampler, str):
            values["sampler_name"] = sampler.removeprefix(LEGACY_SAMPLER_PREFIX)
        self._check_values(where, layout, values)
        self.values[(graph.key, node.id)] = values

    def _realign_if_shifted(
        self, graph: _Graph, node: _Node, layout: _Layout, values: list[Any]
    ) -> list[Any]:
        """Undo a shift caused by an older node signature (`properties.ver`).

        The frontend assigns by position, so a widget added, removed or moved since the workflow was
        saved shifts later values and ComfyUI rejects the prompt. Only when the positional assignment
        gives a value ComfyUI rejects and an order-preserving alignment explains the saved values strictly
        better (see `_align_to_definition`) are they realigned; one wrong value with nothing shifted
        stays as saved, exactly as the frontend would send it.
        """
        positions = layout.positions
        positional_fits = [_fit(w, v) for w, v in zip(positions, values)]
        if all(positional_fits):
            return values
        aligned, score = _align_to_definition(positions, values)
        if score <= sum(positional_fits):
            return values
        version = node.properties.get("ver")
        saved_by = f" (saved by version {version})" if isinstance(version, str) else ""
        self.warnings.append(
            f"node {node.id} ({node.type}): its saved widget values do not fit the current node definition"
            f"{saved_by}; they were realigned by type and missing ones set to their defaults"
        )
        self.realigned.add((graph.key, node.id))
        return aligned

    def _check_values(self, where: str, layout: _Layout, values: dict[str, Any]) -> None:
        for name, value in values.items():
            _check_depth(where, name, value)
            spec = layout.specs.get(name)
            if spec is not None and value is not None and not _value_matches(spec, value):
                expected = "one of its options" if spec.options is not None else f"a {spec.type} value"
                self.warnings.append(f"{where}: widget {name!r} holds {_short(value)}, not {expected}")

    def _apply_primitive(self, graph: _Graph, node: _Node) -> None:
        """`PrimitiveNode.applyToGraph`: copy its value into every linked target widget, whatever its
        own mode ([FE] widgetInputs.ts:39-83)."""
        saved = node.widgets_values
        if isinstance(saved, list) and saved:
            value = saved[0]
        elif isinstance(saved, dict) and "value" in saved:
            value = saved["value"]
        else:
            return
        if value and isinstance(value, str) and node.properties.get(REPLACE_PROPERTY):
            value = self.text_replacements(value, f"PrimitiveNode {node.id}")
        for link in graph.links_from.get((node.id, 0), ()):
            target = graph.nodes.get(link.target_id)
            slot = _target_slot(target.inputs, link) if target else None
            if target is None or slot is None or slot.widget is None:
                continue
            if target.type in self.definitions:
                self._pushed.setdefault((graph.key, target.id), {})[slot.widget] = value
            elif slot.widget in self.values.get((graph.key, target.id), {}):
                spec = self.layout(target).specs.get(slot.widget)
                self.values[(graph.key, target.id)][slot.widget] = spec.held(value) if spec else value

    # -- expansion ------------------------------------------------------------------------------

    def _add_exec(
        self,
        graph: _Graph,
        node: _Node,
        path: tuple[str, ...],
        titles: tuple[str, ...],
        open_: frozenset[str],
    ) -> None:
        """One DTO, and for an instance its inner nodes (`SubgraphNode.getInnerNodes`, SubgraphNode.ts:459)."""
        dto = self._describe(graph, node, path, titles)
        self.execs[dto.id] = dto
        definition = dto.definition
        if definition is None:
            return
        if definition.key in open_:
            raise WorkflowGraphError(
                f"subgraph {definition.name or definition.key!r} contains itself (through node {dto.id}); "
                "remove the recursive instance"
            )
        if _proxy_widgets(node.properties):
            self.warnings.append(
                f"node {dto.id} ({dto.title}): properties.proxyWidgets, written by a newer frontend, is ignored "
                "as frontend 1.27.10 ignores it; its widgets follow the subgraph inputs"
            )
        if node.mode in (MODE_NEVER, MODE_BYPASS):
            state = "muted" if node.mode == MODE_NEVER else "bypassed"
            self.warnings.append(
                f"node {dto.id} ({dto.title}) is a {state} subgraph; frontend 1.27.10 still runs its inner nodes "
                "(inner nodes keep their own mode), so they stay in the prompt"
            )
        for inner in definition.nodes.values():
            self._add_exec(
                definition, inner, path + (node.id,), titles + (dto.title,), open_ | {definition.key}
            )

    def _describe(self, graph: _Graph, node: _Node, path: tuple[str, ...], titles: tuple[str, ...]) -> _Exec:
        exec_id = ":".join((*path, node.id))
        common = dict(
            id=exec_id, path=path, graph=graph, node=node, class_type=node.type, instance_titles=titles
        )
        group = self._group_instances.get((graph.key, node.id))
        definition = group or self.definitions.get(node.type)
        if definition is not None:
            if group is not None:  # group node inputs are positional ([FE] groupNode.ts, oldToNewInputMap)
                links = [slot.link for slot in node.inputs]
            else:  # by name: saved instance inputs omit unlinked widget inputs, while links from -10
                saved = {slot.name: slot.link for slot in node.inputs}  # carry the definition's slot index
                links = [saved.get(slot.name) for slot in definition.inputs]
            inputs = tuple(
                _Slot(s.name, s.type, links[i] if i < len(links) else None, s.name)
                for i, s in enumerate(definition.inputs)
            )
            title = node.title or definition.name or node.type
            return _Exec(
                **common,
                kind="subgraph",
                title=title,
                inputs=inputs,
                output_types=definition.output_types,
                definition=definition,
            )
        if node.type in (REROUTE, PRIMITIVE_NODE) or node.type in NOTE_TYPES:
            kind = {REROUTE: "reroute", PRIMITIVE_NODE: "primitive"}.get(node.type, "note")
            inputs = node.inputs[:1] if kind == "reroute" else ()
            return _Exec(
                **common,
                kind=kind,
                title=node.title or node.type,
                inputs=inputs,
                output_types=node.output_types,
            )
        node_def = self.node_def(node)
        if node_def is None:
            return _Exec(
                **common,
                kind="unknown",
                title=node.title or node.type,
                inputs=node.inputs,
                output_types=node.output_types,
            )
        return _Exec(
            **common,
            kind="node",
            title=node.title or _default_title(node.type, node_def),
            inputs=_live_inputs(self.layouts.get(node_def), node.inputs),
            output_types=node_def.output_types or node.output_types,
            layout=self.layouts.get(node_def),
        )

    # -- subgraph promoted widgets --------------------------------------------------------------

    def promoted_value(self, instance: _Exec, input_index: int) -> Any:
        """The value of the instance widget promoted from subgraph input `input_index`, or _UNASSIGNED.

        1.27.10 promotes, for each subgraph input, the widget of the first inner input it links to that
        has one ([FE] SubgraphNode.ts:268-313), named after the subgraph input; the instance's
        `widgets_values` fill those widgets in subgraph-input order.
        """
        key = (instance.graph.key, instance.node.id)
        if key not in self._promoted:
            self._promoted[key] = self._promote(instance)
        return self._promoted[key].get(input_index, _UNASSIGNED)

    def _promote(self, instance: _Exec) -> dict[int, Any]:
        promoted = {}
        for index in range(len(instance.inputs)):
            value = self._inner_widget_value(instance, index)
            if value is not _UNASSIGNED:
                promoted[index] = value
        saved = instance.node.widgets_values
        names = {index: instance.inputs[index].name for index in promoted}
        if isinstance(saved, list):
            promoted.update(zip(promoted, saved))
        elif isinstance(saved, dict):
            promoted.update({index: saved[name] for index, name in names.items() if name in saved})
        pushed = self._pushed.get((instance.graph.key, instance.node.id), {})
        promoted.update({index: pushed[name] for index, name in names.items() if name in pushed})
        for index, name in names.items():
            _check_depth(f"node {instance.id}", name, promoted[index])
        return promoted

    def _inner_widget_value(self, instance: _Exec, input_index: int) -> Any:
        definition = instance.definition
        assert definition is not None
        for link in definition.links_from.get((SUBGRAPH_INPUT_ID, input_index), ()):
            target = self.execs.get(f"{instance.id}:{link.target_id}")
            slot = _target_slot(target.inputs, link) if target else None
            if target is None or slot is None or slot.widget is None:
                continue
            if target.kind == "subgraph":
                index = next(i for i, s in enumerate(target.inputs) if s.name == slot.widget)
                value = self.promoted_value(target, index)
            else:
                value = self.values.get((definition.key, target.node.id), {}).get(slot.widget, _UNASSIGNED)
            if value is not _UNASSIGNED:
                return value
        return _UNASSIGNED

    # -- text replacement -----------------------------------------------------------------------

    def text_replacements(self, value: str, where: str) -> str:
        """`applyTextReplacements` ([FE] searchAndReplace.ts:5-56): `%date:FMT%` and `%Node.widget%`."""
        now = datetime.datetime.now()

        def substitute(match: re.Match[str]) -> str:
            parts = match.group(1).split(".")
            if len(parts) != 2:
                return _format_date(parts[0][5:], now) if parts[0].startswith("date:") else match.group(0)
            node_key = self._named_node(parts[0])
            widget_values = self.values.get(node_key, {}) if node_key else {}
            if parts[1] not in widget_values:
                return match.group(0)
            found = widget_values[parts[1]]
            return _UNSAFE_FILENAME.sub("_", _js_string("" if found is None else found))

        result = re.sub(r"%([^%]+)%", substitute, value)
        if result != value:
            self.warnings.append(
                f"{where}: {value!r} becomes {result!r}, substituted as the frontend does when queueing "
                "(dates are the conversion time)"
            )
        return result

    def _named_node(self, name: str) -> tuple[str, str] | None:
        """The node `%Node.widget%` names: first by "Node name for S&R", else by title."""
        if self._named_nodes is None:
            by_sr_name: dict[str, tuple[str, str]] = {}
            by_title: dict[str, tuple[str, str]] = {}
            for graph in [self.workflow.root, *self.workflow.subgraphs.values()]:
                for node in graph.nodes.values():
                    sr_name = node.properties.get("Node name for S&R")
                    if isinstance(sr_name, str):
                        by_sr_name.setdefault(sr_name, (graph.key, node.id))
                    title = node.title or _default_title(node.type, self.node_def(node))
                    by_title.setdefault(title, (graph.key, node.id))
            self._named_nodes = (by_sr_name, by_title)
        by_sr_name, by_title = self._named_nodes
        return by_sr_name.get(name) or by_title.get(name)

    # -- legacy group nodes ---------------------------------------------------------------------

    def _expand_group_nodes(self, graph: _Graph) -> None:
        for node in graph.nodes.values():
            name = _group_node_name(node.type)
            group = self.workflow.group_nodes.get(name) if name else None
            if group is None or node.type in self.node_defs or node.type in self.definitions:
                continue
            definition = _group_as_subgraph(group, node, self)
            self._group_instances[(graph.key, node.id)] = definition
            for inner in definition.nodes.values():
                self._configure(definition, inner)
            self._apply_group_widget_values(definition, node)

    def _apply_group_widget_values(self, definition: _Graph, instance: _Node) -> None:
        """The group node's widgets are its inner nodes' unlinked widgets, node by node, with their
        control/upload companions ([FE] groupNode.ts:486-520); its `widgets_values` fill them in order."""
        saved = _list(instance.widgets_values)
        position = 0
        for inner in definition.nodes.values():
            layout = self.layout(inner)
            if layout is None:
                continue
            linked = {slot.widget for slot in inner.inputs if slot.widget and slot.link is not None}
            values = self.values[(definition.key, inner.id)]
            owner = None
            for widget in layout.positions:
                owner = widget.name if widget.kind == "value" else owner
                if owner in linked:
                    continue
                if position < len(saved) and widget.sent and widget.name in values:
                    values[widget.name] = widget.hold(saved[position])
                position += 1


def _group_as_subgraph(group: _GroupDef, instance: _Node, planner: _Planner) -> _Graph:
    """A legacy group node as an equivalent subgraph definition ([FE] groupNode.ts:185-720).

    Inner nodes keep their index as id, so execution ids are `group:index`
    ([FE] executableGroupNodeDto.ts). Instance inputs are the inner socket inputs not linked inside the
    group, node by node; instance outputs are the inner outputs not linked inside.
    """
    links: dict[Any, _Link] = {}
    internal_into: dict[tuple[str, int], Any] = {}
    for index, (origin, origin_slot, target, target_slot, link_type) in enumerate(group.links):
        link = _Link(("group", index), str(origin), origin_slot, str(target), target_slot, link_type)
        links[link.id] = link
        internal_into[(link.target_id, target_slot)] = link.id
    linked_outputs = {(str(origin), slot) for origin, slot, *_ in group.links}
    nodes: dict[str, _Node] = {}
    inputs: list[_Slot] = []
    output_links: list[tuple[Any, ...]] = []
    output_types: list[str] = []
    for inner in group.nodes:
        slots = []
        for slot_index, slot in enumerate(inner.inputs):
            link_id = internal_into.get((inner.id, slot_index))
            if link_id is None and slot.widget is None:
                link_id = ("group input", len(inputs))
                links[link_id] = _Link(
                    link_id, SUBGRAPH_INPUT_ID, len(inputs), inner.id, slot_index, slot.type
                )
                inputs.append(_Slot(slot.name, slot.type))
            slots.append(_Slot(slot.name, slot.type, link_id, slot.widget))
        nodes[inner.id] = _Node(
            inner.id,
            inner.type,
            inner.mode,
            inner.title,
            tuple(slots),
            inner.output_types,
            inner.widgets_values,
            inner.properties,
        )
        node_def = planner.node_defs.get(inner.type)
        for slot_index, output_type in enumerate(node_def.output_types if node_def else inner.output_types):
            if (inner.id, slot_index) in linked_outputs:
                continue
            link_id = ("group output", len(output_links))
            links[link_id] = _Link(
                link_id, inner.id, slot_index, SUBGRAPH_OUTPUT_ID, len(output_links), output_type
            )
            output_links.append((link_id,))
            output_types.append(output_type)
    return _Graph(
        key=f"group:{group.name}:{instance.id}",
        name=group.name,
        nodes=nodes,
        links=links,
        links_from=_index_links_from(links),
        inputs=tuple(inputs),
        output_links=tuple(output_links),
        output_types=tuple(output_types),
    )


def _proxy_widgets(properties: dict[str, Any]) -> list[Any]:
    """`properties.proxyWidgets`, a list or a JSON-encoded list (newer frontends; 1.27.10 ignores it)."""
    value = properties.get("proxyWidgets")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _group_node_name(node_type: str) -> str | None:
    for prefix in ("workflow>", "workflow/"):
        if node_type.startswith(prefix):
            return node_type[len(prefix) :]
    return None


def _default_title(class_type: str, node_def: NodeDef | None) -> str:
    """A node's title when it has none: its display name ([FE] litegraphService.ts:376)."""
    return node_def.display_name if node_def else class_type


def _target_slot(inputs: tuple[_Slot, ...], link: _Link) -> _Slot | None:
    """The input a link ends at: the one holding its id, else its `target_slot` index (`LLink.resolve`)."""
    for slot in inputs:
        if slot.link == link.id:
            return slot
    return inputs[link.target_slot] if 0 <= link.target_slot < len(inputs) else None


def _execution_order(graph: _Graph) -> list[str]:
    """`LGraph.computeExecutionOrder` ([FE] LGraph.ts:569): Kahn's order over links, nodes in list
    order first; nodes on cycles come last."""
    remaining: dict[str, int] = {}
    queue: list[str] = []
    for node in graph.nodes.values():
        count = sum(1 for slot in node.inputs if slot.link is not None)
        if count:
            remaining[node.id] = count
        else:
            queue.append(node.id)
    position = 0
    while position < len(queue):
        node_id = queue[position]
        position += 1
        for slot in range(len(graph.nodes[node_id].output_types)):
            for link in graph.links_from.get((node_id, slot), ()):
                if link.target_id in remaining:
                    remaining[link.target_id] -= 1
                    if remaining[link.target_id] == 0:
                        del remaining[link.target_id]
                        queue.append(link.target_id)
    ordered = set(queue)
    return queue + [node_id for node_id in graph.nodes if node_id not in ordered]


def _check_depth(where: str, name: str, value: Any) -> None:
    """Refuse absurdly nested values before anything recurses into them (copying, JSON encoding)."""
    level = [value]
    for depth in range(MAX_VALUE_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, (list, dict))
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (list, dict))
        ]
        if not level:
            return
    raise WorkflowFileError(
        f"{where}: input {name!r} is nested more than {MAX_VALUE_DEPTH} levels deep, which no ComfyUI node takes"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pack(properties: dict[str, Any]) -> str | None:
    return _text(properties.get("cnr_id")) or _text(properties.get("aux_id"))


# ---------------------------------------------------------------------------------------------------
# Resolver: ExecutableNodeDTO.resolveInput / resolveOutput
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LinkTo:
    """An input resolved to a node output: `[origin_id, origin_slot]` in the prompt."""

    origin_id: str
    origin_slot: int


@dataclass(frozen=True)
class _ValueOf:
    """An input resolved to a subgraph instance's promoted widget value ([FE] ExecutableNodeDTO.ts:179-199)."""

    value: Any


@dataclass(frozen=True)
class _Step:
    """One resolution step: into input `slot` of `dto`, or out of its output `slot` wanting `type`."""

    direction: str  # "in" or "out"
    dto: _Exec
    slot: int
    type: str | None = None


class _Resolver:
    """`ExecutableNodeDTO.resolveInput` ([FE] ExecutableNodeDTO.ts:142-330), iterative: every recursive
    call there is a tail call, so long chains of reroutes or bypassed nodes cannot overflow the stack."""

    def __init__(self, planner: _Planner):
        self.planner = planner
        self.execs = planner.execs

    def resolve_input(self, dto: _Exec, slot_index: int) -> _LinkTo | _ValueOf | None:
        visited: set[tuple[str, str, int]] = set()
        # When resolution leaves a subgraph through a linked instance input and then finds nothing, the
        # inner widget keeps the instance's value (SubgraphNode.serialize copies it, SubgraphNode.ts:565).
        fallback: _ValueOf | None = None
        step: _Step | _LinkTo | _ValueOf | None = _Step("in", dto, slot_index)
        while isinstance(step, _Step):
            key = (step.dto.id, step.direction, step.slot)
            if key in visited:
                raise WorkflowGraphError(
                    f"link cycle through node {step.dto.id} ({step.dto.title}) while resolving input "
                    f"{dto.inputs[slot_index].name!r} of node {dto.id} ({dto.title}); remove one of those links"
                )
            visited.add(key)
            if step.direction == "in":
                step, leaving = self._into_input(step)
                if leaving is not None:
                    fallback = leaving
            else:
                step = self._out_of_output(step)
        return step if step is not None else fallback

    def _into_input(self, step: _Step) -> tuple[_Step | _LinkTo | _ValueOf | None, _ValueOf | None]:
        dto = step.dto
        slot = dto.inputs[step.slot] if step.slot < len(dto.inputs) else None
        if slot is None or slot.link is None:
            return None, None
        link = dto.graph.links.get(slot.link)
        if link is None:
            self._dangling(dto, slot, f"link {slot.link} does not exist")
            return None, None
        if link.origin_id == SUBGRAPH_INPUT_ID and dto.path:  # up and out of the subgraph
            instance = self.execs[":".join(dto.path)]
            if link.origin_slot >= len(instance.inputs):
                self._dangling(dto, slot, f"subgraph input {link.origin_slot} does not exist")
                return None, None
            value = self.planner.promoted_value(instance, link.origin_slot)
            promoted = None if value is _UNASSIGNED else _ValueOf(value)
            if instance.inputs[link.origin_slot].link is None:
                return promoted, None
            return _Step("in", instance, link.origin_slot), promoted
        origin = self.execs.get(":".join((*dto.path, link.origin_id)))
        if origin is None:
            self._dangling(dto, slot, f"its origin node {link.origin_id} does not exist")
            return None, None
        return _Step("out", origin, link.origin_slot, step.type or slot.type), None

    def _out_of_output(self, step: _Step) -> _Step | _LinkTo | None:
        dto, slot, wanted = step.dto, step.slot, step.type or "*"
        if dto.node.mode == MODE_BYPASS and dto.kind != "note":
            index = _bypass_slot_index(dto, slot, wanted)
            return None if index < 0 else _Step("in", dto, index)
        if dto.kind == "subgraph":
            definition = dto.definition
            assert definition is not None
            link_ids = definition.output_links[slot] if slot < len(definition.output_links) else ()
            inner_link = definition.links.get(link_ids[0]) if link_ids else None
            inner = self.execs.get(f"{dto.id}:{inner_link.origin_id}") if inner_link else None
            return None if inner is None else _Step("out", inner, inner_link.origin_slot, wanted)
        if dto.is_virtual:  # reroutes pass through the same slot; PrimitiveNode and notes give nothing
            return _Step("in", dto, slot, wanted) if slot < len(dto.inputs) else None
        return _LinkTo(dto.id, slot)

    def _dangling(self, dto: _Exec, slot: _Slot, why: str) -> None:
        self.planner.warnings.append(
            f"node {dto.id} ({dto.title}): input {slot.name!r} is linked but {why}; the link was dropped"
        )


def _bypass_slot_index(dto: _Exec, slot: int, wanted: str) -> int:
    """`#getBypassSlotIndex` ([FE] ExecutableNodeDTO.ts:336): the same slot if compatible, else the first
    exact type match, else the first compatible input; -1 when none."""
    inputs = dto.inputs
    if not inputs:
        return -1
    if wanted in ("*", ""):
        return slot if len(inputs) > slot else 0
    output_type = dto.output_types[slot] if slot < len(dto.output_types) else "*"
    if slot < len(inputs) and _compatible(inputs[slot].type, output_type, wanted):
        return slot
    for index, candidate in enumerate(inputs):
        if candidate.type == wanted:
            return index
    return next((i for i, c in enumerate(inputs) if _compatible(c.type, output_type, wanted)), -1)


def _compatible(input_type: str, output_type: str, wanted: str) -> bool:
    return _valid_connection(input_type, output_type) and _valid_connection(input_type, wanted)


def _valid_connection(type_a: str, type_b: str) -> bool:
    """`LiteGraph.isValidConnection` ([FE] LiteGraphGlobal.ts:682-714)."""
    if type_a in ("", "*") or type_b in ("", "*") or type_a == type_b:
        return True
    a, b = type_a.lower(), type_b.lower()
    if "," not in a and "," not in b:
        return a == b
    return any(x == y or x in ("", "*") or y in ("", "*") for x in a.split(",") for y in b.split(","))


# ---------------------------------------------------------------------------------------------------
# Renderer: executable nodes -> API prompt
# ---------------------------------------------------------------------------------------------------


def _render(execs: dict[str, _Exec], planner: _Planner) -> dict[str, dict[str, Any]]:
    """graphToPrompt's output loop ([FE] executionUtil.ts:72-147)."""
    resolver = _Resolver(planner)
    output: dict[str, dict[str, Any]] = {}
    for dto in execs.values():
        if dto.is_virtual or dto.node.mode in (MODE_NEVER, MODE_BYPASS):
            continue
        inputs: dict[str, Any] = {}
        values = planner.values.get((dto.graph.key, dto.node.id), {}) if dto.kind == "node" else {}
        for name, value in values.items():
            inputs[name] = _wrap_list(_serialize_widget(planner, dto, name, value))
        for index, slot in enumerate(dto.inputs):
            resolved = resolver.resolve_input(dto, index)
            if isinstance(resolved, _ValueOf):
                inputs[slot.name] = _wrap_list(copy.deepcopy(resolved.value))
            elif isinstance(resolved, _LinkTo):
                inputs[slot.name] = [resolved.origin_id, resolved.origin_slot]
        output[dto.id] = {"inputs": inputs, "class_type": dto.class_type, "_meta": {"title": dto.title}}
    for entry in output.values():  # executionUtil.ts:140-147
        for name in [n for n, v in entry["inputs"].items() if _is_link(v) and v[0] not in output]:
            del entry["inputs"][name]
    return {exec_id: output[exec_id] for exec_id in _js_key_order(output)}


def _serialize_widget(planner: _Planner, dto: _Exec, name: str, value: Any) -> Any:
    """A widget's `serializeValue`: dynamic prompts ([FE] dynamicPrompts.ts:12-27) and the filename_prefix
    substitutions of save nodes ([FE] saveImageExtraOutput.ts:30-37); a copy of anything else."""
    if not isinstance(value, str):
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value
    spec = dto.layout.specs.get(name) if dto.layout else None
    if spec is not None and spec.dynamic_prompts:
        result = _process_dynamic_prompt(value, planner.rng)
        linked = any(slot.name == name and slot.link is not None for slot in dto.inputs)
        if result != value and not linked:
            planner.warnings.append(
                f"node {dto.id} ({dto.title}): widget {name!r} uses dynamic-prompt syntax; it became "
                f"{_short(result)} by a random choice, which ComfyUI's frontend makes anew on every queue"
            )
        return result
    if name == "filename_prefix" and dto.class_type in SAVE_NODE_TYPES:
        return planner.text_replacements(value, f"node {dto.id} ({dto.title}) filename_prefix")
    return value


_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//[^\n\r\u2028\u2029]*")
_ESCAPED = re.compile(r"\\([{}|])")


def _process_dynamic_prompt(text: str, rng: ChoiceSource, depth: int = 0) -> str:
    """`processDynamicPrompt` ([FE] formatUtil.ts:125-186): strip comments, replace each `{a|b}` by one
    option (the chosen option is processed again, so blocks nest), then unescape `\\{ \\| \\}`."""
    if depth > MAX_VALUE_DEPTH:
        raise WorkflowFileError(
            f"a dynamic prompt nests {{...}} choices more than {MAX_VALUE_DEPTH} levels deep"
        )
    source = _COMMENTS.sub("", text)
    result: list[str] = []
    position = 0
    while position < len(source):
        char = source[position]
        position += 1
        if char == "\\":  # JavaScript reads past the end as "undefined"
            result.append("\\" + (source[position] if position < len(source) else "undefined"))
            position += 1
        elif char == "{":
            options, position = _choice_block(source, position)
            chosen = options[int(rng.random() * len(options))]
            result.append(_process_dynamic_prompt(chosen, rng, depth + 1))
        else:
            result.append(char)
    return _ESCAPED.sub(r"\1", "".join(result))


def _choice_block(text: str, position: int) -> tuple[list[str], int]:
    """`parseChoiceBlock`: the options of the block that starts before `position`, and where it ends."""
    options: list[str] = []
    choice: list[str] = []
    depth = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char == "\\":
            choice.append("\\" + (text[position] if position < len(text) else "undefined"))
            position += 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if not depth:
                break
            depth -= 1
        elif char == "|" and not depth:
            options.append("".join(choice))
            choice = []
            continue
        choice.append(char)
    options.append("".join(choice))
    return options, position


_UNSAFE_FILENAME = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')
_DATE_TOKENS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")


def _format_date(text: str, now: datetime.datetime) -> str:
    """`formatDate` ([FE] formatUtil.ts:257-280), in local time like the browser."""
    parts = {"d": now.day, "M": now.month, "h": now.hour, "m": now.minute, "s": now.second}

    def token(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "yy":
            return str(now.year)[2:]
        if found == "yyyy":
            return str(now.year)
        if found[0] in parts:
            return str(parts[found[0]]).rjust(len(found), "0")
        return found

    return _DATE_TOKENS.sub(token, text)


def _js_string(value: Any) -> str:
    """JavaScript's `value + ''` for JSON values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _wrap_list(value: Any) -> Any:
    """Lists would read as links, so the frontend wraps them ([FE] executionUtil.ts:96-106)."""
    return {"__value__": value} if isinstance(value, list) else value


def _is_link(value: Any) -> bool:
    """ComfyUI's link test ([C] comfy_execution/graph_utils.py:1-9): `[str, int | float]`."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
        and not isinstance(value[1], bool)
    )


def _js_key_order(output: dict[str, Any]) -> list[str]:
    """JavaScript's object key order: array-index keys ascending, then the others as inserted."""
    indexes = [key for key in output if _is_array_index(key)]
    return sorted(indexes, key=int) + [key for key in output if not _is_array_index(key)]


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _flat_node(dto: _Exec, entry: dict[str, Any], realigned: set[tuple[str, str]]) -> FlatNode:
    properties = dto.node.properties
    return FlatNode(
        id=dto.id,
        class_type=dto.class_type,
        title=dto.title,
        inputs=entry["inputs"],
        widget_names=_exposable_widgets(dto.layout, entry["inputs"]) if dto.layout else (),
        pack=_pack(properties),
        pack_version=_text(properties.get("ver")),
        subgraph=dto.instance_titles,
        known=dto.kind == "node",
        properties=properties,
        realigned=(dto.graph.key, dto.node.id) in realigned,
    )


def _check_acyclic(prompt: dict[str, dict[str, Any]]) -> None:
    """ComfyUI cannot run a prompt whose links form a cycle: name the nodes on it."""
    upstream = {
        node_id: [value[0] for value in entry["inputs"].values() if _is_link(value)]
        for node_id, entry in prompt.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in upstream:
        if start in state:
            continue
        path, pending = [start], [iter(upstream[start])]
        state[start] = 1
        while pending:
            for origin in pending[-1]:
                if state.get(origin) == 1:
                    cycle = ", ".join(f"{n} ({prompt[n]['class_type']})" for n in path[path.index(origin) :])
                    raise WorkflowGraphError(
                        f"the workflow's links form a cycle through nodes {cycle}; remove one link"
                    )
                if origin not in state:
                    state[origin] = 1
                    path.append(origin)
                    pending.append(iter(upstream[origin]))
                    break
            else:
                state[path.pop()] = 2
                pending.pop()


def _declared_models(workflow: dict[str, Any], nodes: dict[str, FlatNode]) -> Iterator[dict[str, Any]]:
    """`properties.models` of every node in the prompt (with its id), then the top-level `models[]`."""
    for node_id, flat in nodes.items():
        for entry in _list(flat.properties.get("models")):
            if isinstance(entry, dict):
                yield {**entry, "node_id": node_id}
    for entry in _list(workflow.get("models")):
        if isinstance(entry, dict):
            yield {**entry, "node_id": None}
