"""cg-use-everywhere's broadcast links: when a prompt is queued, every unconnected input that a live
"Anything / Prompts / Seed Everywhere" node's broadcast matches (type, title, input-name and group rules,
priority) gets a real link from the broadcast source, for that prompt only ([UE] js/use_everywhere.js:284-305,
js/use_everywhere_graph_analysis.js:34-104, js/use_everywhere_apply.js:6-32).

The converter adds those links to the loaded graph before planning, as the queue path does (a bare
`app.graphToPrompt()` outside a queue adds none). Cited at cg-use-everywhere 1603180 (7.4, the last
commit on or before the corpus date 2025-10-20). Regular expressions are the user's JavaScript ones,
read with Python's `re` (the same for the character classes and alternations people write).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from wizard.convert.load import MODE_BYPASS, MODE_NEVER, SUBGRAPH_INPUT_ID, index_links_from
from wizard.convert.load import Graph, Link, Node, Slot, UiGraph
from wizard.convert.widgets import Layouts, live_inputs
from wizard.nodedefs import NodeDefs

UE_TYPES = ("Seed Everywhere", "Prompts Everywhere")  # and every type starting "Anything Everywhere"
VERSION = "7.4"  # [UE] js/shared.js:11
# [UE] js/i18n.js:50-58: built from KSampler's localized input names; `seed_input_regex` names `positive`.
SEED_INPUT_REGEX = "seed|positive"
PROMPT_REGEXES = (r"(_|\b)pos(itive|_|\b)|positive", r"(_|\b)neg(ative|_|\b)|negative")


def is_ue_node(node: Node, include_converts: bool) -> bool:
    """`is_UEnode` ([UE] js/use_everywhere_utilities.js:268-272)."""
    if include_converts and node.properties.get("ue_convert"):
        return True
    return node.type.startswith("Anything Everywhere") or node.type in UE_TYPES


def _is_live(node: Node | None) -> bool:
    """`node_is_live` without "connect to bypassed" ([UE] js/use_everywhere_utilities.js:215-221)."""
    return node is not None and node.mode not in (MODE_NEVER, MODE_BYPASS)


@dataclass(frozen=True)
class Broadcast:
    """One `UseEverywhere` ([UE] js/use_everywhere_classes.js:33-140).

    Attributes:
        controller: the UE node.
        type: the data type it sends.
        origin: (node id, output slot) of what it sends.
        title_regex, input_regex: the matching rules (None: anything).
        restrict_to: node ids it may send to (None: all).
        priority: higher wins; a tie is ambiguous and sends nothing.
        requirement: the extra rule of a type that the controller receives twice, else None.
        string_to_combo: a STRING may feed a COMBO input.
    """

    controller: Node
    type: str
    origin: tuple[str, int]
    title_regex: re.Pattern[str] | None
    input_regex: re.Pattern[str] | None
    restrict_to: frozenset[str] | None
    priority: float
    requirement: Callable[[Slot, str], bool] | None
    string_to_combo: bool

    def matches(self, node: Node, node_label: str, slot: Slot) -> bool:
        """`UseEverywhere.matches` ([UE] js/use_everywhere_classes.js:81-125)."""
        if self.requirement is not None and not self.requirement(slot, node_label):
            return False
        if self.origin[0] == node.id or self.restrict_to is not None and node.id not in self.restrict_to:
            return False
        if self.title_regex is not None and not self.title_regex.search(node_label):
            return False
        if self.type != slot.type and not (
            self.type == "STRING" and slot.type == "COMBO" and self.string_to_combo
        ):
            return False
        return self.input_regex is None or bool(self.input_regex.search(slot.label or slot.name))


def broadcast_links(ui_graph: UiGraph, node_defs: NodeDefs) -> tuple[UiGraph, tuple[str, ...]]:
    """The workflow with every broadcast link added, in each graph (`for_all_graphs`), and warnings."""
    warnings: list[str] = []
    graphs = [ui_graph.root, *ui_graph.subgraphs.values()]
    if not any(is_ue_node(node, True) for graph in graphs for node in graph.nodes.values()):
        return ui_graph, ()
    layouts = Layouts()
    root = _broadcast(ui_graph.root, node_defs, layouts, warnings)
    subgraphs = {
        key: _broadcast(graph, node_defs, layouts, warnings) for key, graph in ui_graph.subgraphs.items()
    }
    return replace(ui_graph, root=root, subgraphs=subgraphs), tuple(warnings)


def _ue_properties(node: Node) -> dict[str, Any]:
    """`setup_ue_properties_onload` and `convert_node_types` for a UE node ([UE] js/ue_properties.js:85-143)."""
    properties = node.properties
    current = dict(_mapping(properties.get("ue_properties")))
    if not _version_at_least(current.get("version"), "7.0"):
        saved = node.widgets_values if isinstance(node.widgets_values, list) else []
        current = {
            "version": VERSION,
            "group_restricted": properties.get("group_restricted"),
            "color_restricted": properties.get("color_restricted"),
            "title_regex": saved[0] if len(saved) > 0 else None,
            "input_regex": saved[1] if len(saved) > 1 else None,
            "group_regex": saved[2] if len(saved) > 2 else None,
        }
    if node.type == "Seed Everywhere":
        current["seed_inputs"] = True
        current["input_regex"] = current.get("input_regex") or SEED_INPUT_REGEX
    elif node.type == "Prompts Everywhere":
        current["prompt_regexes"] = True
    for name in ("title", "input", "prompt", "negative", "group"):
        if current.get(f"{name}_regex") == ".*":
            current[f"{name}_regex"] = None
    return current


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    """A numeric property, 0 for anything else (saved workflows are untrusted)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else 0


