"""Flatten a ComfyUI workflow and convert it to the API prompt the frontend would queue.

This reproduces ComfyUI frontend 1.27.10's `graphToPrompt` ([FE] `src/utils/executionUtil.ts:27-150`) in
three steps, each a set of small pure functions:

1. **Load** (`_load_graphs`): read the UI JSON (v0.4 array links, v1 object links, subgraph definitions,
   legacy group nodes) into frozen `_Graph`/`_Node`/`_Link` records, with link maps built once.
2. **Plan** (`_Planner`): give every node its widgets the way the frontend builds them from the node
   definition (`widgets_values` by position, control/upload extras, dict form, defaults), push
   PrimitiveNode values into their targets, and expand subgraph instances and group nodes into
   executable nodes with ids `instance:inner` / `group:index`.
3. **Render** (`_render`): for every executable node that is not virtual, muted or bypassed, write its
   widget values (dynamic prompts and `filename_prefix` substitutions applied), then resolve each input
   slot through reroutes, bypassed nodes and subgraph boundaries (`ExecutableNodeDTO.resolveInput`), and
   finally delete link inputs whose origin is absent.

Facts cited as [FE] are from the frontend source; see `shared/docs/comfyui.md` §3-6.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from wizard.errors import WorkflowFileError, WorkflowGraphError
from wizard.nodedefs import WIDGET_TYPES, InputSpec, NodeDef, NodeDefs
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
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize", "increment-wrap"})
# Upload buttons appended to `required` by core extensions ([FE] uploadImage.ts:36-53, uploadAudio.ts:185-188).
UPLOAD_BUTTON_OPTIONS = ("image_upload", "video_upload", "animated_image_upload", "audio_upload")
# Values nested deeper than this are not something ComfyUI's own nodes ever take; refusing them keeps
# JSON encoding and copying of hostile input safe.
MAX_VALUE_DEPTH = 64


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
    link: Any  # link id, or None
    widget: str | None = None


@dataclass(frozen=True)
class _Node:
    """One serialised node, normalised (ids are strings, links ids hashable)."""

    id: str
    type: str
    mode: int
    title: str | None
    inputs: tuple[_Slot, ...]
    outputs: tuple[_Slot, ...]  # `link` unused; `type` and `widget` matter
    widgets_values: Any  # list, dict or None, exactly as saved
    properties: dict[str, Any]


@dataclass(frozen=True)
class _Graph:
    """The root graph or one subgraph definition, with link maps built once."""

    key: str  # "" for the root graph, the subgraph id for definitions
    name: str
    nodes: dict[str, _Node]
    links: dict[Any, _Link]
    inputs: tuple[_Slot, ...] = ()  # subgraph inputs (the -10 node's slots)
    outputs: tuple[_Slot, ...] = ()  # subgraph outputs (the -20 node's slots)
    output_links: tuple[tuple[Any, ...], ...] = ()  # link ids feeding each subgraph output


@dataclass(frozen=True)
class _GroupDef:
    """A legacy group node definition, `extra.groupNodes[NAME]` ([FE] groupNode.ts:50-65)."""

    name: str
    nodes: tuple[_Node, ...]
    links: tuple[tuple[int, int, int, int, str], ...]  # origin index, slot, target index, slot, type


@dataclass(frozen=True)
class _Workflow:
    root: _Graph
    subgraphs: dict[str, _Graph]
    group_nodes: dict[str, _GroupDef]


# ---------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------


def convert(loaded: LoadedWorkflow, node_defs: NodeDefs, *, rng: random.Random | None = None) -> Conversion:
    """Flatten `loaded` and convert it to the API prompt ComfyUI frontend 1.27.10 would queue.

    `rng` picks dynamic-prompt options (`{a|b}`); by default it is seeded from the workflow itself, so
    the same file always converts to the same prompt.
    """
    if loaded.workflow is None:
        if loaded.prompt is None:
            raise WorkflowFileError(f"{loaded.filename}: no workflow or API prompt to convert")
        return _convert_api_prompt(loaded, node_defs)
    if rng is None:
        rng = random.Random(_content_seed(loaded.workflow))
    workflow = _load_workflow(loaded.workflow)
    planner = _Planner(workflow, node_defs, rng)
    planned = planner.plan()
    prompt, nodes = _render(planned, planner)
    _check_acyclic(prompt)
    unknown = tuple(planner.unknown_nodes(nodes))
    return Conversion(
        prompt=prompt,
        nodes=nodes,
        workflow=loaded.workflow,
        warnings=tuple(dict.fromkeys([*loaded.warnings, *planner.warnings, *map(_unknown_warning, unknown)])),
        unknown_nodes=unknown,
        declared_models=tuple(_declared_models(loaded.workflow, planned, nodes)),
    )


def _unknown_warning(unknown: UnknownNode) -> str:
    pack = (
        f" from node pack {unknown.pack}" + (f" {unknown.version}" if unknown.version else "")
        if unknown.pack
        else ""
    )
    return (
        f"node {unknown.id}: node type {unknown.class_type!r}{pack} is not installed here; only its links were "
        "kept (its widget values cannot be named without its definition)"
    )


def _convert_api_prompt(loaded: LoadedWorkflow, node_defs: NodeDefs) -> Conversion:
    """An API prompt given directly: check its shape, drop links to absent nodes, describe its nodes."""
    raw = loaded.prompt
    if not isinstance(raw, dict) or not raw:
        raise WorkflowFileError(f"{loaded.filename}: the API prompt is not a non-empty JSON object")
    prompt: dict[str, dict[str, Any]] = {}
    warnings = list(loaded.warnings)
    for node_id, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("class_type"), str):
            raise WorkflowFileError(f"{loaded.filename}: API prompt node {node_id!r} has no class_type")
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            raise WorkflowFileError(
                f"{loaded.filename}: API prompt node {node_id!r} has inputs that are not an object"
            )
        for name, value in inputs.items():
            _check_depth(f"node {node_id}", name, value)
        meta = entry.get("_meta") if isinstance(entry.get("_meta"), dict) else {}
        prompt[str(node_id)] = {
            "inputs": dict(inputs),
            "class_type": entry["class_type"],
            "_meta": dict(meta),
        }
    for node_id, entry in prompt.items():
        for name, value in list(entry["inputs"].items()):
            if _is_link(value) and value[0] not in prompt:
                warnings.append(
                    f"node {node_id}: input {name!r} links to absent node {value[0]}; the link was dropped"
                )
                del entry["inputs"][name]
    _check_acyclic(prompt)
    nodes: dict[str, FlatNode] = {}
    unknown: list[UnknownNode] = []
    for node_id, entry in prompt.items():
        node_def = node_defs.get(entry["class_type"])
        title = entry["_meta"].get("title") if isinstance(entry["_meta"].get("title"), str) else None
        entry["_meta"]["title"] = title or (node_def.display_name if node_def else entry["class_type"])
        widgets = (
            ()
            if node_def is None
            else tuple(
                w.name
                for w in _layout(node_def).value_widgets
                if w.name in entry["inputs"] and not _is_link(entry["inputs"][w.name])
            )
        )
        nodes[node_id] = FlatNode(
            node_id,
            entry["class_type"],
            entry["_meta"]["title"],
            entry["inputs"],
            widgets,
            known=node_def is not None,
        )
        if node_def is None:
            unknown.append(UnknownNode(node_id, entry["class_type"], None, None))
    warnings += map(_unknown_warning, unknown)
    return Conversion(prompt, nodes, None, tuple(dict.fromkeys(warnings)), tuple(unknown), ())


def _content_seed(workflow: dict[str, Any]) -> int:
    """A seed derived from the workflow, so a conversion is repeatable."""
    try:
        text = json.dumps(workflow, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(sorted(workflow))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "replace")).digest()[:8], "big")


# ---------------------------------------------------------------------------------------------------
# Loader: UI JSON -> _Workflow
# ---------------------------------------------------------------------------------------------------


def _load_workflow(data: dict[str, Any]) -> _Workflow:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise WorkflowFileError("not a ComfyUI workflow: it has no `nodes` list")
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    subgraphs: dict[str, _Graph] = {}
    for index, raw in enumerate(definitions.get("subgraphs") or ()):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise WorkflowFileError(f"not a ComfyUI workflow: definitions.subgraphs[{index}] has no id")
        subgraphs[raw["id"]] = _load_graph(
            raw, key=raw["id"], where=f"subgraph {raw.get('name') or raw['id']}"
        )
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    group_nodes = {
        name: _load_group_def(name, raw)
        for name, raw in (extra.get("groupNodes") or {}).items()
        if isinstance(raw, dict)
    }
    return _Workflow(_load_graph(data, key="", where="workflow"), subgraphs, group_nodes)


def _load_graph(data: dict[str, Any], *, key: str, where: str) -> _Graph:
    nodes: dict[str, _Node] = {}
    for index, raw in enumerate(data.get("nodes") or ()):
        node = _load_node(raw, f"{where}: nodes[{index}]")
        nodes[node.id] = node
    links: dict[Any, _Link] = {}
    for raw in data.get("links") or ():
        link = _load_link(raw)
        if link is not None:
            links[link.id] = link
    inputs = tuple(_load_io_slot(raw) for raw in data.get("inputs") or () if isinstance(raw, dict))
    outputs = tuple(_load_io_slot(raw) for raw in data.get("outputs") or () if isinstance(raw, dict))
    output_links = tuple(
        _subgraph_output_links(index, raw, links) for index, raw in enumerate(data.get("outputs") or ())
    )
    return _Graph(key, str(data.get("name") or ""), nodes, links, inputs, outputs, output_links)


def _subgraph_output_links(index: int, raw: Any, links: dict[Any, _Link]) -> tuple[Any, ...]:
    """The links into subgraph output `index`: its `linkIds`, else the links that target -20."""
    ids = raw.get("linkIds") if isinstance(raw, dict) else None
    if isinstance(ids, list) and ids:
        return tuple(_hashable(i) for i in ids)
    return tuple(
        link.id
        for link in links.values()
        if link.target_id == SUBGRAPH_OUTPUT_ID and link.target_slot == index
    )


def _load_node(raw: Any, where: str) -> _Node:
    if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw.get("type"), str):
        raise WorkflowFileError(f"not a ComfyUI workflow: {where} is not a node with an id and a type")
    mode = raw.get("mode", 0)
    title = raw.get("title")
    properties = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    return _Node(
        id=_node_id(raw["id"]),
        type=raw["type"],
        mode=mode if isinstance(mode, int) else 0,
        title=title if isinstance(title, str) else None,
        inputs=tuple(_load_slot(s) for s in raw.get("inputs") or () if isinstance(s, dict)),
        outputs=tuple(_load_slot(s) for s in raw.get("outputs") or () if isinstance(s, dict)),
        widgets_values=raw.get("widgets_values"),
        properties=properties,
    )


def _load_slot(raw: dict[str, Any]) -> _Slot:
    widget = raw.get("widget")
    widget_name = widget.get("name") if isinstance(widget, dict) else None
    return _Slot(
        name=str(raw.get("name", "")),
        type=_slot_type(raw.get("type")),
        link=_hashable(raw.get("link")),
        widget=widget_name if isinstance(widget_name, str) else None,
    )


def _load_io_slot(raw: dict[str, Any]) -> _Slot:
    return _Slot(name=str(raw.get("name", "")), type=_slot_type(raw.get("type")), link=None)


def _load_link(raw: Any) -> _Link | None:
    """A v0.4 array link `[id, origin, slot, target, slot, type]` or a v1 object link."""
    if isinstance(raw, list) and len(raw) >= 5:
        link_id, origin_id, origin_slot, target_id, target_slot = raw[:5]
        link_type = raw[5] if len(raw) > 5 else "*"
    elif isinstance(raw, dict) and "id" in raw:
        link_id, origin_id, origin_slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
        target_id, target_slot, link_type = raw.get("target_id"), raw.get("target_slot"), raw.get("type", "*")
    else:
        return None
    if origin_id is None or target_id is None or not _is_int(origin_slot) or not _is_int(target_slot):
        return None
    return _Link(
        _hashable(link_id),
        _node_id(origin_id),
        int(origin_slot),
        _node_id(target_id),
        int(target_slot),
        _slot_type(link_type),
    )


def _load_group_def(name: str, raw: dict[str, Any]) -> _GroupDef:
    nodes = []
    for index, node in enumerate(raw.get("nodes") or ()):
        if isinstance(node, dict) and isinstance(node.get("type"), str):
            nodes.append(_load_node({**node, "id": index}, f"group node {name}: nodes[{index}]"))
    links = tuple(
        (int(link[0]), int(link[1]), int(link[2]), int(link[3]), _slot_type(link[-1]))
        for link in raw.get("links") or ()
        if isinstance(link, list) and len(link) >= 4 and all(_is_int(v) for v in link[:4])
    )
    return _GroupDef(name, tuple(nodes), links)


def _node_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _hashable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (int, str)) or value is None else repr(value)


def _is_int(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        or (isinstance(value, float) and value.is_integer())
    )


def _slot_type(value: Any) -> str:
    if isinstance(value, list):  # legacy list-COMBO sockets
        return "COMBO"
    return "*" if value in (None, "", 0) else str(value)


# ---------------------------------------------------------------------------------------------------
# Widgets: how the frontend builds them from a node definition
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # compared by identity: one object per widget of a layout
class _Widget:
    """One widget the frontend creates for a node.

    Only `value` widgets are sent; `control` (control_after_generate), `filter` (control_filter_list),
    `upload` and `button` widgets set `options.serialize = false` or carry no value ([FE]
    executionUtil.ts:91). `saved` is False for widgets with `widget.serialize = false`, which hold no
    position in `widgets_values` ([FE] LGraphNode.ts:836-846).
    """

    name: str
    spec: InputSpec | None
    role: str  # "value", "control", "filter", "upload" or "button"
    saved: bool = True


@dataclass(frozen=True)
class _Layout:
    """A node definition as the frontend instantiates it: widgets and live input slots."""

    widgets: tuple[_Widget, ...]  # every widget, in creation order
    sockets: tuple[
        _Slot, ...
    ]  # socket inputs, then one socket per widget input ([FE] litegraphService.ts:528-538)
    specs: dict[str, InputSpec]

    @property
    def positions(self) -> tuple[_Widget, ...]:
        """The widgets that own a `widgets_values` position, in order."""
        return tuple(w for w in self.widgets if w.saved)

    @property
    def value_widgets(self) -> tuple[_Widget, ...]:
        return tuple(w for w in self.widgets if w.role == "value")


# Inputs that core frontend extensions add to `required` for particular nodes (after `input_order`, so
# they come last): the audio player ([FE] uploadAudio.ts:96-113) and the 3D viewer ([FE] saveMesh.ts:13-18,
# load3d.ts:501-505).
_AUDIO_PLAYER_NODES = frozenset({"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"})
_VIEWER_3D_NODES = frozenset({"Preview3D", "SaveGLB"})
# Widget types whose constructors core frontend extensions register, beyond `WIDGET_TYPES`.
_EXTENSION_WIDGET_TYPES = frozenset(
    {
        "IMAGEUPLOAD",
        "AUDIOUPLOAD",
        "AUDIO_UI",
        "AUDIO_RECORD",
        "PREVIEW_3D",
        "LOAD_3D",
        "LOAD_3D_ANIMATION",
        "WEBCAM",
    }
)


def _ordered_specs(node_def: NodeDef) -> tuple[InputSpec, ...]:
    """Inputs in `input_order`, then what extensions appended to `required` (leftovers come last,
    [FE] nodeDefOrderingUtil.ts:13-53)."""
    specs = node_def.inputs
    extra: list[InputSpec] = []
    if node_def.class_type in _AUDIO_PLAYER_NODES:
        extra.append(InputSpec("audioUI", "AUDIO_UI", {}, None, "required"))
    if node_def.class_type in _VIEWER_3D_NODES:
        extra.append(InputSpec("image", "PREVIEW_3D", {}, None, "required"))
    upload = _upload_button(specs)
    if upload is not None:
        extra.append(upload)
    names = {spec.name for spec in extra}
    return tuple(spec for spec in specs if spec.name not in names) + tuple(extra)


def _upload_button(specs: tuple[InputSpec, ...]) -> InputSpec | None:
    """The upload button input ([FE] uploadImage.ts:36-53, uploadAudio.ts:185-188)."""
    for spec in specs:
        if spec.section != "required":
            continue
        if spec.type == "COMBO" and any(spec.options.get(o) for o in UPLOAD_BUTTON_OPTIONS[:3]):
            return InputSpec("upload", "IMAGEUPLOAD", {}, None, "required")
        if spec.name == "audio" and spec.options.get("audio_upload") is True:
            return InputSpec("upload", "AUDIOUPLOAD", {}, None, "required")
    return None


def _is_widget_spec(spec: InputSpec) -> bool:
    """[FE] litegraphService.ts:465-474: a widget constructor exists for the type and no forceInput."""
    return (spec.type in _EXTENSION_WIDGET_TYPES and not spec.options.get("forceInput")) or spec.is_widget


def _widget_positions(spec: InputSpec) -> tuple[_Widget, ...]:
    """The widgets one input creates, in order."""
    kind = spec.type
    if kind in ("IMAGEUPLOAD", "AUDIOUPLOAD"):
        return (_Widget(spec.name, spec, "upload"),)
    if kind == "AUDIO_UI":  # a player with `widget.serialize = false` ([FE] uploadAudio.ts:124-125)
        return (_Widget(spec.name, spec, "value", saved=False),)
    value = _Widget(spec.name, spec, "value")
    if kind in ("AUDIO_RECORD", "WEBCAM"):  # the recorder / capture button follows ([FE] uploadAudio.ts:312)
        return (value, _Widget(spec.name, spec, "button"))
    if kind in ("LOAD_3D", "LOAD_3D_ANIMATION"):  # three buttons come first ([FE] load3d.ts:239-262)
        return (
            *(
                _Widget(name, spec, "button")
                for name in ("upload 3d model", "upload extra resources", "clear")
            ),
            value,
        )
    if kind == "INT" and spec.has_control_after_generate:  # [FE] useIntWidget.ts:74-91
        return (value, _Widget("control_after_generate", spec, "control"))
    if kind == "COMBO" and spec.options.get("control_after_generate"):  # [FE] widgets.ts:150-163
        return (
            value,
            _Widget("control_after_generate", spec, "control"),
            _Widget("control_filter_list", spec, "filter"),
        )
    remote = spec.options.get("remote")
    if kind == "COMBO" and isinstance(
        remote, dict
    ):  # auto-refresh toggle, refresh button ([FE] useRemoteWidget.ts)
        refresh = (_Widget("refresh", spec, "button"),) if remote.get("refresh_button") else ()
        return (value, _Widget("Auto-refresh after generation", spec, "button"), *refresh)
    return (value,)


_LAYOUTS: dict[tuple[int, str], _Layout] = {}


def _layout(node_def: NodeDef) -> _Layout:
    cache_key = (id(node_def), node_def.class_type)
    cached = _LAYOUTS.get(cache_key)
    if cached is not None:
        return cached
    specs = _ordered_specs(node_def)
    widget_specs = [spec for spec in specs if _is_widget_spec(spec)]
    widgets = tuple(w for spec in widget_specs for w in _widget_positions(spec))
    sockets = tuple(_Slot(s.name, s.type, None) for s in specs if not _is_widget_spec(s)) + tuple(
        _Slot(s.name, s.type, None, widget=s.name)
        for s in widget_specs
        if s.type not in _EXTENSION_WIDGET_TYPES
    )
    layout = _Layout(widgets, sockets, {spec.name: spec for spec in specs})
    if len(_LAYOUTS) > 4096:
        _LAYOUTS.clear()
    _LAYOUTS[cache_key] = layout
    return layout


def _live_inputs(layout: _Layout, saved: tuple[_Slot, ...]) -> tuple[_Slot, ...]:
    """Defined inputs carry the saved link by name; saved extras follow ([FE] litegraphService.ts:304-331)."""
    by_name = {slot.name: slot for slot in saved}
    defined = tuple(
        replace(socket, link=by_name[socket.name].link) if socket.name in by_name else socket
        for socket in layout.sockets
    )
    names = {socket.name for socket in layout.sockets}
    return defined + tuple(slot for slot in saved if slot.name not in names)


def _value_matches(spec: InputSpec, value: Any) -> bool:
    """Whether a widget value has exactly the type (and, for fixed option lists, a valid option)."""
    kind = spec.type
    if kind == "INT":
        return _is_int(value)
    if kind == "FLOAT":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind in ("STRING", "MARKDOWN", "TEXTAREA"):
        return isinstance(value, str)
    if kind == "COMBO":
        if _is_fixed_choice(spec):
            return isinstance(value, (str, int, float)) and value in spec.choices  # type: ignore[operator]
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True


def _is_fixed_choice(spec: InputSpec) -> bool:
    """A COMBO whose options do not depend on files on disk or a remote list."""
    return (
        bool(spec.choices)
        and spec.model_folder is None
        and not spec.input_file_kinds
        and not any(spec.options.get(option) for option in (*UPLOAD_BUTTON_OPTIONS, "remote", "image_folder"))
    )


def _comfy_accepts(spec: InputSpec, value: Any) -> bool:
    """Whether ComfyUI's `validate_inputs` would accept the value: its casts and min/max ([C] execution.py:840-905)."""
    kind = spec.type
    if kind in ("INT", "FLOAT"):
        try:
            number = int(value) if kind == "INT" else float(value)
        except (TypeError, ValueError, OverflowError):
            return False
        low, high = spec.options.get("min"), spec.options.get("max")
        return not (isinstance(low, (int, float)) and number < low) and not (
            isinstance(high, (int, float)) and number > high
        )
    if kind == "COMBO":
        return _value_matches(spec, value)
    return True


