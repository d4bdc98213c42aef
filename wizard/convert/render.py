"""Render: graphToPrompt's output loop over a frozen `Plan` ([FE] executionUtil.ts:72-147).

Each executable node that is not virtual, muted or bypassed writes its widget values (dynamic prompts and
`filename_prefix` substitutions applied), then resolves each input slot (`links.Resolver`); finally link
inputs whose origin is absent are deleted and the keys take JavaScript's object order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from runtime.links import is_link
from wizard.convert.frontend_js import (
    ChoiceSource,
    apply_text_replacements,
    js_key_order,
    process_dynamic_prompt,
    wrap_list,
)
from wizard.convert.links import LinkTo, Resolver, ValueOf
from wizard.convert.load import MODE_BYPASS, MODE_NEVER, pack_of, short, text_or_none
from wizard.convert.plan import Exec, Plan
from wizard.convert.widgets import exposable_widgets
from wizard.errors import WorkflowGraphError
from wizard.records import FlatNode

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


@dataclass(frozen=True)
class Rendered:
    """The API prompt and what rendering found.

    Attributes:
        prompt: `{id: {"inputs", "class_type", "_meta"}}` in JavaScript key order.
        warnings: broken links dropped, dynamic prompts chosen, filename substitutions, in order.
    """

    prompt: dict[str, dict[str, Any]]
    warnings: tuple[str, ...]


def render(plan: Plan, rng: ChoiceSource) -> Rendered:
    """graphToPrompt's output loop ([FE] executionUtil.ts:72-147)."""
    resolver = Resolver(plan)
    warnings: list[str] = []
    output: dict[str, dict[str, Any]] = {}
    for dto in plan.execs.values():
        if dto.is_virtual or dto.node.mode in (MODE_NEVER, MODE_BYPASS):
            continue
        inputs: dict[str, Any] = {}
        values = plan.values.get((dto.graph.key, dto.node.id), {}) if dto.kind == "node" else {}
        for name, value in values.items():
            inputs[name] = wrap_list(_serialize_widget(plan, rng, dto, name, value, warnings))
        for index, slot in enumerate(dto.inputs):
            resolved = resolver.resolve_input(dto, index)
            if isinstance(resolved, ValueOf):
                inputs[slot.name] = wrap_list(copy.deepcopy(resolved.value))
            elif isinstance(resolved, LinkTo):
                inputs[slot.name] = [resolved.origin_id, resolved.origin_slot]
        warnings += resolver.warnings
        resolver.warnings.clear()
        output[dto.id] = {"inputs": inputs, "class_type": dto.class_type, "_meta": {"title": dto.title}}
    for entry in output.values():  # executionUtil.ts:140-147
        for name in [n for n, v in entry["inputs"].items() if is_link(v) and v[0] not in output]:
            del entry["inputs"][name]
    return Rendered({exec_id: output[exec_id] for exec_id in js_key_order(output)}, tuple(warnings))


def _serialize_widget(
    plan: Plan, rng: ChoiceSource, dto: Exec, name: str, value: Any, warnings: list[str]
) -> Any:
    """A widget's `serializeValue`: dynamic prompts ([FE] dynamicPrompts.ts:12-27) and the filename_prefix
    substitutions of save nodes ([FE] saveImageExtraOutput.ts:30-37); a copy of anything else."""
    if not isinstance(value, str):
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value
    spec = dto.layout.facts.get(name) if dto.layout else None
    if spec is not None and spec.dynamic_prompts:
        result = process_dynamic_prompt(value, rng)
        linked = any(slot.name == name and slot.link is not None for slot in dto.inputs)
        if result != value and not linked:
            warnings.append(
                f"node {dto.id} ({dto.title}): widget {name!r} uses dynamic-prompt syntax; it became "
                f"{short(result)} by a random choice, which ComfyUI's frontend makes anew on every queue"
            )
        return result
    if name == "filename_prefix" and dto.class_type in SAVE_NODE_TYPES:
        where = f"node {dto.id} ({dto.title}) filename_prefix"
        result, warning = apply_text_replacements(value, plan.names, plan.values, where)
        if warning:
            warnings.append(warning)
        return result
    return value


def flat_node(dto: Exec, entry: dict[str, Any], realigned: frozenset[tuple[str, str]]) -> FlatNode:
    properties = dto.node.properties
    return FlatNode(
        id=dto.id,
        class_type=dto.class_type,
        title=dto.title,
        inputs=entry["inputs"],
        widget_names=exposable_widgets(dto.layout, entry["inputs"]) if dto.layout else (),
        pack=pack_of(properties),
        pack_version=text_or_none(properties.get("ver")),
        subgraph=dto.instance_titles,
        known=dto.kind == "node",
        properties=properties,
        realigned=(dto.graph.key, dto.node.id) in realigned,
    )


def check_acyclic(prompt: dict[str, dict[str, Any]]) -> None:
    """ComfyUI cannot run a prompt whose links form a cycle: name the nodes on it."""
    upstream = {
        node_id: [value[0] for value in entry["inputs"].values() if is_link(value)]
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