def _version_at_least(version: Any, wanted: str) -> bool:
    def parts(text: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in text.split(".")]

    return isinstance(version, str) and parts(version) >= parts(wanted)


def _regex(properties: dict[str, Any], name: str) -> re.Pattern[str] | None:
    """`regex_for` ([UE] js/use_everywhere_classes.js:15-22): None for none, `.*` or an invalid one."""
    text = properties.get(f"{name}_regex")
    if not text or not isinstance(text, str) or text == ".*":
        return None
    try:
        return re.compile(text)
    except re.error:
        return None


def _default_priority(node: Node, properties: dict[str, Any]) -> int:
    """`default_priority` ([UE] js/ue_properties.js:60-67)."""
    priority = 10 + (10 if node.type in UE_TYPES else 0)
    if any(properties.get(f"{name}_regex") for name in ("title", "input", "prompt", "negative", "group")):
        priority += 20
    if _number(properties.get("group_restricted")) > 0:
        priority += 3
    if _number(properties.get("color_restricted")) > 0:
        priority += 6
    return priority


def _source(graph: Graph, link_id: Any) -> Link | None:
    """`handle_bypass`: the link that really feeds, following bypassed origins by type
    ([UE] js/use_everywhere_utilities.js:232-249)."""
    link = graph.links.get(link_id)
    if link is None or not link.type:
        return None
    wanted = link.type
    while link.origin_id != SUBGRAPH_INPUT_ID:
        parent = graph.nodes.get(link.origin_id)
        if parent is None:
            return None
        if parent.mode != MODE_BYPASS:
            return link
        inputs = parent.inputs
        same = inputs[link.origin_slot] if link.origin_slot < len(inputs) else None
        slot = (
            same
            if same is not None and same.type == wanted
            else next((s for s in inputs if s.type == wanted), None)
        )
        if slot is None or slot.link is None or graph.links.get(slot.link) is None:
            return None
        link = graph.links[slot.link]
    return link


def _groups_containing(graph: Graph, node: Node | None) -> list[tuple[str, frozenset[str]]]:
    """(title, node ids inside) of each group whose box holds the node's centre (every group for None)
    (`recomputeInsideNodes` / `containsCentre`, [FE] LGraphGroup.ts)."""
    found = []
    for group in graph.groups:
        inside = frozenset(n.id for n in graph.nodes.values() if _centre_in(n, group.bounding))
        if node is None or node.id in inside:
            found.append((group.title, inside))
    return found


def _centre_in(node: Node, rect: tuple[float, float, float, float]) -> bool:
    if node.box is None:
        return False
    x, y = node.box[0] + node.box[2] * 0.5, node.box[1] + node.box[3] * 0.5
    return rect[0] <= x < rect[0] + rect[2] and rect[1] <= y < rect[1] + rect[3]


def _restriction(graph: Graph, node: Node, properties: dict[str, Any]) -> frozenset[str] | None:
    """`add_ue`'s group and colour restrictions ([UE] js/use_everywhere_classes.js:174-182,
    js/use_everywhere_ui.js:9-77)."""
    restrict: frozenset[str] | None = None
    all_ids = frozenset(graph.nodes)
    group_rule, color_rule = properties.get("group_restricted"), properties.get("color_restricted")
    if group_rule in (1, 2):
        mine = frozenset().union(*(inside for _, inside in _groups_containing(graph, node)))
        restrict = mine if group_rule == 1 else all_ids - mine
    if color_rule in (1, 2):
        base = restrict if restrict is not None else all_ids
        same = frozenset(i for i in base if graph.nodes[i].color == node.color)
        restrict = same if color_rule == 1 else base - same
    group_regex = _regex(properties, "group")
    if group_regex is not None:
        inside = frozenset().union(
            *(ids for title, ids in _groups_containing(graph, None) if group_regex.search(title))
        )
        restrict = inside if restrict is None else inside & restrict
    return restrict


def _repeated_type_rule(rule: Any, name: str) -> Callable[[Slot, str], bool]:
    """How a type received twice picks its targets ([UE] js/use_everywhere_classes.js:280-310)."""

    def target(slot: Slot) -> str:
        return slot.label or slot.name

    if rule == 1:
        return lambda slot, _: _same_start(target(slot), name)
    if rule == 2:
        return lambda slot, _: _same_ending(target(slot), name)
    if rule == 3:
        return lambda _, node_label: node_label == name
    return lambda slot, _: target(slot) == name