def _fit(widget: _Widget, value: Any) -> int:
    """How well a saved value fits a widget position: 2 exact type, 1 accepted by ComfyUI, 0 not at all."""
    if widget.role == "control":
        return 2 if value in CONTROL_VALUES or isinstance(value, bool) or value is None else 0
    if widget.role != "value" or widget.spec is None:
        return 2 if value is None or isinstance(value, (str, bool)) else 0
    if not _comfy_accepts(widget.spec, value):
        return 0
    return 2 if _value_matches(widget.spec, value) else 1


def _migrate_force_input_placeholders(node_def: NodeDef, values: list[Any]) -> list[Any]:
    """Drop pre-1.16 placeholders for forceInput inputs ([FE] litegraphUtil.ts:105-131, `migrateWidgetsValues`).

    Reproduced as written: inputs are zipped with values by input index, not widget position.
    """
    specs = _ordered_specs(node_def)
    original = [s for s in specs if _is_widget_spec(s) or s.options.get("forceInput")]
    if not any(s.options.get("forceInput") for s in original):
        return values
    count = sum(
        2 if s.options.get("control_after_generate") or s.name in ("seed", "noise_seed") else 1
        for s in original
    )
    if count != len(values):
        return values
    return [
        value
        for index, value in enumerate(values)
        if not (index < len(original) and original[index].options.get("forceInput"))
    ]


