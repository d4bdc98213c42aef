"""Links: `ExecutableNodeDTO.resolveInput` / `resolveOutput`, each input slot followed through reroutes,
bypassed nodes and subgraph boundaries to the output (or promoted widget value) that feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.convert.load import MODE_BYPASS, SUBGRAPH_INPUT_ID, Link, Slot
from wizard.convert.plan import Exec, Plan
from wizard.convert.widgets import UNASSIGNED
from wizard.errors import WorkflowGraphError


@dataclass(frozen=True)
class LinkTo:
    """An input resolved to a node output: `[origin_id, origin_slot]` in the prompt."""

    origin_id: str
    origin_slot: int


@dataclass(frozen=True)
class ValueOf:
    """An input resolved to a subgraph instance's promoted widget value ([FE] ExecutableNodeDTO.ts:179-199)."""

    value: Any


@dataclass(frozen=True)
class Step:
    """One resolution step: into input `slot` of `dto`, or out of its output `slot` wanting `type`."""

    direction: str  # "in" or "out"
    dto: Exec
    slot: int
    type: str | None = None


class Resolver:
    """`ExecutableNodeDTO.resolveInput` ([FE] ExecutableNodeDTO.ts:142-330), iterative: every recursive
    call there is a tail call, so long chains of reroutes or bypassed nodes cannot overflow the stack."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.execs = plan.execs
        self.warnings: list[str] = []  # links found broken, in order

    def resolve_input(self, dto: Exec, slot_index: int) -> LinkTo | ValueOf | None:
        visited: set[tuple[str, str, int]] = set()
        # When resolution leaves a subgraph through a linked instance input and then finds nothing, the
        # inner widget keeps the instance's value (SubgraphNode.serialize copies it, SubgraphNode.ts:565).
        fallback: ValueOf | None = None
        step: Step | LinkTo | ValueOf | None = Step("in", dto, slot_index)
        while isinstance(step, Step):
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

    def _into_input(self, step: Step) -> tuple[Step | LinkTo | ValueOf | None, ValueOf | None]:
        dto = step.dto
        slot = dto.inputs[step.slot] if step.slot < len(dto.inputs) else None
        if slot is None or slot.link is None:
            return None, None
        link = dto.graph.links.get(slot.link)
        if link is None:
            self._dangling(dto, slot, f"link {slot.link} does not exist")
            return None, None
        if dto.graph.is_group_node:
            return self._group_child_input(dto, slot, link), None
        if link.origin_id == SUBGRAPH_INPUT_ID and dto.path:  # up and out of the subgraph
            instance = self.execs[":".join(dto.path)]
            if link.origin_slot >= len(instance.inputs):
                self._dangling(dto, slot, f"subgraph input {link.origin_slot} does not exist")
                return None, None
            value = self.plan.promoted_value(instance, link.origin_slot)
            promoted = None if value is UNASSIGNED else ValueOf(value)
            if instance.inputs[link.origin_slot].link is None:
                return promoted, None
            return Step("in", instance, link.origin_slot), promoted
        origin = self.execs.get(":".join((*dto.path, link.origin_id)))
        if origin is None:
            self._dangling(dto, slot, f"its origin node {link.origin_id} does not exist")
            return None, None
        return Step("out", origin, link.origin_slot, step.type or slot.type), None

    def _group_child_input(self, dto: Exec, slot: Slot, link: Link) -> LinkTo | None:
        """`ExecutableGroupNodeChildDTO.resolveInput` ([FE] executableGroupNodeChildDTO.ts): the node its
        link comes from, as it is: no reroute, bypass or group output is followed (an origin that is not
        in the prompt loses the link at the end, as there)."""
        if len(dto.path) > 1:
            raise WorkflowGraphError(
                f"node {dto.id} ({dto.title}) is inside a group node inside a subgraph, which ComfyUI's frontend "
                "cannot queue; convert the group node to a subgraph"
            )
        if link.origin_id != SUBGRAPH_INPUT_ID:
            origin = self.execs.get(f"{dto.path[0]}:{link.origin_id}")
            return LinkTo(origin.id, link.origin_slot) if origin else None
        instance = self.execs[dto.path[0]]
        if link.origin_slot >= len(instance.inputs):
            return None
        outer = instance.graph.links.get(instance.inputs[link.origin_slot].link)
        if outer is None:
            return None
        if outer.origin_id not in instance.graph.nodes:
            self._dangling(
                instance,
                instance.inputs[link.origin_slot],
                f"its origin node {outer.origin_id} does not exist",
            )
            return None
        return LinkTo(outer.origin_id, outer.origin_slot)

    def _out_of_output(self, step: Step) -> Step | LinkTo | None:
        dto, slot, wanted = step.dto, step.slot, step.type or "*"
        if dto.node.mode == MODE_BYPASS and dto.kind != "note":
            index = bypass_slot_index(dto, slot, wanted)
            return None if index < 0 else Step("in", dto, index)
        if dto.kind == "subgraph":
            definition = dto.definition
            assert definition is not None
            link_ids = definition.output_links[slot] if slot < len(definition.output_links) else ()
            inner_link = definition.links.get(link_ids[0]) if link_ids else None
            inner = self.execs.get(f"{dto.id}:{inner_link.origin_id}") if inner_link else None
            return None if inner is None else Step("out", inner, inner_link.origin_slot, wanted)
        if dto.is_virtual:  # reroutes pass through the same slot; PrimitiveNode and notes give nothing
            if slot < len(dto.inputs):
                return Step("in", dto, slot, wanted)
            return self._virtual_link(dto, slot, wanted)
        return LinkTo(dto.id, slot)

    def _virtual_link(self, dto: Exec, slot: int, wanted: str) -> Step | None:
        """`node.getInputLink(slot)` of a virtual node without that input: the link a frontend-only node
        names (KJNodes' GetNode), followed from its origin ([FE] ExecutableNodeDTO.ts, `resolveOutput`)."""
        if slot != 0 or dto.virtual_link is None:
            return None
        link = dto.graph.links.get(dto.virtual_link)
        origin = self.execs.get(":".join((*dto.path, link.origin_id))) if link else None
        if origin is None:
            self.warnings.append(
                f"node {dto.id} ({dto.title}): the link its value comes from (link {dto.virtual_link}) "
                "leads to no node; its targets get nothing"
            )
            return None
        return Step("out", origin, link.origin_slot, wanted)

    def _dangling(self, dto: Exec, slot: Slot, why: str) -> None:
        self.warnings.append(
            f"node {dto.id} ({dto.title}): input {slot.name!r} is linked but {why}; the link was dropped"
        )


def bypass_slot_index(dto: Exec, slot: int, wanted: str) -> int:
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
