"""Frontend-only nodes of custom-node packs: node types a pack's JavaScript registers in the browser
(`LiteGraph.registerNodeType`) with `isVirtualNode = true`, so `graphToPrompt` never sends them.

Virtual nodes resolve the same way whatever their pack ([FE] ExecutableNodeDTO.ts, `resolveOutput`): an
output whose slot index has an input passes through that input (like a Reroute); otherwise the node's
`getInputLink(slot)` may name a link elsewhere (KJNodes' GetNode does); otherwise nothing comes out.
`applyToGraph` runs before the prompt is built and may push values into widgets (Custom-Scripts'
PresetText does). The nodes that only change other nodes' modes (rgthree's muters, bypassers, relays)
do so when the user clicks or after timers, never while loading and converting, so the modes saved in
the workflow are the ones the prompt uses.

Pack sources cited: KJNodes 6ee278a, rgthree-comfy 2b9eb36, ComfyUI-Custom-Scripts f2838ed (the commits of
`shared/data/customnodes/packs.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wizard.convert.load import Graph, Node, pack_of
from wizard.nodedefs import NodeDefs

SET_NODE = "SetNode"  # [KJNodes] web/js/setgetnodes.js:45, virtual at :216
GET_NODE = "GetNode"  # [KJNodes] web/js/setgetnodes.js:376, virtual at :476
PRESET_TEXT = "PresetText|pysssss"  # [Custom-Scripts] web/js/presetText.js:66-71, 187

# Every frontend-only node type of the popular packs (KJNodes, Custom-Scripts, rgthree-comfy).
FRONTEND_ONLY_TYPES = frozenset(
    {
        SET_NODE,
        GET_NODE,
        PRESET_TEXT,
        # rgthree: all extend RgthreeBaseVirtualNode ([rgthree] web/comfyui/base_node.js:195-198); names from
        # [rgthree] web/comfyui/constants.js:8-45.
        "Reroute (rgthree)",  # one "*" input and output ([rgthree] web/comfyui/reroute.js:278-279)
        "Label (rgthree)",  # [rgthree] web/comfyui/label.js:5
        "Bookmark (rgthree)",  # [rgthree] web/comfyui/bookmark.js:8, 24
        "Fast Groups Muter (rgthree)",  # [rgthree] web/comfyui/fast_groups_muter.js:15, 295
        "Fast Groups Bypasser (rgthree)",  # [rgthree] web/comfyui/fast_groups_bypasser.js:4
        "Fast Muter (rgthree)",  # [rgthree] web/comfyui/muter.js:6
        "Fast Bypasser (rgthree)",  # [rgthree] web/comfyui/bypasser.js:6
        "Fast Actions Button (rgthree)",  # [rgthree] web/comfyui/fast_actions_button.js:14
        "Node Collector (rgthree)",  # [rgthree] web/comfyui/node_collector.js:7, 99
        "Node Combiner (rgthree)",  # legacy name of the collector ([rgthree] web/comfyui/node_collector.js:20, 48, 110)
        # Relays dispatch their mode only from `stabilize`, on a 500 ms timer ([rgthree]
        # web/comfyui/node_mode_relay.js:47-49, 98-100, 102-125), so never within loadGraphData + graphToPrompt.
        "Mute / Bypass Relay (rgthree)",  # [rgthree] web/comfyui/node_mode_relay.js:31
        "Mute / Bypass Repeater (rgthree)",  # [rgthree] web/comfyui/node_mode_repeater.js:5
        "Random Unmuter (rgthree)",  # [rgthree] web/comfyui/random_unmuter.js:8
    }
)

# Type-name endings by which packs mark their classes, server and frontend-only alike.
PACK_SUFFIXES = {" (rgthree)": "rgthree-comfy", "|pysssss": "ComfyUI-Custom-Scripts"}

# PresetText's presets live in the browser's localStorage; a fresh browser has only this one
# ([Custom-Scripts] web/js/presetText.js:10-19).
DEFAULT_PRESETS = {"default negative": "worst quality"}


@dataclass(frozen=True)
class PushedValue:
    """A value a frontend-only node's `applyToGraph` writes into a widget.

    Attributes:
        value: the value, or None when the node cannot give one (then `problem` says why).
        problem: a one-line reason the frontend would refuse to queue, else None.
    """

    value: Any
    problem: str | None = None


def constant_name(node: Node) -> Any:
    """The "Constant" widget of a SetNode or GetNode, its first widget ([KJNodes] web/js/setgetnodes.js:65-77,
    392-405)."""
    saved = node.widgets_values
    return saved[0] if isinstance(saved, list) and saved else ""


def get_node_link(graph: Graph, getter: Node) -> Any:
    """`GetNode.getInputLink`: the link into the input of the first SetNode of the same graph whose
    constant has the getter's name, or None ([KJNodes] web/js/setgetnodes.js:464-468, 479-491)."""
    name = constant_name(getter)
    if name == "":
        return None
    for node in graph.nodes.values():
        if node.type == SET_NODE and constant_name(node) == name:
            return node.inputs[0].link if node.inputs else None
    return None


def preset_text_value(node: Node) -> PushedValue:
    """`PresetText.applyToGraph`: the text of the chosen preset ([Custom-Scripts] web/js/presetText.js:160-185)."""
    saved = node.widgets_values
    name = saved[0] if isinstance(saved, list) and saved else next(iter(DEFAULT_PRESETS))
    if name in DEFAULT_PRESETS:
        return PushedValue(DEFAULT_PRESETS[name])
    return PushedValue(
        None,
        f"node {node.id} ({PRESET_TEXT}) names preset text {name!r}, which lives only in the browser that "
        "saved the workflow; the frontend refuses to queue it elsewhere. Replace the node by a text value",
    )


def installed_packs(node_defs: NodeDefs) -> frozenset[str]:
    """The folder names (lower case) of the custom-node packs the definitions come from
    (`python_module` "custom_nodes.<folder>")."""
    folders = set()
    for node_def in node_defs:
        module = node_def.raw.get("python_module")
        if isinstance(module, str) and module.startswith("custom_nodes."):
            folders.add(module.removeprefix("custom_nodes.").split(".")[0].split("@")[0].lower())
    return frozenset(folders)


def probable_pack(node: Node, node_defs: NodeDefs, packs: frozenset[str]) -> str | None:
    """For a node type no definition has, the installed pack it names (its `cnr_id`/`aux_id`, or a type-name
    ending a pack's classes share), so it is most likely one of that pack's frontend-only nodes; else None."""
    named = pack_of(node.properties)
    if named and named.rsplit("/", 1)[-1].lower() in packs:
        return named
    for suffix, pack in PACK_SUFFIXES.items():
        if node.type.endswith(suffix) and any(d.class_type.endswith(suffix) for d in node_defs):
            return pack
    return None