def _align_to_definition(widgets: tuple[_Widget, ...], values: list[Any]) -> tuple[list[Any], int]:
    """The best order-preserving assignment of saved values to widget positions, and its score.

    The frontend assigns `widgets_values` by position, so a widget added, removed or moved since the
    workflow was saved (`properties.ver`) shifts later values and ComfyUI rejects the prompt. Each
    assigned value scores its `_fit`; a dropped control word (`randomize`...) right after an assigned
    INT scores 1, being the control widget an older signature had. Unassigned positions get _MISSING.
    Dynamic programming over (position, value index): O(positions x values).
    """
    n_widgets, n_values = len(widgets), len(values)
    best = [[0] * (n_values + 1) for _ in range(n_widgets + 1)]
    for i in range(n_widgets - 1, -1, -1):
        for j in range(n_values - 1, -1, -1):
            options = [best[i + 1][j], best[i][j + 1] + _control_bonus(widgets, values, i, j)]
            fit = _fit(widgets[i], values[j])
            if fit:
                options.append(best[i + 1][j + 1] + fit)
            best[i][j] = max(options)
    aligned: list[Any] = []
    i = j = 0
    while i < n_widgets:
        fit = _fit(widgets[i], values[j]) if j < n_values else 0
        if fit and best[i][j] == best[i + 1][j + 1] + fit:
            aligned.append(values[j])
            i, j = i + 1, j + 1
        elif j < n_values and best[i][j] == best[i][j + 1] + _control_bonus(widgets, values, i, j):
            j += 1
        else:
            aligned.append(_MISSING)
            i += 1
    return aligned, best[0][0]


