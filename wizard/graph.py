"""The flattened workflow as a networkx graph, and its picture for the wizard's graph step.

`build_graph` turns a `Conversion` into a `DiGraph` (one node per API prompt node, one edge per
origin → target pair) annotated with what later stages ask about a node: its role (model loader,
input such as an image upload or a primitive, output, other), its pack and the subgraph instances
containing it. `render_svg` draws that graph as a standalone SVG: layered left to right along the
data flow, ordered to reduce crossings, coloured by role; it needs no graphviz.

Titles come from the workflow, which is hostile input: every text drawn is stripped of characters
XML cannot hold and escaped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

from runtime.links import is_link
from wizard.nodedefs import NodeDef, NodeDefs
from wizard.records import Conversion, FlatNode

# Layout, in SVG user units. A column holds at most MAX_ROWS boxes; a longer layer wraps into several
# columns, so a 300-node graph stays a readable grid instead of one very tall strip.
MAX_ROWS = 12
_CHAR_WIDTH = 7.2  # average advance of the 12px sans-serif title font
_BOX_HEIGHT = 54
_ROW_GAP = 18
_LAYER_GAP = 70  # between layers: room for the edges
_WRAP_GAP = 26  # between the columns of one wrapped layer
_MARGIN = 20
_LEGEND_HEIGHT = 34
_SWEEPS = 3

_STYLE = {  # fill, stroke
    "loader": ("#dbeafe", "#2563eb"),
    "input": ("#fef9c3", "#ca8a04"),
    "chosen": ("#fed7aa", "#ea580c"),
    "output": ("#dcfce7", "#16a34a"),
    "other": ("#f3f4f6", "#6b7280"),
}
_LEGEND = (
    ("loader", "model loader"),
    ("input", "input node"),
    ("chosen", "chosen input"),
    ("output", "output"),
    ("other", "other"),
)
# Characters XML 1.0 cannot contain at all (escaping does not help), lone surrogates included.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- graph -------------------------------------------------------------------------------------


def build_graph(conversion: Conversion, node_defs: NodeDefs) -> nx.DiGraph:
    """One graph node per prompt node (attributes `class_type`, `title`, `role`, `pack`,
    `subgraph`) and one edge per origin → target pair (attributes `slot`, `input`, `type` of the
    first link between them in input order, and `inputs`, the names of all such links)."""
    graph = nx.DiGraph()
    for node_id, node in conversion.nodes.items():
        graph.add_node(
            node_id,
            class_type=node.class_type,
            title=node.title,
            role=node_role(node, node_defs.get(node.class_type)),
            pack=node.pack,
            subgraph=node.subgraph,
        )
    for node_id, node in conversion.nodes.items():
        for input_name, value in node.inputs.items():
            if not is_link(value) or value[0] not in conversion.nodes:
                continue  # a widget value (the converter already dropped links to absent nodes)
            origin, slot = value[0], int(value[1])
            if graph.has_edge(origin, node_id):
                graph.edges[origin, node_id]["inputs"] += (input_name,)
                continue
            link_type = _output_type(node_defs.get(conversion.nodes[origin].class_type), slot)
            graph.add_edge(origin, node_id, slot=slot, input=input_name, type=link_type, inputs=(input_name,))
    return graph


def node_role(node: FlatNode, node_def: NodeDef | None) -> str:
    """The node's role in the picture: an output node is "output", one reading a model folder
    "loader", one taking an upload, an input-folder file or a primitive value "input", else "other"."""
    if node_def is None:
        return "other"
    if node_def.is_output_node:
        return "output"
    if any(spec.model_folder for spec in node_def.inputs):
        return "loader"
    if node.class_type.startswith("Primitive") or any(
        spec.upload_kind or spec.input_file_kinds for spec in node_def.inputs
    ):
        return "input"
    return "other"


def _output_type(node_def: NodeDef | None, slot: int) -> str:
    types = node_def.output_types if node_def else ()
    return types[slot] if 0 <= slot < len(types) else "*"


# --- layout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    node_id: str
    x: float
    y: float


def _layers(graph: nx.DiGraph) -> list[list[str]]:
    """Columns along the data flow: topological generations (of the strongly connected
    components, so even a cyclic graph lays out), each node in a column after its origins.
    Sources (loaders, primitives) then move right to just before their first target, so a seed
    used at the end of a long chain does not draw an edge across the whole picture."""
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    level = {
        component: index
        for index, generation in enumerate(nx.topological_generations(condensed))
        for component in generation
    }
    for component in condensed:
        targets = list(condensed.successors(component))
        if condensed.in_degree(component) == 0 and targets:
            level[component] = min(level[target] for target in targets) - 1
    layers: dict[int, list[str]] = {}
    for node_id in graph.nodes:  # graph order: the prompt's order, a stable start for sorting
        layers.setdefault(level[members[node_id]], []).append(node_id)
    return [layers[index] for index in sorted(layers)]


def _reduce_crossings(graph: nx.DiGraph, layers: list[list[str]]) -> list[list[str]]:
    """A few barycenter sweeps: order each layer by the mean position of its neighbours in the
    layers already placed (left to right by origins, then right to left by targets)."""
    position = {node_id: index for layer in layers for index, node_id in enumerate(layer)}

    def reorder(layer: list[str], neighbours) -> list[str]:
        def barycenter(node_id: str) -> float:
            placed = [position[other] for other in neighbours(node_id)]
            return sum(placed) / len(placed) if placed else position[node_id]

        ordered = sorted(layer, key=lambda node_id: (barycenter(node_id), position[node_id]))
        position.update({node_id: index for index, node_id in enumerate(ordered)})
        return ordered

    for _ in range(_SWEEPS):
        layers = [layers[0]] + [reorder(layer, graph.predecessors) for layer in layers[1:]]
        layers = [reorder(layer, graph.successors) for layer in layers[:-1]] + [layers[-1]]
    return layers


def _place(layers: list[list[str]], box_width: float) -> list[_Box]:
    """Boxes on a grid: each layer in ceil(n / MAX_ROWS) columns, vertically centred."""
    rows = min(MAX_ROWS, max((len(layer) for layer in layers), default=1))
    full_height = rows * (_BOX_HEIGHT + _ROW_GAP) - _ROW_GAP
    boxes: list[_Box] = []
    x = _MARGIN
    for layer in layers:
        columns = math.ceil(len(layer) / MAX_ROWS)
        per_column = math.ceil(len(layer) / columns)
        for column in range(columns):
            cell = layer[column * per_column : (column + 1) * per_column]
            height = len(cell) * (_BOX_HEIGHT + _ROW_GAP) - _ROW_GAP
            top = _MARGIN + _LEGEND_HEIGHT + (full_height - height) / 2
            boxes += [
                _Box(node_id, x, top + row * (_BOX_HEIGHT + _ROW_GAP)) for row, node_id in enumerate(cell)
            ]
            x += box_width + (_WRAP_GAP if column < columns - 1 else _LAYER_GAP)
    return boxes


# --- SVG ---------------------------------------------------------------------------------------


def render_svg(graph: nx.DiGraph, *, highlight: Iterable[str] = frozenset(), max_label: int = 28) -> str:
    """A standalone SVG of `graph` (from `build_graph`); `highlight` holds the ids of the nodes
    whose values the user chose as app inputs. Titles longer than `max_label` are shortened (the
    full text is in each box's tooltip). The `viewBox` lets any container scale and zoom it."""
    chosen = set(highlight)
    box_width = round(max(max_label, 12) * _CHAR_WIDTH + 20)
    boxes = _place(_reduce_crossings(graph, _layers(graph)), box_width) if len(graph) else []
    where = {box.node_id: box for box in boxes}
    width = max([box.x + box_width for box in boxes] + [5 * 150]) + _MARGIN
    height = max([box.y + _BOX_HEIGHT for box in boxes] + [_LEGEND_HEIGHT]) + _MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" font-family="system-ui, sans-serif" font-size="12" '
        'role="img" aria-label="workflow graph">',
        "<style>.edge{fill:none;stroke:#94a3b8;stroke-width:1.3;opacity:.85}"
        ".title{font-weight:600;fill:#111827}.detail{font-size:10px;fill:#4b5563}"
        ".tag{font-size:10px;font-style:italic;fill:#7c3aed}</style>",
        _legend(),
    ]
    parts += [_edge(graph, origin, target, where, box_width) for origin, target in graph.edges]
    parts += [
        _node(graph.nodes[box.node_id], box, box_width, max_label, box.node_id in chosen) for box in boxes
    ]
    parts.append("</svg>")
    return "\n".join(parts)


