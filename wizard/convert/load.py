"""Load: the saved UI workflow becomes frozen graph records with their link maps built once.

v0.4 array links and v1 object links, subgraph definitions (`definitions.subgraphs`) and legacy group
node definitions (`extra.groupNodes`) are read as the frontend's `LGraph.configure` reads them
([FE] workflowSchema.ts); malformed parts become one-line `WorkflowFileError`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from wizard.errors import WorkflowFileError

SUBGRAPH_INPUT_ID = "-10"  # [FE] src/lib/litegraph/src/constants.ts:8
SUBGRAPH_OUTPUT_ID = "-20"  # [FE] src/lib/litegraph/src/constants.ts:11
MODE_NEVER = 2  # muted ([FE] globalEnums.ts:83-89)
MODE_BYPASS = 4
REROUTE = "Reroute"
PRIMITIVE_NODE = "PrimitiveNode"
NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
GROUP_KEY_PREFIX = "group:"  # graph keys of expanded group nodes
TITLE_HEIGHT = 30.0  # LiteGraph.NODE_TITLE_HEIGHT
# Node types the frontend renames on load ([FE] app.ts, `loadGraphData`).
LEGACY_TYPE_NAMES = {
    "T2IAdapterLoader": "ControlNetLoader",
    "ConditioningAverage ": "ConditioningAverage",
    "SDV_img2vid_Conditioning": "SVD_img2vid_Conditioning",
}
# Values nested deeper than this are no value any ComfyUI node takes; refusing them keeps copying
# and JSON encoding of hostile input safe.
MAX_VALUE_DEPTH = 64


@dataclass(frozen=True)
class Link:
    """One link of a graph ([FE] workflowSchema.ts:51 array form, :68 object form)."""

    id: Any
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int
    type: str


@dataclass(frozen=True)
class Slot:
    """One input slot as the live node holds it: name, type, link id and the widget it drives."""

    name: str
    type: str
    link: Any = None  # a link id
    widget: str | None = None
    label: str | None = None  # the name shown, when the user renamed it (`label`, else `localized_name`)


@dataclass(frozen=True)
class Node:
    """One serialised node, normalised: string ids, hashable link ids, `widgets_values` as saved."""

    id: str
    type: str
    mode: int
    title: str | None
    inputs: tuple[Slot, ...]
    output_types: tuple[str, ...]
    widgets_values: Any
    properties: dict[str, Any]
    box: tuple[float, float, float, float] | None = (
        None  # `boundingRect`: x, y, width, height, title included
    )
    color: str | None = None


@dataclass(frozen=True)
class GroupBox:
    """A group (the coloured frame) of a graph: its title and `bounding` rectangle x, y, width, height."""

    title: str
    bounding: tuple[float, float, float, float]


@dataclass(frozen=True)
class Graph:
    """The root graph, a subgraph definition or an expanded group node, with its link map."""

    key: str  # "" for the root graph, else the definition's id
    name: str
    nodes: dict[str, Node]
    links: dict[Any, Link]
    links_from: dict[tuple[str, int], tuple[Link, ...]]  # (origin id, origin slot) -> links
    inputs: tuple[Slot, ...] = ()  # subgraph inputs, the slots of the -10 node
    output_links: tuple[tuple[Any, ...], ...] = ()  # link ids into each subgraph output (-20 node)
    output_types: tuple[str, ...] = ()
    groups: tuple[GroupBox, ...] = ()

    @property
    def is_group_node(self) -> bool:
        """An expanded legacy group node (its inner links resolve as `ExecutableGroupNodeChildDTO` does)."""
        return self.key.startswith(GROUP_KEY_PREFIX)


@dataclass(frozen=True)
class GroupDef:
    """A legacy group node definition, `extra.groupNodes[NAME]` ([FE] groupNode.ts:50-65)."""

    name: str
    nodes: tuple[Node, ...]  # ids are the inner indexes
    links: tuple[tuple[int, int, int, int, str], ...]  # origin index, slot, target index, slot, type
    external: frozenset[tuple[int, int]] = frozenset()  # (inner index, output slot) also used outside
    config: dict[str, Any] = field(default_factory=dict)  # the user's renames and hidden slots, by index


@dataclass(frozen=True)
class UiGraph:
    """A loaded UI workflow.

    Attributes:
        root: the top-level graph.
        subgraphs: subgraph definitions by id (the node type of their instances).
        group_nodes: legacy group node definitions by name (instances are typed `workflow>NAME`).
    """

    root: Graph
    subgraphs: dict[str, Graph]
    group_nodes: dict[str, GroupDef]


def load_ui_graph(data: Any) -> UiGraph:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise WorkflowFileError("not a ComfyUI workflow: it has no `nodes` list")
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    subgraphs: dict[str, Graph] = {}
    for index, raw in enumerate(as_list(definitions.get("subgraphs"))):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise WorkflowFileError(f"not a ComfyUI workflow: definitions.subgraphs[{index}] has no id")
        subgraphs[raw["id"]] = _load_graph(
            raw, key=raw["id"], where=f"subgraph {raw.get('name') or raw['id']}"
        )
    extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
    group_nodes = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    return UiGraph(
        root=_load_graph(data, key="", where="workflow"),
        subgraphs=subgraphs,
        group_nodes={
            name: _load_group_def(name, raw) for name, raw in group_nodes.items() if isinstance(raw, dict)
        },
    )


def _load_graph(data: dict[str, Any], *, key: str, where: str) -> Graph:
    if not isinstance(data.get("nodes", []), list):
        raise WorkflowFileError(f"not a ComfyUI workflow: the nodes of {where} are not a list")
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(data.get("nodes") or ()):
        node = _load_node(raw, f"{where}: nodes[{index}]")
        nodes[node.id] = node
    links = {link.id: link for link in map(_load_link, as_list(data.get("links"))) if link is not None}
    outputs = [raw for raw in as_list(data.get("outputs")) if isinstance(raw, dict)]
    return Graph(
        key=key,
        name=str(data.get("name") or ""),
        nodes=nodes,
        links=links,
        links_from=index_links_from(links),
        inputs=tuple(
            Slot(str(raw.get("name", "")), to_slot_type(raw.get("type"))) for raw in dicts_in(data, "inputs")
        ),
        output_links=tuple(_subgraph_output_links(index, raw, links) for index, raw in enumerate(outputs)),
        output_types=tuple(to_slot_type(raw.get("type")) for raw in outputs),
        groups=tuple(
            _load_group_box(raw) for raw in dicts_in(data, "groups") if _numbers(raw.get("bounding"), 4)
        ),
    )


def _load_group_box(raw: dict[str, Any]) -> GroupBox:
    return GroupBox(str(raw.get("title") or ""), tuple(float(v) for v in raw["bounding"][:4]))


def _numbers(value: Any, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= count
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value[:count])
    )


def _bounding_rect(raw: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """`LGraphNode.measure` ([FE] LGraphNode.ts, `measure`): the title bar (30 px) above `pos`; a collapsed
    node is taken as its title bar of `NODE_COLLAPSED_WIDTH` (80 px) at most."""
    pos, size = raw.get("pos"), raw.get("size")
    if isinstance(pos, dict):  # {"0": x, "1": y} in some old files
        pos = [pos.get("0"), pos.get("1")]
    if isinstance(size, dict):
        size = [size.get("0"), size.get("1")]
    if not _numbers(pos, 2) or not _numbers(size, 2):
        return None
    flags = raw.get("flags") if isinstance(raw.get("flags"), dict) else {}
    if flags.get("collapsed"):
        return (float(pos[0]), float(pos[1]) - TITLE_HEIGHT, min(float(size[0]), 80.0), TITLE_HEIGHT)
    return (float(pos[0]), float(pos[1]) - TITLE_HEIGHT, float(size[0]), float(size[1]) + TITLE_HEIGHT)


def index_links_from(links: dict[Any, Link]) -> dict[tuple[str, int], tuple[Link, ...]]:
    table: dict[tuple[str, int], list[Link]] = {}
    for link in links.values():
        table.setdefault((link.origin_id, link.origin_slot), []).append(link)
    return {key: tuple(value) for key, value in table.items()}


def _subgraph_output_links(index: int, raw: dict[str, Any], links: dict[Any, Link]) -> tuple[Any, ...]:
    """The links into subgraph output `index`: its `linkIds`, else the links that target -20."""
    ids = raw.get("linkIds")
    if isinstance(ids, list) and ids:
        return tuple(to_link_id(i) for i in ids)
    return tuple(l.id for l in links.values() if l.target_id == SUBGRAPH_OUTPUT_ID and l.target_slot == index)


def _load_node(raw: Any, where: str) -> Node:
    if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw.get("type"), str):
        raise WorkflowFileError(f"not a ComfyUI workflow: {where} is not a node with an id and a type")
    mode, title = raw.get("mode", 0), raw.get("title")
    return Node(
        id=to_node_id(raw["id"]),
        type=LEGACY_TYPE_NAMES.get(raw["type"], raw["type"]),
        mode=mode if isinstance(mode, int) else 0,
        title=title if isinstance(title, str) and title else None,
        inputs=tuple(_load_slot(slot) for slot in dicts_in(raw, "inputs")),
        output_types=tuple(to_slot_type(slot.get("type")) for slot in dicts_in(raw, "outputs")),
        widgets_values=raw.get("widgets_values"),
        properties=raw.get("properties") if isinstance(raw.get("properties"), dict) else {},
        box=_bounding_rect(raw),
        color=raw.get("color") if isinstance(raw.get("color"), str) else None,
    )


def _load_slot(raw: dict[str, Any]) -> Slot:
    widget = raw.get("widget")
    widget_name = widget.get("name") if isinstance(widget, dict) else None
    return Slot(
        name=str(raw.get("name", "")),
        type=to_slot_type(raw.get("type")),
        link=to_link_id(raw.get("link")),
        widget=widget_name if isinstance(widget_name, str) else None,
        label=next(
            (raw[key] for key in ("label", "localized_name") if isinstance(raw.get(key), str) and raw[key]),
            None,
        ),
    )


def _load_link(raw: Any) -> Link | None:
    """A v0.4 array link `[id, origin, slot, target, slot, type]` or a v1 object link; None if malformed."""
    if isinstance(raw, list) and len(raw) >= 5:
        fields = raw[:6] if len(raw) > 5 else [*raw[:5], "*"]
    elif isinstance(raw, dict) and "id" in raw:
        keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
        fields = [raw.get(key) for key in keys]
    else:
        return None
    link_id, origin_id, origin_slot, target_id, target_slot, link_type = fields
    if origin_id is None or target_id is None or not is_int(origin_slot) or not is_int(target_slot):
        return None
    if origin_slot < 0 or target_slot < 0:
        return None
    return Link(
        to_link_id(link_id),
        to_node_id(origin_id),
        int(origin_slot),
        to_node_id(target_id),
        int(target_slot),
        to_slot_type(link_type),
    )


def _load_group_def(name: str, raw: dict[str, Any]) -> GroupDef:
    nodes = tuple(
        _load_node(
            {**node, "id": index} if isinstance(node, dict) else node, f"group node {name}: nodes[{index}]"
        )
        for index, node in enumerate(as_list(raw.get("nodes")))
    )
    links = tuple(
        (int(link[0]), int(link[1]), int(link[2]), int(link[3]), to_slot_type(link[-1]))
        for link in as_list(raw.get("links"))
        if isinstance(link, list) and len(link) >= 5 and all(is_int(v) for v in link[:4])
    )
    external = frozenset(
        (int(entry[0]), int(entry[1]))
        for entry in as_list(raw.get("external"))
        if isinstance(entry, list) and len(entry) >= 2 and is_int(entry[0]) and is_int(entry[1])
    )
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    return GroupDef(name, nodes, links, external, config)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts_in(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in as_list(raw.get(key)) if isinstance(item, dict)]


def to_node_id(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def to_link_id(value: Any) -> Any:
    """Link ids as dictionary keys: integers stay integers, anything else hashable."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if value is None or isinstance(value, (int, str)) else repr(value)


def is_int(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def to_slot_type(value: Any) -> str:
    if isinstance(value, list):  # legacy list-COMBO sockets
        return "COMBO"
    return "*" if value in (None, "", 0) else str(value)


def check_depth(where: str, name: str, value: Any) -> None:
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


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def pack_of(properties: dict[str, Any]) -> str | None:
    return text_or_none(properties.get("cnr_id")) or text_or_none(properties.get("aux_id"))


def unique(messages: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(messages))