def _control_bonus(widgets: tuple[_Widget, ...], values: list[Any], i: int, j: int) -> int:
    """1 when values[j] is a control word following a value just assigned to an INT widget."""
    previous = widgets[i - 1] if i > 0 else None
    return int(
        j > 0
        and isinstance(values[j], str)
        and values[j] in CONTROL_VALUES
        and previous is not None
        and previous.role == "value"
        and previous.spec is not None
        and previous.spec.type == "INT"
        and _is_int(values[j - 1])
    )


def _positional_score(widgets: tuple[_Widget, ...], values: list[Any]) -> int:
    return sum(_fit(w, v) for w, v in zip(widgets, values))


_MISSING = object()


_MISSING = object()


# ---------------------------------------------------------------------------------------------------
# Planner: executable nodes, widget values, PrimitiveNode pushes, subgraph promotion
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Exec:
    """One node as `ExecutableNodeDTO` sees it: an execution id, its graph and its live slots."""

    id: str
    path: tuple[str, ...]  # ids of the subgraph / group-node instances containing it
    graph: _Graph
    node: _Node
    kind: str  # "node", "unknown", "reroute", "primitive", "note", "subgraph"
    class_type: str
    title: str
    inputs: tuple[_Slot, ...]
    output_types: tuple[str, ...]
    instance_titles: tuple[str, ...] = ()
    subgraph: _Graph | None = None  # the definition, for subgraph and group-node instances

    @property
    def is_virtual(self) -> bool:
        return self.kind in ("reroute", "primitive", "note", "subgraph", "virtual")


@dataclass
class _Planned:
    """The planner's result: executable nodes in the frontend's order."""

    execs: dict[str, _Exec]
    order: list[str] = field(default_factory=list)


