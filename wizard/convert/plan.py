"""Plan: executable nodes and their widget values, as the frontend has them when it queues.

`Planner` is the builder: every node gets the widgets the frontend builds from its definition, filled
from `widgets_values` the way `LGraphNode.configure` does (by position, control/upload extras, dict
form, defaults); PrimitiveNodes push their values; subgraph instances and legacy group nodes expand into
executable nodes with ids `instance:inner` / `group:index` (`ExecutableNodeDTO`); the widget values that
subgraph instances promote are computed. It hands the renderer a frozen `Plan`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from wizard.convert.frontend_js import NodeKey, NodeNames, apply_text_replacements
from wizard.convert.frontend_only import (
    FRONTEND_ONLY_TYPES,
    GET_NODE,
    PRESET_TEXT,
    get_node_link,
    installed_packs,
    preset_text_value,
    probable_pack,
)
from wizard.convert.groups import GroupExpansion, expand_group_node, group_node_name, group_widget_values
from wizard.convert.load import (
    MODE_BYPASS,
    MODE_NEVER,
    NOTE_TYPES,
    PRIMITIVE_NODE,
    REROUTE,
    SUBGRAPH_INPUT_ID,
    Graph,
    Link,
    Node,
    Slot,
    UiGraph,
    as_list,
    check_depth,
    pack_of,
    short,
    text_or_none,
)
from wizard.convert.pack_js import vhs_record, vhs_restored
from wizard.convert.widgets import (
    UNASSIGNED,
    Layout,
    Layouts,
    live_inputs,
    migrate_force_input_placeholders,
    realign_if_shifted,
    value_matches,
)
from wizard.errors import WorkflowGraphError
from wizard.nodedefs import NodeDef, NodeDefs
from wizard.records import UnknownNode

REPLACE_PROPERTY = "Run widget replace on values"  # [FE] widgetInputs.ts:23
# KSampler sampler names saved with this prefix lose it on load ([FE] app.ts, `loadGraphData`).
LEGACY_SAMPLER_PREFIX = "sample_"


@dataclass(frozen=True)
class Exec:
    """One node as `ExecutableNodeDTO` sees it: an execution id, its graph and its live slots."""

    id: str
    path: tuple[str, ...]  # ids of the subgraph / group-node instances containing it
    graph: Graph
    node: Node
    kind: str  # "node", "unknown", "reroute", "primitive", "note", "subgraph" or "frontend_only"
    class_type: str
    title: str
    inputs: tuple[Slot, ...]
    output_types: tuple[str, ...]
    instance_titles: tuple[str, ...] = ()
    definition: Graph | None = None  # for subgraph and group-node instances
    layout: Layout | None = None  # for nodes with a definition
    virtual_link: Any = None  # the link id `getInputLink(0)` gives a frontend-only node without inputs

    @property
    def is_virtual(self) -> bool:
        return self.kind in ("reroute", "primitive", "note", "subgraph", "frontend_only")


@dataclass(frozen=True)
class Plan:
    """What the renderer reads, fixed when planning ends.

    Attributes:
        execs: executable nodes by execution id, in the frontend's order (root execution order,
            instances expanded).
        values: widget values per definition node (graph key, node id) -> {widget name: value}. Nodes
            of a subgraph definition are shared by all its instances, as the frontend's node objects are.
        promoted: per subgraph or group-node instance (graph key, node id) -> {subgraph input index:
            the value of the widget promoted from it}.
        realigned: definition nodes whose saved values were realigned (see `realign_if_shifted`).
        names: the nodes `%Node.widget%` can name.
        warnings: what planning found, in order.
    """

    execs: Mapping[str, Exec]
    values: Mapping[NodeKey, Mapping[str, Any]]
    promoted: Mapping[NodeKey, Mapping[int, Any]]
    realigned: frozenset[NodeKey]
    names: NodeNames
    warnings: tuple[str, ...]

    def promoted_value(self, instance: Exec, input_index: int) -> Any:
        """The value of the instance widget promoted from subgraph input `input_index`, or UNASSIGNED."""
        return self.promoted.get((instance.graph.key, instance.node.id), {}).get(input_index, UNASSIGNED)


def plan(ui_graph: UiGraph, node_defs: NodeDefs) -> Plan:
    """Plan the conversion of a loaded UI workflow."""
    return Planner(ui_graph, node_defs).build()


class Planner:
    """Builds executable nodes and widget values as the frontend does when it loads and queues; `build`
    hands them over as a frozen `Plan`."""

    def __init__(self, ui_graph: UiGraph, node_defs: NodeDefs):
        self.ui_graph = ui_graph
        self.node_defs = node_defs
        self.layouts = Layouts()
        self.warnings: list[str] = []
        self.definitions = dict(ui_graph.subgraphs)  # by node type; group nodes are added per instance
        self._group_instances: dict[NodeKey, GroupExpansion] = {}
        self.values: dict[NodeKey, dict[str, Any]] = {}  # see `Plan.values`
        self.realigned: set[NodeKey] = set()
        # Values PrimitiveNodes pushed into subgraph-instance widgets: (graph key, node id) -> {name: value}.
        self._pushed: dict[NodeKey, dict[str, Any]] = {}
        self._promoted: dict[NodeKey, dict[int, Any]] = {}
        self.execs: dict[str, Exec] = {}
        self._packs: frozenset[str] | None = None
        graphs = [ui_graph.root, *ui_graph.subgraphs.values()]
        self.names = NodeNames.of(
            (
                (graph.key, node.id),
                node.properties.get("Node name for S&R"),
                node.title or default_title(node.type, self.node_def(node)),
            )
            for graph in graphs
            for node in graph.nodes.values()
        )

    def build(self) -> Plan:
        graphs = [self.ui_graph.root, *self.ui_graph.subgraphs.values()]
        for graph in graphs:
            for node in graph.nodes.values():
                self._configure(graph, node)
        for graph in graphs:
            self._expand_group_nodes(graph)
        for graph in graphs:  # applyToGraph of virtual nodes ([FE] executionUtil.ts:33-42)
            for node in graph.nodes.values():
                if node.type == PRIMITIVE_NODE:
                    self._apply_primitive(graph, node)
                elif node.type == PRESET_TEXT and graph is self.ui_graph.root:
                    self._apply_preset_text(graph, node)
        root = self.ui_graph.root
        for node_id in execution_order(root):
            self._add_exec(root, root.nodes[node_id], (), (), frozenset())
        for dto in self.execs.values():
            if dto.kind == "subgraph" and not dto.definition.is_group_node:
                self._promoted_values(dto)
        return Plan(
            execs=MappingProxyType(self.execs),
            values=MappingProxyType({key: MappingProxyType(v) for key, v in self.values.items()}),
            promoted=MappingProxyType({key: MappingProxyType(v) for key, v in self._promoted.items()}),
            realigned=frozenset(self.realigned),
            names=self.names,
            warnings=tuple(self.warnings),
        )

    def _taken_for_frontend_only(self, exec_id: str, node: Node) -> bool:
        """A type no definition has, of a pack that is installed: most likely a frontend-only node this
        converter does not know. It is then treated as the frontend treats any virtual node, with a warning.
        """
        if self._packs is None:
            self._packs = installed_packs(self.node_defs)
        pack = probable_pack(node, self.node_defs, self._packs)
        if pack is not None:
            self.warnings.append(
                f"node {exec_id} ({node.title or node.type}): node type {node.type!r} is no class of the installed "
                f"pack {pack}, so it is taken for one of its frontend-only nodes, which this converter does not "
                "know: it is left out of the prompt and its outputs pass its inputs through by position, as the "
                "frontend does for virtual nodes; check the links around it"
            )
        return pack is not None

    def node_def(self, node: Node) -> NodeDef | None:
        if node.type in self.definitions:
            return None
        return self.node_defs.get(node.type)

    def layout(self, node: Node) -> Layout | None:
        node_def = self.node_def(node)
        return self.layouts.get(node_def) if node_def else None

    # -- widget values ----------------------------------------------------------------------------

    def _configure(self, graph: Graph, node: Node) -> None:
        """`LGraphNode.configure` for a node with a definition ([FE] LGraphNode.ts:836-846)."""
        layout = self.layout(node)
        if layout is None:
            return
        where = f"node {node.id} ({node.type})"
        saved = node.widgets_values
        if isinstance(saved, dict):  # record form, keyed by widget name (custom packs' own JS reads it)
            assigned = {w: saved.get(w.name, UNASSIGNED) for w in layout.widgets if w.sent}
        else:
            if saved is not None and not isinstance(saved, list):
                self.warnings.append(
                    f"{where}: widgets_values is neither a list nor an object; defaults are used"
                )
            positional = migrate_force_input_placeholders(layout, as_list(saved))
            positional = self._realign_if_shifted(graph, node, layout, positional)
            assigned = dict(zip(layout.positions, positional))
        record = vhs_record(node.type, saved)
        if record is not None:
            node_def = self.node_def(node)
            assigned = {
                w: vhs_restored(node_def, w.name, record, assigned.get(w, UNASSIGNED))
                for w in layout.widgets
                if w.sent
            }
        values = {}
        for widget in layout.widgets:
            if widget.sent:
                value = assigned.get(widget, UNASSIGNED)
                values[widget.name] = widget.hold(widget.default if value is UNASSIGNED else value)
        sampler = values.get("sampler_name")
        if node.type in ("KSampler", "KSamplerAdvanced") and isinstance(sampler, str):
            values["sampler_name"] = sampler.removeprefix(LEGACY_SAMPLER_PREFIX)
        self._check_values(where, layout, values)
        self.values[(graph.key, node.id)] = values

    def _realign_if_shifted(self, graph: Graph, node: Node, layout: Layout, values: list[Any]) -> list[Any]:
        """Undo a shift caused by an older node signature (`properties.ver`), with a warning."""
        aligned = realign_if_shifted(layout, values)
        if aligned is None:
            return values
        version = node.properties.get("ver")
        saved_by = f" (saved by version {version})" if isinstance(version, str) else ""
        self.warnings.append(
            f"node {node.id} ({node.type}): its saved widget values do not fit the current node definition"
            f"{saved_by}; they were realigned by type and missing ones set to their defaults"
        )
        self.realigned.add((graph.key, node.id))
        return aligned

    def _check_values(self, where: str, layout: Layout, values: dict[str, Any]) -> None:
        for name, value in values.items():
            check_depth(where, name, value)
            spec = layout.facts.get(name)
            if spec is not None and value is not None and not value_matches(spec, value):
                expected = "one of its options" if spec.options is not None else f"a {spec.type} value"
                self.warnings.append(f"{where}: widget {name!r} holds {short(value)}, not {expected}")

    def _apply_primitive(self, graph: Graph, node: Node) -> None:
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
            value = self._text_replacements(value, f"PrimitiveNode {node.id}")
        self._push_value(graph, node, value)

    def _apply_preset_text(self, graph: Graph, node: Node) -> None:
        """`PresetText.applyToGraph`, on the root graph only as it reads `app.graph`
        ([Custom-Scripts] web/js/presetText.js:160-185)."""
        if node.type in self.node_defs or not graph.links_from.get((node.id, 0)):
            return
        pushed = preset_text_value(node)
        if pushed.problem:
            self.warnings.append(pushed.problem + "; its targets keep their own values")
        else:
            self._push_value(graph, node, pushed.value)

    def _push_value(self, graph: Graph, node: Node, value: Any) -> None:
        """Write `value` into every widget that output 0 of `node` links to."""
        for link in graph.links_from.get((node.id, 0), ()):
            target = graph.nodes.get(link.target_id)
            slot = target_slot(target.inputs, link) if target else None
            if target is None or slot is None or slot.widget is None:
                continue
            if target.type in self.definitions:
                self._pushed.setdefault((graph.key, target.id), {})[slot.widget] = value
            elif slot.widget in self.values.get((graph.key, target.id), {}):
                spec = self.layout(target).facts.get(slot.widget)
                self.values[(graph.key, target.id)][slot.widget] = spec.held(value) if spec else value

    # -- expansion ------------------------------------------------------------------------------

    def _add_exec(
        self,
        graph: Graph,
        node: Node,
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
        if proxy_widgets(node.properties):
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

    def _describe(self, graph: Graph, node: Node, path: tuple[str, ...], titles: tuple[str, ...]) -> Exec:
        exec_id = ":".join((*path, node.id))
        common = dict(
            id=exec_id, path=path, graph=graph, node=node, class_type=node.type, instance_titles=titles
        )
        group = self._group_instances.get((graph.key, node.id))
        definition = group.graph if group else self.definitions.get(node.type)
        if definition is not None:
            if group is not None:  # the group node's own live inputs, saved links by name
                inputs = live_inputs(self.layouts.get(group.node_def), node.inputs)
            else:  # by name: saved instance inputs omit unlinked widget inputs, while links from -10
                saved = {slot.name: slot.link for slot in node.inputs}  # carry the definition's slot index
                inputs = tuple(Slot(s.name, s.type, saved.get(s.name), s.name) for s in definition.inputs)
            title = node.title or definition.name or node.type
            return Exec(
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
            return Exec(
                **common,
                kind=kind,
                title=node.title or node.type,
                inputs=inputs,
                output_types=node.output_types,
            )
        node_def = self.node_def(node)
        if node_def is None and (
            node.type in FRONTEND_ONLY_TYPES or self._taken_for_frontend_only(exec_id, node)
        ):
            return Exec(
                **common,
                kind="frontend_only",
                title=node.title or node.type,
                inputs=node.inputs,
                output_types=node.output_types,
                virtual_link=get_node_link(graph, node) if node.type == GET_NODE else None,
            )
        if node_def is None:
            return Exec(
                **common,
                kind="unknown",
                title=node.title or node.type,
                inputs=node.inputs,
                output_types=node.output_types,
            )
        return Exec(
            **common,
            kind="node",
            title=node.title or default_title(node.type, node_def),
            inputs=live_inputs(self.layouts.get(node_def), node.inputs),
            output_types=node_def.output_types or node.output_types,
            layout=self.layouts.get(node_def),
        )

    # -- subgraph promoted widgets --------------------------------------------------------------

    def _promoted_values(self, instance: Exec) -> dict[int, Any]:
        """{subgraph input index: the value of the instance widget promoted from it}.

        1.27.10 promotes, for each subgraph input, the widget of the first inner input it links to that
        has one ([FE] SubgraphNode.ts:268-313), named after the subgraph input; the instance's
        `widgets_values` fill those widgets in subgraph-input order.
        """
        key = (instance.graph.key, instance.node.id)
        if key not in self._promoted:
            self._promoted[key] = self._promote(instance)
        return self._promoted[key]

    def _promote(self, instance: Exec) -> dict[int, Any]:
        promoted = {}
        for index in range(len(instance.inputs)):
            value = self._inner_widget_value(instance, index)
            if value is not UNASSIGNED:
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
            check_depth(f"node {instance.id}", name, promoted[index])
        return promoted

    def _inner_widget_value(self, instance: Exec, input_index: int) -> Any:
        definition = instance.definition
        assert definition is not None
        for link in definition.links_from.get((SUBGRAPH_INPUT_ID, input_index), ()):
            target = self.execs.get(f"{instance.id}:{link.target_id}")
            slot = target_slot(target.inputs, link) if target else None
            if target is None or slot is None or slot.widget is None:
                continue
            if target.kind == "subgraph":
                index = next(i for i, s in enumerate(target.inputs) if s.name == slot.widget)
                value = self._promoted_values(target).get(index, UNASSIGNED)
            else:
                value = self.values.get((definition.key, target.node.id), {}).get(slot.widget, UNASSIGNED)
            if value is not UNASSIGNED:
                return value
        return UNASSIGNED

    # -- text replacement -----------------------------------------------------------------------

    def _text_replacements(self, value: str, where: str) -> str:
        result, warning = apply_text_replacements(value, self.names, self.values, where)
        if warning:
            self.warnings.append(warning)
        return result

    # -- legacy group nodes ---------------------------------------------------------------------

    def _expand_group_nodes(self, graph: Graph) -> None:
        for node in graph.nodes.values():
            name = group_node_name(node.type)
            group = self.ui_graph.group_nodes.get(name) if name else None
            if group is None or node.type in self.node_defs or node.type in self.definitions:
                continue
            expansion = expand_group_node(group, node, self.node_defs, self.layouts)
            self._group_instances[(graph.key, node.id)] = expansion
            for inner in expansion.graph.nodes.values():
                self._configure(expansion.graph, inner)
            layout = self.layouts.get(expansion.node_def)
            group_widget_values(expansion, node, layout, self.layout, self.values)
            for name in expansion.unread_inputs:
                self.warnings.append(
                    f"node {node.id} ({node.title or group.name}): input {name!r} of the group node is linked, but "
                    "frontend 1.27.10 reads another input of the group node in its place, so the link is lost "
                    "and the widget keeps its value, as in the browser; convert the group node to a subgraph"
                )


def proxy_widgets(properties: dict[str, Any]) -> list[Any]:
    """`properties.proxyWidgets`, a list or a JSON-encoded list (newer frontends; 1.27.10 ignores it)."""
    value = properties.get("proxyWidgets")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def default_title(class_type: str, node_def: NodeDef | None) -> str:
    """A node's title when it has none: its display name ([FE] litegraphService.ts:376)."""
    return node_def.display_name if node_def else class_type


def target_slot(inputs: tuple[Slot, ...], link: Link) -> Slot | None:
    """The input a link ends at: the one holding its id, else its `target_slot` index (`LLink.resolve`)."""
    for slot in inputs:
        if slot.link == link.id:
            return slot
    return inputs[link.target_slot] if 0 <= link.target_slot < len(inputs) else None


def execution_order(graph: Graph) -> list[str]:
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


def unknown_node(dto: Exec) -> UnknownNode:
    properties = dto.node.properties
    return UnknownNode(dto.id, dto.class_type, pack_of(properties), text_or_none(properties.get("ver")))


def unknown_warning(unknown: UnknownNode) -> str:
    pack = ""
    if unknown.pack:
        pack = f" from node pack {unknown.pack}" + (f" {unknown.version}" if unknown.version else "")
    return (
        f"node {unknown.id}: node type {unknown.class_type!r}{pack} is not installed here, so only its links "
        "were kept (its widget values cannot be named without its definition); install the pack and convert "
        "with the live node definitions"
    )
