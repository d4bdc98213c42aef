"""Legacy group nodes (`extra.groupNodes`, frontend before subgraphs) as frontend 1.27.10 runs them
([FE] groupNode.ts `GroupNodeConfig`, `GroupNodeHandler`; executableGroupNodeChildDTO.ts).

Each instance becomes a graph of its inner nodes (execution ids `group:index`). Its inputs and widgets
are the inner nodes' unlinked sockets and widgets, node by node, with duplicate names renamed
(`LatentUpscaleBy samples`), and the widgets converted to inputs last of all; the instance's saved
inputs take their links by name. An inner input reads the group input at the index `oldToNewInputMap`
gives, which for a converted widget linked from outside is usually another input, so that link is lost
and the widget keeps its value, exactly as in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from wizard.convert.load import (
    GROUP_KEY_PREFIX,
    SUBGRAPH_INPUT_ID,
    SUBGRAPH_OUTPUT_ID,
    Graph,
    GroupDef,
    Link,
    Node,
    as_list,
    index_links_from,
)
from wizard.convert.widgets import Layout, Layouts, live_inputs
from wizard.nodedefs import WIDGET_TYPES, NodeDef, NodeDefs


def group_node_name(node_type: str) -> str | None:
    """The group definition an instance type names (`workflow>NAME`, older `workflow/NAME`)."""
    for prefix in ("workflow>", "workflow/"):
        if node_type.startswith(prefix):
            return node_type[len(prefix) :]
    return None


@dataclass(frozen=True)
class GroupExpansion:
    """One legacy group node instance, expanded as `GroupNodeConfig.registerType` and `GroupNodeHandler`
    build it ([FE] groupNode.ts).

    Attributes:
        graph: its inner nodes (ids: their index) with their live inputs and links, keyed
            `group:NAME:ID`; `inputs` are the group node's own live inputs (sockets, then one per widget);
            a link from SUBGRAPH_INPUT_ID carries `oldToNewInputMap` (the index into those inputs).
        node_def: the group node's definition (`GroupNodeConfig.nodeDef`), which gives its widgets.
        widget_targets: group widget name -> (inner index, inner input name) (`newToOldWidgetMap`).
    """

    graph: Graph
    node_def: NodeDef
    widget_targets: dict[str, tuple[str, str]]
    unread_inputs: tuple[str, ...] = ()  # the instance's linked inputs that no inner input reads


class _GroupNodeConfig:
    """`GroupNodeConfig.registerType`: names, order and mapping of the group node's inputs and outputs."""

    def __init__(self, group: GroupDef, node_defs: NodeDefs):
        self.group = group
        self.node_defs = node_defs
        self.links_to: dict[str, dict[int, tuple[str, int, str]]] = {}  # target -> slot -> origin, slot, type
        self.linked_outputs: set[tuple[str, int]] = set()
        for origin, origin_slot, target, target_slot, link_type in group.links:  # `getLinks`
            self.links_to.setdefault(str(target), {})[target_slot] = (str(origin), origin_slot, link_type)
            self.linked_outputs.add((str(origin), origin_slot))
        self.required: dict[str, list[Any]] = {}
        self.input_maps: dict[str, dict[int, int]] = {}
        self.widget_targets: dict[str, tuple[str, str]] = {}
        self.outputs: list[tuple[str, int, str]] = []  # inner index, slot, type of each visible output
        self._seen: dict[str, int] = {}
        self._input_count = 0
        converted_to_process = []
        for inner in group.nodes:
            node_def = node_defs.get(inner.type)
            if node_def is None:  # PrimitiveNode / Reroute / unknown inside a group add nothing here
                continue
            inputs = _declared_inputs(node_def)
            converted, slots = self._widget_inputs(inner, inputs)
            self._input_slots(inner, inputs, slots)
            converted_to_process.append((inner, inputs, slots, converted))
            self._outputs(inner, node_def)
        for inner, inputs, slots, converted in converted_to_process:  # after every node, as there
            self._converted_widgets(inner, inputs, slots, converted)

    def node_def(self) -> NodeDef:
        name = f"workflow>{self.group.name}"
        return NodeDef(
            name,
            {
                "input": {"required": self.required},
                "input_order": {"required": list(self.required)},
                "output": [kind for *_, kind in self.outputs],
                "name": name,
                "display_name": self.group.name,
            },
        )

    def _input_config(self, inner: Node, input_name: str, config: Any, extra: dict | None = None):
        """`getInputConfig`: the group input's name (renamed on duplicates) and its config."""
        custom = self._custom(inner, "input", input_name)
        label = next((s.label for s in inner.inputs if s.name == input_name and s.label), None)
        name = custom.get("name") if isinstance(custom.get("name"), str) else (label or input_name)
        key, prefix = name, ""
        if inner.type == "PrimitiveNode" and inner.title or name in self._seen:
            prefix = f"{inner.title or inner.type} "
            key = name = f"{prefix}{input_name}"
            if name in self._seen:
                name = f"{prefix}{self._seen[name]} {input_name}"
        self._seen[key] = self._seen.get(key, 1) + 1
        if input_name in ("seed", "noise_seed"):
            extra = {**(extra or {}), "control_after_generate": f"{prefix}control_after_generate"}
        config = list(config) if isinstance(config, list) and config else ["*", {}]
        if extra:
            options = config[1] if len(config) > 1 and isinstance(config[1], dict) else {}
            config = [config[0], {**options, **extra}]
        return name, config, custom

    def _custom(self, inner: Node, side: str, key: Any) -> dict[str, Any]:
        entry = self.group.config.get(inner.id) or {}
        found = (entry.get(side) or {}).get(str(key)) if isinstance(entry, dict) else None
        return found if isinstance(found, dict) else {}

    def _widget_inputs(self, inner: Node, inputs: dict[str, Any]) -> tuple[dict[int, str], list[str]]:
        """`processWidgetInputs`: widgets become group widgets; widgets converted to inputs wait."""
        converted: dict[int, str] = {}
        slots: list[str] = []
        for input_name, config in inputs.items():
            if not _input_is_widget(config):
                slots.append(input_name)
                continue
            index = next(
                (i for i, s in enumerate(inner.inputs) if s.name == input_name and s.widget == input_name), -1
            )
            if index > -1:
                converted[index] = input_name
                continue
            name, config, _ = self._input_config(inner, input_name, config)
            self.required[name] = config
            self.widget_targets[name] = (inner.id, input_name)
        return converted, slots

    def _input_slots(self, inner: Node, inputs: dict[str, Any], slots: list[str]) -> None:
        """`processInputSlots`: socket inputs not fed inside the group become group inputs."""
        input_map = self.input_maps.setdefault(inner.id, {})
        for index, input_name in enumerate(slots):
            if index in self.links_to.get(inner.id, {}):
                continue
            name, config, custom = self._input_config(inner, input_name, inputs[input_name])
            if custom.get("visible") is False:
                continue
            self.required[name] = config
            input_map[index] = self._input_count
            self._input_count += 1

    def _converted_widgets(
        self, inner: Node, inputs: dict, slots: list[str], converted: dict[int, str]
    ) -> None:
        """`processConvertedWidgets`: after all nodes; `[...keys].sort()` sorts the indexes as text."""
        input_map = self.input_maps.setdefault(inner.id, {})
        for offset, index in enumerate(sorted(converted, key=str)):
            input_name = converted[index]
            if len(slots) + offset in self.links_to.get(inner.id, {}):
                continue
            name, config, _ = self._input_config(
                inner, input_name, inputs[input_name], {"defaultInput": True}
            )
            self.required[name] = config
            self.widget_targets[name] = (inner.id, input_name)
            input_map[len(slots) + offset] = self._input_count
            self._input_count += 1

    def _outputs(self, inner: Node, node_def: NodeDef) -> None:
        """`processNodeOutputs`: outputs not used inside (or also used outside) are the group's."""
        for slot, kind in enumerate(node_def.output_types):
            used_inside = (inner.id, slot) in self.linked_outputs and (
                int(inner.id),
                slot,
            ) not in self.group.external
            visible = self._custom(inner, "output", slot).get("visible", not used_inside)
            if visible:
                self.outputs.append((inner.id, slot, kind))