class _Planner:
    """Builds the executable nodes and their widget values, as the frontend does on load and queue."""

    def __init__(self, workflow: _Workflow, node_defs: NodeDefs, rng: random.Random):
        self.workflow = workflow
        self.node_defs = node_defs
        self.rng = rng
        self.warnings: list[str] = []
        # Widget values per definition node: (graph key, node id) -> {widget name: value}. Nodes of a
        # subgraph definition are shared by all its instances, exactly like the frontend's objects.
        self.values: dict[tuple[str, str], dict[str, Any]] = {}
        self.subgraphs = dict(workflow.subgraphs)
        self._group_instances: dict[tuple[str, str], _Graph] = {}
        self.execs: dict[str, _Exec] = {}
        # Promoted widget values per subgraph instance (graph key, node id) -> {input index: value}, and
        # values PrimitiveNodes pushed into instance widgets, by input name.
        self._promoted: dict[tuple[str, str], dict[int, Any]] = {}
        self._pushed_into_instances: dict[tuple[str, str], dict[str, Any]] = {}
        self._replacement_targets: tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]] | None = None

    # -- entry ----------------------------------------------------------------------------------

    def plan(self) -> _Planned:
        graphs = [self.workflow.root, *self.subgraphs.values()]
        for graph in graphs:
            for node in graph.nodes.values():
                self._configure_widgets(graph, node)
        for graph in list(self.subgraphs.values()) + [self.workflow.root]:
            self._expand_group_nodes(graph)
        for graph in [self.workflow.root, *self.subgraphs.values()]:
            for node in graph.nodes.values():
                if node.type == PRIMITIVE_NODE:
                    self._apply_primitive(graph, node)
        planned = _Planned(self.execs)
        for node_id in _execution_order(self.workflow.root):
            self._add_exec(self.workflow.root, self.workflow.root.nodes[node_id], (), (), (), planned)
        return planned

    # -- widgets --------------------------------------------------------------------------------

    def node_def(self, node: _Node) -> NodeDef | None:
        return self.node_defs.get(node.type)

    def _configure_widgets(self, graph: _Graph, node: _Node) -> None:
        """`LGraphNode.configure`: assign `widgets_values` to widgets ([FE] LGraphNode.ts:836-846)."""
        node_def = self.node_def(node)
        if node_def is None or node.type in self.subgraphs:
            return
        layout = _layout(node_def)
        saved = node.widgets_values
        where = f"node {node.id} ({node.type})"
        if isinstance(saved, dict):
            values = {
                w.name: saved[w.name] if w.name in saved else _default(w.spec) for w in layout.value_widgets
            }
        else:
            positional = list(saved) if isinstance(saved, list) else []
            if saved is not None and not isinstance(saved, list):
                self.warnings.append(f"{where}: widgets_values is not a list; using the defaults")
            positional = _migrate_force_input_placeholders(node_def, positional)
            positional = self._realign_if_shifted(node, layout, positional)
            by_position = dict(zip(layout.positions, positional))
            values = {}
            for widget in layout.value_widgets:
                value = by_position.get(widget, _MISSING)
                values[widget.name] = _default(widget.spec) if value is _MISSING else value
        self._check_value_types(where, layout, values)
        self.values[(graph.key, node.id)] = values

    def _realign_if_shifted(self, node: _Node, layout: _Layout, values: list[Any]) -> list[Any]:
        """Undo a shift caused by an older node signature (see `_align_to_definition`).

        Only when the positional assignment gives ComfyUI a value it rejects and an alignment explains
        the saved values strictly better; a single wrong value with nothing shifted is left as saved.
        """
        widgets = layout.positions
        if all(_fit(w, v) for w, v in zip(widgets, values)):
            return values
        aligned, score = _align_to_definition(widgets, values)
        if score <= _positional_score(widgets, values):
            return values
        version = node.properties.get("ver")
        saved_by = f" (saved by version {version})" if isinstance(version, str) else ""
        self.warnings.append(
            f"node {node.id} ({node.type}): its saved widget values do not match the current node "
            f"definition{saved_by}; they were realigned by type and missing ones set to their defaults"
        )
        return aligned

    def _check_value_types(self, where: str, layout: _Layout, values: dict[str, Any]) -> None:
        for name, value in values.items():
            spec = layout.specs.get(name)
            _check_depth(where, name, value)
            if spec is not None and value is not None and not _value_matches(spec, value):
                self.warnings.append(
                    f"{where}: widget {name!r} holds {_short(value)}, not a {spec.type} value; "
                    "ComfyUI may reject it"
                )

    def _apply_primitive(self, graph: _Graph, node: _Node) -> None:
        """PrimitiveNode.applyToGraph: copy the value into every linked target widget ([FE] widgetInputs.ts:39-83)."""
        saved = node.widgets_values
        value = (
            saved[0]
            if isinstance(saved, list) and saved
            else saved.get("value") if isinstance(saved, dict) else _MISSING
        )
        if value is _MISSING:
            return
        if value and isinstance(value, str) and node.properties.get(REPLACE_PROPERTY):
            value = self.text_replacements(value, f"PrimitiveNode {node.id}")
        for link_id in self._output_link_ids(graph, node, 0):
            link = graph.links.get(link_id)
            target = graph.nodes.get(link.target_id) if link else None
            if target is None:
                continue
            slot = _target_slot(target, link)
            widget_name = slot.widget if slot else None
            if not widget_name:
                continue
            if target.type in self.subgraphs:
                self._pushed_into_instances.setdefault((graph.key, target.id), {})[widget_name] = value
                continue
            target_values = self.values.get((graph.key, target.id))
            if target_values is not None and widget_name in target_values:
                target_values[widget_name] = value

    def _output_link_ids(self, graph: _Graph, node: _Node, slot: int) -> list[Any]:
        return [link.id for link in _links_from(graph).get((node.id, slot), ())]

    # -- expansion ------------------------------------------------------------------------------

    def _add_exec(
        self,
        graph: _Graph,
        node: _Node,
        path: tuple[str, ...],
        titles: tuple[str, ...],
        visiting: tuple[str, ...],
        planned: _Planned,
    ) -> None:
        exec_id = ":".join(path + (node.id,))
        definition = self.subgraphs.get(node.type) or self._group_instances.get((graph.key, node.id))
        node_def = self.node_def(node) if definition is None else None
        kind, class_type, inputs, outputs, title = self._describe(node, node_def, definition)
        dto = _Exec(exec_id, path, graph, node, kind, class_type, title, inputs, outputs, titles, definition)
        self.execs[exec_id] = dto
        planned.order.append(exec_id)
        if definition is None:
            return
        if definition.key in visiting:
            raise WorkflowGraphError(
                f"subgraph {definition.name or definition.key!r} contains itself (through node {exec_id}); "
                "remove the recursive instance"
            )
        inner_titles = titles + (title,)
        for inner in definition.nodes.values():
            self._add_exec(
                definition, inner, path + (node.id,), inner_titles, visiting + (definition.key,), planned
            )

    def _describe(
        self, node: _Node, node_def: NodeDef | None, definition: _Graph | None
    ) -> tuple[str, str, tuple[_Slot, ...], tuple[str, ...], str]:
        outputs = tuple(slot.type for slot in node.outputs)
        if definition is not None:
            # Matched by name: saved instance inputs omit unlinked widget inputs, while links from -10
            # carry the definition's slot index.
            saved = {slot.name: slot for slot in node.inputs}
            inputs = tuple(
                replace(slot, link=saved[slot.name].link if slot.name in saved else None, widget=slot.name)
                for slot in definition.inputs
            )
            outputs = outputs or tuple(slot.type for slot in definition.outputs)
            return "subgraph", node.type, inputs, outputs, node.title or definition.name or node.type
        if node.type == REROUTE:
            return (
                "reroute",
                node.type,
                node.inputs[:1] or (_Slot("", "*", None),),
                outputs,
                node.title or node.type,
            )
        if node.type == PRIMITIVE_NODE:
            return "primitive", node.type, (), outputs, node.title or node.type
        if node.type in NOTE_TYPES:
            return "note", node.type, (), (), node.title or node.type
        if node_def is None:
            return "unknown", node.type, node.inputs, outputs, node.title or node.type
        layout = _layout(node_def)
        return (
            "node",
            node.type,
            _live_inputs(layout, node.inputs),
            node_def.output_types or outputs,
            node.title or node_def.display_name,
        )

    def unknown_nodes(self, kept: dict[str, FlatNode]) -> list[UnknownNode]:
        found = []
        for dto in self.execs.values():
            if dto.kind == "unknown" and dto.id in kept:
                props = dto.node.properties
                found.append(UnknownNode(dto.id, dto.class_type, _pack(props), _text(props.get("ver"))))
        return found

    # -- subgraph promoted widgets ----------------------------------------------------------------

    def promoted_value(self, instance: _Exec, input_index: int) -> Any:
        """The value of the instance widget promoted from subgraph input `input_index`, or _MISSING.

        1.27.10 promotes, for each subgraph input, the widget of the first inner node input it links to
        ([FE] SubgraphNode.ts:268-313); the instance's `widgets_values` fill those widgets in input order.
        """
        key = (instance.graph.key, instance.node.id)
        cached = self._promoted.get(key)
        if cached is None:
            cached = self._promote(instance)
            self._promoted[key] = cached
        return cached.get(input_index, _MISSING)

    def _promote(self, instance: _Exec) -> dict[int, Any]:
        key = (instance.graph.key, instance.node.id)
        definition = instance.subgraph
        assert definition is not None
        slot_by_name = {slot.name: index for index, slot in enumerate(definition.inputs)}
        promoted: dict[int, Any] = {}
        names: list[tuple[int, str]] = []
        for index, slot in enumerate(instance.inputs):
            definition_index = slot_by_name.get(slot.name)
            if definition_index is None:
                continue
            value = self._inner_widget_value(instance, definition, definition_index)
            if value is not _MISSING:
                promoted[index] = value
                names.append((index, slot.name))
        saved = instance.node.widgets_values
        if isinstance(saved, list):
            for (index, _), value in zip(names, saved):
                promoted[index] = value
        elif isinstance(saved, dict):
            for index, name in names:
                if name in saved:
                    promoted[index] = saved[name]
        pushed = self._pushed_into_instances.get(key, {})
        for index, name in names:
            if name in pushed:
                promoted[index] = pushed[name]
        for index, name in names:
            _check_depth(f"node {instance.id}", name, promoted[index])
        return promoted

    def _inner_widget_value(self, instance: _Exec, definition: _Graph, input_index: int) -> Any:
        for link in _links_from(definition).get((SUBGRAPH_INPUT_ID, input_index), ()):
            target = definition.nodes.get(link.target_id)
            if target is None:
                continue
            target_dto = self.execs.get(f"{instance.id}:{target.id}")
            slot = _target_slot_of_inputs(target_dto.inputs if target_dto else target.inputs, link)
            if slot is None or slot.widget is None:
                continue
            if target_dto is not None and target_dto.kind == "subgraph":
                index = next((i for i, s in enumerate(target_dto.inputs) if s.name == slot.widget), None)
                value = self.promoted_value(target_dto, index) if index is not None else _MISSING
            else:
                value = self.values.get((definition.key, target.id), {}).get(slot.widget, _MISSING)
            if value is not _MISSING:
                return value
        return _MISSING

    # -- text replacement -----------------------------------------------------------------------

    def text_replacements(self, value: str, where: str) -> str:
        """`applyTextReplacements` ([FE] searchAndReplace.ts:5-56): `%date:FMT%` and `%Node.widget%`."""
        now = datetime.datetime.now()

        def substitute(match: re.Match[str]) -> str:
            text = match.group(1)
            parts = text.split(".")
            if len(parts) != 2:
                if parts[0].startswith("date:"):
                    return _format_date(parts[0][5:], now)
                return match.group(0)
            node_key = self._find_replacement_node(parts[0])
            if node_key is None or parts[1] not in self.values.get(node_key, {}):
                return match.group(0)
            found = self.values[node_key][parts[1]]
            return _UNSAFE_FILENAME.sub("_", _js_string("" if found is None else found))

        result = re.sub(r"%([^%]+)%", substitute, value)
        if result != value:
            self.warnings.append(
                f"{where}: {value!r} was expanded to {result!r} as the frontend does when queueing "
                "(dates use the conversion time)"
            )
        return result

    def _find_replacement_node(self, name: str) -> tuple[str, str] | None:
        """The node a `%Node.widget%` names: by "Node name for S&R", else by title (first match)."""
        if self._replacement_targets is None:
            by_sr: dict[str, tuple[str, str]] = {}
            by_title: dict[str, tuple[str, str]] = {}
            for graph in [self.workflow.root, *self.subgraphs.values()]:
                for node in graph.nodes.values():
                    sr_name = node.properties.get("Node name for S&R")
                    if isinstance(sr_name, str):
                        by_sr.setdefault(sr_name, (graph.key, node.id))
                    node_def = self.node_def(node)
                    title = node.title or (node_def.display_name if node_def else node.type)
                    by_title.setdefault(title, (graph.key, node.id))
            self._replacement_targets = (by_sr, by_title)
        by_sr, by_title = self._replacement_targets
        return by_sr.get(name) or by_title.get(name)

    # -- legacy group nodes ---------------------------------------------------------------------

    def set_group_widgets(self, graph: _Graph, instance: _Node) -> None:
        """Configure the inner nodes, then let the instance's `widgets_values` fill their widget positions
        in inner-node order (the group node's widgets are the inner widgets, [FE] groupNode.ts:486-520)."""
        for node in graph.nodes.values():
            self._configure_widgets(graph, node)
        saved = instance.widgets_values
        if not isinstance(saved, list):
            return
        position = 0
        for node in graph.nodes.values():
            node_def = self.node_def(node)
            if node_def is None:
                continue
            values = self.values[(graph.key, node.id)]
            for widget in _layout(node_def).positions:
                if position >= len(saved):
                    return
                if widget.role == "value" and widget.name in values:
                    values[widget.name] = saved[position]
                position += 1

    def _expand_group_nodes(self, graph: _Graph) -> None:
        for node in graph.nodes.values():
            name = _group_node_name(node.type)
            if name is None or node.type in self.node_defs or node.type in self.subgraphs:
                continue
            group = self.workflow.group_nodes.get(name)
            if group is None:
                continue
            definition = _group_as_subgraph(group, node, self)
            self.subgraphs.setdefault(definition.key, definition)
            self._group_instances[(graph.key, node.id)] = definition


