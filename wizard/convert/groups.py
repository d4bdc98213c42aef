"""Legacy group nodes (`extra.groupNodes`, frontend before subgraphs): each instance becomes an
equivalent subgraph definition, so the planner and resolver treat both alike ([FE] groupNode.ts).
"""

from __future__ import annotations

from typing import Any, Callable

from wizard.convert.load import (
    SUBGRAPH_INPUT_ID,
    SUBGRAPH_OUTPUT_ID,
    Graph,
    GroupDef,
    Link,
    Node,
    Slot,
    as_list,
    index_links_from,
)
from wizard.convert.widgets import Layout
from wizard.nodedefs import NodeDefs


def group_node_name(node_type: str) -> str | None:
    """The group definition an instance type names (`workflow>NAME`, older `workflow/NAME`)."""
    for prefix in ("workflow>", "workflow/"):
        if node_type.startswith(prefix):
            return node_type[len(prefix) :]
    return None


def group_as_subgraph(group: GroupDef, instance: Node, node_defs: NodeDefs) -> Graph:
    """A legacy group node as an equivalent subgraph definition ([FE] groupNode.ts:185-720).

    Inner nodes keep their index as id, so execution ids are `group:index`
    ([FE] executableGroupNodeDto.ts). Instance inputs are the inner socket inputs not linked inside the
    group, node by node; instance outputs are the inner outputs not linked inside.
    """
    links: dict[Any, Link] = {}
    internal_into: dict[tuple[str, int], Any] = {}
    for index, (origin, origin_slot, target, target_slot, link_type) in enumerate(group.links):
        link = Link(("group", index), str(origin), origin_slot, str(target), target_slot, link_type)
        links[link.id] = link
        internal_into[(link.target_id, target_slot)] = link.id
    linked_outputs = {(str(origin), slot) for origin, slot, *_ in group.links}
    nodes: dict[str, Node] = {}
    inputs: list[Slot] = []
    output_links: list[tuple[Any, ...]] = []
    output_types: list[str] = []
    for inner in group.nodes:
        slots = []
        for slot_index, slot in enumerate(inner.inputs):
            link_id = internal_into.get((inner.id, slot_index))
            if link_id is None and slot.widget is None:
                link_id = ("group input", len(inputs))
                links[link_id] = Link(
                    link_id, SUBGRAPH_INPUT_ID, len(inputs), inner.id, slot_index, slot.type
                )
                inputs.append(Slot(slot.name, slot.type))
            slots.append(Slot(slot.name, slot.type, link_id, slot.widget))
        nodes[inner.id] = Node(
            inner.id,
            inner.type,
            inner.mode,
            inner.title,
            tuple(slots),
            inner.output_types,
            inner.widgets_values,
            inner.properties,
        )
        node_def = node_defs.get(inner.type)
        for slot_index, output_type in enumerate(node_def.output_types if node_def else inner.output_types):
            if (inner.id, slot_index) in linked_outputs:
                continue
            link_id = ("group output", len(output_links))
            links[link_id] = Link(
                link_id, inner.id, slot_index, SUBGRAPH_OUTPUT_ID, len(output_links), output_type
            )
            output_links.append((link_id,))
            output_types.append(output_type)
    return Graph(
        key=f"group:{group.name}:{instance.id}",
        name=group.name,
        nodes=nodes,
        links=links,
        links_from=index_links_from(links),
        inputs=tuple(inputs),
        output_links=tuple(output_links),
        output_types=tuple(output_types),
    )


def apply_group_widget_values(
    definition: Graph,
    instance: Node,
    layout_of: Callable[[Node], Layout | None],
    values: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """The group node's widgets are its inner nodes' unlinked widgets, node by node, with their
    control/upload companions ([FE] groupNode.ts:486-520); its `widgets_values` fill them in order
    (into `values`, the inner nodes' configured widget values)."""
    saved = as_list(instance.widgets_values)
    position = 0
    for inner in definition.nodes.values():
        layout = layout_of(inner)
        if layout is None:
            continue
        linked = {slot.widget for slot in inner.inputs if slot.widget and slot.link is not None}
        inner_values = values[(definition.key, inner.id)]
        owner = None
        for widget in layout.positions:
            owner = widget.name if widget.kind == "value" else owner
            if owner in linked:
                continue
            if position < len(saved) and widget.sent and widget.name in inner_values:
                inner_values[widget.name] = widget.hold(saved[position])
            position += 1
