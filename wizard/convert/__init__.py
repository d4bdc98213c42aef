"""Flatten a ComfyUI workflow and convert it to the API prompt the frontend would queue.

This reproduces ComfyUI frontend 1.27.10's `graphToPrompt` ([FE] `src/utils/executionUtil.ts:27-150`)
as loader → planner → frozen plan → renderer, one module per phase of the frontend:

1. `load`: the UI JSON (v0.4 array links, v1 object links, subgraph definitions, legacy group nodes)
   becomes frozen `Graph`/`Node`/`Link` records with their link maps built once.
2. `widgets`: the widgets the frontend builds from a node definition (`Layout`), and the realignment of
   values saved by an older node signature.
3. `plan`: the `Planner` fills every node's widgets from `widgets_values` the way `LGraphNode.configure`
   does; PrimitiveNodes push their values; subgraph instances and group nodes (`groups`) expand into
   executable nodes with ids `instance:inner` / `group:index` (`ExecutableNodeDTO`). It hands over a
   frozen `Plan`.
4. `render`: each executable node that is not virtual, muted or bypassed writes its widget values
   (`frontend_js`: dynamic prompts, `%date%` and `%Node.widget%` substitutions, key order), then
   resolves each input slot through reroutes, bypassed nodes and subgraph boundaries (`links`).

Custom packs' JavaScript is reproduced where it changes the prompt: their frontend-only nodes
(`frontend_only`), VideoHelperSuite's widget restore (`pack_js`) and cg-use-everywhere's broadcast links,
added to the loaded graph before planning (`use_everywhere`).

Where the frontend would queue something ComfyUI cannot run, the converter deliberately differs and
says so in a warning: widget values saved by an older node signature are realigned by type
(`widgets.realign_if_shifted`); a node type without a definition keeps its class type and links but
no guessed values; record-form `widgets_values` are read by widget name, as the packs that write them do.

[FE] cites the frontend source, [C] ComfyUI's; `shared/docs/comfyui.md` §3-6 summarises both.
"""

from __future__ import annotations

from typing import Any, Iterator

from wizard.convert.api_prompt import convert_api_prompt
from wizard.convert.frontend_js import ChoiceSource, ContentSeededRandom
from wizard.convert.load import as_list, load_ui_graph, unique
from wizard.convert.plan import plan, unknown_node, unknown_warning
from wizard.convert.render import check_acyclic, flat_node, render
from wizard.convert.use_everywhere import broadcast_links
from wizard.errors import WorkflowFileError
from wizard.nodedefs import NodeDefs
from wizard.records import Conversion, FlatNode, LoadedWorkflow

__all__ = ["ChoiceSource", "convert"]


def convert(loaded: LoadedWorkflow, node_defs: NodeDefs, *, rng: ChoiceSource | None = None) -> Conversion:
    """Flatten `loaded` and convert it to the API prompt ComfyUI frontend 1.27.10 would queue.

    `rng` picks dynamic-prompt options (`{a|b}`) like the frontend's `Math.random`; by default it is a
    `random.Random` seeded from the workflow, so the same file always converts to the same prompt.
    When only an API prompt is available it is checked and described, not rewritten.
    """
    if loaded.ui_graph is not None:
        return _convert_workflow(loaded, node_defs, rng or ContentSeededRandom(loaded.ui_graph))
    if loaded.prompt is not None:
        return convert_api_prompt(loaded, node_defs)
    raise WorkflowFileError(f"{loaded.filename}: it holds neither a workflow nor an API prompt")


def _convert_workflow(loaded: LoadedWorkflow, node_defs: NodeDefs, rng: ChoiceSource) -> Conversion:
    ui_graph, broadcast_warnings = broadcast_links(load_ui_graph(loaded.ui_graph), node_defs)
    planned = plan(ui_graph, node_defs)
    rendered = render(planned, rng)
    prompt = rendered.prompt
    check_acyclic(prompt)
    execs = planned.execs
    nodes = {exec_id: flat_node(execs[exec_id], prompt[exec_id], planned.realigned) for exec_id in prompt}
    unknown = tuple(unknown_node(execs[exec_id]) for exec_id in prompt if execs[exec_id].kind == "unknown")
    return Conversion(
        prompt=prompt,
        nodes=nodes,
        ui_graph=loaded.ui_graph,
        warnings=unique(
            [
                *loaded.warnings,
                *broadcast_warnings,
                *planned.warnings,
                *rendered.warnings,
                *map(unknown_warning, unknown),
            ]
        ),
        unknown_nodes=unknown,
        declared_models=tuple(_declared_models(loaded.ui_graph, nodes)),
    )


def _declared_models(workflow: dict[str, Any], nodes: dict[str, FlatNode]) -> Iterator[dict[str, Any]]:
    """`properties.models` of every node in the prompt (with its id), then the top-level `models[]`."""
    for node_id, flat in nodes.items():
        for entry in as_list(flat.properties.get("models")):
            if isinstance(entry, dict):
                yield {**entry, "node_id": node_id}
    for entry in as_list(workflow.get("models")):
        if isinstance(entry, dict):
            yield {**entry, "node_id": None}