def _default(spec: InputSpec | None) -> Any:
    return None if spec is None else spec.default


def _check_depth(where: str, name: str, value: Any) -> None:
    """Refuse absurdly nested values before anything recurses into them (JSON encoding does)."""
    if not isinstance(value, (list, dict)):
        return
    level = [value]
    for depth in range(1, MAX_VALUE_DEPTH + 2):
        children = [
            c
            for item in level
            for c in (item.values() if isinstance(item, dict) else item)
            if isinstance(c, (list, dict))
        ]
        if not children:
            return
        if depth > MAX_VALUE_DEPTH:
            raise WorkflowFileError(
                f"{where}: input {name!r} is nested more than {MAX_VALUE_DEPTH} levels deep; "
                "this is not a value any ComfyUI node takes"
            )
        level = children


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pack(properties: dict[str, Any]) -> str | None:
    return _text(properties.get("cnr_id")) or _text(properties.get("aux_id"))


def _links_from(graph: _Graph) -> dict[tuple[str, int], tuple[_Link, ...]]:
    """(origin id, origin slot) -> links, built once per graph."""
    cached = _LINKS_FROM.get(id(graph))
    if cached is None or cached[0] is not graph:
        table: dict[tuple[str, int], list[_Link]] = {}
        for link in graph.links.values():
            table.setdefault((link.origin_id, link.origin_slot), []).append(link)
        cached = (graph, {key: tuple(value) for key, value in table.items()})
        _LINKS_FROM[id(graph)] = cached
    return cached[1]


_LINKS_FROM: dict[int, tuple[_Graph, dict[tuple[str, int], tuple[_Link, ...]]]] = {}


def _target_slot(node: _Node, link: _Link) -> _Slot | None:
    return _target_slot_of_inputs(node.inputs, link)


def _target_slot_of_inputs(inputs: tuple[_Slot, ...], link: _Link) -> _Slot | None:
    """The input a link ends at: the slot holding its id, else its `target_slot` index ([FE] LLink.resolve)."""
    for slot in inputs:
        if slot.link == link.id:
            return slot
    return inputs[link.target_slot] if 0 <= link.target_slot < len(inputs) else None


def _execution_order(graph: _Graph) -> list[str]:
    """`LGraph.computeExecutionOrder`: Kahn's order over links, nodes in list order; leftovers appended."""
    remaining: dict[str, int] = {}
    queue: list[str] = []
    for node in graph.nodes.values():
        count = sum(1 for slot in node.inputs if slot.link is not None)
        if count:
            remaining[node.id] = count
        else:
            queue.append(node.id)
    order: list[str] = []
    done: set[str] = set()
    links_from = _links_from(graph)
    position = 0
    while position < len(queue):
        node_id = queue[position]
        position += 1
        order.append(node_id)
        done.add(node_id)
        for slot in range(len(graph.nodes[node_id].outputs)):
            for link in links_from.get((node_id, slot), ()):
                if link.target_id in remaining:
                    remaining[link.target_id] -= 1
                    if remaining[link.target_id] == 0:
                        del remaining[link.target_id]
                        queue.append(link.target_id)
    order.extend(node_id for node_id in graph.nodes if node_id not in done)
    return order