def _legend() -> str:
    items = []
    for index, (style, label) in enumerate(_LEGEND):
        fill, stroke = _STYLE[style]
        x = _MARGIN + index * 150
        items.append(
            f'<rect x="{x}" y="{_MARGIN}" width="16" height="12" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 22}" y="{_MARGIN + 11}" class="detail">{label}</text>'
        )
    return f'<g class="legend">{"".join(items)}</g>'


def _edge(graph: nx.DiGraph, origin: str, target: str, where: dict[str, _Box], box_width: float) -> str:
    start, end = where[origin], where[target]
    x1, y1 = start.x + box_width, start.y + _BOX_HEIGHT / 2
    x2, y2 = end.x, end.y + _BOX_HEIGHT / 2
    bend = max(30.0, abs(x2 - x1) / 2)
    attributes = graph.edges[origin, target]
    tip = (
        f"{graph.nodes[origin]['title']} → {graph.nodes[target]['title']}: {', '.join(attributes['inputs'])}"
    )
    return (
        f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} '
        f'{x2:.1f},{y2:.1f}"><title>{_text(tip)} ({_text(attributes["type"])})</title></path>'
    )


def _node(attributes: dict[str, Any], box: _Box, box_width: float, max_label: int, chosen: bool) -> str:
    style = "chosen" if chosen else attributes["role"]
    fill, stroke = _STYLE[style]
    title, class_type = attributes["title"], attributes["class_type"]
    detail = class_type if class_type != title else (attributes["pack"] or "")
    if detail == "comfy-core":
        detail = ""
    subgraph = attributes["subgraph"]
    tag = f"in: {' › '.join(subgraph)}" if subgraph else ""
    tooltip = "\n".join(
        line for line in (title, f"{class_type} (id {box.node_id})", tag, attributes["pack"] or "") if line
    )
    lines = [(_shorten(title, max_label), "title", 18), (_shorten(detail, max_label + 4), "detail", 32)]
    if tag:
        lines.append((_shorten(tag, max_label + 4), "tag", 46))
    texts = "".join(
        f'<text x="{box.x + 10:.1f}" y="{box.y + offset:.1f}" class="{kind}">{_text(text)}</text>'
        for text, kind, offset in lines
        if text
    )
    return (
        f'<g class="node {style}" data-node-id={quoteattr(_clean(box.node_id))} data-role="{attributes["role"]}">'
        f"<title>{_text(tooltip)}</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box_width}" height="{_BOX_HEIGHT}" rx="7" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if chosen else 1.5}"/>{texts}</g>'
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(_clean(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean(text: Any) -> str:
    return _NOT_XML.sub("", str(text))


def _text(text: Any) -> str:
    return escape(_clean(text))