def _same_start(a: str, b: str) -> bool:
    chars = min(len(a), len(b))
    return a[:chars] == b[:chars]


def _same_ending(a: str, b: str) -> bool:
    chars = min(len(a), len(b))
    return a[len(a) - chars :] == b[len(b) - chars :]


def _broadcasts(graph: Graph) -> list[Broadcast]:
    """`UseEverywhereList.add_ue_from_node` for every live UE node ([UE] js/use_everywhere_classes.js:258-315)."""
    found: list[Broadcast] = []
    for node in graph.nodes.values():
        if not (_is_live(node) and is_ue_node(node, True)):
            continue
        properties = _ue_properties(node)
        common = dict(
            controller=node,
            title_regex=_regex(properties, "title"),
            restrict_to=_restriction(graph, node, properties),
            priority=_number(properties.get("priority")) or _default_priority(node, properties),
            string_to_combo=_number(properties.get("string_to_combo")) > 0,
        )
        if properties.get("seed_inputs"):
            candidates = [("INT", (node.id, 0), _regex(properties, "input"), None)]
        else:
            sources = [(i, slot, _source(graph, slot.link)) for i, slot in enumerate(node.inputs)]
            sources = [(i, slot, link) for i, slot, link in sources if link is not None]
            types = [link.type for _, _, link in sources]
            candidates = []
            for i, slot, link in sources:
                input_regex = _regex(properties, "input")
                requirement = None
                if properties.get("prompt_regexes"):
                    input_regex = _regex(properties, ("prompt", "negative")[i]) if i < 2 else None
                    if input_regex is None and i < 2:
                        input_regex = re.compile(PROMPT_REGEXES[i])
                elif types.count(link.type) > 1:
                    requirement = _repeated_type_rule(
                        properties.get("repeated_type_rule") or 0, slot.label or slot.name
                    )
                candidates.append((link.type, (link.origin_id, link.origin_slot), input_regex, requirement))
        for kind, origin, input_regex, requirement in candidates:
            upstream = graph.nodes.get(origin[0])
            if origin[0] != SUBGRAPH_INPUT_ID and not _is_live(upstream):  # `validity_errors`
                continue
            found.append(
                Broadcast(
                    type=kind, origin=origin, input_regex=input_regex, requirement=requirement, **common
                )
            )
    return found


def _broadcast(graph: Graph, node_defs: NodeDefs, layouts: Layouts, warnings: list[str]) -> Graph:
    """`analyse_graph` then `convert_to_links` for one graph ([UE] js/use_everywhere_graph_analysis.js:62-104)."""
    broadcasts = _broadcasts(graph)
    if not broadcasts:
        return graph
    links = dict(graph.links)
    nodes = dict(graph.nodes)
    for node in graph.nodes.values():
        if not _is_live(node) or is_ue_node(node, False) or node.properties.get("rejects_ue_links"):
            continue
        node_def = node_defs.get(node.type)
        inputs = live_inputs(layouts.get(node_def), node.inputs) if node_def else node.inputs
        label = node.title or (node_def.display_name if node_def else node.type)
        connectable = _mapping(node.properties.get("ue_properties"))
        changed = list(inputs)
        for index, slot in enumerate(inputs):
            if slot.link is not None and _source(graph, slot.link) is not None:
                continue  # `is_connected`
            if slot.widget is not None:
                if not _mapping(connectable.get("widget_ue_connectable")).get(slot.name):
                    continue
            elif _mapping(connectable.get("input_ue_unconnectable")).get(slot.name):
                continue
            best = _best_match(broadcasts, node, label, slot, warnings)
            if best is None:
                continue
            link = Link(("ue", len(links)), best.origin[0], best.origin[1], node.id, index, best.type)
            links[link.id] = link
            changed[index] = replace(slot, link=link.id)
        if changed != list(inputs):
            nodes[node.id] = replace(node, inputs=tuple(changed))
    return replace(graph, nodes=nodes, links=links, links_from=index_links_from(links))


def _best_match(
    broadcasts: list[Broadcast], node: Node, label: str, slot: Slot, warnings: list[str]
) -> Broadcast | None:
    """`find_best_match` ([UE] js/use_everywhere_classes.js:197-222): the highest priority; a tie sends nothing."""
    matches = sorted((b for b in broadcasts if b.matches(node, label, slot)), key=lambda b: -b.priority)
    if not matches:
        return None
    if len(matches) > 1 and matches[0].priority == matches[1].priority:
        tied = ", ".join(
            f"{m.controller.type} {m.controller.id}" for m in matches if m.priority == matches[0].priority
        )
        warnings.append(
            f"node {node.id} ({label}): input {slot.name!r} matches several Use Everywhere broadcasts of the same "
            f"priority ({tied}), so none is linked, as the pack does; set a priority or a restriction"
        )
        return None
    return matches[0]