def _group_as_subgraph(group: _GroupDef, instance: _Node, planner: _Planner) -> _Graph:
    """A legacy group node as an equivalent subgraph definition ([FE] groupNode.ts:185-720).

    Inner nodes keep their index as id (execution ids `group:index`, [FE] executableGroupNodeDto.ts).
    Instance inputs are the inner inputs not linked inside the group, node by node; instance outputs the
    inner outputs not linked inside; the instance's `widgets_values` set the inner widgets in order.
    """
    linked_in = {(target, slot) for _, _, target, slot, _ in group.links}
    linked_out = {(origin, slot) for origin, slot, _, _, _ in group.links}
    links: dict[Any, _Link] = {}
    for index, (origin, origin_slot, target, target_slot, link_type) in enumerate(group.links):
        links[("group", index)] = _Link(
            ("group", index), str(origin), origin_slot, str(target), target_slot, link_type
        )
    nodes: dict[str, _Node] = {}
    inputs: list[_Slot] = []
    outputs: list[_Slot] = []
    output_links: list[tuple[Any, ...]] = []
    for inner in group.nodes:
        slots = []
        for slot_index, slot in enumerate(inner.inputs):
            link_id = next(
                (k for k, l in links.items() if l.target_id == inner.id and l.target_slot == slot_index), None
            )
            if link_id is None and not slot.widget:
                link_id = ("group-input", len(inputs))
                links[link_id] = _Link(
                    link_id, SUBGRAPH_INPUT_ID, len(inputs), inner.id, slot_index, slot.type
                )
                inputs.append(_Slot(slot.name, slot.type, None))
            slots.append(replace(slot, link=link_id))
        nodes[inner.id] = replace(inner, inputs=tuple(slots))
        node_def = planner.node_def(inner)
        output_types = node_def.output_types if node_def else tuple(slot.type for slot in inner.outputs)
        for slot_index, output_type in enumerate(output_types):
            if (int(inner.id), slot_index) in linked_out:
                continue
            link_id = ("group-output", len(outputs))
            links[link_id] = _Link(
                link_id, inner.id, slot_index, SUBGRAPH_OUTPUT_ID, len(outputs), output_type
            )
            outputs.append(_Slot(output_type, output_type, None))
            output_links.append((link_id,))
    del linked_in
    key = f"group:{group.name}:{instance.id}"
    graph = _Graph(key, group.name, nodes, links, tuple(inputs), tuple(outputs), tuple(output_links))
    planner.set_group_widgets(graph, instance)
    return graph


def _group_node_name(node_type: str) -> str | None:
    for prefix in ("workflow>", "workflow/"):
        if node_type.startswith(prefix):
            return node_type[len(prefix) :]
    return None


_UNSAFE_FILENAME = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')
_DATE_TOKENS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")