def _declared_inputs(node_def: NodeDef) -> dict[str, Any]:
    """`{...def.input.required, ...def.input.optional}` in the server's key order (`input_order`; the
    bundled snapshot's keys are sorted)."""
    declared = node_def.raw.get("input") if isinstance(node_def.raw.get("input"), dict) else {}
    merged = {**(declared.get("required") or {}), **(declared.get("optional") or {})}
    ordered = {spec.name: merged[spec.name] for spec in node_def.inputs if spec.name in merged}
    return {**ordered, **merged}


def _input_is_widget(config: Any) -> bool:
    """`useWidgetStore().inputIsWidget`: a widget constructor exists for the input's type."""
    kind = config[0] if isinstance(config, list) and config else None
    return isinstance(kind, list) or kind in WIDGET_TYPES


def expand_group_node(
    group: GroupDef, instance: Node, node_defs: NodeDefs, layouts: Layouts
) -> GroupExpansion:
    """A legacy group node instance as inner nodes with their links ([FE] groupNode.ts `getInnerNodes`,
    `setInnerNodes`): an inner live input whose old index `oldToNewInputMap` names takes the group node's
    input of that index; else the group's own link into that index; else nothing (its widget keeps its value).
    """
    config = _GroupNodeConfig(group, node_defs)
    node_def = config.node_def()
    links: dict[Any, Link] = {}
    nodes: dict[str, Node] = {}
    for inner in group.nodes:
        inner_def = node_defs.get(inner.type)
        unlinked = tuple(replace(slot, link=None) for slot in inner.inputs)
        live = live_inputs(layouts.get(inner_def), unlinked) if inner_def else unlinked
        input_map, links_to = config.input_maps.get(inner.id, {}), config.links_to.get(inner.id, {})
        slots = []
        for index, slot in enumerate(live):
            link = None
            if index in input_map:
                link = Link(
                    ("group input", inner.id, index),
                    SUBGRAPH_INPUT_ID,
                    input_map[index],
                    inner.id,
                    index,
                    slot.type,
                )
            elif index in links_to:
                origin, origin_slot, link_type = links_to[index]
                link = Link(("group", inner.id, index), origin, origin_slot, inner.id, index, link_type)
            if link is not None:
                links[link.id] = link
            slots.append(replace(slot, link=link.id if link else None))
        nodes[inner.id] = replace(inner, inputs=tuple(slots))
    output_links = []
    for number, (inner_id, slot, kind) in enumerate(config.outputs):
        link = Link(("group output", number), inner_id, slot, SUBGRAPH_OUTPUT_ID, number, kind)
        links[link.id] = link
        output_links.append((link.id,))
    graph = Graph(
        key=f"{GROUP_KEY_PREFIX}{group.name}:{instance.id}",
        name=group.name,
        nodes=nodes,
        links=links,
        links_from=index_links_from(links),
        inputs=layouts.get(node_def).sockets,
        output_links=tuple(output_links),
        output_types=tuple(kind for *_, kind in config.outputs),
    )
    read = {index for input_map in config.input_maps.values() for index in input_map.values()}
    instance_inputs = live_inputs(layouts.get(node_def), instance.inputs)
    unread = tuple(s.name for i, s in enumerate(instance_inputs) if s.link is not None and i not in read)
    return GroupExpansion(graph, node_def, config.widget_targets, unread)


def group_widget_values(
    expansion: GroupExpansion,
    instance: Node,
    layout: Layout,
    layout_of: Callable[[Node], Layout | None],
    values: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """`updateInnerWidgets` ([FE] groupNode.ts): the group node's widgets, filled by position from its
    `widgets_values` (`LGraphNode.configure`), overwrite the inner widgets they stand for (in `values`)."""
    saved = as_list(instance.widgets_values)
    group_values = {}
    for position, widget in enumerate(layout.positions):
        group_values[widget.name] = widget.hold(saved[position]) if position < len(saved) else widget.default
    for name, (inner_id, input_name) in expansion.widget_targets.items():
        inner_values = values.get((expansion.graph.key, inner_id))
        inner_layout = layout_of(expansion.graph.nodes[inner_id])
        if inner_values is None or name not in group_values or input_name not in inner_values:
            continue
        spec = inner_layout.facts.get(input_name) if inner_layout else None
        inner_values[input_name] = spec.held(group_values[name]) if spec else group_values[name]