def _format_date(text: str, now: datetime.datetime) -> str:
    """`formatDate` ([FE] formatUtil.ts:257-280), local time like the browser."""
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
        return ",".join("" if v is None else _js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


# ---------------------------------------------------------------------------------------------------
# Renderer: executable nodes -> API prompt
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


class _Resolver:
    """`ExecutableNodeDTO.resolveInput`/`resolveOutput`, iterative so long chains cannot overflow the stack."""

    def __init__(self, planner: _Planner):
        self.planner = planner
        self.execs = planner.execs

    def resolve_input(self, dto: _Exec, slot_index: int) -> _LinkTo | _ValueOf | None:
        visited: set[tuple[str, str, int]] = set()
        fallback: _ValueOf | None = None
        direction, current, slot, wanted = "in", dto, slot_index, None
        while True:
            step = (current.id, direction, slot)
            if step in visited:
                raise WorkflowGraphError(
                    f"link cycle through node {current.id} ({current.title}) while resolving input "
                    f"{dto.inputs[slot_index].name!r} of node {dto.id} ({dto.title}); remove one of the links"
                )
            visited.add(step)
            if direction == "in":
                moved = self._step_in(dto, current, slot, wanted)
                if moved is None or isinstance(moved, (_LinkTo, _ValueOf)):
                    return moved if moved is not None else fallback
                if moved[0] == "instance":
                    _, current, slot = moved
                    value = self.planner.promoted_value(current, slot)
                    fallback = None if value is _MISSING else _ValueOf(value)
                    direction, wanted = "in", None
                    continue
                direction, current, slot, wanted = moved
            else:
                moved = self._step_out(current, slot, wanted)
                if moved is None or isinstance(moved, _LinkTo):
                    return moved if moved is not None else fallback
                direction, current, slot, wanted = moved

    def _step_in(self, origin_dto: _Exec, dto: _Exec, slot_index: int, wanted: str | None):
        if slot_index >= len(dto.inputs):
            return None
        slot = dto.inputs[slot_index]
        if slot.link is None:
            return None
        link = dto.graph.links.get(slot.link)
        if link is None:
            self._dangling(dto, slot, f"link {slot.link} does not exist")
            return None
        if link.origin_id == SUBGRAPH_INPUT_ID and dto.path:
            instance = self.execs.get(":".join(dto.path))
            if instance is None or link.origin_slot >= len(instance.inputs):
                self._dangling(dto, slot, f"subgraph input {link.origin_slot} does not exist")
                return None
            if instance.inputs[link.origin_slot].link is None:
                value = self.planner.promoted_value(instance, link.origin_slot)
                return None if value is _MISSING else _ValueOf(value)
            return ("instance", instance, link.origin_slot)
        origin = self.execs.get(":".join(dto.path + (link.origin_id,)))
        if origin is None:
            self._dangling(dto, slot, f"its origin node {link.origin_id} does not exist")
            return None
        return ("out", origin, link.origin_slot, wanted or slot.type)

    def _step_out(self, dto: _Exec, slot: int, wanted: str):
        if dto.node.mode == MODE_BYPASS and dto.kind != "note":
            index = _bypass_slot_index(dto, slot, wanted)
            return None if index < 0 else ("in", dto, index, None)
        if dto.kind == "subgraph":
            definition = dto.subgraph
            assert definition is not None
            link_ids = definition.output_links[slot] if slot < len(definition.output_links) else ()
            inner_link = definition.links.get(link_ids[0]) if link_ids else None
            if inner_link is None:
                return None
            inner = self.execs.get(f"{dto.id}:{inner_link.origin_id}")
            if inner is None:
                self.planner.warnings.append(
                    f"subgraph {definition.name!r}: output {slot} comes from missing node {inner_link.origin_id}; "
                    "ignored"
                )
                return None
            return ("out", inner, inner_link.origin_slot, wanted)
        if dto.is_virtual:
            return ("in", dto, slot, wanted) if slot < len(dto.inputs) else None
        return _LinkTo(dto.id, slot)

    def _dangling(self, dto: _Exec, slot: _Slot, why: str) -> None:
        self.planner.warnings.append(
            f"node {dto.id} ({dto.title}): input {slot.name!r} is linked but {why}; the link was dropped"
        )


def _bypass_slot_index(dto: _Exec, slot: int, wanted: str) -> int:
    """`#getBypassSlotIndex` ([FE] ExecutableNodeDTO.ts:336): same slot if compatible, else the first exact
    type match, else the first compatible input; -1 when none."""
    inputs = dto.inputs
    if not inputs:
        return -1
    if wanted in ("*", ""):
        return slot if len(inputs) > slot else 0
    output_type = dto.output_types[slot] if slot < len(dto.output_types) else "*"
    if slot < len(inputs):
        opposite = inputs[slot].type
        if _valid_connection(opposite, output_type) and _valid_connection(opposite, wanted):
            return slot
    for index, candidate in enumerate(inputs):
        if candidate.type == wanted:
            return index
    for index, candidate in enumerate(inputs):
        if _valid_connection(candidate.type, output_type) and _valid_connection(candidate.type, wanted):
            return index
    return -1


def _valid_connection(type_a: str, type_b: str) -> bool:
    """`LiteGraph.isValidConnection` ([FE] LiteGraphGlobal.ts:682-714)."""
    if type_a in ("", "*") or type_b in ("", "*") or type_a == type_b:
        return True
    a, b = type_a.lower(), type_b.lower()
    if "," not in a and "," not in b:
        return a == b
    return any(x == "" or y == "" or x == y for x in a.split(",") for y in b.split(","))


def _render(planned: _Planned, planner: _Planner) -> tuple[dict[str, dict[str, Any]], dict[str, FlatNode]]:
    """graphToPrompt's output loop ([FE] executionUtil.ts:72-147)."""
    resolver = _Resolver(planner)
    output: dict[str, dict[str, Any]] = {}
    widget_sets: dict[str, tuple[str, ...]] = {}
    for exec_id in planned.order:
        dto = planned.execs[exec_id]
        if dto.is_virtual or dto.node.mode in (MODE_NEVER, MODE_BYPASS):
            continue
        inputs: dict[str, Any] = {}
        values = planner.values.get((dto.graph.key, dto.node.id)) if dto.kind == "node" else None
        for name, value in (values or {}).items():
            inputs[name] = _wrap_list(_serialize_widget(planner, dto, name, value))
        for index, slot in enumerate(dto.inputs):
            resolved = resolver.resolve_input(dto, index)
            if isinstance(resolved, _ValueOf):
                inputs[slot.name] = _wrap_list(resolved.value)
            elif isinstance(resolved, _LinkTo):
                inputs[slot.name] = [resolved.origin_id, resolved.origin_slot]
        output[exec_id] = {"inputs": inputs, "class_type": dto.class_type, "_meta": {"title": dto.title}}
        widget_sets[exec_id] = tuple(values or ())
    for entry in output.values():
        inputs = entry["inputs"]
        for name in [n for n, v in inputs.items() if _is_link(v) and v[0] not in output]:
            del inputs[name]
    prompt = {exec_id: output[exec_id] for exec_id in _js_key_order(output)}
    nodes = {
        exec_id: _flat_node(planned.execs[exec_id], prompt[exec_id], widget_sets[exec_id])
        for exec_id in prompt
    }
    return prompt, nodes


def _serialize_widget(planner: _Planner, dto: _Exec, name: str, value: Any) -> Any:
    """A widget's `serializeValue`: dynamic prompts ([FE] dynamicPrompts.ts) and filename_prefix S&R."""
    node_def = planner.node_def(dto.node)
    spec = _layout(node_def).specs.get(name) if node_def else None
    if not isinstance(value, str) or spec is None:
        return value
    if spec.options.get("dynamicPrompts"):
        result = _process_dynamic_prompt(value, planner.rng)
        if result != value:
            linked = any(slot.name == name and slot.link is not None for slot in dto.inputs)
            if not linked:
                planner.warnings.append(
                    f"node {dto.id} ({dto.title}): widget {name!r} uses dynamic-prompt syntax; it was resolved "
                    f"to {_short(result)} with a seeded random choice (ComfyUI picks anew on every queue)"
                )
        return result
    if name == "filename_prefix" and dto.class_type in SAVE_NODE_TYPES:
        return planner.text_replacements(value, f"node {dto.id} ({dto.title}) filename_prefix")
    return value


_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//[^\n\r\u2028\u2029]*")
_ESCAPED = re.compile(r"\\([{}|])")


def _process_dynamic_prompt(text: str, rng: random.Random, depth: int = 0) -> str:
    """`processDynamicPrompt` ([FE] formatUtil.ts:125-186): strip comments, replace each `{a|b}` by one
    option chosen with `rng` (the chosen option is processed again, so blocks nest), then unescape."""
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
        if char == "\\":
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
    """`parseChoiceBlock`: the options of the block starting after `{`, and the position after `}`."""
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


def _wrap_list(value: Any) -> Any:
    """Lists would read as links; the frontend wraps them ([FE] executionUtil.ts:96-106)."""
    return {"__value__": value} if isinstance(value, list) else value


def _is_link(value: Any) -> bool:
    """ComfyUI's link test ([C] comfy_execution/graph_utils.py:1-9): `[str, int|float]`."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
        and not isinstance(value[1], bool)
    )


def _js_key_order(output: dict[str, Any]) -> list[str]:
    """JavaScript object key order: array-index keys ascending, then the others in insertion order."""
    indexes = [key for key in output if _is_array_index(key)]
    others = [key for key in output if not _is_array_index(key)]
    return sorted(indexes, key=int) + others


def _is_array_index(key: str) -> bool:
    return (
        key.isdigit() and key.isascii() and (key == "0" or not key.startswith("0")) and int(key) < 2**32 - 1
    )


def _flat_node(dto: _Exec, entry: dict[str, Any], widget_order: tuple[str, ...]) -> FlatNode:
    inputs = entry["inputs"]
    props = dto.node.properties
    return FlatNode(
        id=dto.id,
        class_type=dto.class_type,
        title=dto.title,
        inputs=inputs,
        widget_names=tuple(name for name in widget_order if name in inputs and not _is_link(inputs[name])),
        pack=_pack(props),
        pack_version=_text(props.get("ver")),
        subgraph=dto.instance_titles,
        known=dto.kind == "node",
        properties=props,
    )


def _check_acyclic(prompt: dict[str, dict[str, Any]]) -> None:
    """ComfyUI cannot run a prompt whose links form a cycle; name the nodes on it."""
    edges = {
        node_id: [value[0] for value in entry["inputs"].values() if _is_link(value)]
        for node_id, entry in prompt.items()
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in edges:
        if start in state:
            continue
        path: list[str] = [start]
        iterators = [iter(edges[start])]
        state[start] = 1
        while iterators:
            for upstream in iterators[-1]:
                if state.get(upstream) == 1:
                    cycle = path[path.index(upstream) :]
                    names = ", ".join(f"{n} ({prompt[n]['class_type']})" for n in cycle)
                    raise WorkflowGraphError(
                        f"the workflow's links form a cycle through nodes {names}; remove one link"
                    )
                if upstream not in state:
                    state[upstream] = 1
                    path.append(upstream)
                    iterators.append(iter(edges[upstream]))
                    break
            else:
                state[path.pop()] = 2
                iterators.pop()


def _declared_models(
    workflow: dict[str, Any], planned: _Planned, nodes: dict[str, FlatNode]
) -> Iterable[dict[str, Any]]:
    """`properties.models` of every node in the prompt (with its id), then the top-level `models[]`."""
    for exec_id, flat in nodes.items():
        for entry in flat.properties.get("models") or ():
            if isinstance(entry, dict):
                yield {**entry, "node_id": exec_id}
    for entry in workflow.get("models") or ():
        if isinstance(entry, dict):
            yield {**entry, "node_id": None}
